/// A regular-expression matcher whose running time is linear in the text (a Pike VM: every
/// thread of the NFA advances in lock step, one text position at a time, so there is no
/// backtracking). ICU's backtracking engine takes exponential time on `(a+)+$`; guardrail
/// patterns come from whoever registers a model and run on every payload.
///
/// Supported, with Java's meaning: literals and escapes (`\t \n \r \f \a \e \xhh \uhhhh \Q…\E`,
/// escaped punctuation), `.`, classes `[…]` with ranges and negation, `\d \D \w \W \s \S`, anchors
/// `^ $ \A \z \Z \b \B`, `* + ? {m} {m,} {m,n}` (lazy forms match the same texts), alternation,
/// groups `( )`, `(?: )`, `(?<name> )`, flags `(?i) (?s) (?m) (?x)`-free subset `(?ismu-ismu)` and
/// `(?i: )`. Refused with an error: back-references, lookaround, atomic groups, possessive
/// quantifiers, class intersections, `\p{…}` properties.
public struct LinearRegex: Sendable, Equatable {
    public static let maxPatternBytes = 1024
    /// Instructions after counted repetitions are expanded (`(abc){1000}` is 3000+).
    public static let maxProgramSize = 20_000

    public struct PatternError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    let program: [Instruction]
    /// The sets `.scalar` instructions name, with their answers for ASCII as bitmaps: most text is
    /// ASCII, and the bit test is what runs per thread per scalar.
    let sets: [ScalarSet]
    let asciiLow: [UInt64]
    let asciiHigh: [UInt64]

    public init(_ pattern: String) throws(PatternError) {
        guard pattern.utf8.count <= Self.maxPatternBytes else {
            throw PatternError(description: "regex is longer than \(Self.maxPatternBytes) bytes")
        }
        var parser = RegexParser(Array(pattern.unicodeScalars))
        let node = try parser.parse()
        var compiler = RegexCompiler()
        try compiler.emit(node)
        compiler.program.append(.match)
        program = compiler.program
        sets = compiler.sets
        var low: [UInt64] = []
        var high: [UInt64] = []
        for set in compiler.sets {
            var bits: (UInt64, UInt64) = (0, 0)
            for value in UInt8(0)..<128 where set.matches(Unicode.Scalar(value)) {
                if value < 64 { bits.0 |= 1 << value } else { bits.1 |= 1 << (value - 64) }
            }
            low.append(bits.0)
            high.append(bits.1)
        }
        asciiLow = low
        asciiHigh = high
    }

    private func set(_ index: Int, matches scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 64 { return asciiLow[index] & (1 << value) != 0 }
        if value < 128 { return asciiHigh[index] & (1 << (value - 64)) != 0 }
        return sets[index].matches(scalar)
    }

    /// Java `Matcher.matches()`: the whole text must match. `budget` caps the work (thread steps);
    /// nil when it ran out, so callers can fail closed. The text is read once, scalar by scalar,
    /// without a copy (payloads may be as large as `max_json_size`).
    public func wholeMatch(_ text: String, budget: Int = 100_000_000) -> Bool? {
        let scalars = text.unicodeScalars
        var current = ThreadList(capacity: program.count)
        var next = ThreadList(capacity: program.count)
        var steps = 0
        var stack: [Int] = []
        var index = scalars.startIndex
        // Only `$` / `\Z` look one scalar further ahead; finding the next index costs a decode.
        let looksAhead = program.contains(.assert(.endBeforeFinalTerminator))
        let first = scalars.first
        var position = Position(previous: nil, current: first,
                                currentIsLast: looksAhead && first != nil && scalars.index(after: index) == scalars.endIndex)
        add(0, at: position, to: &current, stack: &stack, steps: &steps)
        while let scalar = position.current {
            if current.isEmpty { return false }
            index = scalars.index(after: index)
            let following = index < scalars.endIndex ? scalars[index] : nil
            let upcoming = Position(previous: scalar, current: following,
                                    currentIsLast: looksAhead && following != nil && scalars.index(after: index) == scalars.endIndex)
            for pc in current.items {
                steps += 1
                if case .scalar(let setIndex) = program[pc], set(setIndex, matches: scalar) {
                    add(pc + 1, at: upcoming, to: &next, stack: &stack, steps: &steps)
                }
            }
            guard steps <= budget else { return nil }
            swap(&current, &next)
            next.clear()
            position = upcoming
        }
        return current.contains(where: { program[$0] == .match })
    }

    /// What the assertions look at: the scalars on either side of a position in the text.
    struct Position {
        let previous: Unicode.Scalar?
        /// nil at the end of the text.
        let current: Unicode.Scalar?
        let currentIsLast: Bool
    }

