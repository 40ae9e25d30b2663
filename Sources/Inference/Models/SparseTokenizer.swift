import Foundation
import OrderedJSON

/// OpenSearch's sparse tokenizer (`SPARSE_TOKENIZE`): the distinct tokens of a text, each weighted
/// by `idf.json` (1.0 when absent), special tokens left out.
public final class SparseTokenizer: NativeModel, @unchecked Sendable {
    public let tokenizer: Tokenizer
    let idf: [String: Float]

    public var residentBytes: Int { idf.count * 64 }

    init(tokenizer: Tokenizer, idf: [String: Float]) {
        self.tokenizer = tokenizer
        self.idf = idf
    }

    public func encode(_ texts: [String]) -> [[SparseTerm]] {
        texts.map { text in
            var seen = Set<Int32>()
            return tokenizer.encode(text).ids.compactMap { id in
                guard seen.insert(id).inserted, let token = tokenizer.decodeSingle(id), !token.isEmpty else { return nil }
                return SparseTerm(token: token, id: id, weight: idf[token] ?? 1)
            }
        }
    }

    static func parseIDF(_ data: Data) throws -> [String: Float] {
        guard case .object(let object) = try JSON.parse(data) else { throw WeightError("idf.json must hold a JSON object") }
        var idf: [String: Float] = [:]
        for (token, value) in object {
            guard let weight = value.doubleValue else { throw WeightError("idf.json: the weight of \(token) is not a number") }
            idf[token] = Float(weight)
        }
        return idf
    }
}
