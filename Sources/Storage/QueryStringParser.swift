import OrderedJSON

/// The `query_string` query, in the subset stop-word documents use: terms, `"quoted phrases"`,
/// `field:term` / `field:"phrase"` / `field:(group)`, `AND` `OR` `NOT` (`&&` `||` `!`), `+` and `-`,
/// parentheses and `_exists_:field`. Clauses combine as Lucene's classic query parser combines them.
/// Wildcards, fuzzy and proximity (`~`), boosts (`^`), ranges and regular expressions are refused
/// with a parsing_exception naming them.
enum QueryStringParser {
    static let maxClauses = 1024
    static let maxDepth = 32

    static func parse(_ body: JSON) throws(SearchRequestError) -> Query {
        guard let object = body.objectValue else { throw SearchRequestError(reason: "[query_string] query malformed, no start_object after query name") }
        var text: String?
        var fields: [String] = []
        var defaultField = "*"
        var requireAll = false
        for (key, value) in object {
            switch key {
            case "query":
                guard let query = value.stringValue else { throw SearchRequestError(reason: "[query_string] [query] must be a string") }
                text = query
            case "default_field":
                guard let field = value.stringValue else { throw SearchRequestError(reason: "[query_string] [default_field] must be a string") }
                defaultField = field
            case "fields":
                guard let list = value.arrayValue?.compactMap(\.stringValue), list.count == value.arrayValue?.count, list.count <= 64 else {
                    throw SearchRequestError(reason: "[query_string] [fields] must be an array of at most 64 field names")
                }
                fields = list
            case "default_operator":
                switch value.stringValue?.uppercased() {
                case "OR": requireAll = false
                case "AND": requireAll = true
                default: throw SearchRequestError(reason: "[query_string] default_operator [\(value.scalarText ?? value.serialized)] is not valid; use AND or OR")
                }
            case "boost", "_name", "analyze_wildcard", "lenient", "auto_generate_synonyms_phrase_query", "escape":
                continue
            default:
                throw SearchRequestError(reason: "[query_string] query does not support [\(key)]")
            }
        }
        guard let text else { throw SearchRequestError(reason: "[query_string] must be provided with a [query]") }
        for field in fields + [defaultField] where field != "*" && (field.contains("*") || field.contains("^")) {
            throw SearchRequestError(reason: "[query_string] field patterns and boosts in fields are not supported by this server: [\(field)]")
        }
        var parser = Parser(scalars: Array(text.unicodeScalars), fields: fields.isEmpty ? [defaultField] : fields, requireAll: requireAll)
        let query = try parser.parseClauses(depth: 0)
        guard parser.atEnd else { throw parser.failure("unexpected [\(parser.peekDescription)]") }
        return query
    }

    /// One clause as Lucene's classic parser sees it: its conjunction with the previous one and its modifier.
    private enum Occur { case must, should, mustNot }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        let fields: [String]
        let requireAll: Bool
        var position = 0
        var clauseCount = 0

        init(scalars: [Unicode.Scalar], fields: [String], requireAll: Bool) {
            self.scalars = scalars
            self.fields = fields
            self.requireAll = requireAll
        }

        var atEnd: Bool { position >= scalars.count }
        var peekDescription: String { atEnd ? "end of query" : String(scalars[position]) }

        func failure(_ detail: String) -> SearchRequestError {
            SearchRequestError(reason: "Failed to parse query [\(String(String.UnicodeScalarView(scalars)).prefix(200))]: \(detail)")
        }

        mutating func skipSpace() {
            while !atEnd, scalars[position].properties.isWhitespace { position += 1 }
        }

        /// Clauses up to `)` or the end, combined with Lucene's rules for conjunctions and modifiers.
        mutating func parseClauses(depth: Int, fieldOverride: String? = nil) throws(SearchRequestError) -> Query {
            guard depth < maxDepth else { throw failure("groups nested deeper than \(maxDepth)") }
            var clauses: [(Occur, Query)] = []
            while true {
                skipSpace()
                if atEnd || scalars[position] == ")" { break }
                var conjunction: String?
                if let word = operatorWord(["AND", "&&", "OR", "||"]) {
                    guard !clauses.isEmpty else { throw failure("[\(word)] with nothing before it") }
                    conjunction = word == "&&" ? "AND" : (word == "||" ? "OR" : word)
                    skipSpace()
                }
                var prohibited = false, required = false
                if operatorWord(["NOT", "!"]) != nil {
                    prohibited = true
                    skipSpace()
                } else if !atEnd, scalars[position] == "+" || scalars[position] == "-" {
                    prohibited = scalars[position] == "-"
                    required = !prohibited
                    position += 1
                    skipSpace()
                }
                let query = try parseClause(depth: depth, fieldOverride: fieldOverride)
                clauseCount += 1
                guard clauseCount <= maxClauses else { throw failure("more than \(maxClauses) clauses") }
                // A conjunction also changes the clause before it (Lucene's addClause).
                if let last = clauses.indices.last, clauses[last].0 != .mustNot {
                    if conjunction == "AND" { clauses[last].0 = .must }
                    if conjunction == "OR", requireAll { clauses[last].0 = .should }
                }
                let occur: Occur
                if requireAll {
                    occur = prohibited ? .mustNot : (conjunction == "OR" && !required ? .should : .must)
                } else {
                    occur = prohibited ? .mustNot : (required || conjunction == "AND" ? .must : .should)
                }
                clauses.append((occur, query))
            }
            if clauses.count == 1, clauses[0].0 != .mustNot { return clauses[0].1 }
            var bool = BoolQuery()
            for (occur, query) in clauses {
                switch occur {
                case .must: bool.must.append(query)
                case .should: bool.should.append(query)
                case .mustNot: bool.mustNot.append(query)
                }
            }
            if clauses.isEmpty { return .matchNone }
            return .bool(bool)
        }

