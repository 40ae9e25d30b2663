import OrderedJSON

/// A `tokenizer.json` pre-tokenizer: splits normalized text into words.
protocol PreTokenizer: Sendable {
    func split(_ text: String) -> [String]
}

enum PreTokenizers {
    static func make(_ json: JSON) throws -> any PreTokenizer {
        let type = json["type"]?.stringValue ?? ""
        switch type {
        case "BertPreTokenizer": return BertPreTokenizer()
        case "WhitespaceSplit": return WhitespaceSplit()
        case "Whitespace": return WordsAndSymbols()
        case "Metaspace":
            let replacement = json["replacement"]?.stringValue ?? "\u{2581}"
            let scheme = json["prepend_scheme"]?.stringValue ?? ((json["add_prefix_space"]?.boolValue ?? true) ? "always" : "never")
            return Metaspace(replacement: replacement, prependScheme: scheme, splits: json["split"]?.boolValue ?? true)
        case "ByteLevel":
            return ByteLevel(addPrefixSpace: json["add_prefix_space"]?.boolValue ?? true, useRegex: json["use_regex"]?.boolValue ?? true)
        case "Sequence":
            return PreTokenizerSequence(steps: try (json["pretokenizers"]?.arrayValue ?? []).map(make))
        default:
            throw TokenizerError("unsupported pre-tokenizer type '\(type)'")
        }
    }
}

/// Splits on white space (dropped) and isolates every punctuation character.
struct BertPreTokenizer: PreTokenizer {
    func split(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
        }
        for scalar in text.unicodeScalars {
            if CharacterClass.isWhitespace(scalar) {
                flush()
            } else if CharacterClass.isPunctuation(scalar) {
                flush()
                words.append(String(scalar))
            } else {
                current.append(scalar)
            }
        }
        flush()
        return words
    }
}

struct WhitespaceSplit: PreTokenizer {
    func split(_ text: String) -> [String] {
        text.unicodeScalars.split(whereSeparator: CharacterClass.isWhitespace).map { String(String.UnicodeScalarView($0)) }
    }
}

/// `\w+|[^\w\s]+`: runs of word characters and runs of other non-space characters.
struct WordsAndSymbols: PreTokenizer {
    static func isWord(_ s: Unicode.Scalar) -> Bool {
        s.properties.isAlphabetic || s.properties.numericType == .decimal || s == "_"
            || s.properties.generalCategory == .nonspacingMark || s.properties.generalCategory == .spacingMark
    }

    func split(_ text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        var currentIsWord = false
        for scalar in text.unicodeScalars {
            if CharacterClass.isWhitespace(scalar) {
                if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
                continue
            }
            let isWord = Self.isWord(scalar)
            if !current.isEmpty && isWord != currentIsWord { words.append(String(current)); current = String.UnicodeScalarView() }
            current.append(scalar)
            currentIsWord = isWord
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }
}

/// SentencePiece's space handling: spaces become `▁`, a `▁` is prepended, each `▁` starts a word.
struct Metaspace: PreTokenizer {
    let replacement: String
    let prependScheme: String
    let splits: Bool

    func split(_ text: String) -> [String] {
        var replaced = text.replacingScalars(of: " ", with: replacement)
        if prependScheme != "never" && !replaced.unicodeScalars.starts(with: replacement.unicodeScalars) { replaced = replacement + replaced }
        guard splits, let marker = replacement.unicodeScalars.first else { return [replaced] }
        // Each marker starts a new word (on scalars: a combining mark after it must not hide it).
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in replaced.unicodeScalars {
            if scalar == marker && !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
            current.append(scalar)
        }
        if !current.isEmpty { words.append(String(current)) }
        return words
    }
}

struct PreTokenizerSequence: PreTokenizer {
    let steps: [any PreTokenizer]
    func split(_ text: String) -> [String] {
        steps.reduce([text]) { words, step in words.flatMap { step.split($0) } }
    }
}
