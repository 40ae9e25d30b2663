import OrderedJSON
import SQLiteNIO

/// SQL text with its bound parameters for SQLite. Values only ever reach the database as parameters
/// (`?n`, so one value may be named several times); the SQL text is made of this file's fixed
/// fragments and the fixed paths of the indexed fields (`SQLiteSchema.indexedFields`).
struct SQLiteFragment {
    var binds: [SQLiteData] = []

    /// Appends a parameter and returns its placeholder.
    mutating func bind(_ value: SQLiteData) -> String {
        binds.append(value)
        return "?\(binds.count)"
    }

    mutating func bind(_ text: String) -> String { bind(.text(text)) }

    /// A set of text or number values for `IN`: a list of parameters (which the planner can look up in
    /// an index), or past `listLimit` one JSON array parameter read with `json_each`.
    mutating func bindSet(_ values: [JSON]) -> String {
        guard values.count <= Self.listLimit else { return "(SELECT value FROM json_each(\(bind(JSON.array(values).serialized))))" }
        var placeholders: [String] = []
        for value in values {
            switch value {
            case .int, .double: placeholders.append(bind(.float(value.doubleValue ?? 0)))
            default: placeholders.append(bind(.text(value.scalarText ?? "")))
            }
        }
        return "(" + placeholders.joined(separator: ", ") + ")"
    }

    static let listLimit = 64
}

/// Where a field's values are in `source`, as SQLite JSON path expressions.
struct SQLiteJSONPath {
    /// The path: a bound parameter, or for an indexed field its fixed literal, so the expression indexes apply.
    let leaf: String
    /// The proper prefixes: `Query.values(of:)` reaches through an array on the way, SQLite's paths do not.
    let prefixes: [String]
    /// Known to hold no array in the searched index (an indexed top-level field, checked when planning).
    let scalar: Bool
    /// Known to hold no string or boolean in the searched index (checked likewise): a number range is exact.
    var numeric = false

    var value: String { "json_extract(source, \(leaf))" }
    var type: String { "json_type(source, \(leaf))" }

    /// Rows whose values this translation does not reach: an array on the way, or an array in an array.
    var irregular: String {
        if scalar { return "FALSE" }
        let through = prefixes.map { "json_type(source, \($0)) = 'array'" }
        let nested = "(\(type) = 'array' AND EXISTS (SELECT 1 FROM json_each(source, \(leaf)) WHERE type = 'array'))"
        return "(" + (through + [nested]).joined(separator: " OR ") + ")"
    }

    /// Rows where some value at the path satisfies `condition(value, type)` (scalar or array element).
    func some(_ condition: (String, String) -> String) -> String {
        let direct = condition(value, type)
        if scalar { return "(\(direct))" }
        return "((\(direct)) OR (\(type) = 'array' AND EXISTS (SELECT 1 FROM json_each(source, \(leaf)) WHERE \(condition("value", "type")))))"
    }
}

/// Translates the query DSL to `SQLBounds` over the `source` TEXT column with SQLite's JSON
/// functions, deciding what `PostgresQueryTranslator` decides (term/terms on keyword and number
/// fields, ids, exists, numeric ranges, prefixes on keywords, bool combinations). The translation is
/// exact for rows whose id and source are printable ASCII (`plain`, where SQLite's byte comparisons
/// are Swift's `String` comparisons); `SQLiteSearch` leaves the other rows to memory.
struct SQLiteQueryTranslator: QueryBoundsTranslator {
    let mapping: IndexMapping
    /// Indexed fields that hold no array in the searched index, and those that hold only numbers.
    let scalarFields: Set<String>
    var numericFields: Set<String> = []
    var fragment = SQLiteFragment()
    var clauses = 0

    init(mapping: IndexMapping, scalarFields: Set<String> = [], fragment: SQLiteFragment = SQLiteFragment()) {
        self.mapping = mapping
        self.scalarFields = scalarFields
        self.fragment = fragment
    }

    /// Numbers SQLite and Swift compare alike (SQLite compares an integer with a double exactly,
    /// Swift converts the integer first; below 2^53 in magnitude the two agree).
    static let exactNumbers = -9_007_199_254_740_992.0 ..< 9_007_199_254_740_992.0

    mutating func ids(_ values: [String]) -> SQLBounds { idsIn(values.map(JSON.string), tokenFree: true) }

    mutating func exists(_ field: String) -> SQLBounds {
        guard let path = path(field) else { return field == "_id" ? .all : .undecided }
        return decided(path, hasValue(path))
    }