        /// `AND`, `OR`, `NOT` count only as whole words; `&&`, `||`, `!` anywhere.
        mutating func operatorWord(_ words: [String]) -> String? {
            for word in words {
                let pattern = Array(word.unicodeScalars)
                guard position + pattern.count <= scalars.count, Array(scalars[position..<position + pattern.count]) == pattern else { continue }
                let end = position + pattern.count
                if word.first!.isLetter, end < scalars.count, !scalars[end].properties.isWhitespace, scalars[end] != "(" { continue }
                position = end
                return word
            }
            return nil
        }

        mutating func parseClause(depth: Int, fieldOverride: String?) throws(SearchRequestError) -> Query {
            guard !atEnd else { throw failure("a clause is missing at the end") }
            if scalars[position] == "(" { return try group(depth: depth, field: fieldOverride) }
            if scalars[position] == "\"" { return try phrase(fields: fieldOverride.map { [$0] } ?? fields) }
            let word = try term()
            skipSpace()
            if !atEnd, scalars[position] == ":" {
                position += 1
                skipSpace()
                guard !atEnd else { throw failure("field [\(word)] has no value") }
                if word == "_exists_" { return .exists(field: try term()) }
                if scalars[position] == "(" { return try group(depth: depth, field: word) }
                if scalars[position] == "\"" { return try phrase(fields: [word]) }
                let value = try term()
                return Self.anyField([word]) { .match(field: $0, text: value, requireAll: requireAll) }
            }
            return Self.anyField(fieldOverride.map { [$0] } ?? fields) { .match(field: $0, text: word, requireAll: requireAll) }
        }

        /// `( … )`, its clauses on `field` when one was given before it.
        mutating func group(depth: Int, field: String?) throws(SearchRequestError) -> Query {
            position += 1
            let group = try parseClauses(depth: depth + 1, fieldOverride: field)
            guard !atEnd, scalars[position] == ")" else { throw failure("missing closing [)]") }
            position += 1
            return group
        }

        /// One query per field, any of which may match.
        static func anyField(_ fields: [String], _ make: (String) -> Query) -> Query {
            fields.count == 1 ? make(fields[0]) : .bool(BoolQuery(should: fields.map(make)))
        }

        mutating func phrase(fields: [String]) throws(SearchRequestError) -> Query {
            position += 1  // opening quote
            var text = String.UnicodeScalarView()
            while !atEnd, scalars[position] != "\"" {
                if scalars[position] == "\\", position + 1 < scalars.count { position += 1 }
                text.append(scalars[position])
                position += 1
            }
            guard !atEnd else { throw failure("missing closing quote") }
            position += 1
            if !atEnd, scalars[position] == "~" { throw failure("proximity searches (~) are not supported by this server") }
            let phrase = String(text)
            return Self.anyField(fields) { .matchPhrase(field: $0, text: phrase) }
        }

        /// A bare term: up to whitespace or a special character; `\` escapes one character.
        mutating func term() throws(SearchRequestError) -> String {
            var text = String.UnicodeScalarView()
            while !atEnd {
                let scalar = scalars[position]
                if scalar.properties.isWhitespace || "():\"".unicodeScalars.contains(scalar) { break }
                if scalar == "\\" {
                    guard position + 1 < scalars.count else { throw failure("a trailing backslash escapes nothing") }
                    text.append(scalars[position + 1])
                    position += 2
                    continue
                }
                if let feature = Self.unsupported[scalar] { throw failure("\(feature) are not supported by this server") }
                if (scalar == "&" || scalar == "|"), position + 1 < scalars.count, scalars[position + 1] == scalar, !text.isEmpty { break }
                text.append(scalar)
                position += 1
            }
            guard !text.isEmpty else { throw failure("expected a term at [\(peekDescription)]") }
            return String(text)
        }

        static let unsupported: [Unicode.Scalar: String] = [
            "*": "wildcard queries (*)", "?": "wildcard queries (?)", "~": "fuzzy and proximity queries (~)",
            "^": "boosts (^)", "[": "range queries ([)", "]": "range queries (])", "{": "range queries ({)",
            "}": "range queries (})", "/": "regular expressions (/)", ">": "range queries (>)", "<": "range queries (<)",
            "=": "range queries (=)",
        ]
    }
}
