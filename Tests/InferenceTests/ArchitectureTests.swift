import Foundation
@testable import Inference
import OrderedJSON
import Testing

/// Every encoder family, from small random-weight models saved as safetensors folders and as
/// traced TorchScript artifacts, against sentence-transformers (scripts/fixtures/make_architecture_fixtures.py).
@Suite struct ArchitectureTests {
    static let families = ["bert", "distilbert", "roberta", "xlm-roberta", "mpnet", "distilbert-dense"]

    static func maxDifference(_ model: TextEmbedder, family: String) throws -> Float {
        let references = try EmbeddingReferences(Fixtures.url("architectures/\(family)/embeddings.jsonl"))
        #expect(references.texts.count >= 50)
        return try references.maxDifference(model).difference
    }

    @Test(arguments: families)
    func safetensorsFolder(family: String) throws {
        let model = try TextEmbedder.load(folder: Fixtures.url("architectures/\(family)/folder"))
        let difference = try Self.maxDifference(model, family: family)
        #expect(difference <= 1e-4, "\(family): largest difference \(difference)")
    }

    @Test(arguments: families)
    func torchScriptArtifact(family: String) throws {
        let config = try JSON.parse(Data(contentsOf: Fixtures.url("architectures/\(family)/config.json")))["model_config"]!
        let options = ModelOptions(encoderConfig: try JSON.parse(config["all_config"]!.stringValue!),
                                   pooling: PoolingMode(parsing: config["pooling_mode"]!.stringValue!),
                                   normalize: config["normalize_result"]?.boolValue)
        let model = try ArtifactLoader.loadTextEmbedder(zip: Fixtures.url("architectures/\(family)/\(family)-torch_script.zip"),
                                                        format: .torchScript, options: options)
        #expect(model.normalize == config["normalize_result"]?.boolValue)
        let difference = try Self.maxDifference(model, family: family)
        #expect(difference <= 1e-4, "\(family): largest difference \(difference)")
    }

    /// A trace says its own pooling; model_config and the catalog only decide when it cannot.
    @Test(arguments: [("bert", PoolingMode.mean), ("distilbert", .cls), ("roberta", .max), ("mpnet", .mean)])
    func tracesSayTheirOwnPooling(family: String, pooling: PoolingMode) throws {
        let zip = try Fixtures.url("architectures/\(family)/\(family)-torch_script.zip")
        let silent = try ArtifactLoader.loadTextEmbedder(zip: zip, format: .torchScript, options: ModelOptions())
        #expect(silent.pooling == pooling)
        let contradicted = try ArtifactLoader.loadTextEmbedder(zip: zip, format: .torchScript,
                                                               options: ModelOptions(pooling: pooling == .cls ? .mean : .cls))
        #expect(contradicted.pooling == pooling)
        #expect(try Self.maxDifference(silent, family: family) <= 1e-4)
    }

    @Test func mpnetRelativeBucketsMatchHuggingFace() {
        // Values of MPNet's relative_position_bucket(k - q) with 32 buckets (computed with transformers 4.40.2).
        let expected: [Int: Int] = [0: 0, 1: 17, -1: 1, 7: 23, -7: 7, 8: 24, 12: 25, 20: 26, 64: 30, 127: 31, 500: 31, -500: 15]
        for (relative, bucket) in expected {
            #expect(RelativePositions.bucket(relative, buckets: 32) == bucket, "relative \(relative)")
        }
    }

    @Test func unsupportedOrDamagedModelsAreClearErrors() throws {
        #expect(throws: WeightError.self) {
            try EncoderConfig(json: ["model_type": "gpt2", "hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 1, "intermediate_size": 32])
        }
        #expect(throws: WeightError.self) {
            try EncoderConfig(json: ["model_type": "bert", "hidden_size": 16, "num_attention_heads": 2, "num_hidden_layers": 1,
                                     "intermediate_size": 32, "hidden_act": "relu"])
        }
        // A safetensors header that promises an impossible tensor.
        let header = Data(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#.utf8)
        var file = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Data($0) })
        file.append(header)
        file.append(Data(count: 4))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).safetensors")
        try file.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: WeightError.self) { try Safetensors.read(url) }
        // An encoder given no tokens refuses instead of crashing.
        let model = try TextEmbedder.load(folder: Fixtures.url("architectures/bert/folder"))
        #expect(throws: WeightError.self) { try model.encoder.forward(ids: [], typeIDs: []) }
    }
}
