import OrderedJSON

/// A `tokenizer.json` model: turns one pre-tokenized word into ids.
protocol TokenModel: Sendable {
    func tokenize(_ word: String) -> [Int32]
    func token(for id: Int32) -> String?
    func id(for token: String) -> Int32?
}

extension JSON {
    /// A token or type id of `tokenizer.json`: an integer in 0...Int32.max (the engine's id type), else nil.
    var tokenID: Int32? { intValue.flatMap { (0...Int64(Int32.max)).contains($0) ? Int32($0) : nil } }
}

enum TokenModels {
    static func make(_ json: JSON) throws -> any TokenModel {
        let type = json["type"]?.stringValue ?? (json["continuing_subword_prefix"] != nil ? "WordPiece" : (json["unk_id"] != nil ? "Unigram" : ""))
        switch type {
        case "WordPiece": return try WordPiece(json)
        case "BPE": return try BPE(json)
        case "Unigram": return try Unigram(json)
        default: throw TokenizerError("unsupported tokenizer model type '\(type)'")
        }
    }
}

/// A vocabulary key compared byte for byte: Swift's `String` equality is canonical equivalence,
/// which would merge distinct vocabulary entries such as "é" and "e\u{301}".
struct VocabKey: Hashable, Sendable {
    let bytes: [UInt8]
    init(_ text: String) { bytes = Array(text.utf8) }
    init<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
        var bytes: [UInt8] = []
        for scalar in scalars { bytes.append(contentsOf: UTF8.encode(scalar)!) }
        self.bytes = bytes
    }
}

/// Greedy longest-match-first sub-word tokenization; a word with no full match becomes one unknown token.
struct WordPiece: TokenModel {
    let vocabulary: [VocabKey: Int32]
    let tokens: [Int32: String]
    let unknownID: Int32
    let prefix: String
    let maxCharacters: Int

    init(_ json: JSON) throws {
        guard let vocab = json["vocab"]?.objectValue else { throw TokenizerError("WordPiece model has no vocab") }
        var vocabulary: [VocabKey: Int32] = [:]
        vocabulary.reserveCapacity(vocab.count)
        for (token, id) in vocab {
            guard let id = id.tokenID else { throw TokenizerError("WordPiece vocab entry '\(token.prefix(64))' has id \(id.serialized.prefix(32)); ids are integers in 0...\(Int32.max)") }
            vocabulary[VocabKey(token)] = id
        }
        let unknown = json["unk_token"]?.stringValue ?? "[UNK]"
        guard let unknownID = vocabulary[VocabKey(unknown)] else { throw TokenizerError("WordPiece unk_token '\(unknown)' is not in the vocab") }
        self.vocabulary = vocabulary
        self.tokens = Dictionary(vocabulary.map { ($0.value, String(decoding: $0.key.bytes, as: UTF8.self)) }, uniquingKeysWith: { first, _ in first })
        self.unknownID = unknownID
        self.prefix = json["continuing_subword_prefix"]?.stringValue ?? "##"
        // Matching a word is quadratic in its length: the file may not make words of any length matchable.
        let maxCharacters = json["max_input_chars_per_word"]?.intValue ?? 100
        guard (0...10_000).contains(maxCharacters) else { throw TokenizerError("WordPiece max_input_chars_per_word is \(maxCharacters); it must be in 0...10000") }
        self.maxCharacters = Int(maxCharacters)
    }

    func tokenize(_ word: String) -> [Int32] {
        // Characters here are Unicode scalars, as Rust's `char`.
        let characters = Array(word.unicodeScalars)
        if characters.count > maxCharacters { return [unknownID] }
        let prefixScalars = Array(prefix.unicodeScalars)
        var ids: [Int32] = []
        var start = 0
        while start < characters.count {
            var end = characters.count
            var found: Int32?
            while start < end {
                let piece = start > 0 ? VocabKey(scalars: prefixScalars + characters[start..<end]) : VocabKey(scalars: characters[start..<end])
                if let id = vocabulary[piece] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            ids.append(id)
            start = end
        }
        return ids
    }

    func token(for id: Int32) -> String? { tokens[id] }
    func id(for token: String) -> Int32? { vocabulary[VocabKey(token)] }
}
