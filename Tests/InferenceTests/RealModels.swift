import Foundation
import Inference
import OrderedJSON
import TestSupport

/// Real model files that PyPI packages ship.
enum RealModels {
    static func miniLMFolder() throws -> URL { try PythonPackages.miniLMFolder() }
    static func paraphraseMiniLMONNX() throws -> URL { try PythonPackages.paraphraseMiniLMONNX() }
}

struct FixtureMissing: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil) else {
            throw FixtureMissing("fixture \(name) is missing")
        }
        return url
    }

    /// Lines of a JSON-lines fixture.
    static func lines(_ name: String) throws -> [Data] {
        try Data(contentsOf: url(name)).split(separator: UInt8(ascii: "\n")).map { Data($0) }
    }
}

/// Reference embeddings (`{"text", "embedding"}` per line) and how far a model is from them.
struct EmbeddingReferences {
    let texts: [String]
    let vectors: [[Float]]

    init(_ url: URL, keepingOnly keep: (String) -> Bool = { _ in true }) throws {
        let lines = try Data(contentsOf: url).split(separator: UInt8(ascii: "\n")).map { try JSON.parse($0) }
            .filter { keep($0["text"]?.stringValue ?? "") }
        texts = lines.map { $0["text"]?.stringValue ?? "" }
        vectors = lines.map { $0["embedding"]?.arrayValue?.map { Float($0.doubleValue ?? .nan) } ?? [] }
    }

    /// The largest absolute difference over every text and dimension (infinity on a size mismatch),
    /// with the text where it occurs.
    func maxDifference(_ model: TextEmbedder) throws -> (difference: Float, text: String) {
        try maxDifference { try model.embed($0) }
    }

    func maxDifference(_ embed: ([String]) throws -> [[Float]]) throws -> (difference: Float, text: String) {
        var worst: (Float, String) = (0, "")
        for (text, (vector, expected)) in zip(texts, zip(try embed(texts), vectors)) {
            let difference = vector.count == expected.count ? KernelTests.largestDifference(vector, expected) : .infinity
            if difference > worst.0 || difference.isNaN { worst = (difference, text) }
        }
        return worst
    }
}
