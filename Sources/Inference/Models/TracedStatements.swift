import Foundation

/// An expression of TorchScript's printed code (`code/__torch__/….py`), as far as a traced forward
/// writes them: names, literals, attribute access, calls, subscripts, lists and dicts.
indirect enum TracedExpr {
    case name(String)
    /// A number as written (`-1`, `9223372036854775807`, `0.10000000000000001`).
    case number(String)
    case string(String)
    case attribute(TracedExpr, String)
    case call(TracedExpr, [TracedExpr], keywords: [String])
    case `subscript`(TracedExpr, [TracedExpr])
    case list([TracedExpr])
    case dict([(String, TracedExpr)])

    /// `torch.mul`, `CONSTANTS.c3`, `self.backbone_model`: a dotted name, nil for anything else.
    var dotted: String? {
        switch self {
        case .name(let name): return name
        case .attribute(let base, let name): return base.dotted.map { "\($0).\(name)" }
        default: return nil
        }
    }
}

/// One statement of a traced forward: `a, b = expr`, or `return expr` (no targets).
struct TracedStatement {
    let targets: [String]
    let value: TracedExpr
    let isReturn: Bool
}

/// A traced forward method: its parameters and statements, parsed from the printed code.
/// The printer writes one statement per line; the parser is bounded in statements, line length
/// and nesting (hostile code gets an error, never deep recursion).
struct TracedForward {
    static let maxStatements = 512
    static let maxLineLength = 8_192
    static let maxDepth = 48

    let parameters: [String]
    let statements: [TracedStatement]

    /// The `def forward` whose body holds the line at `index` of `lines`.
    init(lines: [Substring], endingAt index: Int) throws {
        guard let start = lines[..<index].lastIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("def forward(") }) else {
            throw WeightError("the traced code has a return outside any forward method")
        }
        var header = "", body = start
        while body <= index {  // the signature may span lines, up to the one ending in ":"
            header += lines[body]
            body += 1
            if header.hasSuffix(":") { break }
        }
        guard header.hasSuffix(":"), body <= index else { throw WeightError("the traced forward's signature does not end before its return") }
        guard header.utf8.count <= Self.maxLineLength else { throw WeightError("the traced forward's signature is too long") }
        parameters = try Self.parameters(of: header)
        guard index - body + 1 <= Self.maxStatements else {
            throw WeightError("the traced forward has \(index - body + 1) statements, more than \(Self.maxStatements)")
        }
        statements = try lines[body...index].compactMap { line in
            guard line.utf8.count <= Self.maxLineLength else { throw WeightError("a line of the traced forward is over \(Self.maxLineLength) characters") }
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { return nil }
            var parser = try TracedParser(text)
            return try parser.statement()
        }
    }

    /// The names before `:` at the first level of `def forward(self: T, input: Dict[str, Tensor]) -> …:`.
    static func parameters(of header: String) throws -> [String] {
        guard let open = header.firstIndex(of: "(") else { throw WeightError("the traced forward has no parameter list") }
        var names: [String] = [], depth = 0, current = "", afterColon = false
        for character in header[header.index(after: open)...] {
            switch character {
            case "(", "[": depth += 1
            case ")", "]":
                if depth == 0 { if !current.isEmpty { names.append(current) }; return names }
                depth -= 1
            case "," where depth == 0:
                if !current.isEmpty { names.append(current) }
                current = ""; afterColon = false
            case ":" where depth == 0: afterColon = true
            default:
                if !afterColon, depth == 0, !character.isWhitespace { current.append(character) }
            }
        }
        throw WeightError("the traced forward's parameter list is not closed")
    }
}

/// A recursive-descent parser of one printed statement, its nesting bounded by `TracedForward.maxDepth`.
struct TracedParser {
    enum Token: Equatable { case name(String), number(String), string(String), punct(Character) }

    private let tokens: [Token]
    private var position = 0
    private var depth = 0
    private let text: String

    init(_ text: String) throws {
        self.text = text
        tokens = try Self.tokenize(text)
    }

    mutating func statement() throws -> TracedStatement {
        if peek == .name("return") {
            position += 1
            let value = try expression()  // before `finish`, which reads the position after it
            return TracedStatement(targets: [], value: try finish(value), isReturn: true)
        }
        var targets: [String] = []
        while case .name(let name)? = peek, position + 1 < tokens.count, tokens[position + 1] == .punct("=") || tokens[position + 1] == .punct(",") {
            targets.append(name)
            position += 1
            if take("=") {
                let value = try expression()
                return TracedStatement(targets: targets, value: try finish(value), isReturn: false)
            }
            _ = take(",")
        }
        throw failure("expected an assignment or a return")
    }

