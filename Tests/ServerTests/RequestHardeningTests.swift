import Foundation
import OrderedJSON
import Testing

/// Hostile and careless requests: numbers past every conversion, unknown settings, forged content
/// types, oversized predict inputs. Each must get a clear 4xx and leave the server up.
@Suite struct RequestHardeningTests {
    static let base = "/_plugins/_ml"

    @Test func searchPagingPastInt64IsRefusedOnEverySearch() async throws {
        try await withServer { client, server, _ in
            for index in ["models", "model_groups", "tasks", "connectors"] {
                for paging: JSON in [["from": .int(Int64.max)], ["size": .int(Int64.max)], ["from": .int(Int64.max), "size": .int(Int64.max)],
                                     ["from": 1e19], ["from": 9_000, "size": 2_000]] {
                    let reply = try await client.send("POST", "\(Self.base)/\(index)/_search", json: paging)
                    #expect(reply.status == 400, "\(index) \(paging.serialized): \(reply.text)")
                    #expect(reply.text.contains("Result window is too large") || reply.text.contains("parameter"), "\(reply.text)")
                }
            }
            #expect(server.isRunning)
            try await client.expect(200, "POST", "\(Self.base)/models/_search", ["from": 9_990, "size": 10])
        }
    }

    @Test func settingsNumbersAndUnknownKeys() async throws {
        try await withServer { client, server, _ in
            for bad: JSON in ["1e30pb", "-5gb", "NaNgb", "infmb", "1e19b"] {
                let reply = try await client.send("PUT", "/_cluster/settings", json: ["persistent": ["plugins.ml_commons.disk_free_space_threshold": bad]])
                #expect(reply.status == 400, "\(bad.serialized): \(reply.text)")
            }
            try await client.expect(200, "PUT", "/_cluster/settings", ["persistent": ["plugins.ml_commons.disk_free_space_threshold": "1gb"]])

            // Outside plugins.ml_commons: a few core settings are kept, anything else refused by name.
            try await client.expect(200, "PUT", "/_cluster/settings", ["persistent": [
                "cluster.routing.allocation.disk.threshold_enabled": false, "logger.org.opensearch.ml": "DEBUG"]])
            let unknown = try await client.send("PUT", "/_cluster/settings", json: ["persistent": ["my.own.setting": 1]])
            #expect(unknown.status == 400)
            #expect(try unknown.json["error"]?["reason"] == "persistent setting [my.own.setting], not recognized")
            let badLevel = try await client.send("PUT", "/_cluster/settings", json: ["transient": ["logger.x": "LOUD"]])
            #expect(badLevel.status == 400)

            // 40,000 keys in one request: refused at once, and later requests are not slowed.
            let many = JSONObject((0..<40_000).map { (key: "plugins.ml_commons.k\($0)", value: JSON.int(1)) })
            let started = ContinuousClock.now
            let flood = try await client.send("PUT", "/_cluster/settings", json: ["persistent": .object(many)])
            #expect(flood.status == 400)
            #expect(flood.text.contains("at most 1000 settings"))
            let flat = try await client.expect(200, "GET", "/_cluster/settings?flat_settings=true")
            #expect(flat["persistent"]?["plugins.ml_commons.k1"] == nil)
            #expect(flat["persistent"]?["logger.org.opensearch.ml"] == "DEBUG")
            #expect(started.duration(to: .now) < .seconds(60))
            #expect(server.isRunning)
        }
    }

    @Test func rateLimitsAndSizesPastInt64() async throws {
        try await withServer { client, server, _ in
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            let meta = try await client.send("POST", "\(Self.base)/models/_register_meta", json: [
                "name": "m", "version": "1", "model_format": "TORCH_SCRIPT", "model_content_hash_value": .string(String(repeating: "ab", count: 32)),
                "model_content_size_in_bytes": .int(Int64.max), "total_chunks": 1, "function_name": "SPARSE_TOKENIZE"])
            #expect(meta.status == 400, "\(meta.text)")
            #expect(meta.text.contains("model_content_size_in_bytes"))

            let registered = try await client.expect(200, "POST", "\(Self.base)/models/_register_meta", [
                "name": "m", "version": "1", "model_format": "TORCH_SCRIPT", "model_content_hash_value": .string(String(repeating: "ab", count: 32)),
                "model_content_size_in_bytes": 10, "total_chunks": 1, "function_name": "TEXT_EMBEDDING",
                "model_config": ["model_type": "bert", "embedding_dimension": 16, "framework_type": "sentence_transformers"]])
            let modelID = try #require(registered["model_id"]?.stringValue)
            for limit: JSON in ["1e19", 1e19, "1e300", .int(Int64.max)] {
                let update = try await client.send("PUT", "\(Self.base)/models/\(modelID)", json: ["rate_limiter": ["limit": limit, "unit": "SECONDS"]])
                #expect(update.status == 200, "\(limit.serialized): \(update.text)")
                try await client.expect(200, "GET", "\(Self.base)/models/\(modelID)")
            }
            for bad: JSON in ["Infinity", "NaN", -1, "1e999"] {
                let update = try await client.send("PUT", "\(Self.base)/models/\(modelID)", json: ["rate_limiter": ["limit": bad, "unit": "SECONDS"]])
                #expect(update.status == 400, "\(bad.serialized): \(update.text)")
            }
            // A controller's per-user limit of 1e19, then a read of it.
            let controller = try await client.send("POST", "\(Self.base)/controllers/\(modelID)",
                                                   json: ["user_rate_limiter": ["alice": ["limit": 1e19, "unit": "SECONDS"]]])
            #expect(controller.status < 500, "\(controller.text)")
            _ = try await client.send("GET", "\(Self.base)/controllers/\(modelID)")
            #expect(server.isRunning)
        }
    }

