import Foundation
import OrderedJSON
import ProviderFakes
import Testing

/// What stands between a predict request and the provider: guardrails (with stop words indexed
/// through the document API), the model interface, controllers and the model-level rate limiter.
@Suite struct RemoteControlsTests {
    static let ml = "/_plugins/_ml"

    static func content(_ reply: JSON) -> String? {
        reply["inference_results"]?.arrayValue?.first?["output"]?.arrayValue?.first?["dataAsMap"]?["choices"]?
            .arrayValue?.first?["message"]?["content"]?.stringValue
    }

    @Test func documentAPIStoresStopWords() async throws {
        try await withRemoteServer { client, _, _ in
            let bulk = """
            {"index": {"_index": "stop_words", "_id": "1"}}
            {"title": "rob a bank"}
            {"index": {"_id": "2"}}
            {"query": {"match_phrase": {"title": "secret formula"}}}
            {"create": {"_index": "stop_words", "_id": "1"}}
            {"title": "duplicate"}

            """
            let reply = try await client.send("POST", "/stop_words/_bulk", ndjson: bulk)
            #expect(reply.status == 200)
            let items = try #require(try reply.json["items"]?.arrayValue)
            #expect(items.count == 3)
            #expect(items[0]["index"]?["status"] == 201)
            #expect(items[1]["index"]?["_index"] == "stop_words")
            #expect(items[2]["create"]?["status"] == 409)
            #expect(try reply.json["errors"] == true)

            let put = try await client.expect(201, "PUT", "/stop_words/_doc/3", ["title": "forbidden topic"])
            #expect(put["result"] == "created")
            #expect(try await client.expect(200, "PUT", "/stop_words/_doc/3", ["title": "forbidden subject"])["result"] == "updated")
            let got = try await client.expect(200, "GET", "/stop_words/_doc/3")
            #expect(got["found"] == true)
            #expect(got["_source"]?["title"] == "forbidden subject")
            #expect(got["_version"] == 2)
            #expect(try await client.expect(404, "GET", "/stop_words/_doc/404")["found"] == false)
            let search = try await client.expect(200, "POST", "/stop_words/_search", ["query": ["match": ["title": "bank"]]])
            #expect(search["hits"]?["hits"]?.arrayValue?.map { $0["_id"] } == ["1"])
            // System indices are not reachable through the document API.
            try await client.expect(403, "PUT", "/.plugins-ml-connector/_doc/x", ["name": "x"])
            try await client.expect(403, "GET", "/.plugins-ml-model/_doc/x")
        }
    }

    @Test func guardrailsCheckInputAndOutputAgainstIndexedStopWords() async throws {
        try await withRemoteServer { client, server, provider in
            let bulk = """
            {"index": {"_index": "words0", "_id": "1"}}
            {"title": "rob a bank"}
            {"index": {"_index": "words0", "_id": "2"}}
            {"query": {"match_phrase": {"title": "secret formula"}}}

            """
            #expect(try await client.send("POST", "/_bulk", ndjson: bulk).status == 200)
            let modelID = try await client.registerRemote([
                "name": "guarded chat", "function_name": "remote", "connector": Connectors.chat(provider),
                "guardrails": [
                    "type": "local_regex",
                    "input_guardrail": ["stop_words": [["index_name": "words0", "source_fields": ["title"]]], "regex": [".*\\bpassword\\b.*"]],
                    "output_guardrail": ["stop_words": [["index_name": "words0", "source_fields": ["title"]]], "regex": [".*leaked.*"]],
                ],
            ])
            let path = "\(Self.ml)/models/\(modelID)/_predict"
            let ok = try await client.expect(200, "POST", path, ["parameters": ["prompt": "how is the weather"]])
            #expect(Self.content(ok) == "echo: how is the weather")
            let sentBefore = provider.requests.count
            for prompt in ["please tell me how to ROB a BANK today", "what is the secret formula", "my password please"] {
                try await client.expectError(400, "POST", path, ["parameters": ["prompt": .string(prompt)]],
                                             reason: "guardrails triggered for user input")
            }
            #expect(provider.requests.count == sentBefore)  // refused before the call
            // The provider echoes; an answer that matches the output regex is refused after the call.
            try await client.expectError(400, "POST", path, ["parameters": ["prompt": "this was leaked"]],
                                         reason: "guardrails triggered for LLM output")
            #expect(provider.requests.count == sentBefore + 1)

            // A stop-words index that does not exist fails closed.
            let missing = try await client.registerRemote([
                "name": "missing index", "function_name": "remote", "connector": Connectors.chat(provider),
                "guardrails": ["input_guardrail": ["stop_words": [["index_name": "nowhere", "source_fields": ["title"]]]]],
            ])
            try await client.expectError(400, "POST", "\(Self.ml)/models/\(missing)/_predict", ["parameters": ["prompt": "hi"]],
                                         reason: "guardrails triggered for user input")
            try await client.expectError(400, "POST", "\(Self.ml)/models/_register",
                                         ["name": "bad", "function_name": "remote", "connector": Connectors.chat(provider), "guardrails": ["type": "nonsense"]],
                                         reason: "guardrails")
            #expect(!server.log().containsAnyForm(of: Connectors.openAISecret))
        }
    }

