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
    }

    /// Java `Matcher.matches()`: the whole text must match. `budget` caps the work (thread steps);
    /// nil when it ran out, so callers can fail closed.
    public func wholeMatch(_ text: String, budget: Int = 100_000_000) -> Bool? {
        let input = Array(text.unicodeScalars)
        var current = ThreadList(capacity: program.count)
        var next = ThreadList(capacity: program.count)
        var steps = 0
        add(0, at: 0, input: input, to: &current, steps: &steps)
        var position = 0
        while true {
            if position == input.count { return current.contains(where: { program[$0] == .match }) }
            if current.isEmpty { return false }
            let scalar = input[position]
            for pc in current.items {
                steps += 1
                if case .scalar(let set) = program[pc], set.matches(scalar) {
                    add(pc + 1, at: position + 1, input: input, to: &next, steps: &steps)
                }
            }
            guard steps <= budget else { return nil }
            swap(&current, &next)
            next.clear()
            position += 1
        }
    }

    /// Adds a thread and everything reachable from it without consuming text (iteratively: a
    /// deep chain of splits must not overflow the stack).
    private func add(_ start: Int, at position: Int, input: [Unicode.Scalar], to list: inout ThreadList, steps: inout Int) {
        var stack = [start]
        while let pc = stack.popLast() {
            guard list.insert(pc) else { continue }
            steps += 1
            switch program[pc] {
            case .jump(let target): stack.append(target)
            case .split(let first, let second):
                stack.append(second)
                stack.append(first)
            case .assert(let assertion):
                if assertion.holds(at: position, in: input) { stack.append(pc + 1) }
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
    case scalar(ScalarSet)
    case split(Int, Int)
    case jump(Int)
    case assert(Assertion)
    case match
}

enum Assertion: Equatable, Sendable {
    case start, end, lineStart, lineEnd, endBeforeFinalTerminator, wordBoundary, notWordBoundary

    func holds(at position: Int, in input: [Unicode.Scalar]) -> Bool {
        switch self {
        case .start: return position == 0
        case .end: return position == input.count
        case .endBeforeFinalTerminator:
            return position == input.count || (position == input.count - 1 && ScalarSet.isLineTerminator(input[position]))
        case .lineStart: return position == 0 || ScalarSet.isLineTerminator(input[position - 1])
        case .lineEnd: return position == input.count || ScalarSet.isLineTerminator(input[position])
        case .wordBoundary, .notWordBoundary:
            let before = position > 0 && ScalarSet.isWordForBoundary(input[position - 1])
            let after = position < input.count && ScalarSet.isWordForBoundary(input[position])
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
        var hit = items.contains { $0.matches(scalar) }
        if !hit && caseInsensitive {
            hit = Self.caseVariants(of: scalar).contains { variant in items.contains { $0.matches(variant) } }
        }
        return hit != negated
    }

    static func caseVariants(of scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        let lower = scalar.properties.lowercaseMapping.unicodeScalars
        let upper = scalar.properties.uppercaseMapping.unicodeScalars
        return [lower, upper].compactMap { $0.count == 1 ? $0.first : nil }
    }

    static func isLineTerminator(_ scalar: Unicode.Scalar) -> Bool {
        [0x0A, 0x0D, 0x85, 0x2028, 0x2029].contains(scalar.value)
    }

    static func isASCIIWord(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F
    }

    /// Java's `\b` looks at letters and digits of any script.
    static func isWordForBoundary(_ scalar: Unicode.Scalar) -> Bool {
        isASCIIWord(scalar) || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
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
        case .space: return [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(v)
        case .notSpace: return ![0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D].contains(v)
        case .any: return true
        case .anyButLineTerminator: return !ScalarSet.isLineTerminator(scalar)
        }
    }
}
