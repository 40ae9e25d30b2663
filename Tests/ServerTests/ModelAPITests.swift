import Foundation
import OrderedJSON
import Testing

@Suite struct ModelAPITests {
    /// Registers `count` custom models into fresh groups; returns their ids.
    static func registerModels(_ client: TestClient, _ mirror: ArtifactMirror, count: Int) async throws -> [String] {
        try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
        var ids: [String] = []
        for i in 0..<count {
            let zip = try Fixtures.torchScriptZip(seed: UInt8(i))
            try mirror.put("m/\(i).zip", zip)
            var body = CustomModelTests.urlBody(mirror.url("m/\(i).zip"), hash: Fixtures.sha256(zip), name: "model-\(i)")
            body["description"] = .string(i % 2 == 0 ? "even model" : "odd model")
            let task = try await client.registerAndWait(body)
            ids.append(try #require(task["model_id"]?.stringValue))
        }
        return ids
    }

    @Test func searchSupportsTheDocumentedDSL() async throws {
        try await withServer { client, _, mirror in
            let ids = try await Self.registerModels(client, mirror, count: 4)
            let notChunks: JSON = ["must_not": ["exists": ["field": "chunk_number"]]]
            func names(_ body: JSON) async throws -> [String] {
                try await client.search("models", body).compactMap { $0["_source"]?["name"]?.stringValue }
            }
            let all = try await client.search("models", ["query": ["bool": notChunks], "size": 100])
            #expect(all.count == 4)
            #expect(try await client.count("models") == 8)  // chunks are documents of the model index too

            #expect(try await names(["query": ["bool": ["must": ["match": ["description": "even"]], "must_not": ["exists": ["field": "chunk_number"]]]],
                                     "sort": [["name.keyword": ["order": "desc"]]]]) == ["model-2", "model-0"])
            #expect(try await names(["query": ["terms": ["_id": [.string(ids[1]), .string(ids[3])]]], "sort": ["name.keyword"]]) == ["model-1", "model-3"])
            #expect(try await names(["query": ["ids": ["values": [.string(ids[2])]]]]) == ["model-2"])
            #expect(try await names(["query": ["prefix": ["name.keyword": "model-3"]], "_source": ["includes": ["name"]]]) == ["model-3", "model-3"])
            #expect(try await names(["query": ["bool": ["should": [["term": ["name.keyword": "model-0"]], ["term": ["name.keyword": "model-1"]]],
                                                        "filter": [["term": ["model_state": "REGISTERED"]]],
                                                        "minimum_should_match": 1]], "sort": [["name.keyword": "asc"]]]) == ["model-0", "model-1"])
            let paged = try await names(["query": ["bool": notChunks], "sort": [["name.keyword": "asc"]], "from": 1, "size": 2])
            #expect(paged == ["model-1", "model-2"])
            let recent = try await client.search("models", ["query": ["range": ["created_time": ["gte": 1_000_000_000_000, "lte": 9_999_999_999_999]]], "size": 0])
            #expect(recent.isEmpty)

            // _source filtering and the sort values of sorted hits.
            let filtered = try await client.search("models", ["query": ["bool": notChunks], "_source": ["includes": ["name", "model_config.model_type"], "excludes": ["description"]],
                                                              "sort": [["created_time": "asc"]], "size": 1])
            #expect(filtered.first?["_source"] == ["name": "model-0", "model_config": ["model_type": "bert"]])
            #expect(filtered.first?["sort"]?.arrayValue?.count == 1)
            #expect(filtered.first?["_score"] == .null)
            let noSource = try await client.search("models", ["query": ["match_all": [:]], "_source": false, "size": 1])
            #expect(noSource.first?["_source"] == nil)

            // Unsupported DSL is named in a 400.
            let fuzzy = try await client.send("POST", "/_plugins/_ml/models/_search", json: ["query": ["fuzzy": ["name": "x"]]])
            #expect(fuzzy.status == 400)
            #expect(try fuzzy.json["error"]?["reason"]?.stringValue?.hasPrefix("[fuzzy] query is not supported") == true)
            let aggs = try await client.send("GET", "/_plugins/_ml/models/_search", json: ["aggs": ["x": ["terms": ["field": "name"]]]])
            #expect(aggs.status == 400)
            #expect(try aggs.json["error"]?["reason"]?.stringValue?.contains("[aggs]") == true)
            let window = try await client.send("POST", "/_plugins/_ml/models/_search", json: ["from": 9_999, "size": 10])
            #expect(window.status == 400)

            // Searching an index that has no documents yet answers an empty result.
            #expect(try await client.count("model_groups", ["term": ["name.keyword": "nothing"]]) == 0)
        }
    }

    @Test func updateValidatesAndMovesBetweenGroups() async throws {
        try await withServer { client, _, mirror in
            let id = try await Self.registerModels(client, mirror, count: 1)[0]
            let updated = try await client.expect(200, "PUT", "/_plugins/_ml/models/\(id)", [
                "name": "renamed", "description": "new", "is_enabled": false,
                "rate_limiter": ["limit": "4", "unit": "minutes"],
            ])
            #expect(updated["result"] == "updated")
            #expect(updated["_id"] == .string(id))
            var model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(id)")
            #expect(model["name"] == "renamed")
            #expect(model["is_enabled"] == false)
            #expect(model["rate_limiter"] == ["limit": "4", "unit": "MINUTES"])
            try await client.expect(200, "PUT", "/_plugins/_ml/models/\(id)", ["rate_limiter": ["limit": 10]])
            model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(id)")
            #expect(model["rate_limiter"] == ["limit": "10", "unit": "MINUTES"])

            let group = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "target"])
            try await client.expect(200, "PUT", "/_plugins/_ml/models/\(id)", ["model_group_id": group["model_group_id"]!])
            model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(id)")
            #expect(model["model_group_id"] == group["model_group_id"])
            #expect(model["model_version"] == "1")

            let bad: [(JSON, Int, String)] = [
                (["rate_limiter": ["limit": -1]], 400, "Limit field must be a positive number."),
                (["connector_id": "c"], 400, "Trying to update the connector or connector_id field on a local model."),
                (["model_config": ["model_type": "bert"]], 400, "embedding dimension is null"),
                (["model_group_id": "missing"], 404, "Failed to find model group with the provided model group id: missing"),
                (["colour": "red"], 400, "[update_model] unknown field [colour]"),
            ]
            for (body, status, message) in bad {
                let reply = try await client.send("PUT", "/_plugins/_ml/models/\(id)", json: body)
                #expect(reply.status == status, "\(body.serialized)")
                #expect(try reply.json["error"]?["reason"]?.stringValue?.hasPrefix(message) == true, "\(reply.text)")
            }
            let missing = try await client.send("PUT", "/_plugins/_ml/models/nope", json: ["name": "x"])
            #expect(missing.status == 404)
            #expect(try missing.json["error"]?["reason"] == "Failed to find model to update with the provided model id: nope")
        }
    }

    @Test func bulkUndeployAndTaskDeletion() async throws {
        try await withServer { client, _, mirror in
            let ids = try await Self.registerModels(client, mirror, count: 2)
            let noIDs = try await client.send("POST", "/_plugins/_ml/models/_undeploy", json: ["node_ids": []])
            #expect(noIDs.status == 400)
            #expect(try noIDs.json["error"]?["reason"] == "Must set specific model ids to undeploy")
            let reply = try await client.expect(200, "POST", "/_plugins/_ml/models/_unload", ["model_ids": [.string(ids[0]), .string(ids[1]), "ghost"]])
            let stats = try #require(reply.objectValue?.entries.first?.value["stats"])
            #expect(stats == .object([ids[0]: "not_found", ids[1]: "not_found", "ghost": "not_found"]))
            let customPlan = try await client.send("POST", "/_plugins/_ml/models/\(ids[0])/_deploy", json: ["node_ids": ["x"]])
            #expect(try customPlan.json["error"]?["reason"] == "Don't allow custom deployment plan")

            let tasks = try await client.search("tasks", ["query": ["term": ["task_type": "REGISTER_MODEL"]]])
            let taskID = try #require(tasks.first?["_id"]?.stringValue)
            let deleted = try await client.expect(200, "DELETE", "/_plugins/_ml/tasks/\(taskID)")
            #expect(deleted["result"] == "deleted")
            let again = try await client.send("DELETE", "/_plugins/_ml/tasks/\(taskID)")
            #expect(again.status == 404)
        }
    }

    /// What docs/api-compatibility.md says unknown ids answer, endpoint by endpoint.
    @Test func writesToUnknownIdsAnswerAsMLCommonsDoes() async throws {
        try await withServer { client, _, mirror in
            _ = try await Self.registerModels(client, mirror, count: 1)  // every index exists
            _ = try await client.expect(200, "POST", "/_plugins/_ml/connectors/_create", [
                "name": "c", "version": 1, "protocol": "http", "parameters": ["endpoint": "api.openai.com"], "credential": ["k": "v"],
                "actions": [["action_type": "predict", "method": "POST", "url": "https://api.openai.com/v1/x", "request_body": "{}"]],
            ])
            let errors: [(String, String, JSON?, String)] = [
                ("DELETE", "models/nope", nil, "Failed to find model"),
                ("PUT", "models/nope", ["description": "x"], "Failed to find model to update with the provided model id: nope"),
                ("PUT", "connectors/nope", ["description": "x"], "Failed to find connector with the provided connector id: nope"),
                ("PUT", "model_groups/nope", ["description": "x"], "Failed to find model group with the provided model group id: nope"),
                ("DELETE", "tasks/nope", nil, "Failed to find task"),
            ]
            for (method, path, body, reason) in errors {
                let url = "/_plugins/_ml/\(path)"
                let reply = if let body { try await client.send(method, url, json: body) } else { try await client.send(method, url) }
                #expect(reply.status == 404, "\(method) \(path)")
                #expect(try reply.json["error"]?["type"] == "status_exception", "\(method) \(path)")
                #expect(try reply.json["error"]?["reason"] == .string(reason), "\(method) \(path)")
            }
            for path in ["connectors/nope", "model_groups/nope"] {
                let reply = try await client.send("DELETE", "/_plugins/_ml/\(path)")
                #expect(reply.status == 404, "\(path)")
                #expect(try reply.json["result"] == "not_found", "\(path)")
            }
        }
    }

    @Test func concurrentRegistrationsIntoOneGroupTakeDistinctVersions() async throws {
        try await withServer { client, _, mirror in
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
            let zip = try Fixtures.torchScriptZip()
            try mirror.put("same.zip", zip)
            let body = CustomModelTests.urlBody(mirror.url("same.zip"), hash: Fixtures.sha256(zip), name: "shared-name")
            let tasks = try await withThrowingTaskGroup(of: JSON.self) { group in
                for _ in 0..<6 { group.addTask { try await client.registerAndWait(body) } }
                return try await group.reduce(into: [JSON]()) { $0.append($1) }
            }
            #expect(tasks.allSatisfy { $0["state"] == "COMPLETED" })
            var versions: [String] = []
            for task in tasks {
                let model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(task["model_id"]!.stringValue!)")
                versions.append(model["model_version"]!.stringValue!)
            }
            #expect(versions.sorted() == ["1", "2", "3", "4", "5", "6"])
            let groups = try await client.search("model_groups", ["query": ["match_all": [:]]])
            #expect(groups.count == 1)
            #expect(groups.first?["_source"]?["latest_version"] == 6)
        }
    }
}
