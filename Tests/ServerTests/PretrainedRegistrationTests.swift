import Foundation
import OrderedJSON
import Testing

@Suite struct PretrainedRegistrationTests {
    @Test func registerFromMirrorThenDeployIsRefusedClearlyThenDelete() async throws {
        try await withServer { client, server, mirror in
            let zip = try Fixtures.torchScriptZip()
            let hash = try mirror.publishPretrained(name: miniLMName, version: "1.0.2", format: "TORCH_SCRIPT",
                                                    zip: zip, modelConfig: Fixtures.miniLMConfig)
            let task = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.2", "model_format": "TORCH_SCRIPT"])
            #expect(task["state"] == "COMPLETED", "\(task.serialized)")
            #expect(task["task_type"] == "REGISTER_MODEL")
            #expect(task["function_name"] == "TEXT_EMBEDDING")
            #expect(task["is_async"] == true)
            #expect(task.objectValue?.keys.first == "model_id")
            let modelID = try #require(task["model_id"]?.stringValue)

            let model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")
            #expect(model["name"] == .string(miniLMName))
            #expect(model["algorithm"] == "TEXT_EMBEDDING")
            #expect(model["model_version"] == "1")
            #expect(model["model_format"] == "TORCH_SCRIPT")
            #expect(model["model_state"] == "REGISTERED")
            #expect(model["model_content_hash_value"] == .string(hash))
            #expect(model["model_content_size_in_bytes"] == .int(Int64(zip.count)))
            #expect(model["total_chunks"] == 1)
            #expect(model["model_config"]?["framework_type"] == "SENTENCE_TRANSFORMERS")
            #expect(model["model_config"]?["additional_config"]?["space_type"] == "l2")
            #expect(model["is_hidden"] == false)
            #expect(model["model_content"] == nil)
            #expect(model.objectValue?.keys.prefix(4) == ["name", "model_group_id", "algorithm", "model_version"])

            // The group was created under the model's name, at version 1.
            let groupID = try #require(model["model_group_id"]?.stringValue)
            let group = try await client.expect(200, "GET", "/_plugins/_ml/model_groups/\(groupID)")
            #expect(group["name"] == .string(miniLMName))
            #expect(group["latest_version"] == 1)

            // The artifact is kept as a chunk document; its content comes back on request.
            let chunk = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)_0?return_content=true")
            #expect(chunk["chunk_number"] == 0)
            #expect(chunk["model_id"] == .string(modelID))
            #expect(chunk["model_content"]?.stringValue.flatMap { Data(base64Encoded: $0) } == zip)

            // A second registration joins the same group as version 2.
            let second = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.2", "model_format": "TORCH_SCRIPT"])
            let secondID = try #require(second["model_id"]?.stringValue)
            #expect(try await client.expect(200, "GET", "/_plugins/_ml/models/\(secondID)")["model_version"] == "2")

            // Deploy: the engine cannot load TorchScript yet, and the task says so.
            let deploy = try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy")
            #expect(deploy["task_type"] == "DEPLOY_MODEL")
            #expect(deploy["status"] == "CREATED")
            let deployTask = try await client.waitForTask(try #require(deploy["task_id"]?.stringValue))
            #expect(deployTask["state"] == "FAILED")
            #expect(deployTask["model_id"] == .string(modelID))
            let error = try JSON.parse(try #require(deployTask["error"]?.stringValue))
            let nodeMessage = try #require(error.objectValue?.entries.first?.value.stringValue)
            #expect(nodeMessage.contains("Cannot load the TORCH_SCRIPT model: model_config.embedding_dimension is 384 but the model produces 16-dimensional embeddings"))
            #expect(!nodeMessage.contains("model content changed"))
            let failed = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")
            #expect(failed["model_state"] == "DEPLOY_FAILED")
            #expect(failed["current_worker_node_count"] == 0)

            let undeploy = try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_undeploy")
            #expect(undeploy.objectValue?.entries.first?.value["stats"]?[modelID] == "not_found")
            #expect(try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] == "UNDEPLOYED")

            // A group with models cannot be deleted.
            let busy = try await client.send("DELETE", "/_plugins/_ml/model_groups/\(groupID)")
            #expect(busy.status == 409)
            #expect(try busy.json["error"]?["reason"] == "Cannot delete the model group when it has associated model versions")

            let deleted = try await client.expect(200, "DELETE", "/_plugins/_ml/models/\(modelID)")
            #expect(deleted["result"] == "deleted")
            #expect(try await client.send("GET", "/_plugins/_ml/models/\(modelID)_0").status == 404)
            #expect(try await client.send("GET", "/_plugins/_ml/models/\(modelID)").status == 404)
            _ = server
        }
    }

    @Test func wrongHashFailsTheTaskAndLeavesNothing() async throws {
        try await withServer { client, _, mirror in
            let wrong = String(repeating: "ab", count: 32)
            let actual = try mirror.publishPretrained(name: miniLMName, version: "1.0.2", format: "ONNX",
                                                      zip: try Fixtures.zip([("model.onnx", Fixtures.filler(999, seed: 3)), ("tokenizer.json", Fixtures.tokenizerJSON)]),
                                                      modelConfig: Fixtures.miniLMConfig, hashOverride: wrong)
            let task = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.2", "model_format": "ONNX"])
            #expect(task["state"] == "FAILED")
            let error = try #require(task["error"]?.stringValue)
            #expect(error.hasPrefix("model content changed"))
            // The expected hash is the caller's own; the actual one is for the server log only.
            #expect(error.contains(wrong) && !error.contains(actual))
            #expect(task["model_id"] == nil)
            #expect(try await client.count("models") == 0)
            #expect(try await client.count("model_groups") == 0)
        }
    }

    @Test func unknownModelsAndMissingArtifactsFail() async throws {
        try await withServer { client, _, _ in
            let unknown = try await client.registerAndWait(["name": "huggingface/sentence-transformers/not-a-model", "version": "1.0.1", "model_format": "TORCH_SCRIPT"])
            #expect(unknown["state"] == "FAILED")
            #expect(unknown["error"] == "This model is not in the pre-trained model list, please check your parameters.")
            let wrongFormat = try await client.registerAndWait(["name": "huggingface/sentence-transformers/distiluse-base-multilingual-cased-v1", "version": "1.0.1", "model_format": "ONNX"])
            #expect(wrongFormat["error"] == "This model is not in the pre-trained model list, please check your parameters.")
            // In the catalog, but the mirror does not hold it.
            let missing = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"])
            #expect(missing["state"] == "FAILED")
            #expect(missing["error"]?.stringValue?.contains("HTTP 404") == true)
            // An existing group id that does not exist fails the task, as in ML Commons.
            let noGroup = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT", "model_group_id": "nope"])
            #expect(noGroup["state"] == "FAILED")
            #expect(try await client.count("models") == 0)
            #expect(try await client.count("model_groups") == 0)

            // Synchronous refusals: no task at all.
            let noName = try await client.send("POST", "/_plugins/_ml/models/_register", json: ["model_format": "TORCH_SCRIPT"])
            #expect(noName.status == 400)
            #expect(try noName.json["error"]?["reason"] == "model name is null")
            let noFormat = try await client.send("POST", "/_plugins/_ml/models/_register", json: ["name": "x", "version": "1.0.1"])
            #expect(try noFormat.json["error"]?["reason"] == "model format is null")
            // Enum values ML Commons does not know, in its exact words.
            for (body, reason) in [(["name": "x", "model_format": "PYTORCH"] as JSON, "Wrong model format"),
                                   (["name": "x", "model_format": "ONNX", "function_name": "EMBED"], "Wrong function name"),
                                   (["name": "x", "model_format": "ONNX", "url": "http://127.0.0.1:1/m.zip", "model_content_hash_value": "ab",
                                     "model_config": ["model_type": "bert", "embedding_dimension": 8, "framework_type": "torch"]], "Wrong framework type"),
                                   (["name": "x", "model_format": "ONNX", "url": "http://127.0.0.1:1/m.zip", "model_content_hash_value": "ab",
                                     "model_config": ["model_type": "bert", "embedding_dimension": 8, "framework_type": "sentence_transformers",
                                                      "pooling_mode": "median"]], "Wrong pooling method")] {
                let refused = try await client.send("POST", "/_plugins/_ml/models/_register", json: body)
                #expect(refused.status == 400)
                #expect(try refused.json["error"]?["type"] == "illegal_argument_exception")
                #expect(try refused.json["error"]?["reason"] == .string(reason))
            }
            #expect(try await client.count("tasks") == 4)
        }
    }

    @Test func registerWithDeployStartsADeployTask() async throws {
        try await withServer { client, _, mirror in
            try mirror.publishPretrained(name: miniLMName, version: "1.0.2", format: "TORCH_SCRIPT",
                                         zip: try Fixtures.torchScriptZip(), modelConfig: Fixtures.miniLMConfig)
            let task = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.2", "model_format": "TORCH_SCRIPT"], query: "?deploy=true")
            let modelID = try #require(task["model_id"]?.stringValue)
            var deployTasks: [JSON] = []
            for _ in 0..<200 {
                deployTasks = try await client.search("tasks", ["query": ["bool": ["filter": [["term": ["task_type": "DEPLOY_MODEL"]], ["term": ["model_id": .string(modelID)]]]]]])
                if let state = deployTasks.first?["_source"]?["state"]?.stringValue, state != "CREATED", state != "RUNNING" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(deployTasks.count == 1)
            #expect(deployTasks.first?["_source"]?["state"] == "FAILED")
        }
    }
}
