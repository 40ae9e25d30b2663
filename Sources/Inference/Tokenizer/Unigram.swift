import OrderedJSON

/// SentencePiece Unigram: the segmentation with the highest total piece score (Viterbi over the
/// UTF-8 bytes); a character no piece covers becomes unknown (score: lowest − 10), and adjacent
/// unknown pieces fuse into one.
struct Unigram: TokenModel {
    /// The pieces' trie, flat: node `n`'s children are `children[n]`, its piece `ids[n]` (−1: none).
    /// Nodes are indexes, not objects, so a piece 100k bytes long cannot make releasing the trie
    /// recurse 100k deep.
    private struct Trie: Sendable {
        var children: [[UInt8: Int32]] = [[:]]
        var ids: [Int32] = [-1]
    }

    let pieces: [(piece: String, score: Double)]
    let unknownID: Int32
    let unknownScore: Double
    private let vocabulary: [VocabKey: Int32]
    private let trie: Trie

    init(_ json: JSON) throws {
        guard let vocab = json["vocab"]?.arrayValue else { throw TokenizerError("Unigram model has no vocab") }
        pieces = try vocab.map { entry in
            guard let pair = entry.arrayValue, pair.count == 2, let piece = pair[0].stringValue, let score = pair[1].doubleValue, score.isFinite else {
                throw TokenizerError("a Unigram vocab entry is not [piece, finite score]")
            }
            return (piece, score)
        }
        guard let unk = json["unk_id"]?.intValue, unk >= 0, Int(unk) < pieces.count, pieces.count <= Int(Int32.max) else { throw TokenizerError("Unigram model has no valid unk_id") }
        if json["byte_fallback"]?.boolValue == true { throw TokenizerError("Unigram byte_fallback is not supported yet") }
        unknownID = Int32(unk)
        unknownScore = (pieces.map(\.score).min() ?? 0) - 10
        var vocabulary: [VocabKey: Int32] = [:]
        var trie = Trie()
        for (id, entry) in pieces.enumerated() {
            vocabulary[VocabKey(entry.piece)] = vocabulary[VocabKey(entry.piece)] ?? Int32(id)
            var node = 0
            for byte in entry.piece.utf8 {
                if let child = trie.children[node][byte] { node = Int(child) } else {
                    trie.children.append([:])
                    trie.ids.append(-1)
                    trie.children[node][byte] = Int32(trie.ids.count - 1)
                    node = trie.ids.count - 1
                }
            }
            if trie.ids[node] < 0 { trie.ids[node] = Int32(id) }
        }
        guard trie.ids.count <= Int(Int32.max) else { throw TokenizerError("the Unigram vocabulary is too large") }
        self.trie = trie
        self.vocabulary = vocabulary
    }

    func tokenize(_ word: String) -> [Int32] {
        let bytes = Array(word.utf8)
        let size = bytes.count
        var best = [(score: Double, start: Int?, id: Int32)](repeating: (0, nil, 0), count: size + 1)
        var start = 0
        while start < size {
            let scoreHere = best[start].score
            let characterLength = Self.utf8Length(bytes[start])
            var hasSingleCharacter = false
            var node = 0
            var end = start
            while end < size, let child = trie.children[node][bytes[end]] {
                node = Int(child)
                end += 1
                let id = trie.ids[node]
                guard id >= 0 else { continue }
                let candidate = scoreHere + pieces[Int(id)].score
                if best[end].start == nil || candidate > best[end].score { best[end] = (candidate, start, id) }
                if end - start == characterLength { hasSingleCharacter = true }
            }
            if !hasSingleCharacter {
                let target = min(start + characterLength, size)
                let candidate = scoreHere + unknownScore
                if best[target].start == nil || candidate > best[target].score { best[target] = (candidate, start, unknownID) }
            }
            start += characterLength
        }
        // Walk back, fusing runs of unknown pieces.
        var ids: [Int32] = []
        var end = size
        var previousWasUnknown = false
        while end > 0, let begin = best[end].start {
            let id = best[end].id
            if id == unknownID {
                if !previousWasUnknown { ids.append(unknownID) }
                previousWasUnknown = true
            } else {
                ids.append(id)
                previousWasUnknown = false
            }
            end = begin
        }
        return ids.reversed()
    }

    private static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0..<0x80: return 1
        case 0xC0..<0xE0: return 2
        case 0xE0..<0xF0: return 3
        default: return 4
        }
    }

    func token(for id: Int32) -> String? { Int(id) < pieces.count && id >= 0 ? pieces[Int(id)].piece : nil }
    func id(for token: String) -> Int32? { vocabulary[VocabKey(token)] }
}