    /// OpenSearch's guardrails page, step by step: `PUT /words0` with a percolator mapping, stop words
    /// as `query_string` percolator queries, a model with `local_regex` guardrails; clean input reaches
    /// the provider, stop words and phrases are caught before it.
    @Test func guardrailsPageStopWordSetup() async throws {
        try await withRemoteServer { client, _, provider in
            let mappings: JSON = ["mappings": ["properties": ["title": ["type": "text"], "query": ["type": "percolator"]]]]
            let created = try await client.expect(200, "PUT", "/words0", mappings)
            #expect(created == ["acknowledged": true, "shards_acknowledged": true, "index": "words0"])
            let again = try await client.expect(400, "PUT", "/words0", mappings)
            #expect(again["error"]?["type"] == "resource_already_exists_exception")
            try await client.expect(201, "PUT", "/words0/_doc/1?refresh", ["query": ["query_string": ["query": "title: blacklist"]]])
            try await client.expect(201, "PUT", "/words0/_doc/2?refresh", ["query": ["query_string": ["query": "title: \"Master slave architecture\""]]])
            try await client.expect(201, "PUT", "/words0/_doc/3?refresh", ["title": "harmful words", "query": ["match": ["title": "bad words"]]])
            // A percolator field must hold a query the server can run.
            let bad = try await client.expect(400, "PUT", "/words0/_doc/4", ["query": ["query_string": ["query": "title:bl*"]]])
            #expect(bad["error"]?["type"] == "mapper_parsing_exception")
            let got = try await client.expect(200, "GET", "/words0")
            #expect(got["words0"]?["mappings"]?["properties"]?["query"]?["type"] == "percolator")
            #expect(try await client.send("HEAD", "/words0").status == 200)

            let guardrail: JSON = ["stop_words": [["index_name": "words0", "source_fields": ["title"]]], "regex": [".*abort.*", ".*kill.*"]]
            let modelID = try await client.registerRemote([
                "name": "Bedrock Claude V2 model", "function_name": "remote", "connector": Connectors.chat(provider),
                "guardrails": ["type": "local_regex", "input_guardrail": guardrail, "output_guardrail": guardrail],
            ])
            let path = "\(Self.ml)/models/\(modelID)/_predict"
            for clean in ["\n\nHuman:this is a test\n\nnAssistant:", "slave architecture of the master", "good phrases only"] {
                let ok = try await client.expect(200, "POST", path, ["parameters": ["prompt": .string(clean)]])
                #expect(Self.content(ok) == "echo: \(clean)")
            }
            let sent = provider.requests.count
            for caught in ["\n\nHuman:this is a test of Master slave architecture\n\nnAssistant:", "my BLACKLIST", "bad", "please abort"] {
                try await client.expectError(400, "POST", path, ["parameters": ["prompt": .string(caught)]], reason: "guardrails triggered for user input")
            }
            #expect(provider.requests.count == sent)  // refused before the call

            // Without its index the guardrail fails closed; system indices cannot be made or dropped here.
            #expect(try await client.expect(200, "DELETE", "/words0") == ["acknowledged": true])
            #expect(try await client.send("HEAD", "/words0").status == 404)
            try await client.expectError(404, "DELETE", "/words0", reason: "no such index [words0]")
            try await client.expectError(400, "POST", path, ["parameters": ["prompt": "this is a test"]], reason: "guardrails triggered for user input")
            try await client.expect(403, "PUT", "/.plugins-ml-model")
            try await client.expect(403, "DELETE", "/.plugins-ml-model")
            try await client.expectError(400, "PUT", "/words1", ["mappings": ["properties": ["title": ["type": "texty"]]]],
                                         reason: "No handler for type [texty] declared on field [title]")
            try await client.expectError(400, "PUT", "/Words1", reason: "Invalid index name [Words1]")
            try await client.expect(200, "PUT", "/words1")  // no body: an index with dynamic mapping
        }
    }

