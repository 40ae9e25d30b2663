import Foundation
import OrderedJSON

/// A `tokenizer.json` normalizer.
protocol Normalizer: Sendable {
    func normalize(_ text: String) -> String
}

enum Normalizers {
    static func make(_ json: JSON) throws -> any Normalizer {
        let type = json["type"]?.stringValue ?? ""
        switch type {
        case "BertNormalizer":
            let lowercase = json["lowercase"]?.boolValue ?? true
            return BertNormalizer(cleanText: json["clean_text"]?.boolValue ?? true,
                                  handleChineseChars: json["handle_chinese_chars"]?.boolValue ?? true,
                                  stripAccents: json["strip_accents"]?.boolValue ?? lowercase, lowercase: lowercase)
        case "Lowercase": return Lowercase()
        case "NFD", "NFKD", "NFC", "NFKC": return UnicodeForm(form: type)
        case "StripAccents": return StripAccents()
        case "Strip": return Strip(left: json["strip_left"]?.boolValue ?? true, right: json["strip_right"]?.boolValue ?? true)
        case "Prepend": return Prepend(prefix: json["prepend"]?.stringValue ?? "")
        case "Replace":
            let content = json["content"]?.stringValue ?? ""
            if let pattern = json["pattern"]?["String"]?.stringValue { return Replace(pattern: pattern, content: content) }
            guard let regex = json["pattern"]?["Regex"]?.stringValue else { throw TokenizerError("Replace normalizer without a pattern") }
            do {
                try RegexReplace.checkBounded(regex)
                return RegexReplace(regex: try NSRegularExpression(pattern: regex), content: content)
            } catch {
                throw TokenizerError("Replace normalizer regex \(regex) is not supported: \(error)")
            }
        case "Precompiled":
            guard let charsmap = json["precompiled_charsmap"]?.stringValue else { throw TokenizerError("Precompiled normalizer without a charsmap") }
            return try Precompiled(base64: charsmap)
        case "Sequence":
            return NormalizerSequence(steps: try (json["normalizers"]?.arrayValue ?? []).map(make))
        default:
            throw TokenizerError("unsupported normalizer type '\(type)'")
        }
    }
}

/// BERT's normalizer: clean control characters and white space, isolate CJK ideographs, strip
/// accents (NFD, then drop non-spacing marks), lower-case — in that order, as `tokenizers` does.
struct BertNormalizer: Normalizer {
    let cleanText: Bool
    let handleChineseChars: Bool
    let stripAccents: Bool
    let lowercase: Bool

    func normalize(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || CharacterClass.isControl(scalar) { continue }
                if CharacterClass.isWhitespace(scalar) { scalars.append(" "); continue }
            }
            if handleChineseChars && CharacterClass.isCJKIdeograph(scalar) {
                scalars.append(" ")
                scalars.append(scalar)
                scalars.append(" ")
            } else {
                scalars.append(scalar)
            }
        }
        var result = String(scalars)
        if stripAccents {
            // Mn only (`is_mark_nonspacing`), where the StripAccents normalizer drops every mark.
            let decomposed = UnicodeForm.normalize(result, by: { $0.decomposedStringWithCanonicalMapping })
            result = String(String.UnicodeScalarView(decomposed.unicodeScalars.filter { !CharacterClass.isNonspacingMark($0) }))
        }
        if lowercase { result = Lowercase().normalize(result) }
        return result
    }
}

/// Per-character full lower-case mapping (context-free, like Rust's `char::to_lowercase`); characters
/// newer than Unicode 15.1 (Rust 1.77's tables) stay as they are.
struct Lowercase: Normalizer {
    func normalize(_ text: String) -> String {
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                result.unicodeScalars.append(scalar.value >= 65 && scalar.value <= 90 ? Unicode.Scalar(scalar.value + 32)! : scalar)
            } else if UnicodeAge.lowercasable(scalar) {
                result.unicodeScalars.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

/// Drops combining marks (M*, as unicode-normalization-alignments' `is_combining_mark` has them:
/// Unicode 9.0).
struct StripAccents: Normalizer {
    func normalize(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.isASCII || !UnicodeTables.combiningMark.contains($0) }))
    }
}

/// NFD, NFKD, NFC or NFKC at Unicode 9.0, the version of `tokenizers`' normalization tables.
struct UnicodeForm: Normalizer {
    let form: String
    func normalize(_ text: String) -> String {
        switch form {
        case "NFD": return Self.normalize(text, by: { $0.decomposedStringWithCanonicalMapping })
        case "NFKD": return Self.normalize(text, by: { $0.decomposedStringWithCompatibilityMapping })
        case "NFC": return Self.normalize(text, by: { $0.precomposedStringWithCanonicalMapping })
        default: return Self.normalize(text, by: { $0.precomposedStringWithCompatibilityMapping })
        }
    }

