import Foundation
@testable import Inference
import OrderedJSON
import Testing
import ZIPFoundation

@Suite struct ONNXTests {
    /// An OpenSearch-shaped ONNX artifact: the real paraphrase-MiniLM-L3-v2 export and the
    /// BERT-uncased tokenizer.json it was trained with (all-MiniLM-L6-v2 ships the same vocabulary).
    static func paraphraseArtifact() throws -> URL {
        let zip = FileManager.default.temporaryDirectory.appendingPathComponent("paraphrase-\(UUID().uuidString).zip")
        let archive = try Archive(url: zip, accessMode: .create)
        try archive.addEntry(with: "paraphrase-MiniLM-L3-v2.onnx", fileURL: try RealModels.paraphraseMiniLMONNX(), compressionMethod: .none)
        try archive.addEntry(with: "tokenizer.json", fileURL: try RealModels.miniLMFolder().appendingPathComponent("tokenizer.json"), compressionMethod: .none)
        return zip
    }

    @Test func realExportMatchesONNXRuntime() throws {
        let artifact = try Self.paraphraseArtifact()
        defer { try? FileManager.default.removeItem(at: artifact) }
        // No model_config at all: heads, pooling and normalization are read from the graph.
        let model = try ArtifactLoader.loadTextEmbedder(zip: artifact, format: .onnx, options: ModelOptions())
        #expect(model.encoder.config.layers == 3)
        #expect(model.encoder.config.heads == 12)
        #expect(model.pooling == .mean)
        #expect(!model.normalize)
        let references = try EmbeddingReferences(Fixtures.url("paraphrase-minilm-l3-onnx-embeddings.jsonl"))
        #expect(references.texts.count >= 50)
        let worst = try references.maxDifference(model)
        #expect(worst.difference <= 1e-4, "largest difference \(worst.difference) for \(worst.text.debugDescription)")
    }

    /// The first artifact generation: token embeddings out, pooling and normalization from model_config;
    /// weights as raw data, as typed float fields, and in an external data file.
    @Test(arguments: ["legacy-onnx.zip", "legacy-onnx-typed.zip", "legacy-onnx-external.zip"])
    func legacyExportsPoolOutsideTheGraph(file: String) throws {
        let config = try JSON.parse(Data(contentsOf: Fixtures.url("onnx/config.json")))["model_config"]!
        let options = ModelOptions(encoderConfig: try JSON.parse(config["all_config"]!.stringValue!), pooling: .mean, normalize: true,
                                   embeddingDimension: 16)
        let model = try ArtifactLoader.loadTextEmbedder(zip: Fixtures.url("onnx/\(file)"), format: .onnx, options: options)
        #expect(model.normalize)
        let difference = try ArchitectureTests.maxDifference(model, family: "bert")
        #expect(difference <= 1e-4, "\(file): largest difference \(difference)")
        // Without all_config the shape comes from the graph itself.
        let inferred = try ArtifactLoader.loadTextEmbedder(zip: Fixtures.url("onnx/\(file)"), format: .onnx,
                                                           options: ModelOptions(pooling: .mean, normalize: true))
        #expect(inferred.encoder.config.heads == 2)
        #expect(try ArchitectureTests.maxDifference(inferred, family: "bert") <= 1e-4)
    }

    /// Legacy-style exports of the other families: weights found through the bias-name pattern,
    /// pooling and normalization from model_config.
    @Test(arguments: ["distilbert", "roberta", "xlm-roberta", "mpnet"])
    func otherFamiliesExportedToONNX(family: String) throws {
        let config = try JSON.parse(Data(contentsOf: Fixtures.url("onnx/\(family)-config.json")))["model_config"]!
        let options = ModelOptions(encoderConfig: try JSON.parse(config["all_config"]!.stringValue!),
                                   pooling: PoolingMode(parsing: config["pooling_mode"]!.stringValue!),
                                   normalize: config["normalize_result"]?.boolValue)
        let model = try ArtifactLoader.loadTextEmbedder(zip: Fixtures.url("onnx/\(family)-onnx.zip"), format: .onnx, options: options)
        let difference = try ArchitectureTests.maxDifference(model, family: family)
        #expect(difference <= 1e-4, "\(family): largest difference \(difference)")
    }

    @Test func graphsThatAreNotEncodersAreRefused() throws {
        #expect(throws: WeightError.self) { try ONNXReader.read(Data([0x3A, 0x05, 0x01])) }
        #expect(throws: WeightError.self) { try ONNXEncoderGraph(ONNXReader.read(Data())) }
    }
}
