import Foundation
import OrderedJSON
import Testing
import ZIPFoundation

/// A sparse encoder as a user brings it: the zip of opensearch-py-ml's `SparseEncodingModel.save_as_pt`
/// ("l0", prune ratio 0.15) registered by URL with the body its `make_model_config_json` wrote.
@Suite struct ExporterArtifactTests {
    static let folder = PredictTests.fixtures.appendingPathComponent("exporters/sparse-l0-pruned")

    static func entries(_ zip: Data) throws -> [(String, Data)] {
        let archive = try Archive(data: zip, accessMode: .read)
        return try archive.map { entry in
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            return (entry.path, data)
        }
    }

    /// `ml-commons_model_config.json` with the artifact's URL (and its hash, for an edited zip).
    static func body(_ url: String, _ zip: Data) throws -> JSON {
        var body = try JSON.parse(Data(contentsOf: folder.appendingPathComponent("ml-commons_model_config.json")))
        body["url"] = .string(url)
        body["model_content_hash_value"] = .string(Fixtures.sha256(zip))
        body["model_content_size_in_bytes"] = .int(Int64(zip.count))
        return body
    }

    @Test func sparseEncoderRegisteredWithTheExportersConfig() async throws {
        try await withServer { client, _, mirror in
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
            let zip = try Data(contentsOf: Self.folder.appendingPathComponent("model.zip"))
            try mirror.put("custom/sparse.zip", zip)
            let task = try await client.registerAndWait(Self.body(mirror.url("custom/sparse.zip"), zip))
            #expect(task["state"] == "COMPLETED", "\(task.serialized)")
            let modelID = try #require(task["model_id"]?.stringValue)
            let deploy = try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy")
            let deployed = try await client.waitForTask(try #require(deploy["task_id"]?.stringValue))
            #expect(deployed["state"] == "COMPLETED", "\(deployed.serialized)")

            // Weights by token id, as the exporter's own NeuralSparseModel computes them (pruned terms absent).
            let expected = try PredictTests.lines("exporters/sparse-l0-pruned/expected.jsonl")[0]
            let reply = try await client.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict",
                                                ["text_docs": [expected["text"]!], "parameters": ["sparse_embedding_format": "TOKEN_ID"]])
            let weights = try #require(reply["inference_results"]?[0]?["output"]?[0]?["dataAsMap"]?["response"]?[0]?.objectValue)
            let want = try #require(expected["ids"]?.objectValue)
            #expect(Set(weights.keys) == Set(want.keys))
            #expect(want.allSatisfy { abs(($0.value.doubleValue ?? 0) - (weights[$0.key]?.doubleValue ?? .infinity)) <= 1e-4 })
        }
    }

    @Test func aWrapperOperationTheEngineLacksIsNamedInTheFailure() async throws {
        try await withServer { client, _, mirror in
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
            // The exporter's artifact with its activation's log replaced by tanh.
            var outer = try Self.entries(Data(contentsOf: Self.folder.appendingPathComponent("model.zip")))
            let pt = try #require(outer.firstIndex { $0.0 == "model.pt" })
            var inner = try Self.entries(outer[pt].1)
            let code = try #require(inner.firstIndex { $0.0.hasSuffix("/sparse_encoding_model.py") && !$0.0.contains(".debug") })
            let text = String(decoding: inner[code].1, as: UTF8.self)
            #expect(text.contains("values0 = torch.log(_4)"))
            inner[code].1 = Data(text.replacingOccurrences(of: "values0 = torch.log(_4)", with: "values0 = torch.tanh(_4)").utf8)
            outer[pt].1 = try Fixtures.zip(inner)
            let zip = try Fixtures.zip(outer)
            try mirror.put("custom/tanh.zip", zip)

            // Refused at registration, the register task naming the operation.
            let task = try await client.registerAndWait(Self.body(mirror.url("custom/tanh.zip"), zip))
            #expect(task["state"] == "FAILED")
            let error = task["error"]?.stringValue
            #expect(error?.contains("the sparse wrapper's code uses torch.tanh, which the engine does not implement") == true, "\(error ?? "no error")")
        }
    }
}