    // MARK: - Clauses

    private mutating func idsIn(_ values: [JSON], tokenFree: Bool) -> SQLBounds {
        let texts = values.compactMap(\.scalarText)
        let plain = texts.filter(Self.isPlain)
        let equal = plain.isEmpty ? "FALSE" : "id IN \(fragment.bindSet(plain.map(JSON.string)))"
        // A value outside printable ASCII may still equal an id canonically (Swift's String equality).
        return SQLBounds(sure: equal, maybe: tokenFree && plain.count == texts.count ? equal : "TRUE")
    }

    mutating func term(_ field: String, _ values: [JSON], caseInsensitive: Bool) -> SQLBounds {
        let exactField = mapping.type(of: field) != .text
        if field == "_id" {
            // A text `_id` also matches one of its tokens; tokens are lower-case, so upper-case values cannot.
            let tokenFree = exactField || (!caseInsensitive && values.allSatisfy { $0.scalarText.map(JSONPathText.cannotBeToken) ?? true })
            return caseInsensitive ? SQLBounds(sure: idsIn(values, tokenFree: false).sure, maybe: "TRUE") : idsIn(values, tokenFree: tokenFree)
        }
        guard let path = path(field) else { return .undecided }
        let wanted = values.map { value in (number: value.isNumber || value.stringValue != nil ? value.doubleValue : nil, text: value.scalarText) }
        guard let condition = Self.equalities(wanted, caseInsensitive: caseInsensitive, fragment: &fragment) else {
            return onlyNarrowed(path)
        }
        let equal = path.some(condition)
        // On a text field a string also matches one of its analysed tokens.
        let tokenFree = exactField || (!caseInsensitive && values.allSatisfy { $0.scalarText.map(JSONPathText.cannotBeToken) ?? true })
        return decided(path, equal, or: tokenFree ? nil : path.some { _, t in "\(t) = 'text'" })
    }

    mutating func match(_ field: String, _ text: String) -> SQLBounds {
        guard let path = path(field) else { return .undecided }
        if mapping.type(of: field) == .text, StandardAnalyzer.tokens(text).isEmpty { return .none }  // zero_terms_query: none
        // Keyword fields: the value equals the query text (numbers by value), as `Query.equals`.
        guard mapping.type(of: field) != .text,
              let condition = Self.equalities([(Double(text), text)], caseInsensitive: false, fragment: &fragment) else {
            return onlyNarrowed(path)
        }
        return decided(path, path.some(condition))
    }

    mutating func prefix(_ field: String, _ value: String, caseInsensitive: Bool) -> SQLBounds {
        guard let path = path(field) else { return .undecided }
        guard Self.isPlain(value), mapping.type(of: field) != .text else { return onlyNarrowed(path) }
        let wanted = fragment.bind(caseInsensitive ? value.lowercased() : value)
        let length = fragment.bind(.integer(value.utf8.count))
        let strings = path.some { v, t in
            "\(t) = 'text' AND " + (caseInsensitive ? "lower(substr(\(v), 1, \(length)))" : "substr(\(v), 1, \(length))") + " = \(wanted)"
        }
        // Numbers and booleans match by their text, which SQL does not render as Swift does.
        return decided(path, strings, or: path.some { _, t in "\(t) IN ('integer', 'real', 'true', 'false')" })
    }

    mutating func range(_ field: String, _ bounds: RangeBounds) -> SQLBounds {
        guard let path = path(field) else { return .undecided }
        let limits: [(String, JSON?)] = [(">", bounds.gt), (">=", bounds.gte), ("<", bounds.lt), ("<=", bounds.lte)]
        if limits.allSatisfy({ $0.1 == nil }) { return decided(path, hasValue(path)) }
        // Number bounds: number values compare in SQL; a string or boolean value compares by the
        // in-memory rules (numeric strings as numbers, others as text), so those rows stay undecided.
        var conditions: [(String, String)] = []
        for (op, bound) in limits {
            guard let bound else { continue }
            guard bound.isNumber, let number = bound.doubleValue, Self.exactNumbers.contains(number) else {
                return onlyNarrowed(path)
            }
            conditions.append((op, fragment.bind(.float(number))))
        }
        let numbers = path.some { v, t in "\(t) IN ('integer', 'real') AND " + conditions.map { "\(v) \($0.0) \($0.1)" }.joined(separator: " AND ") }
        return decided(path, numbers, or: path.numeric ? nil : path.some { _, t in "\(t) IN ('text', 'true', 'false')" })
    }

