import OrderedJSON
@testable import Storage
import Testing

/// Which parts of a query each store's SQL decides (`sure == maybe`) and which it leaves to memory.
@Suite struct QueryTranslationTests {
    enum Dialect: CaseIterable { case postgres, sqlite }

    static let tasks = IndexMapping(fields: ["state": .keyword, "model_id": .keyword, "task_type": .keyword])

    static func bounds(_ query: Query, _ mapping: IndexMapping, _ dialect: Dialect) -> SQLBounds {
        switch dialect {
        case .postgres:
            var translator = PostgresQueryTranslator(mapping: mapping)
            return translator.bounds(query)
        case .sqlite:
            var translator = SQLiteQueryTranslator(mapping: mapping, scalarFields: ["state", "model_id", "task_type"])
            return translator.bounds(query)
        }
    }

    /// The searches ML Commons makes of its own indices are answered by the database alone.
    @Test(arguments: Dialect.allCases, [
        Query.term("state", "RUNNING"),
        .terms(field: "state", values: ["RUNNING", "CREATED"]),
        .and(.term("model_id", "abc"), .exists(field: "chunk_number")),
        .ids(["a", "b"]),
        .not(.term("task_type", "DEPLOY_MODEL")),
        .bool(BoolQuery(should: [.term("state", "FAILED"), .term("state", "COMPLETED")], minimumShouldMatch: 1)),
        .matchAll,
        .term("name.keyword", "exact"),
    ])
    func filtersAreDecidedInSQL(_ dialect: Dialect, _ query: Query) async throws {
        switch dialect {
        case .postgres:
            let mapped = Self.bounds(query, Self.tasks, dialect)
            #expect(mapped.sure == mapped.maybe)
            // Unmapped fields are text, but no token has a capital letter.
            if case .term(let field, _, _) = query, field == "state" {
                let dynamic = Self.bounds(query, .dynamic, dialect)
                #expect(dynamic.sure == dynamic.maybe)
            }
        case .sqlite:
            // SQLite leaves arrays on a path to memory, which only the rows can tell: count over
            // documents shaped as the server's, and see that SQL answered.
            try await StoreBackend.sqlite.withNewStore(mappings: ["tasks": Self.tasks]) { store in
                var batch: [StoreWrite] = []
                for i in 0..<20 {
                    var source: JSONObject = ["task_type": "DEPLOY_MODEL", "name": "exact", "owner": ["name": "ann"]]
                    source["state"] = .string(i % 2 == 0 ? "RUNNING" : "FAILED")
                    source["model_id"] = .string(i % 3 == 0 ? "abc" : "x")
                    source["chunk_number"] = .int(Int64(i))
                    batch.append(.put(index: "tasks", id: "t\(i)", source: source))
                }
                try await store.write(batch)
                var unranked = SearchRequest(query: query)
                unranked.ranked = false
                _ = try await store.count(index: "tasks", query: query)
                _ = try await store.search(index: "tasks", request: unranked)
                #expect((store as? SQLiteDocumentStore)?.searchPlans == SearchPlans(inSQL: 2, inMemory: 0))
            }
        }
    }

    /// Number ranges: number values are decided in SQL; rows with string or boolean values there are
    /// left to memory (compared by the in-memory rules), so a search is answered in SQL when none exists.
    @Test(arguments: Dialect.allCases)
    func numberRangesLeaveOnlyNonNumbersUndecided(_ dialect: Dialect) {
        let bounds = Self.bounds(.range(field: "create_time", bounds: RangeBounds(gte: 5, lt: 10.5)), Self.tasks, dialect)
        #expect(bounds.maybe.hasPrefix("(\(bounds.sure) OR "))
    }

    /// Relevance and analysis stay in memory, and on SQLite values outside printable ASCII and numbers
    /// past 2^53; SQL only narrows the candidates.
    @Test(arguments: [
        (Query.match(field: "name", text: "alpha", requireAll: false), Dialect.allCases),
        (.term("name", "alpha"), Dialect.allCases),
        (.term(field: "state", value: "running", caseInsensitive: true), Dialect.allCases),
        (.range(field: "n", bounds: RangeBounds(gt: "10")), Dialect.allCases),
        (.term("state", "RUNN\u{130}NG"), [.sqlite]),
        (.term("n", .int(9_007_199_254_740_993)), [.sqlite]),
        (.prefix(field: "state", value: "caf\u{E9}", caseInsensitive: false), [.sqlite]),
    ])
    func analysisIsLeftToMemory(_ query: Query, _ dialects: [Dialect]) {
        for dialect in dialects {
            let bounds = Self.bounds(query, .dynamic, dialect)
            #expect(bounds.sure != bounds.maybe, "\(dialect)")
            #expect(bounds.maybe != "TRUE", "\(dialect)")  // still narrowed to rows that have the field
        }
    }
}
