import OrderedJSON

/// What SQL can say about a query clause, as two boolean expressions over a document row:
/// every row where `sure` holds matches, and every row that matches satisfies `maybe`
/// (`sure ⊆ matches ⊆ maybe`). When the two agree on every candidate row, the database answers the
/// search alone (count, sort, paging); otherwise the rows of `maybe` are read and the query is
/// evaluated in memory (`Query.matches`). Both stores (PostgreSQL, SQLite) translate to this.
/// An expression that is NULL for a row counts as false; negations say so with `COALESCE`.
struct SQLBounds {
    var sure: String
    var maybe: String

    static let all = SQLBounds(sure: "TRUE", maybe: "TRUE")
    static let none = SQLBounds(sure: "FALSE", maybe: "FALSE")
    /// SQL cannot decide: every row is a candidate for the in-memory check.
    static let undecided = SQLBounds(sure: "FALSE", maybe: "TRUE")
    static func exact(_ expression: String) -> SQLBounds { SQLBounds(sure: expression, maybe: expression) }

    /// The rows SQL could not decide.
    var undecidedRows: String { sure == maybe ? "FALSE" : "((\(maybe)) AND \(Self.not(sure)))" }

    /// Negation that treats NULL as false (SQL's `NOT NULL` is NULL, which would drop the row).
    static func not(_ expression: String) -> String { "NOT COALESCE((\(expression)), FALSE)" }
}

/// A translator from the query DSL to `SQLBounds` in one SQL dialect. The dialect writes the leaf
/// clauses; the dispatch, the combinations (bool, constant_score) and the bound on the work are shared here.
protocol QueryBoundsTranslator {
    /// Clauses translated so far, against `maxTranslatedClauses`.
    var clauses: Int { get set }
    mutating func ids(_ ids: [String]) -> SQLBounds
    mutating func exists(_ field: String) -> SQLBounds
    /// `term` (one value) and `terms`.
    mutating func term(_ field: String, _ values: [JSON], caseInsensitive: Bool) -> SQLBounds
    /// `match` and `match_phrase` (which agree on exact fields; text fields are left to memory).
    mutating func match(_ field: String, _ text: String) -> SQLBounds
    mutating func prefix(_ field: String, _ value: String, caseInsensitive: Bool) -> SQLBounds
    mutating func range(_ field: String, _ bounds: RangeBounds) -> SQLBounds
}

/// Limits on what one search may make the database evaluate: clauses, and nesting (SQLite refuses
/// expressions deeper than 1,000; lists are joined as balanced trees, so only nesting adds depth).
let maxTranslatedClauses = 1024
let maxTranslatedDepth = 32

extension QueryBoundsTranslator {
    mutating func bounds(_ query: Query) -> SQLBounds { bounds(query, depth: 0) }

    private mutating func bounds(_ query: Query, depth: Int) -> SQLBounds {
        clauses += 1
        guard clauses <= maxTranslatedClauses, depth <= maxTranslatedDepth else { return .undecided }
        switch query {
        case .matchAll: return .all
        case .matchNone: return .none
        case .constantScore(let inner): return bounds(inner, depth: depth + 1)
        case .bool(let bool): return boolean(bool, depth: depth + 1)
        case .ids(let values): return ids(values)
        case .exists(let field): return exists(field)
        case .term(let field, let value, let caseInsensitive): return term(field, [value], caseInsensitive: caseInsensitive)
        case .terms(let field, let values): return term(field, values, caseInsensitive: false)
        case .match(let field, let text, _), .matchPhrase(let field, let text): return match(field, text)
        case .prefix(let field, let value, let caseInsensitive): return prefix(field, value, caseInsensitive: caseInsensitive)
        case .range(let field, let bounds): return range(field, bounds)
        }
    }