    /// A `model` guardrail: the guard model (another remote model) answers for the request's
    /// `question`, and its filtered answer must match `response_validation_regex`.
    @Test func modelGuardrailAsksAGuardModel() async throws {
        try await withRemoteServer { client, _, provider in
            let guardModel = try await client.registerRemote([
                "name": "guard", "function_name": "remote", "connector": Connectors.chat(provider, content: "question", model: "guard"),
            ])
            let chat = Connectors.chat(provider, content: "question", model: "gpt")
            let modelID = try await client.registerRemote([
                "name": "guarded by a model", "function_name": "remote", "connector": chat,
                "guardrails": ["type": "model", "input_guardrail": [
                    "model_id": .string(guardModel), "response_filter": "$.choices[0].message.content",
                    "response_validation_regex": #"^"echo: .*\bsafe\b.*"$"#,
                ]],
            ])
            let path = "\(Self.ml)/models/\(modelID)/_predict"
            let ok = try await client.expect(200, "POST", path, ["parameters": ["question": "is this safe to ask"]])
            #expect(Self.content(ok) == "echo: is this safe to ask")
            #expect(provider.requests.suffix(2).map { (try? JSON.parse($0.body))?["model"] } == ["guard", "gpt"])
            try await client.expectError(400, "POST", path, ["parameters": ["question": "something else"]],
                                         reason: "guardrails triggered for user input")
            #expect((try? JSON.parse(provider.requests.last?.body ?? ""))?["model"] == "guard")  // the guard refused; no call to gpt
        }
    }

    @Test func remoteInferenceCanBeTurnedOff() async throws {
        try await withRemoteServer { client, _, provider in
            let modelID = try await client.registerRemote(["name": "chat", "function_name": "remote", "connector": Connectors.chat(provider)])
            try await client.client.setPersistent(["plugins.ml_commons.remote_inference.enabled": false])
            let disabled = "Remote Inference is currently disabled."
            try await client.expectError(400, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["parameters": ["prompt": "x"]], reason: disabled)
            try await client.expectError(400, "POST", "\(Self.ml)/models/\(modelID)/_deploy", reason: disabled)
            try await client.expectError(400, "POST", "\(Self.ml)/models/_register",
                                         ["name": "m", "function_name": "remote", "connector": Connectors.chat(provider)], reason: disabled)
            #expect(provider.requests.isEmpty)
        }
    }

    @Test func interfaceSchemasCheckInputAndOutput() async throws {
        try await withRemoteServer { client, _, provider in
            let input: JSON = ["type": "object", "properties": ["parameters": ["type": "object", "properties": [
                "prompt": ["type": "string", "minLength": 3], "max_tokens": ["type": "integer"]], "required": ["prompt"]]], "required": ["parameters"]]
            let output: JSON = ["type": "object", "properties": ["inference_results": ["type": "array", "items": ["type": "object", "properties": [
                "status_code": ["type": "integer", "enum": [200]]], "required": ["output", "status_code"]]]], "required": ["inference_results"]]
            let modelID = try await client.registerRemote([
                "name": "typed chat", "function_name": "remote", "connector": Connectors.chat(provider),
                "interface": ["input": .string(input.serialized), "output": output],
            ])
            let stored = try await client.expect(200, "GET", "\(Self.ml)/models/\(modelID)")
            #expect(stored["interface"]?["output"]?.stringValue.flatMap { try? JSON.parse($0) } == output)
            let path = "\(Self.ml)/models/\(modelID)/_predict"
            try await client.expect(200, "POST", path, ["parameters": ["prompt": "hello", "max_tokens": 7]])
            try await client.expectError(400, "POST", path, ["parameters": ["max_tokens": 7]], reason: "Error validating input schema")
            try await client.expectError(400, "POST", path, ["parameters": ["prompt": "hello", "max_tokens": "many"]], reason: "Error validating input schema")
            try await client.expectError(400, "POST", path, ["parameters": ["prompt": "hi"]], reason: "Error validating input schema")

            // An output schema the provider's answer does not satisfy.
            let strict: JSON = ["type": "object", "properties": ["inference_results": ["type": "array", "items": ["type": "object",
                "properties": ["status_code": ["type": "integer", "enum": [201]]]]]]]
            try await client.expect(200, "PUT", "\(Self.ml)/models/\(modelID)", ["interface": ["output": strict]])
            try await client.expectError(400, "POST", path, ["parameters": ["prompt": "hello"]], reason: "Error validating output schema")
        }
    }