    // MARK: - Helpers

    /// Bounds that are exact on regular rows (`extra` widens `maybe`); irregular rows are left to memory.
    private func decided(_ path: SQLiteJSONPath, _ sure: String, or extra: String? = nil) -> SQLBounds {
        var maybe = [sure]
        if let extra { maybe.append(extra) }
        if !path.scalar { maybe.append(path.irregular) }
        return SQLBounds(sure: sure, maybe: maybe.count == 1 ? sure : "(" + maybe.joined(separator: " OR ") + ")")
    }

    /// Left to memory, narrowed to rows that have the field.
    private func onlyNarrowed(_ path: SQLiteJSONPath) -> SQLBounds { SQLBounds(sure: "FALSE", maybe: "(\(hasValue(path)) OR \(path.irregular))") }

    /// Rows with a non-null value at the path (as `Query.values(of:)` is non-empty).
    private func hasValue(_ path: SQLiteJSONPath) -> String { path.some { _, t in "\(t) NOT IN ('null', 'array')" } }

    /// The path of a field (`.keyword` names the field itself); nil for `_id`, `*` and names this
    /// translation does not write (outside printable ASCII, quotes, backslashes).
    mutating func path(_ field: String) -> SQLiteJSONPath? {
        guard field != "_id", field != "*", field.utf8.count <= JSONPathText.maxFieldLength else { return nil }
        let name = field.hasSuffix(".keyword") ? String(field.dropLast(".keyword".count)) : field
        let parts = name.split(separator: ".").map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ Self.isPlain($0) && !$0.contains("\"") && !$0.contains("\\") }) else { return nil }
        if parts.count == 1, let literal = SQLiteSchema.indexedPath(parts[0]) {
            var path = SQLiteJSONPath(leaf: literal, prefixes: [], scalar: scalarFields.contains(parts[0]))
            path.numeric = numericFields.contains(parts[0])
            return path
        }
        let texts = parts.indices.map { end in "$" + parts[...end].map { ".\"\($0)\"" }.joined() }
        return SQLiteJSONPath(leaf: fragment.bind(texts.last!), prefixes: texts.dropLast().map { fragment.bind($0) }, scalar: false)
    }

    /// Printable ASCII: SQLite's byte comparisons and `lower` agree with Swift's `String` there.
    static func isPlain(_ text: String) -> Bool { text.utf8.allSatisfy { (0x20...0x7E).contains($0) } }

    /// A condition on one value (its SQL value and `json_type`) that holds exactly when it equals one
    /// of the wanted numbers (numbers by value) or texts (strings, and booleans by their text), as
    /// `Query.termMatches` and `Query.equals` compare on exact fields; nil when SQL cannot say. Each
    /// kind is one `IN` over a bound JSON array, however many values are wanted.
    static func equalities(_ wanted: [(number: Double?, text: String?)], caseInsensitive: Bool,
                           fragment: inout SQLiteFragment) -> ((String, String) -> String)? {
        var numbers: [JSON] = [], texts: [JSON] = [], flags: [String] = []
        for (number, text) in wanted {
            if let number, number.isFinite {  // no stored number is NaN or infinite
                guard exactNumbers.contains(number) else { return nil }
                numbers.append(.double(number))
            }
            guard let text else { continue }
            guard isPlain(text) else { return nil }
            let compared = caseInsensitive ? text.lowercased() : text
            texts.append(.string(compared))
            if compared == "true" || compared == "false", !flags.contains(compared) { flags.append(compared) }
        }
        var conditions: [(String, String) -> String] = []
        if !numbers.isEmpty {
            let set = fragment.bindSet(numbers)
            conditions.append { v, t in "\(t) IN ('integer', 'real') AND \(v) IN \(set)" }
        }
        if !texts.isEmpty {
            let set = fragment.bindSet(texts)
            conditions.append { v, t in "\(t) = 'text' AND " + (caseInsensitive ? "lower(\(v))" : v) + " IN \(set)" }
        }
        if !flags.isEmpty { conditions.append { _, t in "\(t) IN (" + flags.map { "'\($0)'" }.joined(separator: ", ") + ")" } }
        if conditions.isEmpty { return { _, _ in "FALSE" } }
        return conditions.count == 1 ? conditions[0] : { v, t in conditions.map { "(\($0(v, t)))" }.joined(separator: " OR ") }
    }
}
