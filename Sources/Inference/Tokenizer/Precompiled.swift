import Foundation

/// SentencePiece's precompiled normalizer (`nmt_nfkc` and friends): a Darts double-array trie of
/// strings to replace, then the pool of replacements. Replacement follows `tokenizers` exactly:
/// a grapheme cluster (as `tokenizers` segments them: GraphemeBreak) of under 6 bytes is replaced
/// whole by its first (shortest) trie match; otherwise each of its characters is looked up alone.
struct Precompiled: Normalizer {
    let trie: [UInt32]
    let pool: [UInt8]

    init(base64: String) throws {
        guard let blob = Data(base64Encoded: base64), blob.count >= 4 else { throw TokenizerError("Precompiled charsmap is not valid base64") }
        let bytes = [UInt8](blob)
        let trieSize = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard trieSize % 4 == 0, 4 + trieSize <= bytes.count else { throw TokenizerError("Precompiled charsmap is truncated") }
        trie = stride(from: 4, to: 4 + trieSize, by: 4).map { i in
            UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        }
        pool = Array(bytes[(4 + trieSize)...])
    }

    func normalize(_ text: String) -> String {
        var result = ""
        let scalars = Array(text.unicodeScalars)
        for cluster in GraphemeBreak.clusters(scalars) {
            var utf8: [UInt8] = []
            for scalar in scalars[cluster] { utf8.append(contentsOf: UTF8.encode(scalar)!) }
            if utf8.count < 6, let replacement = transform(utf8) {
                result += replacement
                continue
            }
            for scalar in scalars[cluster] {
                if let replacement = transform(Array(UTF8.encode(scalar)!)) { result += replacement } else { result.unicodeScalars.append(scalar) }
            }
        }
        return result
    }

    /// The replacement of the first (shortest) key that is a prefix of `chunk`.
    private func transform(_ chunk: [UInt8]) -> String? {
        guard let index = firstPrefixValue(chunk), index < pool.count else { return nil }
        var end = index
        while end < pool.count && pool[end] != 0 { end += 1 }
        return String(decoding: pool[index..<end], as: UTF8.self)
    }

    private func firstPrefixValue(_ key: [UInt8]) -> Int? {
        func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
        func label(_ unit: UInt32) -> UInt32 { unit & ((1 << 31) | 0xFF) }
        func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
        guard !trie.isEmpty else { return nil }
        var position = offset(trie[0])
        for byte in key {
            if byte == 0 { break }
            position ^= Int(byte)
            guard position < trie.count else { return nil }
            let unit = trie[position]
            if label(unit) != UInt32(byte) { return nil }
            position ^= offset(unit)
            guard position < trie.count else { return nil }
            if hasLeaf(unit) { return Int(trie[position] & ((1 << 31) - 1)) }
        }
        return nil
    }
}
