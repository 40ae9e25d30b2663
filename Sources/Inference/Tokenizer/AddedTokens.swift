import OrderedJSON

/// Added tokens (special tokens mostly): found in the text before anything else runs, each match
/// becoming one token that skips the normalizer, pre-tokenizer and model.
struct AddedTokens: Sendable {
    struct Token: Sendable {
        let id: Int32
        let content: String
        let normalized: Bool
        let singleWord: Bool
        let lstrip: Bool
        let rstrip: Bool
        let special: Bool
    }

    enum Piece: Equatable {
        case token(Int32)
        case text(String)
    }

    /// A token with its content as scalars, for matching.
    private typealias Pattern = (token: Token, scalars: [Unicode.Scalar])

    let tokens: [Token]
    private let byContent: [String: Int32]
    private let byID: [Int32: String]
    /// Matched before the normalizer / after it (made once: `split` runs for every text).
    private let rawPatterns: [Pattern]
    private let normalizedPatterns: [Pattern]

    init(_ entries: [JSON]) throws {
        tokens = try entries.map { entry in
            guard let id = entry["id"]?.tokenID, let content = entry["content"]?.stringValue else {
                throw TokenizerError("an added token lacks its content or its id (an integer in 0...\(Int32.max))")
            }
            return Token(id: id, content: content, normalized: entry["normalized"]?.boolValue ?? false,
                         singleWord: entry["single_word"]?.boolValue ?? false,
                         lstrip: entry["lstrip"]?.boolValue ?? false, rstrip: entry["rstrip"]?.boolValue ?? false,
                         special: entry["special"]?.boolValue ?? false)
        }
        byContent = Dictionary(tokens.map { ($0.content, $0.id) }, uniquingKeysWith: { first, _ in first })
        byID = Dictionary(tokens.map { ($0.id, $0.content) }, uniquingKeysWith: { first, _ in first })
        let patterns = tokens.filter { !$0.content.isEmpty }.map { (token: $0, scalars: Array($0.content.unicodeScalars)) }
        rawPatterns = patterns.filter { !$0.token.normalized }
        normalizedPatterns = patterns.filter { $0.token.normalized }
    }

    func id(of content: String) -> Int32? { byContent[content] }
    func content(of id: Int32) -> String? { byID[id] }

    /// Ids of the special added tokens (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`, `<s>`, …).
    var specialIDs: Set<Int32> { Set(tokens.filter(\.special).map(\.id)) }

    /// Splits raw text around non-normalized added tokens, normalizes the rest, then splits that
    /// around normalized added tokens.
    func split(_ text: String, normalizer: (any Normalizer)?) -> [Piece] {
        var pieces: [Piece] = []
        for piece in Self.match(text, rawPatterns) {
            guard case .text(let raw) = piece else { pieces.append(piece); continue }
            let normalized = normalizer?.normalize(raw) ?? raw
            pieces.append(contentsOf: Self.match(normalized, normalizedPatterns))
        }
        return pieces
    }

    /// Leftmost-longest matching of token contents in `text` (on unicode scalars).
    private static func match(_ text: String, _ patterns: [Pattern]) -> [Piece] {
        guard !patterns.isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        let scalars = Array(text.unicodeScalars)
        var pieces: [Piece] = []
        var textStart = 0
        var i = 0
        func flush(_ end: Int) {
            if end > textStart { pieces.append(.text(String(String.UnicodeScalarView(scalars[textStart..<end])))) }
        }
        while i < scalars.count {
            var best: (token: Token, length: Int)?
            for pattern in patterns where pattern.scalars.count > (best?.length ?? 0) && i + pattern.scalars.count <= scalars.count {
                if scalars[i..<(i + pattern.scalars.count)].elementsEqual(pattern.scalars),
                   !pattern.token.singleWord || isWordBoundary(scalars, i, i + pattern.scalars.count) {
                    best = (pattern.token, pattern.scalars.count)
                }
            }
            guard let match = best else { i += 1; continue }
            var start = i
            var end = i + match.length
            if match.token.lstrip { while start > textStart, scalars[start - 1].properties.isWhitespace { start -= 1 } }
            if match.token.rstrip { while end < scalars.count, scalars[end].properties.isWhitespace { end += 1 } }
            flush(start)
            pieces.append(.token(match.token.id))
            textStart = end
            i = end
        }
        flush(scalars.count)
        return pieces
    }

    private static func isWordBoundary(_ scalars: [Unicode.Scalar], _ start: Int, _ end: Int) -> Bool {
        func isWord(_ s: Unicode.Scalar) -> Bool { s.properties.isAlphabetic || s.properties.numericType != nil || s == "_" }
        let before = start == 0 || !isWord(scalars[start - 1])
        let after = end == scalars.count || !isWord(scalars[end])
        return before && after
    }
}