    /// Applies Swift's normalization to the characters Unicode 9.0 had, and keeps the newer ones as
    /// they are. To 9.0 a newer character is unassigned: no decomposition, combining class 0, so
    /// nothing reorders or composes across it; and an older character's decomposition and class never
    /// change, so Swift's newer tables give 9.0's result on the rest. The newer characters (and any
    /// U+FFFF) stand in as U+FFFF, which acts the same (a noncharacter since 1.1, produced by no
    /// mapping), during one call of `form`, and are put back after.
    static func normalize(_ text: String, by form: (String) -> String) -> String {
        guard text.unicodeScalars.contains(where: { !UnicodeAge.normalizable($0) }) else { return form(text) }
        let placeholder: Unicode.Scalar = "\u{FFFF}"
        var standIns: [Unicode.Scalar] = []
        var masked = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == placeholder || !UnicodeAge.normalizable(scalar) {
                standIns.append(scalar)
                masked.append(placeholder)
            } else {
                masked.append(scalar)
            }
        }
        var result = String.UnicodeScalarView()
        var next = 0
        for scalar in form(String(masked)).unicodeScalars {
            if scalar == placeholder && next < standIns.count {
                result.append(standIns[next])
                next += 1
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }
}

struct Strip: Normalizer {
    let left: Bool
    let right: Bool
    func normalize(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars
        if left { while let first = scalars.first, CharacterClass.isWhitespace(first) { scalars.removeFirst() } }
        if right { while let last = scalars.last, CharacterClass.isWhitespace(last) { scalars.removeLast() } }
        return String(scalars)
    }
}

struct Prepend: Normalizer {
    let prefix: String
    func normalize(_ text: String) -> String { text.isEmpty ? text : prefix + text }
}

struct Replace: Normalizer {
    let pattern: String
    let content: String
    func normalize(_ text: String) -> String {
        text.replacingScalars(of: pattern, with: content)
    }
}

struct RegexReplace: Normalizer, @unchecked Sendable {
    let regex: NSRegularExpression
    let content: String

    /// The regex engine backtracks: a pattern from the file that repeats a repeated group (`(a+)+`)
    /// or refers back to a group can take exponential time on a short text. Such patterns (never
    /// seen in released tokenizers, which replace runs of spaces or quotes) are refused, as are
    /// patterns over 512 characters.
    static func checkBounded(_ pattern: String) throws {
        guard pattern.count <= 512 else { throw TokenizerError("Replace normalizer regex is longer than 512 characters") }
        var groups: [Bool] = []  // per open group: does it contain a repetition?
        var repeated = false, inClass = false, escaped = false, previous: Character = " "
        for character in pattern {
            defer { previous = character }
            if escaped {
                escaped = false
                if character.isNumber, character != "0" { throw TokenizerError("Replace normalizer regex \(pattern) refers back to a group, which the engine cannot bound") }
                continue
            }
            switch character {
            case "\\": escaped = true
            case "[": inClass = true
            case "]": inClass = false
            case _ where inClass: continue
            case "(": groups.append(false)
            case ")":
                repeated = groups.popLast() ?? false
                if repeated, !groups.isEmpty { groups[groups.count - 1] = true }
            case "*", "+", "{":
                if previous == ")" && repeated { throw TokenizerError("Replace normalizer regex \(pattern) repeats a repeated group, which can take exponential time") }
                if !groups.isEmpty { groups[groups.count - 1] = true }
            default: continue
            }
            if character != ")" { repeated = false }
        }
    }
    func normalize(_ text: String) -> String {
        regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text),
                                       withTemplate: NSRegularExpression.escapedTemplate(for: content))
    }
}

struct NormalizerSequence: Normalizer {
    let steps: [any Normalizer]
    func normalize(_ text: String) -> String { steps.reduce(text) { $1.normalize($0) } }
}

/// Character classes as `tokenizers` (Rust) defines them, from the tables it links (UnicodeTables.swift).
enum CharacterClass {
    /// `\t`, `\n`, `\r` and the Unicode White_Space property.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.isWhitespace
    }

    /// Cc, Cf or Co at Unicode 9.0, except `\t`, `\n`, `\r`. Unassigned code points are not control
    /// characters there (`is_other` of unicode_categories leaves Cn out): they are kept.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return (scalar.value < 0x20 || scalar.value == 0x7F) && scalar != "\t" && scalar != "\n" && scalar != "\r" }
        return UnicodeTables.bertControl.contains(scalar)
    }

    /// Mn at Unicode 9.0.
    static func isNonspacingMark(_ scalar: Unicode.Scalar) -> Bool {
        !scalar.isASCII && UnicodeTables.nonspacingMark.contains(scalar)
    }

    /// ASCII punctuation (symbols included) or P* at Unicode 9.0.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        return UnicodeTables.bertPunctuation.contains(scalar)
    }

    static func isCJKIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}

extension String {
    /// Replaces every occurrence of `target` by `replacement`, matching Unicode scalars rather than
    /// grapheme clusters (Swift's own matching would miss " ##" before a combining character).
    func replacingScalars(of target: String, with replacement: String) -> String {
        let pattern = Array(target.unicodeScalars)
        guard !pattern.isEmpty else { return self }
        let scalars = Array(unicodeScalars)
        var result = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if i + pattern.count <= scalars.count && scalars[i..<(i + pattern.count)].elementsEqual(pattern) {
                result.append(contentsOf: replacement.unicodeScalars)
                i += pattern.count
            } else {
                result.append(scalars[i])
                i += 1
            }
        }
        return String(result)
    }
}
