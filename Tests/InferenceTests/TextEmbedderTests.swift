import Foundation
@testable import Inference
import OrderedJSON
import Testing

@Suite struct TextEmbedderTests {
    static let miniLM: Result<TextEmbedder, any Error> = Result { try TextEmbedder.load(folder: RealModels.miniLMFolder()) }

    @Test func miniLMMatchesSentenceTransformers() throws {
        let model = try Self.miniLM.get()
        #expect(model.pooling == .mean)
        #expect(model.normalize)
        #expect(model.maxLength == 256)
        let references = try EmbeddingReferences(Fixtures.url("minilm-embeddings.jsonl"))
        #expect(references.texts.count >= 50)
        let worst = try references.maxDifference(model)
        #expect(worst.difference <= 1e-4, "largest difference \(worst.difference) for \(worst.text.debugDescription)")
    }

    @Test func knownVectorAndBatchIndependence() throws {
        let model = try Self.miniLM.get()
        let example = try model.embed(["This is an example sentence"])[0]
        let known: [Float] = [0.067657, 0.063496, 0.048713, 0.079305, 0.037448]
        #expect(zip(example.prefix(5), known).allSatisfy { abs($0 - $1) < 1e-5 })
        let texts = ["short", "a somewhat longer sentence with more tokens in it", "東京"]
        let together = try model.embed(texts)
        for (text, vector) in zip(texts, together) {
            let alone = try model.embed([text])[0]
            #expect(zip(alone, vector).allSatisfy { abs($0 - $1) <= 1e-5 })
        }
    }

    @Test func brokenFoldersAreClearErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: WeightError.self) { try TextEmbedder.load(folder: folder) }
        let source = try RealModels.miniLMFolder()
        for name in ["config.json", "tokenizer.json"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        #expect(throws: WeightError.self) { try TextEmbedder.load(folder: folder) }  // no weights
        // A truncated weight file.
        let weights = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
        try weights.prefix(weights.count / 2).write(to: folder.appendingPathComponent("model.safetensors"))
        #expect(throws: WeightError.self) { try TextEmbedder.load(folder: folder) }
    }
}
