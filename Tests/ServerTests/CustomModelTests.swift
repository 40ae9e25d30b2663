import Foundation
import OrderedJSON
import Testing

@Suite struct CustomModelTests {
    static func urlBody(_ url: String, hash: String, name: String = "all-MiniLM-L6-v2", format: String = "TORCH_SCRIPT") -> JSON {
        ["name": .string(name), "version": "1.0.0", "function_name": "TEXT_EMBEDDING", "model_format": .string(format),
         "model_content_hash_value": .string(hash), "model_config": Fixtures.miniLMConfig, "url": .string(url)]
    }

    @Test func registerByURLNeedsTheSettingAndSplitsLargeArtifactsIntoChunks() async throws {
        try await withServer { client, _, mirror in
            // 25 MB of incompressible content: three 10 MB chunks.
            let zip = try Fixtures.torchScriptZip(modelBytes: 25_000_000)
            try mirror.put("custom/big.zip", zip)
            let body = Self.urlBody(mirror.url("custom/big.zip"), hash: Fixtures.sha256(zip))

            let refused = try await client.send("POST", "/_plugins/_ml/models/_register", json: body)
            #expect(refused.status == 400)
            #expect(try refused.json["error"]?["reason"]?.stringValue?.hasPrefix("To upload custom model user needs to enable allow_registering_model_via_url settings.") == true)

            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
            let untrusted = try await client.send("POST", "/_plugins/_ml/models/_register", json: Self.urlBody("gopher://x/y.zip", hash: "00"))
            #expect(try untrusted.json["error"]?["reason"] == "URL can't match trusted url regex")

            let group = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "custom"])
            var withGroup = body
            withGroup["model_group_id"] = group["model_group_id"]
            withGroup["description"] = "a custom model"
            withGroup["is_enabled"] = true
            let task = try await client.registerAndWait(withGroup)
            #expect(task["state"] == "COMPLETED", "\(task.serialized)")
            let modelID = try #require(task["model_id"]?.stringValue)
            let model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")
            #expect(model["total_chunks"] == 3)
            #expect(model["description"] == "a custom model")
            #expect(model["model_group_id"] == group["model_group_id"])
            #expect(model["model_config"]?["embedding_dimension"] == 384)
            let chunks = try await client.search("models", ["query": ["bool": ["filter": [["term": ["model_id": .string(modelID)]], ["exists": ["field": "chunk_number"]]]]],
                                                            "sort": [["chunk_number": "asc"]]])
            #expect(chunks.map { $0["_source"]?["chunk_number"] } == [0, 1, 2])
            #expect(chunks.allSatisfy { $0["_source"]?["model_content"] == nil })

