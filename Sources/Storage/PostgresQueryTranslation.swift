import OrderedJSON
import PostgresNIO

/// SQL text with its bound parameters. Values only ever reach the server as parameters (`$n`); the
/// SQL text is made of this file's fixed fragments. Field names travel inside bound jsonpath and
/// `text[]` parameters, written by `JSONPathText`, never into the SQL text.
struct SQLFragment {
    var binds = PostgresBindings()

    /// Appends a parameter and returns its placeholder.
    mutating func bind(_ value: some PostgresDynamicTypeEncodable) -> String {
        binds.append(value, context: .default)
        return "$\(binds.count)"
    }
}

/// Translates the query DSL to `SQLBounds` over the JSONB `source` column (lax jsonpath, which reaches
/// into arrays on the way as `Query.values(of:)` does). Term and terms on keyword and number fields,
/// ids, exists, match_all/none, numeric ranges and bool combinations of them are decided in SQL; text
/// analysis (match, match_phrase, query_string, a term on a text field that could equal a token,
/// prefix on text) narrows to rows that have the field and is decided in memory.
struct PostgresQueryTranslator: QueryBoundsTranslator {
    let mapping: IndexMapping
    var fragment = SQLFragment()

    init(mapping: IndexMapping, fragment: SQLFragment = SQLFragment()) {
        self.mapping = mapping
        self.fragment = fragment
    }

    var clauses = 0

    mutating func ids(_ ids: [String]) -> SQLBounds {
        .exact("id = ANY(\(fragment.bind(ids.filter(JSONPathText.storable)))::text[])")
    }

    mutating func exists(_ field: String) -> SQLBounds {
        guard let path = JSONPathText.path(field) else { return field == "_id" ? .all : .undecided }
        return .exact(hasValue(path))
    }

    // MARK: - Clauses

    mutating func term(_ field: String, _ values: [JSON], caseInsensitive: Bool) -> SQLBounds {
        let exactField = mapping.type(of: field) != .text
        if field == "_id" {
            let texts = values.compactMap(\.scalarText).filter(JSONPathText.storable)
            let equal = "id = ANY(\(fragment.bind(texts))::text[])"
            // A text `_id` also matches one of its tokens; tokens are lower-case, so upper-case values cannot.
            let tokenFree = exactField || (!caseInsensitive && texts.allSatisfy(JSONPathText.cannotBeToken))
            return caseInsensitive ? SQLBounds(sure: equal, maybe: "TRUE") : SQLBounds(sure: equal, maybe: tokenFree ? equal : "TRUE")
        }
        guard let path = JSONPathText.path(field) else { return .undecided }
        var alternatives: [String] = []
        for value in values { alternatives += JSONPathText.equalities(value) }
        let equal = alternatives.isEmpty ? "FALSE" : matches(path, alternatives.joined(separator: " || "))
        if caseInsensitive { return SQLBounds(sure: equal, maybe: hasValue(path)) }
        // On a text field a string also matches one of its analysed tokens.
        let tokenFree = exactField || values.allSatisfy { $0.scalarText.map(JSONPathText.cannotBeToken) ?? true }
        return SQLBounds(sure: equal, maybe: tokenFree ? equal : "(\(equal) OR \(matches(path, "@.type() == \"string\"")))")
    }

    mutating func match(_ field: String, _ text: String) -> SQLBounds {
        guard let path = JSONPathText.path(field) else { return field == "_id" ? .undecided : .undecided }
        if mapping.type(of: field) == .text {
            guard !StandardAnalyzer.tokens(text).isEmpty else { return .none }  // zero_terms_query: none
            return SQLBounds(sure: "FALSE", maybe: hasValue(path))
        }
        // Keyword fields: the value equals the query text (numbers by value), as `Query.equals`.
        let alternatives = JSONPathText.textEqualities(text)
        return alternatives.isEmpty ? .none : .exact(matches(path, alternatives.joined(separator: " || ")))
    }

    mutating func prefix(_ field: String, _ value: String, caseInsensitive: Bool) -> SQLBounds {
        guard let path = JSONPathText.path(field), JSONPathText.storable(value) else { return .undecided }
        guard !caseInsensitive, mapping.type(of: field) != .text else { return SQLBounds(sure: "FALSE", maybe: hasValue(path)) }
        let strings = matches(path, "@ starts with \(JSONPathText.literal(.string(value)))")
        // Numbers and booleans match by their text, which SQL does not render as Swift does.
        return SQLBounds(sure: strings, maybe: "(\(strings) OR \(matches(path, "@.type() == \"number\" || @.type() == \"boolean\" || @.type() == \"array\"")))")
    }

    mutating func range(_ field: String, _ bounds: RangeBounds) -> SQLBounds {
        guard let path = JSONPathText.path(field) else { return .undecided }
        let limits: [(String, JSON?)] = [(">", bounds.gt), (">=", bounds.gte), ("<", bounds.lt), ("<=", bounds.lte)]
        if limits.allSatisfy({ $0.1 == nil }) { return .exact(hasValue(path)) }
        // Number bounds: number values compare in SQL; a string or boolean value compares by the
        // in-memory rules (numeric strings as numbers, others as text), so those rows stay undecided.
        guard limits.allSatisfy({ $0.1 == nil || ($0.1!.isNumber && $0.1!.doubleValue!.isFinite) }) else {
            return SQLBounds(sure: "FALSE", maybe: hasValue(path))
        }
        let conditions = limits.compactMap { op, bound in bound.map { "@ \(op) \(JSONPathText.literal($0))" } }
        let numbers = matches(path, "@.type() == \"number\" && " + conditions.joined(separator: " && "))
        let others = matches(path, "@.type() == \"string\" || @.type() == \"boolean\" || @.type() == \"array\"")
        return SQLBounds(sure: numbers, maybe: "(\(numbers) OR \(others))")
    }

    // MARK: - jsonpath helpers

    /// Rows with a non-null value at the path (as `Query.values(of:)` is non-empty).
    private mutating func hasValue(_ path: String) -> String { matches(path, "@.type() != \"null\"") }

    /// Rows where some value at the path satisfies a jsonpath filter; the GIN index answers equalities.
    private mutating func matches(_ path: String, _ filter: String) -> String {
        "(source @? \(fragment.bind("\(path) ? (\(filter))"))::jsonpath)"
    }
}