    private mutating func boolean(_ bool: BoolQuery, depth: Int) -> SQLBounds {
        var sure: [String] = [], maybe: [String] = []
        for clause in bool.must + bool.filter {
            let b = bounds(clause, depth: depth)
            sure.append(b.sure)
            maybe.append(b.maybe)
        }
        for clause in bool.mustNot {
            let b = bounds(clause, depth: depth)
            sure.append(SQLBounds.not(b.maybe))
            maybe.append(SQLBounds.not(b.sure))
        }
        let required = bool.minimumShouldMatch ?? ((bool.must.isEmpty && bool.filter.isEmpty && !bool.should.isEmpty) ? 1 : 0)
        if required > 0 {
            var should: [SQLBounds] = []
            for clause in bool.should { should.append(bounds(clause, depth: depth)) }
            if required > should.count { return .none }
            if required == 1 {
                sure.append(Self.balanced(should.map(\.sure), "OR"))
                maybe.append(Self.balanced(should.map(\.maybe), "OR"))
            } else {
                func atLeast(_ parts: [String]) -> String {
                    "(" + Self.balanced(parts.map { "(CASE WHEN \($0) THEN 1 ELSE 0 END)" }, "+") + " >= \(required))"
                }
                sure.append(atLeast(should.map(\.sure)))
                maybe.append(atLeast(should.map(\.maybe)))
            }
        }
        return SQLBounds(sure: sure.isEmpty ? "TRUE" : Self.balanced(sure, "AND"), maybe: maybe.isEmpty ? "TRUE" : Self.balanced(maybe, "AND"))
    }

    /// `(a op b op c …)` as a balanced tree of parentheses, so a long list stays shallow.
    static func balanced(_ parts: [String], _ op: String) -> String {
        if parts.count == 1 { return "(" + parts[0] + ")" }
        let middle = parts.count / 2
        return "(" + balanced(Array(parts[..<middle]), op) + " \(op) " + balanced(Array(parts[middle...]), op) + ")"
    }
}

/// How a store answered its searches and counts: in SQL alone, or candidates evaluated in memory.
public struct SearchPlans: Sendable, Equatable {
    public var inSQL = 0
    public var inMemory = 0
}

/// A sort field's values in the rows a search matches, counted by type: the database orders by
/// the field only when every value has one scalar type (the in-memory order of mixed values, and
/// of arrays, is not SQL's).
struct SortTypeCounts {
    var number: Int64 = 0, string: Int64 = 0, boolean: Int64 = 0
    /// Arrays, objects, values reached through arrays, or values SQL would order differently.
    var irregular: Int64 = 0

    enum Kind { case number, string, boolean }

    /// The one type every value has; `.some(nil)` when no row has a value, nil when SQL cannot order.
    var singleKind: Kind?? {
        guard irregular == 0 else { return nil }
        let present = [(number, Kind.number), (string, .string), (boolean, .boolean)].filter { $0.0 > 0 }
        if present.isEmpty { return .some(nil) }
        guard present.count == 1 else { return .none }  // several types: SQL cannot order them
        return .some(present[0].1)
    }
}

extension SearchRequest {
    /// Whether hits get relevance scores (which then order them unless a sort is given).
    var isScored: Bool { ranked && (sort.isEmpty || sort.contains { $0.field == "_score" } || trackScores) }
}

extension Query {
    /// The score every matching document gets when it is the same for all (filters, ids, exists,
    /// ranges…, and bool queries of them without `should`); nil when relevance varies (text, term,
    /// should). Mirrors `score(_:in:)` and `exactness(_:)`.
    var constantRelevance: Double? {
        switch self {
        case .matchAll, .ids, .exists, .prefix, .range, .terms, .constantScore: return 1
        case .matchNone: return 0
        case .term, .match, .matchPhrase: return nil
        case .bool(let bool):
            if bool.must.isEmpty, bool.should.isEmpty, bool.filter.isEmpty, bool.mustNot.isEmpty { return 1 }
            guard bool.should.isEmpty else { return nil }
            var sum = 0.0
            for clause in bool.must {
                guard let score = clause.constantRelevance else { return nil }
                sum += score
            }
            return sum
        }
    }

    /// Fields whose statistics BM25 may read.
    var scoredFields: [String] {
        switch self {
        case .term(let field, _, _), .match(let field, _, _), .matchPhrase(let field, _): return [field]
        case .bool(let bool): return (bool.must + bool.should).flatMap(\.scoredFields)
        default: return []
        }
    }

    /// Every field the query names (for planning which index paths it reads).
    var fields: [String] {
        switch self {
        case .matchAll, .matchNone, .ids: return []
        case .term(let field, _, _), .terms(let field, _), .match(let field, _, _), .matchPhrase(let field, _),
             .exists(let field), .prefix(let field, _, _), .range(let field, _): return [field]
        case .constantScore(let inner): return inner.fields
        case .bool(let bool): return (bool.must + bool.filter + bool.should + bool.mustNot).flatMap(\.fields)
        }
    }
}
