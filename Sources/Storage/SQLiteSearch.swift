import OrderedJSON
import SQLiteNIO

/// Searches and counts, answered as the PostgreSQL store answers them (`PostgresSearch.swift`), in
/// one snapshot:
/// - in SQL, when the query's filters are decided by SQL on every candidate row, relevance is not
///   needed (a sort, an unranked read, or a query whose score is the same for every hit), and the
///   sort fields hold one scalar type: `count(*)`, `ORDER BY`, `LIMIT`/`OFFSET` in the database, and
///   only the page's rows are read;
/// - otherwise the candidate rows (SQL's `maybe` bound) are read and `SearchRequest.run` evaluates,
///   scores (BM25 statistics from the scored fields of the whole index) and sorts them in memory.
extension SQLiteDocumentStore {
    public func search(index: String, request: SearchRequest) async throws -> SearchHits {
        try await snapshot { db in
            let mapping = try await self.mapping(db, index: index)
            let plan = try await SQLitePlan.make(db, index: index, mapping: mapping, fields: request.query.fields + request.sort.map(\.field))
            let scored = request.isScored
            let relevance = scored ? request.query.constantRelevance : nil
            if !scored || relevance != nil, let hits = try await self.searchInSQL(db, request: request, plan: plan, relevance: relevance) {
                self.plans.withLockedValue { $0.inSQL += 1 }
                return hits
            }
            self.plans.withLockedValue { $0.inMemory += 1 }
            // BM25 needs every document's scored fields; reading each whole source once costs less
            // here than extracting those fields in SQL with json_each (2.2 s against 1.6 s at 100,000 tasks).
            let all = scored && relevance == nil
            let candidates = try await self.candidates(db, query: all ? .matchAll : request.query, plan: plan)
            return request.run(over: candidates, mapping: mapping)
        }
    }

    public func count(index: String, query: Query) async throws -> Int {
        try await snapshot { db in
            let mapping = try await self.mapping(db, index: index)
            let plan = try await SQLitePlan.make(db, index: index, mapping: mapping, fields: query.fields)
            var (bounds, fragment) = plan.translate(query)
            let rows = try await db.query("""
                SELECT count(*), count(*) FILTER (WHERE \(bounds.undecidedRows)) FROM documents
                WHERE \(plan.inIndex(&fragment)) AND \(bounds.maybe)
                """, fragment.binds)
            if let row = rows.first, row.columns.count == 2, row.columns[1].data.integer == 0 {
                self.plans.withLockedValue { $0.inSQL += 1 }
                return row.columns[0].data.integer ?? 0
            }
            self.plans.withLockedValue { $0.inMemory += 1 }
            return try await self.candidates(db, query: query, plan: plan).filter { query.matches($0, mapping: mapping) }.count
        }
    }

    /// The rows SQL cannot rule out, in index order (`seq_no`), as the in-memory evaluation expects.
    func candidates(_ db: SQLiteConnection, index: String, query: Query, mapping: IndexMapping) async throws -> [StoredDocument] {
        try await candidates(db, query: query, plan: try await SQLitePlan.make(db, index: index, mapping: mapping, fields: query.fields))
    }

    private func candidates(_ db: SQLiteConnection, query: Query, plan: SQLitePlan) async throws -> [StoredDocument] {
        var (bounds, fragment) = plan.translate(query)
        let rows = try await db.query("""
            SELECT id, version, seq_no, primary_term, source FROM documents
            WHERE \(plan.inIndex(&fragment)) AND \(bounds.maybe) ORDER BY seq_no
            """, fragment.binds)
        return try rows.map { try Self.document(index: plan.index, row: $0) }
    }

    /// The SQL way, or nil when SQL cannot decide some candidate row or a sort field holds arrays,
    /// objects or several types.
    private func searchInSQL(_ db: SQLiteConnection, request: SearchRequest, plan: SQLitePlan, relevance: Double?) async throws -> SearchHits? {
        let sort = request.sort.filter { $0.field != "_score" }  // equal for every hit when relevance is constant
        let (bounds, translated) = plan.translate(request.query)
        var fragment = translated
        let keys = sort.map { SQLiteSortKey(field: $0.field, plan: plan, fragment: &fragment) }
        var columns = ["count(*)", "count(*) FILTER (WHERE \(bounds.undecidedRows))"]
        for key in keys { columns += key.typeCounts }
        let rows = try await db.query("""
            SELECT \(columns.joined(separator: ", ")) FROM documents WHERE \(plan.inIndex(&fragment)) AND \(bounds.maybe)
            """, fragment.binds)
        guard let row = rows.first, row.columns.count == columns.count else { return nil }
        let counts = row.columns.map { Int64($0.data.integer ?? 0) }
        guard counts[1] == 0 else { return nil }

        // The page, ordered by the database.
        var page = translated
        var order: [String] = []
        for (i, field) in sort.enumerated() {
            let c = counts[(2 + 4 * i)..<(6 + 4 * i)].map { $0 }
            let types = SortTypeCounts(number: c[0], string: c[1], boolean: c[2], irregular: c[3])
            guard let expression = SQLiteSortKey(field: field.field, plan: plan, fragment: &page).orderExpression(types) else { return nil }
            if let expression { order.append("\(expression) \(field.descending ? "DESC" : "ASC") NULLS LAST") }
        }
        order.append(request.sort.isEmpty ? "seq_no" : "id")  // a sort ends with the id, as in memory
        let limit = page.bind(.integer(min(request.size, Int(Int32.max))))
        let offset = page.bind(.integer(min(request.from, Int(Int32.max))))
        let documents = try await db.query("""
            SELECT id, version, seq_no, primary_term, source FROM documents WHERE \(plan.inIndex(&page)) AND \(bounds.maybe)
            ORDER BY \(order.joined(separator: ", ")) LIMIT \(limit) OFFSET \(offset)
            """, page.binds).map { try Self.document(index: plan.index, row: $0) }
        let scores = relevance.map { value in Dictionary(documents.map { ($0.id, value) }, uniquingKeysWith: { a, _ in a }) } ?? [:]
        let hits = documents.map { document in
            SearchHit(document: document, score: relevance,
                      sortValues: request.sort.isEmpty ? nil : request.sort.map { $0.key(of: document, scores: scores) ?? .null })
        }
        return SearchHits(total: Int(counts[0]), hits: hits)
    }
}

