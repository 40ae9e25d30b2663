import Foundation
import OrderedJSON
import Testing
import TestSupport

/// Dynamic batching through HTTP: concurrent clients get what they would get alone, and a full
/// queue answers 429 without harming the requests it accepted.
@Suite struct ServerBatchingTests {
    static func deployBERT(_ client: TestClient, _ mirror: ArtifactMirror) async throws -> String {
        let config = try JSON.parse(Data(contentsOf: PredictTests.fixtures.appendingPathComponent("architectures/bert/config.json")))
        return try await PredictTests.deploy(client, mirror, zip: "architectures/bert/bert-torch_script.zip", name: miniLMName,
                                             version: "1.0.1", function: "TEXT_EMBEDDING", modelConfig: config["model_config"])
    }

    /// Each text in a request of its own, all at once; the replies by the text's index.
    static func concurrently(_ client: TestClient, _ path: String, texts: [JSON]) async throws -> [Int: JSON] {
        try await withThrowingTaskGroup(of: (Int, JSON).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, try await client.expect(200, "POST", path, ["text_docs": [text]])) }
            }
            return try await group.reduce(into: [Int: JSON]()) { $0[$1.0] = $1.1 }
        }
    }

    static func embedding(_ reply: JSON) -> [Float] {
        PredictTests.floats(reply["inference_results"]?[0]?["output"]?.arrayValue?.last?["data"])
    }

    @Test func concurrentClientsGetWhatTheyWouldGetAlone() async throws {
        try await withServer { client, _, mirror in
            let modelID = try await Self.deployBERT(client, mirror)
            let references = try PredictTests.lines("architectures/bert/embeddings.jsonl").prefix(24)
            let path = "/_plugins/_ml/_predict/text_embedding/\(modelID)"
            let replies = try await Self.concurrently(client, path, texts: references.map { $0["text"]! })
            for (index, reference) in references.enumerated() {
                let got = Self.embedding(try #require(replies[index])), want = PredictTests.floats(reference["embedding"])
                #expect(got.count == want.count && zip(got, want).allSatisfy { abs($0 - $1) <= 1e-4 }, "text \(index)")
            }
        }
    }

    @Test func aFullQueueAnswers429AndLosesNothingElse() async throws {
        try await withServer { client, _, mirror in
            let modelID = try await Self.deployBERT(client, mirror)
            _ = try await client.expect(200, "PUT", "/_cluster/settings", ["persistent": [
                "plugins.ml_commons.native.max_queued_requests": 1, "plugins.ml_commons.native.batch_token_budget": 16,
            ]])
            // Long texts, so that each forward pass takes a while and requests pile up behind it.
            let text = JSON.string(Array(repeating: "the quick brown fox jumps over the lazy dog", count: 40).joined(separator: " "))
            let path = "/_plugins/_ml/_predict/text_embedding/\(modelID)"
            let replies = try await withThrowingTaskGroup(of: (Int, JSON).self) { group in
                for _ in 0..<32 {
                    group.addTask {
                        let reply = try await client.send("POST", path, json: ["text_docs": [text]])
                        return (reply.status, try reply.json)
                    }
                }
                return try await group.reduce(into: [(Int, JSON)]()) { $0.append($1) }
            }
            let refused = replies.filter { $0.0 == 429 }, served = replies.filter { $0.0 == 200 }
            #expect(refused.count + served.count == 32, "\(replies.map(\.0))")
            #expect(!refused.isEmpty && !served.isEmpty, "\(replies.map(\.0))")
            #expect(refused.first?.1["status"] == 429)
            #expect(refused.first?.1["error"]?["reason"]?.stringValue?.contains("native.max_queued_requests") == true)
            let embeddings = served.map { Self.embedding($0.1) }
            #expect(embeddings.allSatisfy { $0.count == 16 && $0 == embeddings[0] })
            // Once the queue drains, requests are accepted again.
            _ = try await client.expect(200, "POST", path, ["text_docs": [text]])
        }
    }

    @Test func concurrentSparseRequestsGetTheirOwnTerms() async throws {
        try await withServer { client, _, mirror in
            let modelID = try await PredictTests.deploy(client, mirror, zip: "heads/sparse-distilbert/sparse-distilbert-torch_script.zip",
                                                        name: "amazon/neural-sparse/opensearch-neural-sparse-encoding-doc-v3-distill",
                                                        version: "1.0.0", function: "SPARSE_ENCODING")
            let expected = try PredictTests.lines("heads/sparse-distilbert/expected.jsonl").prefix(16)
            let path = "/_plugins/_ml/_predict/sparse_encoding/\(modelID)"
            let replies = try await Self.concurrently(client, path, texts: expected.map { $0["text"]! })
            for (index, line) in expected.enumerated() {
                let weights = replies[index]?["inference_results"]?[0]?["output"]?[0]?["dataAsMap"]?["response"]?[0]?.objectValue ?? [:]
                let want = line["sparse"]?.objectValue ?? [:]
                #expect(!want.isEmpty && Set(weights.keys) == Set(want.keys), "text \(index)")
                #expect(want.allSatisfy { abs(($0.value.doubleValue ?? 0) - (weights[$0.key]?.doubleValue ?? .infinity)) <= 1e-4 }, "text \(index)")
            }
        }
    }
}
