import Foundation
import OrderedJSON
import Testing

@Suite struct ClusterAPITests {
    @Test func rootDocumentAndHead() async throws {
        try await withServer { client, _, _ in
            let root = try await client.expect(200, "GET", "/")
            #expect(root["version"]?["distribution"] == "opensearch")
            #expect(root["version"]?["number"]?.stringValue?.isEmpty == false)
            #expect(root["tagline"] == "The OpenSearch Project: https://opensearch.org/")
            let head = try await client.send("HEAD", "/")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
        }
    }

    @Test func settingsAreStoredValidatedAndShownNestedOrFlat() async throws {
        try await withServer { client, server, _ in
            let put = try await client.expect(200, "PUT", "/_cluster/settings", [
                "persistent": ["plugins": ["ml_commons": ["only_run_on_ml_node": false, "max_model_on_node": "4"]]],
                "transient": ["plugins.ml_commons.allow_registering_model_via_url": "true"],
            ])
            #expect(put["acknowledged"] == true)
            #expect(put["persistent"]?["plugins"]?["ml_commons"]?["max_model_on_node"] == "4")
            let flat = try await client.expect(200, "GET", "/_cluster/settings?flat_settings=true")
            #expect(flat["persistent"]?["plugins.ml_commons.only_run_on_ml_node"] == "false")
            #expect(flat["transient"]?["plugins.ml_commons.allow_registering_model_via_url"] == "true")
            let nested = try await client.expect(200, "GET", "/_cluster/settings")
            #expect(nested["persistent"]?["plugins"]?["ml_commons"]?["max_model_on_node"] == "4")
            let defaults = try await client.expect(200, "GET", "/_cluster/settings?include_defaults=true&flat_settings=true")
            #expect(defaults["defaults"]?["plugins.ml_commons.allow_registering_model_via_local_file"] == "false")
            #expect(defaults["defaults"]?["plugins.ml_commons.artifacts_base_url"]?.stringValue?.hasPrefix("http://127.0.0.1") == true)

            let unknown = try await client.send("PUT", "/_cluster/settings", json: ["persistent": ["plugins.ml_commons.no_such_thing": 1]])
            #expect(unknown.status == 400)
            #expect(try unknown.json["error"]?["reason"] == "persistent setting [plugins.ml_commons.no_such_thing], not recognized")
            let badBool = try await client.send("PUT", "/_cluster/settings", json: ["persistent": ["plugins.ml_commons.allow_registering_model_via_url": "yes"]])
            #expect(badBool.status == 400)
            let outOfRange = try await client.send("PUT", "/_cluster/settings", json: ["persistent": ["plugins.ml_commons.max_model_on_node": -1]])
            #expect(outOfRange.status == 400)

            // A null resets a setting; settings survive a restart.
            try await client.expect(200, "PUT", "/_cluster/settings", ["transient": ["plugins.ml_commons.allow_registering_model_via_url": nil]])
            try await server.restart()
            let after = try await TestClient(baseURL: server.baseURL).expect(200, "GET", "/_cluster/settings?flat_settings=true")
            #expect(after["persistent"]?["plugins.ml_commons.max_model_on_node"] == "4")
            #expect(after["transient"]?["plugins.ml_commons.allow_registering_model_via_url"] == nil)
        }
    }

    @Test func routingErrorsLookLikeOpenSearch() async throws {
        try await withServer { client, _, _ in
            let unknown = try await client.send("GET", "/_plugins/_ml/no_such_api")
            #expect(unknown.status == 400)
            #expect(try unknown.json["error"] == "no handler found for uri [/_plugins/_ml/no_such_api] and method [GET]")

            let wrongMethod = try await client.send("GET", "/_plugins/_ml/models/abc/_deploy")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "POST")
            #expect(try wrongMethod.json["error"]?.stringValue?.hasPrefix("Incorrect HTTP method for uri") == true)

            let malformed = try await client.send("POST", "/_plugins/_ml/model_groups/_register", text: "{\n  \"name\": \"x\",\n  oops\n}")
            #expect(malformed.status == 400)
            let error = try malformed.json["error"]
            #expect(error?["type"] == "json_parse_exception")
            #expect(error?["reason"]?.stringValue?.contains("line: 3, column: 3") == true)
            #expect(error?["root_cause"]?.arrayValue?.first?["type"] == "json_parse_exception")

            let missingModel = try await client.send("GET", "/_plugins/_ml/models/nope")
            #expect(missingModel.status == 404)
            #expect(try missingModel.json["error"]?["reason"] == "Fail to find model")
            let missingTask = try await client.send("GET", "/_plugins/_ml/tasks/nope")
            #expect(missingTask.status == 404)
            #expect(try missingTask.json["error"]?["reason"] == "Failed to find task")
            #expect(try missingTask.json["status"] == 404)

            let pretty = try await client.send("GET", "/?pretty")
            #expect(pretty.text.contains("\n  \"name\" : "))
        }
    }
}
