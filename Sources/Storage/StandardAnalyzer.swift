/// OpenSearch's `standard` analyzer: Lucene's StandardTokenizer (Unicode UAX #29 word boundaries,
/// keeping only segments that hold letters, digits, ideographs, kana, South-East Asian runs or emoji)
/// followed by lower-casing. `alpha_beta` is one token (`_` is ExtendNumLet), `dog's` and `foo:bar`
/// are one token (MidLetter), `3.14` and `1,000` are one token (MidNum), `Brown-Foxes` is two.
///
/// Word-break classes come from Swift's Unicode scalar properties (the Unicode version of the
/// standard library) plus code-point ranges for what Swift does not expose (scripts, Word_Break
/// punctuation). Lucene's scanner is generated for Unicode 12.1 (`StandardTokenizerImpl.jflex`);
/// scalars assigned or reclassified since may tokenize differently.
public enum StandardAnalyzer {
    /// Lucene's default `max_token_length`, counted in UTF-16 code units; longer tokens are split.
    public static let maxTokenLength = 255

    /// The lower-cased tokens of `text`, in order (a token's position is its index).
    public static func tokens(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let classes = scalars.map(WordBreak.init)
        var tokens: [String] = []
        var start = 0
        while start < scalars.count {
            let end = tokenEnd(from: start, classes, scalars)
            if end > start {
                for piece in split(scalars[start..<end]) { tokens.append(lowercased(piece)) }
                start = end
            } else {
                start += 1
            }
        }
        return tokens
    }

    /// Where the token starting at `start` ends, or `start` when no token starts there.
    private static func tokenEnd(from start: Int, _ classes: [WordBreak], _ scalars: [Unicode.Scalar]) -> Int {
        switch classes[start] {
        case .aLetter, .hebrewLetter, .numeric, .katakana, .extendNumLet:
            return wordEnd(from: start, classes)
        case .ideographic, .hiragana:
            return skipExtend(start + 1, classes)  // one token per character
        case .complexContext:
            var end = start
            while end < classes.count, classes[end] == .complexContext || classes[end].isExtend { end += 1 }
            return end
        case .pictographic:
            return emojiEnd(from: start, classes)
        case .regionalIndicator:  // flags are pairs; a lone indicator is no token
            let next = skipExtend(start + 1, classes)
            return next < classes.count && classes[next] == .regionalIndicator ? skipExtend(next + 1, classes) : start
        case .extend where scalars[start].properties.isEmojiModifier:
            return emojiEnd(from: start, classes)  // a skin tone alone is an emoji token too
        default:
            // A keycap (`#⃣`, `*️⃣`) is an emoji token; digits take the Numeric path with their extenders.
            if scalars[start] == "#" || scalars[start] == "*" {
                var next = start + 1
                if next < scalars.count, scalars[next].value == 0xFE0F { next += 1 }
                if next < scalars.count, scalars[next].value == 0x20E3 { return skipExtend(next + 1, classes) }
            }
            return start
        }
    }

    /// UAX #29 rules WB5–WB13b over letters, digits, Katakana and connectors (WB4: extenders attach
    /// to what precedes them). A run of connectors alone (`___`) is no token, as in Lucene.
    private static func wordEnd(from start: Int, _ classes: [WordBreak]) -> Int {
        var last = classes[start]
        var end = skipExtend(start + 1, classes)
        var hasCore = last != .extendNumLet
        while end < classes.count {
            let next = classes[end]
            if WordBreak.joins(last, next) {
                last = next
                hasCore = hasCore || next != .extendNumLet
                end = skipExtend(end + 1, classes)
                continue
            }
            let after = skipExtend(end + 1, classes)
            if after < classes.count, WordBreak.joinsAcross(last, next, classes[after]) {
                last = classes[after]
                end = skipExtend(after + 1, classes)
                continue
            }
            if last == .hebrewLetter, next == .singleQuote {  // WB7a
                end = after
            }
            break
        }
        return hasCore ? end : start
    }

    /// An emoji with its modifiers, joined to the next by ZWJ (WB3c).
    private static func emojiEnd(from start: Int, _ classes: [WordBreak]) -> Int {
        var end = start + 1
        while end < classes.count, classes[end].isExtend {
            if classes[end] == .zwj, end + 1 < classes.count, classes[end + 1] == .pictographic {
                end += 2
                continue
            }
            end += 1
        }
        return end
    }

    private static func skipExtend(_ index: Int, _ classes: [WordBreak]) -> Int {
        var index = index
        while index < classes.count, classes[index].isExtend { index += 1 }
        return index
    }

    /// Cuts a token longer than `maxTokenLength` UTF-16 units into pieces of at most that length,
    /// never inside a scalar (Lucene cuts its scanner buffer at the same length).
    private static func split(_ token: ArraySlice<Unicode.Scalar>) -> [ArraySlice<Unicode.Scalar>] {
        var pieces: [ArraySlice<Unicode.Scalar>] = []
        var pieceStart = token.startIndex
        var units = 0
        for index in token.indices {
            let width = UTF16.width(token[index])
            if units + width > maxTokenLength {
                pieces.append(token[pieceStart..<index])
                pieceStart = index
                units = 0
            }
            units += width
        }
        pieces.append(token[pieceStart..<token.endIndex])
        return pieces
    }

    /// Java's `Character.toLowerCase` per code point (simple case mapping), as Lucene's LowerCaseFilter.
    private static func lowercased(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var result = String.UnicodeScalarView()
        for scalar in scalars {
            if scalar.isASCII {
                let value = scalar.value
                result.append((0x41...0x5A).contains(value) ? Unicode.Scalar(UInt8(value + 0x20)) : scalar)
                continue
            }
            if scalar.value == 0x130 {  // İ: the full mapping adds a combining dot; the simple one is `i`
                result.append("i")
                continue
            }
            let mapped = scalar.properties.lowercaseMapping.unicodeScalars
            if mapped.count == 1 { result.append(contentsOf: mapped) } else { result.append(scalar) }
        }
        return String(result)
    }
}
