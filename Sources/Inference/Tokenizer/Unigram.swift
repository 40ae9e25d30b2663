import OrderedJSON

/// SentencePiece Unigram: the segmentation with the highest total piece score (Viterbi over the
/// UTF-8 bytes); a character no piece covers becomes unknown (score: lowest − 10), and adjacent
/// unknown pieces fuse into one.
struct Unigram: TokenModel {
    private final class TrieNode {
        var children: [UInt8: TrieNode] = [:]
        var id: Int32?
    }

    let pieces: [(piece: String, score: Double)]
    let unknownID: Int32
    let unknownScore: Double
    private let vocabulary: [VocabKey: Int32]
    private nonisolated(unsafe) let root = TrieNode()

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
        for (id, entry) in pieces.enumerated() {
            vocabulary[VocabKey(entry.piece)] = vocabulary[VocabKey(entry.piece)] ?? Int32(id)
            var node = root
            for byte in entry.piece.utf8 {
                if let child = node.children[byte] { node = child } else {
                    let child = TrieNode()
                    node.children[byte] = child
                    node = child
                }
            }
            if node.id == nil { node.id = Int32(id) }
        }
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
            var node = root
            var end = start
            while end < size, let child = node.children[bytes[end]] {
                node = child
                end += 1
                guard let id = node.id else { continue }
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