    /// Adds a thread and everything reachable from it without consuming text (iteratively: a
    /// deep chain of splits must not overflow the stack).
    private func add(_ start: Int, at position: Position, to list: inout ThreadList, stack: inout [Int], steps: inout Int) {
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            steps += 1
            switch program[pc] {
            case .jump(let target): stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assert(let assertion):
                if assertion.holds(at: position) { stack.append(pc + 1) }
            case .scalar, .match: break
            }
        }
    }
}

/// The active threads at one position: a sparse set of instruction indices, insertion-ordered.
struct ThreadList {
    private(set) var items: [Int] = []
    private var member: [Bool]

    init(capacity: Int) { member = Array(repeating: false, count: capacity) }

    var isEmpty: Bool { items.isEmpty }

    func contains(where predicate: (Int) -> Bool) -> Bool { items.contains(where: predicate) }

    /// False if already present. Non-consuming instructions stay in the list (marked) so loops
    /// through them are visited once.
    mutating func insert(_ pc: Int) -> Bool {
        if member[pc] { return false }
        member[pc] = true
        items.append(pc)
        return true
    }

    mutating func clear() {
        for pc in items { member[pc] = false }
        items.removeAll(keepingCapacity: true)
    }
}

enum Instruction: Equatable, Sendable {
    /// Consumes one scalar in `LinearRegex.sets[index]`.
    case scalar(Int)
    case split(Int, Int)
    case jump(Int)
    case assert(Assertion)
    case match
}

enum Assertion: Equatable, Sendable {
    case start, end, lineStart, lineEnd, endBeforeFinalTerminator, wordBoundary, notWordBoundary

    func holds(at position: LinearRegex.Position) -> Bool {
        switch self {
        case .start: return position.previous == nil
        case .end: return position.current == nil
        case .endBeforeFinalTerminator:
            guard let current = position.current else { return true }
            return position.currentIsLast && ScalarSet.isLineTerminator(current)
        case .lineStart: return position.previous.map(ScalarSet.isLineTerminator) ?? true
        case .lineEnd: return position.current.map(ScalarSet.isLineTerminator) ?? true
        case .wordBoundary, .notWordBoundary:
            let before = position.previous.map(ScalarSet.isWordForBoundary) ?? false
            let after = position.current.map(ScalarSet.isWordForBoundary) ?? false
            return (before != after) == (self == .wordBoundary)
        }
    }
}

/// What one consuming instruction accepts.
struct ScalarSet: Equatable, Sendable {
    enum Item: Equatable, Sendable {
        case range(UInt32, UInt32)
        case digit, word, space
        case notDigit, notWord, notSpace
        case any
        case anyButLineTerminator
    }

    var items: [Item]
    var negated = false
    var caseInsensitive = false

    func matches(_ scalar: Unicode.Scalar) -> Bool {
        var hit = false
        for item in items where item.matches(scalar) {
            hit = true
            break
        }
        if !hit && caseInsensitive {
            hit = Self.caseVariants(of: scalar).contains { variant in items.contains { $0.matches(variant) } }
        }
        return hit != negated
    }

    static func caseVariants(of scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        let value = scalar.value
        if value < 0x80 {
            // ASCII without the Unicode tables (this runs for every scalar of a `(?i)` pattern).
            switch value {
            case 0x41...0x5A: return [Unicode.Scalar(UInt8(value + 0x20))]
            case 0x61...0x7A: return [Unicode.Scalar(UInt8(value - 0x20))]
            default: return []
            }
        }
        let lower = scalar.properties.lowercaseMapping.unicodeScalars
        let upper = scalar.properties.uppercaseMapping.unicodeScalars
        return [lower, upper].compactMap { $0.count == 1 ? $0.first : nil }
    }

    static func isLineTerminator(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x0D, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20, 0x09...0x0D: return true
        default: return false
        }
    }

    static func isASCIIWord(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F
    }

    /// Java's `\b` looks at letters and digits of any script.
    static func isWordForBoundary(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return isASCIIWord(scalar) }
        return scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }
}

extension ScalarSet.Item {
    func matches(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        switch self {
        case .range(let low, let high): return low <= v && v <= high
        case .digit: return (0x30...0x39).contains(v)
        case .notDigit: return !(0x30...0x39).contains(v)
        case .word: return ScalarSet.isASCIIWord(scalar)
        case .notWord: return !ScalarSet.isASCIIWord(scalar)
        case .space: return ScalarSet.isSpace(scalar)
        case .notSpace: return !ScalarSet.isSpace(scalar)
        case .any: return true
        case .anyButLineTerminator: return !ScalarSet.isLineTerminator(scalar)
        }
    }
}
