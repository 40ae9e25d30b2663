import OrderedJSON
import PostgresNIO

/// Searches and counts. Two ways, chosen per request in one snapshot:
/// - in SQL, when the query's filters are decided by SQL on every candidate row, relevance is not
///   needed (a sort, an unranked read, or a query whose score is the same for every hit), and the
///   sort fields hold one scalar type: `count(*)`, `ORDER BY`, `LIMIT`/`OFFSET` in the database, and
///   only the page's rows are read;
/// - otherwise the candidate rows (SQL's `maybe` bound) are read and `SearchRequest.run` evaluates,
///   scores (BM25 statistics from the scored fields of the whole index) and sorts them in memory.
extension PostgresDocumentStore {
    public func search(index: String, request: SearchRequest) async throws -> SearchHits {
        try await transaction(readOnly: true) { db in
            let mapping = try await mapping(db, index: index)
            let scored = request.isScored
            let relevance = scored ? request.query.constantRelevance : nil
            if !scored || relevance != nil,
               let hits = try await searchInSQL(index: index, request: request, mapping: mapping, relevance: relevance, db) {
                plans.withLockedValue { $0.inSQL += 1 }
                return hits
            }
            plans.withLockedValue { $0.inMemory += 1 }
            let candidates = try await candidates(index: index, query: request.query, mapping: mapping, db)
            var corpus: [StoredDocument]? = nil
            if scored, relevance == nil { corpus = try await statisticsDocuments(index: index, query: request.query, db) }
            return request.run(over: candidates, mapping: mapping, corpus: corpus)
        }
    }

    public func count(index: String, query: Query) async throws -> Int {
        try await transaction(readOnly: true) { db in
            let mapping = try await mapping(db, index: index)
            var check = PostgresQueryTranslator(mapping: mapping)
            let bounds = check.bounds(query)
            var fragment = check.fragment
            let indexParameter = fragment.bind(index)
            let rows = try await db.query(PostgresQuery(unsafeSQL: """
                SELECT count(*), count(*) FILTER (WHERE \(bounds.undecidedRows)) FROM ml_documents
                WHERE index_name = \(indexParameter) AND \(bounds.maybe)
                """, binds: fragment.binds), logger: logger)
            for try await (total, undecided) in rows.decode((Int64, Int64).self) where undecided == 0 {
                plans.withLockedValue { $0.inSQL += 1 }
                return Int(total)
            }
            plans.withLockedValue { $0.inMemory += 1 }
            return try await candidates(index: index, query: query, mapping: mapping, db).filter { query.matches($0, mapping: mapping) }.count
        }
    }