    private var peek: Token? { position < tokens.count ? tokens[position] : nil }

    private mutating func take(_ character: Character) -> Bool {
        guard peek == .punct(character) else { return false }
        position += 1
        return true
    }

    private mutating func expect(_ character: Character) throws {
        guard take(character) else { throw failure("expected \"\(character)\"") }
    }

    private func failure(_ what: String) -> WeightError {
        WeightError("cannot read the traced statement \"\(text.prefix(160))\": \(what)")
    }

    private func finish(_ expression: TracedExpr) throws -> TracedExpr {
        guard position == tokens.count else { throw failure("unexpected text after the expression") }
        return expression
    }

    private mutating func expression() throws -> TracedExpr {
        depth += 1
        defer { depth -= 1 }
        guard depth <= TracedForward.maxDepth else { throw failure("nested more than \(TracedForward.maxDepth) deep") }
        var value = try primary()
        while true {
            if take("(") {
                var arguments: [TracedExpr] = [], keywords: [String] = []
                while !take(")") {
                    if case .name(let keyword)? = peek, position + 1 < tokens.count, tokens[position + 1] == .punct("=") {
                        keywords.append(keyword)
                        position += 2
                    }
                    arguments.append(try expression())
                    if !take(",") { try expect(")"); break }
                }
                value = .call(value, arguments, keywords: keywords)
            } else if take("[") {
                value = .subscript(value, try sequence(closing: "]"))
            } else if take(".") {
                guard case .name(let name)? = peek else { throw failure("expected a name after \".\"") }
                position += 1
                value = .attribute(value, name)
            } else {
                return value
            }
        }
    }

    /// Comma-separated expressions up to `closing` (a trailing comma allowed).
    private mutating func sequence(closing: Character) throws -> [TracedExpr] {
        var items: [TracedExpr] = []
        while !take(closing) {
            items.append(try expression())
            if !take(",") { try expect(closing); break }
        }
        return items
    }

    private mutating func primary() throws -> TracedExpr {
        guard let token = peek else { throw failure("the statement ends early") }
        position += 1
        switch token {
        case .name(let name): return .name(name)
        case .number(let number): return .number(number)
        case .string(let string): return .string(string)
        case .punct("-"):
            guard case .number(let number)? = peek else { throw failure("\"-\" before something other than a number") }
            position += 1
            return .number("-" + number)
        case .punct("("):
            let inner = try expression()
            try expect(")")
            return inner
        case .punct("["): return .list(try sequence(closing: "]"))
        case .punct("{"):
            var entries: [(String, TracedExpr)] = []
            while !take("}") {
                guard case .string(let key)? = peek else { throw failure("a dict key that is not a string") }
                position += 1
                try expect(":")
                entries.append((key, try expression()))
                if !take(",") { try expect("}"); break }
            }
            return .dict(entries)
        case .punct(let character): throw failure("unexpected \"\(character)\"")
        }
    }

    static func tokenize(_ text: String) throws -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var i = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && CharacterSet.letters.contains(c)) }
        func isNamePart(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }
        while i < scalars.count {
            let c = scalars[i]
            if c == " " { i += 1; continue }
            if isNameStart(c) {
                var j = i
                while j < scalars.count, isNamePart(scalars[j]) { j += 1 }
                tokens.append(.name(String(String.UnicodeScalarView(scalars[i..<j]))))
                i = j
            } else if ("0"..."9").contains(c) {
                var j = i
                while j < scalars.count, isNamePart(scalars[j]) || scalars[j] == "." || ((scalars[j] == "-" || scalars[j] == "+") && (scalars[j - 1] == "e" || scalars[j - 1] == "E")) { j += 1 }
                tokens.append(.number(String(String.UnicodeScalarView(scalars[i..<j]))))
                i = j
            } else if c == "\"" || c == "'" {
                var j = i + 1, value = String.UnicodeScalarView()
                while j < scalars.count, scalars[j] != c {
                    if scalars[j] == "\\", j + 1 < scalars.count { j += 1 }
                    value.append(scalars[j])
                    j += 1
                }
                guard j < scalars.count else { throw WeightError("cannot read the traced statement \"\(text.prefix(160))\": an unterminated string") }
                tokens.append(.string(String(value)))
                i = j + 1
            } else if "()[]{},:.=-".unicodeScalars.contains(c) {
                tokens.append(.punct(Character(c)))
                i += 1
            } else {
                throw WeightError("cannot read the traced statement \"\(text.prefix(160))\": unexpected character \"\(c)\"")
            }
        }
        return tokens
    }
}
