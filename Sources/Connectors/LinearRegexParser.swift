/// A parsed pattern.
indirect enum RegexNode {
    case empty
    case set(ScalarSet)
    case assert(Assertion)
    case concat([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)
}

/// Java-syntax patterns to `RegexNode`s (see `LinearRegex` for what is supported).
struct RegexParser {
    struct Flags {
        var caseInsensitive = false
        var dotAll = false
        var multiline = false
    }

    static let maxRepeat = 1000
    static let maxGroupDepth = 100

    private let pattern: [Unicode.Scalar]
    private var index = 0
    private var flags = Flags()
    private var depth = 0

    init(_ pattern: [Unicode.Scalar]) { self.pattern = pattern }

    mutating func parse() throws(LinearRegex.PatternError) -> RegexNode {
        let node = try parseAlternation()
        if index < pattern.count { throw fail("unmatched ')'") }
        return node
    }

    private func fail(_ reason: String) -> LinearRegex.PatternError {
        LinearRegex.PatternError(description: "\(reason) near index \(index)")
    }

    private var peek: Unicode.Scalar? { index < pattern.count ? pattern[index] : nil }

    private mutating func next() throws(LinearRegex.PatternError) -> Unicode.Scalar {
        guard let scalar = peek else { throw fail("unexpected end of pattern") }
        index += 1
        return scalar
    }

    private mutating func consume(_ scalar: Unicode.Scalar) -> Bool {
        guard peek == scalar else { return false }
        index += 1
        return true
    }

    private mutating func parseAlternation() throws(LinearRegex.PatternError) -> RegexNode {
        var branches = [try parseConcat()]
        while consume("|") { branches.append(try parseConcat()) }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcat() throws(LinearRegex.PatternError) -> RegexNode {
        var items: [RegexNode] = []
        while let scalar = peek, scalar != "|", scalar != ")" {
            items.append(try parseRepetition())
        }
        return items.count == 1 ? items[0] : .concat(items)
    }

    private mutating func parseRepetition() throws(LinearRegex.PatternError) -> RegexNode {
        let atom = try parseAtom()
        let bounds: (Int, Int?)
        switch peek {
        case "*": index += 1; bounds = (0, nil)
        case "+": index += 1; bounds = (1, nil)
        case "?": index += 1; bounds = (0, 1)
        case "{": bounds = try parseCount()
        default: return atom
        }
        if consume("+") { throw fail("possessive quantifiers are not supported") }
        _ = consume("?") // lazy: the same texts match
        if let scalar = peek, "*+?{".unicodeScalars.contains(scalar) { throw fail("dangling meta character '\(scalar)'") }
        if case .assert = atom { return atom }
        return .repetition(atom, min: bounds.0, max: bounds.1)
    }

    private mutating func parseCount() throws(LinearRegex.PatternError) -> (Int, Int?) {
        index += 1 // {
        func number(_ parser: inout RegexParser) throws(LinearRegex.PatternError) -> Int? {
            var digits = ""
            while let scalar = parser.peek, ("0"..."9").contains(scalar) {
                digits.unicodeScalars.append(scalar)
                parser.index += 1
                guard digits.count <= 4 else { throw parser.fail("repetition count larger than \(Self.maxRepeat)") }
            }
            return digits.isEmpty ? nil : Int(digits)
        }
        guard let low = try number(&self) else { throw fail("illegal repetition") }
        var high: Int? = low
        if consume(",") { high = try number(&self) }
        guard consume("}") else { throw fail("illegal repetition") }
        guard low <= Self.maxRepeat, (high ?? low) <= Self.maxRepeat else { throw fail("repetition count larger than \(Self.maxRepeat)") }
        if let high, high < low { throw fail("illegal repetition range") }
        return (low, high)
    }

    private mutating func parseAtom() throws(LinearRegex.PatternError) -> RegexNode {
        let scalar = try next()
        switch scalar {
        case "(": return try parseGroup()
        case "[": return .set(try parseClass())
        case ".": return .set(ScalarSet(items: [flags.dotAll ? .any : .anyButLineTerminator]))
        case "^": return .assert(flags.multiline ? .lineStart : .start)
        case "$": return .assert(flags.multiline ? .lineEnd : .endBeforeFinalTerminator)
        case "\\": return try parseEscape()
        case "*", "+", "?", "{": throw fail("dangling meta character '\(scalar)'")
        default: return literal(scalar)
        }
    }

    private func literal(_ scalar: Unicode.Scalar) -> RegexNode {
        .set(ScalarSet(items: [.range(scalar.value, scalar.value)], caseInsensitive: flags.caseInsensitive))
    }

    private mutating func parseGroup() throws(LinearRegex.PatternError) -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxGroupDepth else { throw fail("groups nested deeper than \(Self.maxGroupDepth)") }
        let saved = flags
        if consume("?") {
            switch peek {
            case ":": index += 1
            case "=", "!": throw fail("lookahead is not supported")
            case ">": throw fail("atomic groups are not supported")
            case "<":
                index += 1
                if peek == "=" || peek == "!" { throw fail("lookbehind is not supported") }
                while let scalar = peek, scalar != ">" {
                    guard scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) else { throw fail("invalid group name") }
                    index += 1
                }
                guard consume(">") else { throw fail("unterminated group name") }
            default:
                // Inline flags: `(?i)` changes the rest of the enclosing group, `(?i:…)` only its own.
                var enable = true
                while let scalar = peek, scalar != ")", scalar != ":" {
                    index += 1
                    switch scalar {
                    case "-": enable = false
                    case "i": flags.caseInsensitive = enable
                    case "s": flags.dotAll = enable
                    case "m": flags.multiline = enable
                    case "u", "U": break
                    default: throw fail("unsupported inline flag '\(scalar)'")
                    }
                }
                if consume(")") { return .empty }
                guard consume(":") else { throw fail("unterminated group") }
            }
        }
        let body = try parseAlternation()
        flags = saved
        guard consume(")") else { throw fail("unclosed group") }
        return body
    }

    private mutating func parseEscape() throws(LinearRegex.PatternError) -> RegexNode {
        let scalar = try next()
        switch scalar {
        case "b": return .assert(.wordBoundary)
        case "B": return .assert(.notWordBoundary)
        case "A": return .assert(.start)
        case "z": return .assert(.end)
        case "Z": return .assert(.endBeforeFinalTerminator)
        case "Q":
            var items: [RegexNode] = []
            while index < pattern.count {
                if pattern[index] == "\\", index + 1 < pattern.count, pattern[index + 1] == "E" {
                    index += 2
                    return .concat(items)
                }
                items.append(literal(pattern[index]))
                index += 1
            }
            return .concat(items)
        default:
            index -= 1
            let item = try parseEscapedItem(inClass: false)
            if case .range(let low, let high) = item, low == high, let value = Unicode.Scalar(low) { return literal(value) }
            return .set(ScalarSet(items: [item]))
        }
    }

    /// After a `\`: a class shorthand or one scalar (as a one-element range).
    private mutating func parseEscapedItem(inClass: Bool) throws(LinearRegex.PatternError) -> ScalarSet.Item {
        let scalar = try next()
        func single(_ value: UInt32) -> ScalarSet.Item { .range(value, value) }
        switch scalar {
        case "d": return .digit
        case "D": return .notDigit
        case "w": return .word
        case "W": return .notWord
        case "s": return .space
        case "S": return .notSpace
        case "t": return single(0x09)
        case "n": return single(0x0A)
        case "r": return single(0x0D)
        case "f": return single(0x0C)
        case "a": return single(0x07)
        case "e": return single(0x1B)
        case "0":
            var value: UInt32 = 0
            var count = 0
            while count < 3, let digit = peek, ("0"..."7").contains(digit) {
                value = value * 8 + (digit.value - 0x30)
                index += 1
                count += 1
            }
            guard count > 0, value <= 0xFF else { throw fail("illegal octal escape") }
            return single(value)
        case "x":
            if consume("{") {
                let value = try hex(upTo: 6, terminator: "}")
                return single(value)
            }
            return single(try hex(exactly: 2))
        case "u": return single(try hex(exactly: 4))
        case "1"..."9", "k": throw fail("back-references are not supported")
        case "p", "P": throw fail("\\p{…} character properties are not supported")
        default:
            if scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) {
                throw fail("unsupported escape sequence \\\(scalar)\(inClass ? " in a character class" : "")")
            }
            return single(scalar.value)
        }
    }

    private mutating func hex(exactly count: Int) throws(LinearRegex.PatternError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let digit = peek.flatMap({ Character($0).hexDigitValue }) else { throw fail("illegal hexadecimal escape") }
            value = value * 16 + UInt32(digit)
            index += 1
        }
        return value
    }

    private mutating func hex(upTo count: Int, terminator: Unicode.Scalar) throws(LinearRegex.PatternError) -> UInt32 {
        var value: UInt32 = 0
        var digits = 0
        while let digit = peek.flatMap({ Character($0).hexDigitValue }) {
            guard digits < count else { throw fail("illegal hexadecimal escape") }
            value = value * 16 + UInt32(digit)
            index += 1
            digits += 1
        }
        guard digits > 0, consume(terminator), value <= 0x10FFFF else { throw fail("illegal hexadecimal escape") }
        return value
    }

    private mutating func parseClass() throws(LinearRegex.PatternError) -> ScalarSet {
        var set = ScalarSet(items: [], negated: consume("^"), caseInsensitive: flags.caseInsensitive)
        var first = true
        while true {
            guard let scalar = peek else { throw fail("unclosed character class") }
            if scalar == "]" && !first { index += 1; return set }
            first = false
            if scalar == "[" { throw fail("nested character classes are not supported") }
            if scalar == "&", index + 1 < pattern.count, pattern[index + 1] == "&" { throw fail("class intersections are not supported") }
            let low = try classItem()
            guard case .range(let start, _) = low, peek == "-", index + 1 < pattern.count, pattern[index + 1] != "]" else {
                set.items.append(low)
                continue
            }
            index += 1 // -
            guard case .range(let end, _) = try classItem() else { throw fail("illegal character range") }
            guard start <= end else { throw fail("illegal character range") }
            set.items.append(.range(start, end))
        }
    }

    private mutating func classItem() throws(LinearRegex.PatternError) -> ScalarSet.Item {
        let scalar = try next()
        if scalar == "\\" { return try parseEscapedItem(inClass: true) }
        return .range(scalar.value, scalar.value)
    }
}