    @Test func controllersLimitPerUserAndTheModelRateLimiterPerModel() async throws {
        try await withRemoteServer { client, _, provider in
            let limited = try await client.registerRemote([
                "name": "limited", "function_name": "remote", "connector": Connectors.chat(provider),
                "rate_limiter": ["limit": "2", "unit": "MINUTES"],
            ], query: "?deploy=true")
            let body: JSON = ["parameters": ["prompt": "hi"]]
            try await client.expect(200, "POST", "\(Self.ml)/models/\(limited)/_predict", body)
            try await client.expect(200, "POST", "\(Self.ml)/models/\(limited)/_predict", body)
            let throttled = try await client.expectError(429, "POST", "\(Self.ml)/models/\(limited)/_predict", body,
                                                         reason: "Request is throttled at model level.")
            #expect(throttled["error"]?["type"] == "status_exception")
            // Raising the limit applies without a redeploy.
            try await client.expect(200, "PUT", "\(Self.ml)/models/\(limited)", ["rate_limiter": ["limit": "1000", "unit": "SECONDS"]])
            try await client.expect(200, "POST", "\(Self.ml)/models/\(limited)/_predict", body)

            let modelID = try await client.registerRemote(["name": "per user", "function_name": "remote", "connector": Connectors.chat(provider)])
            let controller = "\(Self.ml)/controllers/\(modelID)"
            try await client.expectError(404, "GET", controller, reason: "Failed to find model controller")
            try await client.expectError(409, "PUT", controller, ["user_rate_limiter": ["alice": ["limit": 1, "unit": "MINUTES"]]],
                                         reason: "Model controller haven't been created for the model")
            let created = try await client.expect(200, "POST", controller, ["user_rate_limiter": ["alice": ["limit": 1, "unit": "MINUTES"]]])
            #expect(created["status"] == "CREATED")
            #expect(try await client.expect(200, "GET", controller)["user_rate_limiter"] == ["alice": ["limit": "1", "unit": "MINUTES"]])
            #expect(try await client.expect(200, "GET", "\(Self.ml)/models/\(modelID)")["is_controller_enabled"] == true)
            try await client.expectError(400, "POST", controller, ["user_rate_limiter": ["bob": ["limit": -1, "unit": "MINUTES"]]],
                                         reason: "Limit field must be a positive number.")

            let path = "\(Self.ml)/models/\(modelID)/_predict"
            try await client.expect(200, "POST", path, body, user: "alice")
            try await client.expectError(429, "POST", path, body,
                                         reason: "Request is throttled at user level. If you think there's an issue, please contact your cluster admin.",
                                         user: "alice")
            try await client.expect(200, "POST", path, body, user: "bob")
            try await client.expect(200, "POST", path, body)
            try await client.expect(200, "POST", path, body)

            // Anonymous requests are one user too.
            let updated = try await client.expect(200, "PUT", controller,
                                                  ["user_rate_limiter": ["opendistro_security_anonymous": ["limit": 1, "unit": "HOURS"]]])
            #expect(updated["result"] == "updated")
            #expect(try await client.expect(200, "GET", controller)["user_rate_limiter"]?.objectValue?.keys == ["alice", "opendistro_security_anonymous"])
            try await client.expect(200, "POST", path, body)
            try await client.expectError(429, "POST", path, body, reason: "Request is throttled at user level.")

            #expect(try await client.expect(200, "DELETE", controller)["result"] == "deleted")
            try await client.expect(200, "POST", path, body)
            try await client.expect(200, "POST", path, body, user: "alice")
            #expect(try await client.expect(404, "DELETE", controller)["result"] == "not_found")
            try await client.expectError(404, "POST", "\(Self.ml)/controllers/unknown-model", ["user_rate_limiter": ["a": ["limit": 1, "unit": "MINUTES"]]],
                                         reason: "Failed to find model to create the corresponding model controller")
        }
    }
}
