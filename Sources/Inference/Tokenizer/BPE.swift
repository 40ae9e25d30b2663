import Foundation
import OrderedJSON

/// Byte-pair encoding: start from single characters and keep merging the adjacent pair with the
/// lowest merge rank (leftmost on ties) until no pair can merge.
final class BPE: TokenModel, @unchecked Sendable {
    let vocabulary: [VocabKey: Int32]
    let tokens: [Int32: String]
    let ranks: [PairKey: Int]
    let unknownID: Int32?
    let ignoreMerges: Bool
    private var cache: [String: [Int32]] = [:]
    private let lock = NSLock()

    struct PairKey: Hashable { let left: String, right: String }

    init(_ json: JSON) throws {
        guard let vocab = json["vocab"]?.objectValue else { throw TokenizerError("BPE model has no vocab") }
        var vocabulary: [VocabKey: Int32] = [:]
        for (token, id) in vocab {
            guard let id = id.tokenID else { throw TokenizerError("BPE vocab entry '\(token.prefix(64))' has id \(id.serialized.prefix(32)); ids are integers in 0...\(Int32.max)") }
            vocabulary[VocabKey(token)] = id
        }
        self.vocabulary = vocabulary
        tokens = Dictionary(vocabulary.map { ($0.value, String(decoding: $0.key.bytes, as: UTF8.self)) }, uniquingKeysWith: { first, _ in first })
        var ranks: [PairKey: Int] = [:]
        for (rank, merge) in (json["merges"]?.arrayValue ?? []).enumerated() {
            let parts: [String]
            if let text = merge.stringValue {
                parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            } else {
                parts = merge.arrayValue?.compactMap(\.stringValue) ?? []
            }
            guard parts.count == 2 else { throw TokenizerError("BPE merge \(rank) is malformed") }
            ranks[PairKey(left: parts[0], right: parts[1])] = ranks[PairKey(left: parts[0], right: parts[1])] ?? rank
        }
        self.ranks = ranks
        unknownID = json["unk_token"]?.stringValue.flatMap { vocabulary[VocabKey($0)] }
        ignoreMerges = json["ignore_merges"]?.boolValue ?? false
        for option in ["continuing_subword_prefix", "end_of_word_suffix"] where !(json[option]?.isNull ?? true) {
            throw TokenizerError("BPE \(option) is not supported yet")
        }
        if json["byte_fallback"]?.boolValue == true { throw TokenizerError("BPE byte_fallback is not supported yet") }
    }

    func tokenize(_ word: String) -> [Int32] {
        if let cached = lock.withLock({ cache[word] }) { return cached }
        var ids: [Int32]
        if ignoreMerges, let id = vocabulary[VocabKey(word)] {
            ids = [id]
        } else {
            var symbols = word.unicodeScalars.map { String($0) }
            while symbols.count > 1 {
                var best: (rank: Int, index: Int)?
                for index in 0..<(symbols.count - 1) {
                    if let rank = ranks[PairKey(left: symbols[index], right: symbols[index + 1])], rank < (best?.rank ?? .max) {
                        best = (rank, index)
                    }
                }
                guard let merge = best else { break }
                // Merge every occurrence of that pair, left to right.
                let left = symbols[merge.index], right = symbols[merge.index + 1]
                var merged: [String] = []
                var i = 0
                while i < symbols.count {
                    if i + 1 < symbols.count && symbols[i] == left && symbols[i + 1] == right {
                        merged.append(left + right)
                        i += 2
                    } else {
                        merged.append(symbols[i])
                        i += 1
                    }
                }
                symbols = merged
            }
            ids = symbols.compactMap { vocabulary[VocabKey($0)] ?? unknownID }
        }
        lock.withLock { if cache.count < 100_000 { cache[word] = ids } }
        return ids
    }

    func token(for id: Int32) -> String? { tokens[id] }
    func id(for token: String) -> Int32? { vocabulary[VocabKey(token)] }
}
