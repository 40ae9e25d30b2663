/// GPT-2 / RoBERTa byte-level pre-tokenization: split with GPT-2's pattern, then spell every UTF-8
/// byte of a piece as one printable character.
struct ByteLevel: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool

    /// Bytes `!`…`~`, `¡`…`¬`, `®`…`ÿ` stand for themselves; the other 68 map to U+0100 onwards.
    static let byteToCharacter: [Character] = {
        var table = [Character](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte) {
                table[byte] = Character(Unicode.Scalar(UInt32(byte))!)
            } else {
                table[byte] = Character(Unicode.Scalar(next)!)
                next += 1
            }
        }
        return table
    }()

    func split(_ text: String) -> [String] {
        var source = text
        if addPrefixSpace && !source.hasPrefix(" ") { source = " " + source }
        let pieces = useRegex ? Self.gpt2Pieces(source) : [source]
        return pieces.map { piece in String(piece.utf8.map { Self.byteToCharacter[Int($0)] }) }
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, alternatives tried
    /// in that order at each position, as the regex engine does.
    static func gpt2Pieces(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        var i = 0
        // `\p{L}` and `\p{N}` as Oniguruma 6.9.8 has them (Unicode 14.0); `\s` is White_Space.
        func isLetter(_ s: Unicode.Scalar) -> Bool {
            if s.isASCII { return (65...90).contains(s.value) || (97...122).contains(s.value) }
            return UnicodeTables.regexLetter.contains(s)
        }
        func isNumber(_ s: Unicode.Scalar) -> Bool {
            if s.isASCII { return (48...57).contains(s.value) }
            return UnicodeTables.regexNumber.contains(s)
        }
        func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }
        func run(from start: Int, while predicate: (Unicode.Scalar) -> Bool) -> Int {
            var end = start
            while end < scalars.count && predicate(scalars[end]) { end += 1 }
            return end
        }
        while i < scalars.count {
            var end = i
            // Contractions.
            if scalars[i] == "'" {
                for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
                    let candidate = Array(suffix.unicodeScalars)
                    if i + 1 + candidate.count <= scalars.count && Array(scalars[(i + 1)..<(i + 1 + candidate.count)]) == candidate {
                        end = i + 1 + candidate.count
                        break
                    }
                }
            }
            if end == i {
                let body = scalars[i] == " " && i + 1 < scalars.count ? i + 1 : i
                for predicate in [isLetter, isNumber, { !isSpace($0) && !isLetter($0) && !isNumber($0) }] as [(Unicode.Scalar) -> Bool] {
                    if body < scalars.count, predicate(scalars[body]) {
                        end = run(from: body, while: predicate)
                        break
                    }
                }
            }
            if end == i, isSpace(scalars[i]) {
                let spaces = run(from: i, while: isSpace)
                // `\s+(?!\S)`: leave the last space for the next piece when a non-space follows.
                end = spaces < scalars.count && spaces - i > 1 ? spaces - 1 : spaces
            }
            if end == i { end = i + 1 }
            pieces.append(String(String.UnicodeScalarView(scalars[i..<end])))
            i = end
        }
        return pieces
    }
}