/// Writes jsonpath text for bound parameters: keys and strings as JSON string literals (escaped by the
/// JSON writer, a subset of jsonpath's string syntax), numbers in JSON's notation.
enum JSONPathText {
    /// Longest field name a search may name.
    static let maxFieldLength = 1024

    /// `$."a"."b"` for `a.b`, split as `Query.values(of:)` splits; nil for `_id`, `*` and names SQL cannot hold.
    static func path(_ field: String) -> String? {
        guard field != "_id", field != "*", field.utf8.count <= maxFieldLength, storable(field) else { return nil }
        let name = field.hasSuffix(".keyword") ? String(field.dropLast(".keyword".count)) : field
        let parts = name.split(separator: ".").map(String.init)
        guard !parts.isEmpty else { return nil }
        return "$" + parts.map { "." + JSON.string($0).serialized }.joined()
    }

    /// Text PostgreSQL can store: no NUL character (jsonb and text refuse it).
    static func storable(_ text: String) -> Bool { !text.utf8.contains(0) }

    /// Tokens are lower-cased, so a value with an ASCII capital (or an empty one) never equals a token.
    static func cannotBeToken(_ text: String) -> Bool { text.isEmpty || text.utf8.contains { (0x41...0x5A).contains($0) } }

    static func literal(_ value: JSON) -> String {
        switch value {
        case .int(let i): return String(i)
        default: return value.serialized
        }
    }

    /// jsonpath conditions on `@` that hold exactly when `Query.termMatches` holds for an exact field.
    static func equalities(_ wanted: JSON) -> [String] {
        var conditions: [String] = []
        switch wanted {
        case .int, .double:
            guard let number = wanted.doubleValue, number.isFinite else { return [] }
            conditions.append("@ == \(literal(wanted))")
        case .string(let text):
            guard storable(text) else { return [] }
            if let number = wanted.doubleValue, number.isFinite { conditions.append("@.type() == \"number\" && @ == \(literal(.double(number)))") }
            if text == "true" || text == "false" { conditions.append("@ == \(text)") }
        case .bool(let flag):
            conditions.append("@ == \(flag)")
        default:
            return []
        }
        // A string value equal to the wanted value's text.
        if let text = wanted.scalarText, storable(text) { conditions.append("@ == \(JSON.string(text).serialized)") }
        return conditions
    }

    /// jsonpath conditions that hold exactly when `Query.equals(@, text)` holds.
    static func textEqualities(_ text: String) -> [String] {
        guard storable(text) else { return [] }
        var conditions = ["@ == \(JSON.string(text).serialized)"]
        if let number = Double(text), number.isFinite { conditions.append("@.type() == \"number\" && @ == \(literal(.double(number)))") }
        if text == "true" || text == "false" { conditions.append("@ == \(text)") }
        return conditions
    }
}