    /// The rows SQL cannot rule out, in index order (`seq_no`), as the in-memory evaluation expects.
    private func candidates(index: String, query: Query, mapping: IndexMapping, _ db: PostgresConnection) async throws -> [StoredDocument] {
        var translator = PostgresQueryTranslator(mapping: mapping)
        let bounds = translator.bounds(query)
        var fragment = translator.fragment
        let indexParameter = fragment.bind(index)
        let rows = try await db.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.documentColumns) FROM ml_documents WHERE index_name = \(indexParameter) AND \(bounds.maybe) ORDER BY seq_no
            """, binds: fragment.binds), logger: logger)
        return try await Self.documents(rows, index: index)
    }

    /// For BM25's statistics: every document of the index, holding only the top-level fields the
    /// query scores on (the whole source for `*`).
    private func statisticsDocuments(index: String, query: Query, _ db: PostgresConnection) async throws -> [StoredDocument] {
        let fields = query.scoredFields
        let whole = fields.contains("*")
        let keys = Array(Set(fields.map { String($0.split(separator: ".").first ?? "") }))
        let rows = try await db.query(whole
            ? "SELECT id, source::text FROM ml_documents WHERE index_name = \(index)"
            : """
              SELECT id, COALESCE((SELECT jsonb_object_agg(key, value) FROM jsonb_each(source) WHERE key = ANY(\(keys))), '{}')::text
              FROM ml_documents WHERE index_name = \(index)
              """, logger: logger)
        var documents: [StoredDocument] = []
        for try await (id, text) in rows.decode((String, String).self) {
            guard case .object(let source) = try JSON.parse(text) else { continue }
            documents.append(StoredDocument(index: index, id: id, source: source, version: 1, seqNo: 0, primaryTerm: 1))
        }
        return documents
    }

    /// The SQL way, or nil when SQL cannot decide some candidate row or a sort field holds arrays,
    /// objects or several types (the in-memory order of mixed values is not SQL's).
    private func searchInSQL(index: String, request: SearchRequest, mapping: IndexMapping, relevance: Double?,
                             _ db: PostgresConnection) async throws -> SearchHits? {
        let sort = request.sort.filter { $0.field != "_score" }  // equal for every hit when relevance is constant
        var check = PostgresQueryTranslator(mapping: mapping)
        let bounds = check.bounds(request.query)
        var fragment = check.fragment
        let indexParameter = fragment.bind(index)
        var columns = ["count(*)", "count(*) FILTER (WHERE \(bounds.undecidedRows))"]
        let keys = sort.map { SortKeySQL(field: $0.field, fragment: &fragment) }
        for key in keys { columns += key.typeCounts }
        let rows = try await db.query(PostgresQuery(unsafeSQL: """
            SELECT \(columns.joined(separator: ", ")) FROM ml_documents WHERE index_name = \(indexParameter) AND \(bounds.maybe)
            """, binds: fragment.binds), logger: logger)
        guard let row = try await rows.collect().first else { return nil }
        var counts: [Int64] = []
        for cell in row { counts.append(try cell.decode(Int64.self)) }
        guard counts.count == 2 + 4 * keys.count, counts[1] == 0 else { return nil }
        let total = Int(counts[0])

        // The page, ordered by the database.
        var page = PostgresQueryTranslator(mapping: mapping)
        let pageBounds = page.bounds(request.query)
        var pageFragment = page.fragment
        let pageIndex = pageFragment.bind(index)
        var order: [String] = []
        for (i, field) in sort.enumerated() {
            let typeCounts = counts[(2 + 4 * i)..<(6 + 4 * i)]
            guard let expression = SortKeySQL(field: field.field, fragment: &pageFragment).orderExpression(counts: Array(typeCounts)) else {
                return nil
            }
            if let expression { order.append("\(expression) \(field.descending ? "DESC" : "ASC") NULLS LAST") }
        }
        order.append(request.sort.isEmpty ? "seq_no" : "id COLLATE \"C\"")  // a sort ends with the id, as in memory
        let limit = pageFragment.bind(Int64(min(request.size, Int(Int32.max))))
        let offset = pageFragment.bind(Int64(min(request.from, Int(Int32.max))))
        let documents = try await Self.documents(db.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.documentColumns) FROM ml_documents WHERE index_name = \(pageIndex) AND \(pageBounds.maybe)
            ORDER BY \(order.joined(separator: ", ")) LIMIT \(limit) OFFSET \(offset)
            """, binds: pageFragment.binds), logger: logger), index: index)
        let scores = relevance.map { value in Dictionary(documents.map { ($0.id, value) }, uniquingKeysWith: { a, _ in a }) } ?? [:]
        let hits = documents.map { document in
            SearchHit(document: document, score: relevance,
                      sortValues: request.sort.isEmpty ? nil : request.sort.map { $0.key(of: document, scores: scores) ?? .null })
        }
        return SearchHits(total: total, hits: hits)
    }
}

/// A sort field's key in SQL: the value at its path, counted by JSON type first so the order is
/// only taken from SQL when every value has the same scalar type.
private struct SortKeySQL {
    let field: String
    /// The value at the path (`source -> 'f'`, or `#>` for a dotted path; the create_time index matches the first).
    let value: String
    /// Rows where the value is an array or object, or is reached through an array (`#>` does not).
    let irregular: String

    init(field: String, fragment: inout SQLFragment) {
        self.field = field
        let name = field.hasSuffix(".keyword") ? String(field.dropLast(".keyword".count)) : field
        let parts = name.split(separator: ".").map(String.init)
        if field == "_id" || parts.isEmpty || !parts.allSatisfy(JSONPathText.storable) {
            value = "NULL::jsonb"
            irregular = field == "_id" ? "FALSE" : "TRUE"
        } else if parts.count == 1 {
            value = "(source -> \(fragment.bind(parts[0])))"
            irregular = "jsonb_typeof(\(value)) IN ('array', 'object')"
        } else {
            value = "(source #> \(fragment.bind(parts))::text[])"
            let path = JSONPathText.path(field).map { fragment.bind("\($0) ? (@.type() != \"null\")") } ?? "'$'"
            irregular = "(jsonb_typeof(\(value)) IN ('array', 'object') OR (\(value) IS NULL AND source @? \(path)::jsonpath))"
        }
    }

    var typeCounts: [String] {
        ["number", "string", "boolean"].map { "count(*) FILTER (WHERE jsonb_typeof(\(value)) = '\($0)')" }
            + ["count(*) FILTER (WHERE \(irregular))"]
    }

    /// The ORDER BY expression; `.some(nil)` when no row has a value (nothing to order by), nil when
    /// the values are irregular or of several types.
    func orderExpression(counts: [Int64]) -> String?? {
        if field == "_id" { return .some("id COLLATE \"C\"") }
        guard counts.count == 4 else { return nil }
        switch SortTypeCounts(number: counts[0], string: counts[1], boolean: counts[2], irregular: counts[3]).singleKind {
        case nil: return nil
        case .some(nil): return .some(nil)
        case .number: return "(CASE WHEN jsonb_typeof(\(value)) = 'number' THEN (\(value))::float8 END)"
        case .string: return "(CASE WHEN jsonb_typeof(\(value)) = 'string' THEN \(value) #>> '{}' END) COLLATE \"C\""
        case .boolean: return "(CASE WHEN jsonb_typeof(\(value)) = 'boolean' THEN (\(value))::boolean END)"
        }
    }
}