    @Test func bodiesNeedAJSONContentType() async throws {
        try await withServer { client, _, _ in
            let body = Array(#"{"name": "forged"}"#.utf8)
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream"] {
                let reply = try await client.send("POST", "\(Self.base)/model_groups/_register", body: body, contentType: type)
                #expect(reply.status == 406, "\(type): \(reply.text)")
                #expect(try reply.json["error"]?.stringValue == "Content-Type header [\(type)] is not supported")
            }
            #expect(try await client.count("model_groups") == 0)
            for type in ["application/json", "application/json; charset=UTF-8", "application/vnd.opensearch+json; compatible-with=7"] {
                let reply = try await client.send("POST", "\(Self.base)/model_groups/_register", body: Array(#"{"name": "g-\#(type.count)"}"#.utf8), contentType: type)
                #expect(reply.status == 200, "\(type): \(reply.text)")
            }
            // No body, no Content-Type needed.
            try await client.expect(200, "GET", "\(Self.base)/model_groups/_search")
        }
    }

    /// An artifact the engine would refuse fails its register task (and leaves no model), instead of
    /// registering COMPLETED and failing (or worse) at deploy.
    @Test func brokenArtifactsFailTheirRegisterTask() async throws {
        try await withServer { client, _, mirror in
            let fixture = try JSON.parse(Data(contentsOf: PredictTests.fixtures.appendingPathComponent("architectures/bert/config.json")))
            let zip = try Data(contentsOf: PredictTests.fixtures.appendingPathComponent("architectures/bert/bert-torch_script.zip"))
            var modelConfig = try #require(fixture["model_config"]?.objectValue)
            let allConfig = try #require(modelConfig["all_config"]?.stringValue)
            var encoder = try #require(try JSON.parse(allConfig).objectValue)
            encoder["num_attention_heads"] = -2  // corrupted the heap and returned garbage before issue 11
            modelConfig["all_config"] = .string(JSON.object(encoder).serialized)
            _ = try mirror.publishPretrained(name: miniLMName, version: "1.0.1", format: "TORCH_SCRIPT", zip: zip, modelConfig: .object(modelConfig))
            let task = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"])
            #expect(task["state"] == "FAILED", "\(task.serialized)")
            #expect(task["error"]?.stringValue?.contains("num_attention_heads") == true, "\(task.serialized)")
            #expect(try await client.count("models") == 0)

            // A chunked upload of the same: its last chunk is refused, and the model stays REGISTERING.
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            let meta = try await client.expect(200, "POST", "\(Self.base)/models/_register_meta", [
                "name": "uploaded", "model_format": "TORCH_SCRIPT", "model_content_hash_value": .string(Fixtures.sha256(zip)),
                "model_content_size_in_bytes": .int(Int64(zip.count)), "total_chunks": 1, "model_config": .object(modelConfig)])
            let modelID = try #require(meta["model_id"]?.stringValue)
            let upload = try await client.send("POST", "\(Self.base)/models/\(modelID)/upload_chunk/0", body: Array(zip), contentType: "application/octet-stream")
            #expect(upload.status == 400, "\(upload.text)")
            #expect(upload.text.contains("The uploaded model cannot be registered") && upload.text.contains("num_attention_heads"), "\(upload.text)")
            #expect(try await client.expect(200, "GET", "\(Self.base)/models/\(modelID)")["model_state"] == "REGISTERING")
        }
    }

    @Test func predictInputLimits() async throws {
        try await withServer { client, server, mirror in
            let modelID = try await PredictTests.deploy(client, mirror, zip: "heads/sparse-tokenizer/sparse-tokenizer-torch_script.zip",
                                                        name: "amazon/neural-sparse/opensearch-neural-sparse-tokenizer-v1",
                                                        version: "1.0.1", function: "SPARSE_TOKENIZE")
            try await client.setPersistent(["plugins.ml_commons.native.max_text_docs_per_request": 3, "plugins.ml_commons.native.max_text_length": 50])
            let path = "\(Self.base)/_predict/sparse_tokenize/\(modelID)"
            try await client.expect(200, "POST", path, ["text_docs": ["a", "b", "c"]])
            let tooMany = try await client.send("POST", path, json: ["text_docs": ["a", "b", "c", "d"]])
            #expect(tooMany.status == 400)
            #expect(tooMany.text.contains("native.max_text_docs_per_request"))
            let tooLong = try await client.send("POST", path, json: ["text_docs": .array([.string(String(repeating: "x", count: 51))])])
            #expect(tooLong.status == 400)
            #expect(tooLong.text.contains("native.max_text_length"))
            try await client.expect(200, "POST", path, ["text_docs": .array([.string(String(repeating: "x", count: 50))])])
            #expect(server.isRunning)
        }
    }
}