/// `RegexNode`s to Pike VM instructions, refusing programs over `LinearRegex.maxProgramSize`.
struct RegexCompiler {
    var program: [Instruction] = []
    var sets: [ScalarSet] = []

    private mutating func append(_ instruction: Instruction) throws(LinearRegex.PatternError) {
        guard program.count < LinearRegex.maxProgramSize else {
            throw LinearRegex.PatternError(description: "regex is too large once its repetitions are expanded (more than \(LinearRegex.maxProgramSize) steps)")
        }
        program.append(instruction)
    }

    mutating func emit(_ node: RegexNode) throws(LinearRegex.PatternError) {
        switch node {
        case .empty: break
        case .set(let set):
            try append(.scalar(sets.count))
            sets.append(set)
        case .assert(let assertion): try append(.assert(assertion))
        case .concat(let items): for item in items { try emit(item) }
        case .alternation(let branches):
            var exits: [Int] = []
            for (number, branch) in branches.enumerated() {
                if number == branches.count - 1 {
                    try emit(branch)
                } else {
                    let split = program.count
                    try append(.split(split + 1, -1))
                    try emit(branch)
                    exits.append(program.count)
                    try append(.jump(-1))
                    program[split] = .split(split + 1, program.count)
                }
            }
            for exit in exits { program[exit] = .jump(program.count) }
        case .repetition(let body, let min, let max):
            for _ in 0..<min { try emit(body) }
            if let max {
                var skips: [Int] = []
                for _ in min..<max {
                    skips.append(program.count)
                    try append(.split(program.count + 1, -1))
                    try emit(body)
                }
                for skip in skips { program[skip] = .split(skip + 1, program.count) }
            } else {
                let loop = program.count
                try append(.split(loop + 1, -1))
                try emit(body)
                try append(.jump(loop))
                program[loop] = .split(loop + 1, program.count)
            }
        }
    }
}