            // Deploy rebuilds the 25 MB artifact from its chunks and its hash matches: the only
            // failure is the engine's refusal (the fixture's config promises 384 dimensions, its BERT gives 16).
            let deploy = try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_load")
            let deployTask = try await client.waitForTask(try #require(deploy["task_id"]?.stringValue))
            #expect(deployTask["error"]?.stringValue?.contains("Cannot load the TORCH_SCRIPT model: model_config.embedding_dimension is 384 but the model produces 16-dimensional embeddings") == true)
        }
    }

    @Test func artifactsAreCheckedBeforeAnythingIsStored() async throws {
        try await withServer { client, _, mirror in
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
            let cases: [(String, Data, String)] = [
                ("no-tokenizer.zip", try Fixtures.zip([("model.pt", Fixtures.filler(10, seed: 1))]), "No tokenizer file"),
                ("two-models.zip", try Fixtures.zip([("a.pt", Data([1])), ("b.pt", Data([2])), ("tokenizer.json", Fixtures.tokenizerJSON)]),
                 "Find multiple model files, but expected only one"),
                ("wrong-format.zip", try Fixtures.zip([("model.onnx", Data([1])), ("tokenizer.json", Fixtures.tokenizerJSON)]),
                 "Model format is TORCH_SCRIPT, but find .onnx file"),
                ("native-code.zip", try Fixtures.torchScriptZip(extra: [("libevil.so", Data([0]))]), "Found .so file in the model zip"),
                ("no-model.zip", try Fixtures.zip([("tokenizer.json", Fixtures.tokenizerJSON)]), "Can't find model file"),
                ("not-a-zip.zip", Data("hello".utf8), "not a readable zip file"),
            ]
            for (file, data, message) in cases {
                try mirror.put("custom/\(file)", data)
                let task = try await client.registerAndWait(Self.urlBody(mirror.url("custom/\(file)"), hash: Fixtures.sha256(data)))
                #expect(task["state"] == "FAILED")
                #expect(task["error"]?.stringValue?.contains(message) == true, "\(file): \(task["error"]?.stringValue ?? "")")
            }
            let noHash = try await client.registerAndWait(["name": "m", "model_format": "TORCH_SCRIPT", "model_config": Fixtures.miniLMConfig, "url": .string(mirror.url("custom/no-model.zip"))])
            #expect(noHash["error"] == "Model content Hash code need to be provided when register via url. Please calculate sha 256 Hash code.")

            // Downloads larger than the limit stop early.
            try await client.setPersistent(["plugins.ml_commons.max_model_download_bytes": 1000])
            let big = try Fixtures.torchScriptZip(modelBytes: 5000)
            try mirror.put("custom/big.zip", big)
            let tooBig = try await client.registerAndWait(Self.urlBody(mirror.url("custom/big.zip"), hash: Fixtures.sha256(big)))
            #expect(tooBig["error"]?.stringValue?.contains("exceeds the limit of 1000 bytes") == true)

            #expect(try await client.count("models") == 0)
            #expect(try await client.count("model_groups") == 0)
        }
    }

    @Test func fileURLsNeedTheLocalFileSetting() async throws {
        try await withServer { client, server, _ in
            let zip = try Fixtures.torchScriptZip()
            let file = server.dataDir.deletingLastPathComponent().appendingPathComponent("local-\(UUID().uuidString).zip")
            try zip.write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
            let body = Self.urlBody(file.absoluteString, hash: Fixtures.sha256(zip))
            let refused = try await client.send("POST", "/_plugins/_ml/models/_register", json: body)
            #expect(refused.status == 400)
            #expect(try refused.json["error"]?["reason"]?.stringValue?.contains("allow_registering_model_via_local_file") == true)
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            let task = try await client.registerAndWait(body)
            #expect(task["state"] == "COMPLETED", "\(task.serialized)")
        }
    }

    @Test func chunkedUploadRegistersOnTheLastChunkAndDeployChecksTheHash() async throws {
        try await withServer { client, _, _ in
            let zip = try Fixtures.torchScriptZip(modelBytes: 30_000)
            let parts = stride(from: 0, to: zip.count, by: 12_000).map { zip.subdata(in: $0..<min($0 + 12_000, zip.count)) }
            let meta: JSON = ["name": "uploaded", "version": "1.0.1", "model_format": "TORCH_SCRIPT", "description": "kept",
                              "model_content_hash_value": .string(Fixtures.sha256(zip)), "model_content_size_in_bytes": .int(Int64(zip.count)),
                              "total_chunks": .int(Int64(parts.count)), "model_config": Fixtures.miniLMConfig]
            let refused = try await client.send("POST", "/_plugins/_ml/models/_register_meta", json: meta)
            #expect(refused.status == 400)
            #expect(try refused.json["error"]?["reason"]?.stringValue?.hasPrefix("To upload custom model from local file") == true)

            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            let missingChunks = try await client.send("POST", "/_plugins/_ml/models/_register_meta", json: ["name": "x", "model_format": "TORCH_SCRIPT", "model_content_hash_value": "ab", "model_config": Fixtures.miniLMConfig])
            #expect(try missingChunks.json["error"]?["reason"] == "total chunks field is null")

            let created = try await client.expect(200, "POST", "/_plugins/_ml/models/meta", meta)
            #expect(created["status"] == "CREATED")
            let modelID = try #require(created["model_id"]?.stringValue)
            #expect(try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] == "REGISTERING")

            for (number, part) in parts.enumerated() {
                let path = number % 2 == 0 ? "upload_chunk" : "chunk"
                let reply = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/\(path)/\(number)", body: Array(part), contentType: "application/octet-stream")
                #expect(reply.status == 200)
                #expect(try reply.json == ["status": "Uploaded"])
            }
            let model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")
            #expect(model["model_state"] == "REGISTERED")
            #expect(model["description"] == "kept")
            #expect(model["last_registered_time"]?.intValue != nil)

            let beyond = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/upload_chunk/\(parts.count)", body: [1])
            #expect(beyond.status == 500)
            #expect(try beyond.json["error"]?["reason"] == "Chunk number exceeds total chunks")
            let empty = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/upload_chunk/0", body: [])
            #expect(try empty.json["error"]?["reason"] == "Chunk size either 0 or null")

            // Deploy reassembles and checks the hash: right content reaches the engine.
            let good = try await client.waitForTask(try #require(try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy")["task_id"]?.stringValue))
            #expect(good["error"]?.stringValue?.contains("Cannot load the TORCH_SCRIPT model: model_config.embedding_dimension is 384 but the model produces 16-dimensional embeddings") == true)

            // A chunk replaced with other bytes: deploy fails naming both hashes.
            try await client.send("POST", "/_plugins/_ml/models/\(modelID)/upload_chunk/0", body: Array(Fixtures.filler(parts[0].count, seed: 99)))
            let bad = try await client.waitForTask(try #require(try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy")["task_id"]?.stringValue))
            #expect(bad["state"] == "FAILED")
            #expect(bad["error"]?.stringValue?.contains("model content changed") == true)
            #expect(bad["error"]?.stringValue?.contains(Fixtures.sha256(zip)) == true)
        }
    }
}
