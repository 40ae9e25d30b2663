import Foundation
@testable import Inference
import OrderedJSON
import Testing

@Suite struct TorchScriptTests {
    static func options(from configFile: URL) throws -> ModelOptions {
        let config = try JSON.parse(Data(contentsOf: configFile))["model_config"]!
        return ModelOptions(encoderConfig: try JSON.parse(config["all_config"]!.stringValue!),
                            pooling: config["pooling_mode"]?.stringValue.flatMap(PoolingMode.init(parsing:)),
                            normalize: config["normalize_result"]?.boolValue)
    }


    @Test func tracedSentenceTransformerLoadsAndMatchesItsReference() throws {
        let zip = try Fixtures.url("architectures/bert/bert-torch_script.zip")
        let model = try ArtifactLoader.loadTextEmbedder(zip: zip, format: .torchScript, options: Self.options(from: Fixtures.url("architectures/bert/config.json")))
        #expect(model.dimension == 16)
        #expect(model.normalize)
        #expect(model.maxLength == 64)
        let difference = try ArchitectureTests.maxDifference(model, family: "bert")
        #expect(difference <= 1e-4, "largest difference \(difference)")
    }

    @Test func withoutAllConfigTheShapeIsReadFromTheTrace() throws {
        let zip = try Fixtures.url("architectures/bert/bert-torch_script.zip")
        let model = try ArtifactLoader.loadTextEmbedder(zip: zip, format: .torchScript, options: ModelOptions())
        #expect(model.encoder.config.heads == 2)
        #expect(model.encoder.config.layers == 2)
        #expect(model.encoder.config.layerNormEpsilon == 1e-12)
        let difference = try ArchitectureTests.maxDifference(model, family: "bert")
        #expect(difference <= 1e-4, "largest difference \(difference)")
    }

    @Test func float32WeightsAreReadInPlace() throws {
        // The artifact zip is memory-mapped and its .pt is stored: a float32 tensor is used where the
        // file holds it when the entry leaves it 4-byte aligned, else decoded into memory of its own
        // (never a copy of the whole file). The layers' weights are packed for the kernels either way.
        let url = try Fixtures.url("architectures/bert/bert-torch_script.zip")
        let model = try ArtifactLoader.loadTextEmbedder(zip: url, format: .torchScript, options: ModelOptions())
        let entryIsAligned = Int(bitPattern: try OpenedArtifact(zip: url, format: .torchScript).modelFile().base) % 4 == 0
        #expect(model.encoder.wordEmbeddings.storage.isInPlace == entryIsAligned)
        let folder = try TextEmbedder.load(folder: Fixtures.url("architectures/mpnet/folder"))
        #expect(folder.encoder.wordEmbeddings.storage.isInPlace)
    }

    @Test func moduleTreeNamesWeightsAndClasses() throws {
        let archive = try Fixtures.url("architectures/bert/bert-torch_script.zip")
        let loaded = try ArtifactLayout.inspect(zip: archive, format: .torchScript)
        #expect(loaded.modelFile == "bert.pt")
        let module = try TorchScriptReader.read(extract(archive, "bert.pt"))
        #expect(module.weights["0.auto_model.embeddings.word_embeddings.weight"]?.shape == [2000, 16])
        #expect(module.weights["0.auto_model.encoder.layer.1.output.LayerNorm.bias"]?.shape == [16])
        #expect(module.hasModule(endingWith: ".BertModel"))
        #expect(module.hasModule(endingWith: ".Normalize"))
        #expect(module.weights["0.auto_model.embeddings.position_ids"] == nil)  // integer buffers are not weights
    }

    /// The real all-MiniLM-L6-v2 exported by opensearch-py-ml's `SentenceTransformerModel.save_as_pt`
    /// (torch 1.13; 90 MB, made by `scripts/fixtures/make_real_minilm_artifacts.py`, which `scripts/test`
    /// runs), against sentence-transformers.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MLCOMMONS_REAL_ARTIFACTS_DIR"] != nil))
    func realTracedMiniLM() throws {
        let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["MLCOMMONS_REAL_ARTIFACTS_DIR"]!).appendingPathComponent("torch_script")
        let model = try ArtifactLoader.loadTextEmbedder(zip: folder.appendingPathComponent("sentence-transformers_all-MiniLM-L6-v2-1.0.1-torch_script.zip"),
                                                        format: .torchScript, options: Self.options(from: folder.appendingPathComponent("config.json")))
        #expect(model.encoder.config.heads == 12)
        // The artifact's tokenizer.json truncates at 128 tokens where sentence-transformers stops at 256.
        let references = try EmbeddingReferences(Fixtures.url("minilm-embeddings.jsonl")) {
            model.tokenizer.encode($0, maxLength: 100_000).ids.count <= 128
        }
        #expect(references.texts.count >= 50)
        let worst = try references.maxDifference(model)
        #expect(worst.difference <= 1e-4, "largest difference \(worst.difference) for \(worst.text.debugDescription)")
    }

    @Test func damagedFilesAreClearErrors() throws {
        #expect(throws: WeightError.self) { try TorchScriptReader.read(Data("not a zip".utf8)) }
        let pt = try extract(try Fixtures.url("architectures/bert/bert-torch_script.zip"), "bert.pt")
        #expect(throws: WeightError.self) { try TorchScriptReader.read(pt.prefix(pt.count / 3)) }
        var unpickler = Unpickler(Data([0x80, 0x02, 0xFF]))
        #expect(throws: WeightError.self) { try unpickler.load() }
        let options = try Self.options(from: Fixtures.url("architectures/bert/config.json"))
        var wrongDimension = options
        wrongDimension.embeddingDimension = 384
        #expect(throws: WeightError.self) {
            try ArtifactLoader.loadTextEmbedder(zip: try Fixtures.url("architectures/bert/bert-torch_script.zip"), format: .torchScript, options: wrongDimension)
        }
        var wrongShape = options
        wrongShape.encoderConfig?["hidden_size"] = 32
        wrongShape.encoderConfig?["intermediate_size"] = 64
        #expect(throws: WeightError.self) {
            try ArtifactLoader.loadTextEmbedder(zip: try Fixtures.url("architectures/bert/bert-torch_script.zip"), format: .torchScript, options: wrongShape)
        }
    }

    private func extract(_ zip: URL, _ name: String) throws -> Data {
        let archive = try ZIPFoundationArchive(url: zip)
        return try archive.data(of: name)
    }
}
