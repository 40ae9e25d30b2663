/// A scalar's UAX #29 Word_Break class, with the extra classes Lucene's StandardTokenizer tells apart
/// (ideographs, Hiragana, South-East Asian scripts, emoji), which UAX #29 leaves as Other.
enum WordBreak: Equatable {
    case extend, zwj, format
    case aLetter, hebrewLetter, numeric, katakana, extendNumLet
    case midLetter, midNum, midNumLet, singleQuote, doubleQuote
    case ideographic, hiragana, complexContext, pictographic, regionalIndicator
    case other

    /// Extend, Format and ZWJ attach to the scalar before them (WB4).
    var isExtend: Bool { self == .extend || self == .zwj || self == .format }

    private var isAHLetter: Bool { self == .aLetter || self == .hebrewLetter }

    /// Adjacent scalars that stay in one word: WB5, WB8–WB10, WB13–WB13b.
    static func joins(_ a: WordBreak, _ b: WordBreak) -> Bool {
        switch (a, b) {
        case (.aLetter, .aLetter), (.aLetter, .hebrewLetter), (.hebrewLetter, .aLetter), (.hebrewLetter, .hebrewLetter),
             (.aLetter, .numeric), (.hebrewLetter, .numeric), (.numeric, .aLetter), (.numeric, .hebrewLetter),
             (.numeric, .numeric), (.katakana, .katakana):
            return true
        case (.aLetter, .extendNumLet), (.hebrewLetter, .extendNumLet), (.numeric, .extendNumLet),
             (.katakana, .extendNumLet), (.extendNumLet, .extendNumLet):
            return true
        case (.extendNumLet, .aLetter), (.extendNumLet, .hebrewLetter), (.extendNumLet, .numeric), (.extendNumLet, .katakana):
            return true
        default:
            return false
        }
    }

    /// A middle scalar that joins the scalars on both sides: WB6/7 (`dog's`, `foo:bar`, `u.s.a`),
    /// WB7b/c (Hebrew `"`), WB11/12 (`3.14`, `1,000`).
    static func joinsAcross(_ a: WordBreak, _ middle: WordBreak, _ b: WordBreak) -> Bool {
        switch middle {
        case .midLetter: return a.isAHLetter && b.isAHLetter
        case .midNumLet, .singleQuote: return (a.isAHLetter && b.isAHLetter) || (a == .numeric && b == .numeric)
        case .midNum: return a == .numeric && b == .numeric
        case .doubleQuote: return a == .hebrewLetter && b == .hebrewLetter
        default: return false
        }
    }

    init(_ scalar: Unicode.Scalar) {
        let value = scalar.value
        let properties = scalar.properties
        if value == 0x200D { self = .zwj; return }
        if value < 0x80 {
            self = Self.ascii(UInt8(value))
            return
        }
        if (0x1F1E6...0x1F1FF).contains(value) { self = .regionalIndicator; return }
        if properties.isGraphemeExtend || properties.generalCategory == .spacingMark || properties.isEmojiModifier {
            self = .extend
            return
        }
        if properties.generalCategory == .format {
            self = (value == 0x200B || Self.prepend.contains(where: { $0.contains(value) })) ? .other : .format
            return
        }
        if let punctuation = Self.punctuation[value] { self = punctuation; return }
        if properties.generalCategory == .connectorPunctuation || value == 0x202F { self = .extendNumLet; return }
        if Self.katakanaRanges.contains(where: { $0.contains(value) }) { self = .katakana; return }
        if properties.generalCategory == .decimalNumber || value == 0x066B { self = .numeric; return }
        if properties.isIdeographic { self = .ideographic; return }
        if (0x3041...0x309F).contains(value) || (0x1B001...0x1B11F).contains(value) { self = .hiragana; return }
        if Self.hebrewRanges.contains(where: { $0.contains(value) }) { self = .hebrewLetter; return }
        if Self.southEastAsian.contains(where: { $0.contains(value) }), properties.isAlphabetic || properties.generalCategory == .nonspacingMark {
            self = .complexContext
            return
        }
        if properties.isAlphabetic || Self.extraLetters.contains(where: { $0.contains(value) }) { self = .aLetter; return }
        if properties.isEmoji || properties.isEmojiPresentation { self = .pictographic; return }
        self = .other
    }

    private static func ascii(_ byte: UInt8) -> WordBreak {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .aLetter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .numeric
        case UInt8(ascii: "_"): return .extendNumLet
        case UInt8(ascii: "'"): return .singleQuote
        case UInt8(ascii: "\""): return .doubleQuote
        case UInt8(ascii: "."): return .midNumLet
        case UInt8(ascii: ":"): return .midLetter
        case UInt8(ascii: ","), UInt8(ascii: ";"): return .midNum
        default: return .other
        }
    }

    /// Non-ASCII MidLetter, MidNum and MidNumLet scalars (WordBreakProperty.txt).
    private static let punctuation: [UInt32: WordBreak] = {
        var table: [UInt32: WordBreak] = [:]
        for value: UInt32 in [0x00B7, 0x0387, 0x055F, 0x05F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A] { table[value] = .midLetter }
        for value: UInt32 in [0x037E, 0x0589, 0x060C, 0x060D, 0x066C, 0x07F8, 0x2044, 0xFE10, 0xFE14, 0xFE50, 0xFE54, 0xFF0C, 0xFF1B] {
            table[value] = .midNum
        }
        for value: UInt32 in [0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E] { table[value] = .midNumLet }
        return table
    }()

    private static let katakanaRanges: [ClosedRange<UInt32>] = [
        0x3031...0x3035, 0x309B...0x309C, 0x30A0...0x30FA, 0x30FC...0x30FF, 0x31F0...0x31FF, 0x32D0...0x32FE,
        0x3300...0x3357, 0xFF66...0xFF9D, 0x1AFF0...0x1B000, 0x1B120...0x1B122, 0x1B164...0x1B167,
    ]
    private static let hebrewRanges: [ClosedRange<UInt32>] = [
        0x05D0...0x05EA, 0x05EF...0x05F2, 0xFB1D...0xFB1D, 0xFB1F...0xFB28, 0xFB2A...0xFB4F,
    ]
    /// Scripts written without spaces (Line_Break=Complex_Context): Thai, Lao, Myanmar, Khmer, Tai scripts.
    private static let southEastAsian: [ClosedRange<UInt32>] = [
        0x0E00...0x0EFF, 0x1000...0x109F, 0x1780...0x17FF, 0x1950...0x19DF, 0x1A20...0x1AAF,
        0xA9E0...0xA9FF, 0xAA60...0xAADF, 0x11700...0x1174F,
    ]
    /// Modifier letters and other non-alphabetic scalars UAX #29 counts as ALetter.
    private static let extraLetters: [ClosedRange<UInt32>] = [
        0x02C2...0x02C5, 0x02D2...0x02D7, 0x02DE...0x02DF, 0x02E5...0x02EB, 0x02ED...0x02ED, 0x02EF...0x02FF,
        0x055A...0x055C, 0x055E...0x055E, 0x058A...0x058A, 0x05F3...0x05F3, 0xA708...0xA716, 0xA720...0xA721,
        0xA789...0xA78A, 0xAB5B...0xAB5B,
    ]
    /// Format scalars that are Prepend in grapheme rules, so not WB Format.
    private static let prepend: [ClosedRange<UInt32>] = [
        0x0600...0x0605, 0x06DD...0x06DD, 0x070F...0x070F, 0x0890...0x0891, 0x08E2...0x08E2, 0x110BD...0x110BD, 0x110CD...0x110CD,
    ]
}