/// What one search of one index knows before it translates: the field types, which indexed fields
/// hold no array and which only numbers (index seeks), and whether some row is not `plain`.
struct SQLitePlan {
    let index: String
    let mapping: IndexMapping
    let scalarFields: Set<String>
    var numericFields: Set<String> = []
    /// Some row's id or source is not printable ASCII; those rows are left to memory.
    let impure: Bool

    static func make(_ db: SQLiteConnection, index: String, mapping: IndexMapping, fields: [String]) async throws -> SQLitePlan {
        var scalar: Set<String> = [], numeric: Set<String> = []
        for field in Set(fields.map { $0.hasSuffix(".keyword") ? String($0.dropLast(".keyword".count)) : $0 }) {
            guard let path = SQLiteSchema.indexedPath(field) else { continue }
            func holds(_ types: String) async throws -> Bool {
                try await !db.query("SELECT 1 FROM documents WHERE index_name = ?1 AND json_type(source, \(path)) IN \(types) LIMIT 1",
                                    [.text(index)]).isEmpty
            }
            guard try await !holds("('array')") else { continue }
            scalar.insert(field)
            if try await !holds("('text', 'true', 'false')") { numeric.insert(field) }
        }
        let impure = try await !db.query("SELECT 1 FROM documents WHERE index_name = ?1 AND plain = 0 LIMIT 1", [.text(index)]).isEmpty
        return SQLitePlan(index: index, mapping: mapping, scalarFields: scalar, numericFields: numeric, impure: impure)
    }

    /// The query's bounds and their parameters; rows that are not plain are undecided.
    func translate(_ query: Query) -> (SQLBounds, SQLiteFragment) {
        var translator = SQLiteQueryTranslator(mapping: mapping, scalarFields: scalarFields)
        translator.numericFields = numericFields
        var bounds = translator.bounds(query)
        if impure { bounds = SQLBounds(sure: "(plain = 1 AND \(bounds.sure))", maybe: "(plain = 0 OR \(bounds.maybe))") }
        return (bounds, translator.fragment)
    }

    /// `index_name = ?n`, bound last: SQLite refuses parameters past the highest one the SQL names,
    /// and a statement may leave some of the fragment's unnamed (those of `sure` in a page query).
    func inIndex(_ fragment: inout SQLiteFragment) -> String { "index_name = \(fragment.bind(index))" }
}

/// A sort field's key in SQL: its value, counted by JSON type first so the order is only taken from
/// SQL when every value has the same scalar type.
private struct SQLiteSortKey {
    let field: String
    let value: String
    let type: String
    /// Rows where the value is an array or object, is reached through an array, or is an integer
    /// Swift orders as a rounded double.
    let irregular: String

    init(field: String, plan: SQLitePlan, fragment: inout SQLiteFragment) {
        self.field = field
        var translator = SQLiteQueryTranslator(mapping: plan.mapping, scalarFields: plan.scalarFields, fragment: fragment)
        if field != "_id", let path = translator.path(field) {
            value = path.value
            type = path.type
            let huge = "(\(type) = 'integer' AND (\(value) >= 9007199254740992 OR \(value) <= -9007199254740992))"
            irregular = "(\(type) IN ('array', 'object') OR \(path.irregular) OR \(huge))"
        } else {
            value = "NULL"
            type = "NULL"
            irregular = field == "_id" ? "FALSE" : "TRUE"
        }
        fragment = translator.fragment
    }

    var typeCounts: [String] {
        ["IN ('integer', 'real')", "= 'text'", "IN ('true', 'false')"].map { "count(*) FILTER (WHERE \(type) \($0))" }
            + ["count(*) FILTER (WHERE \(irregular))"]
    }

    /// The ORDER BY expression; `.some(nil)` when no row has a value, nil when SQL cannot order.
    func orderExpression(_ counts: SortTypeCounts) -> String?? {
        if field == "_id" { return .some("id") }
        switch counts.singleKind {
        case nil: return nil
        case .some(nil): return .some(nil)
        case .number: return "(CASE WHEN \(type) IN ('integer', 'real') THEN \(value) END)"
        case .string: return "(CASE WHEN \(type) = 'text' THEN \(value) END)"
        case .boolean: return "(CASE WHEN \(type) IN ('true', 'false') THEN \(value) END)"
        }
    }
}
