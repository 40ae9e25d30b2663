import Foundation
import Logging
import OrderedJSON
@testable import Storage
import Testing

/// Which parts of a query SQL decides, and that values and field names never reach the SQL text.
@Suite struct PostgresTranslationTests {
    static let tasks = IndexMapping(fields: ["state": .keyword, "model_id": .keyword, "task_type": .keyword])

    static func bounds(_ query: Query, _ mapping: IndexMapping = tasks) -> (SQLBounds, SQLFragment) {
        var translator = PostgresQueryTranslator(mapping: mapping)
        let bounds = translator.bounds(query)
        return (bounds, translator.fragment)
    }

    /// The searches ML Commons makes of its own indices are answered by the database alone.
    @Test(arguments: [
        Query.term("state", "RUNNING"),
        .terms(field: "state", values: ["RUNNING", "CREATED"]),
        .and(.term("model_id", "abc"), .exists(field: "chunk_number")),
        .ids(["a", "b"]),
        .not(.term("task_type", "DEPLOY_MODEL")),
        .bool(BoolQuery(should: [.term("state", "FAILED"), .term("state", "COMPLETED")], minimumShouldMatch: 1)),
        .matchAll,
        .term("name.keyword", "exact"),
        .term("state", "RUNNING"),  // unmapped fields are text, but no token has a capital letter
    ])
    func filtersAreDecidedInSQL(_ query: Query) {
        let dynamic = Self.bounds(query, .dynamic).0, mapped = Self.bounds(query).0
        #expect(mapped.sure == mapped.maybe)
        if case .term(let field, _, _) = query, field == "state" { #expect(dynamic.sure == dynamic.maybe) }
    }

    /// Number ranges: number values are decided in SQL; rows with string or boolean values there are
    /// left to memory (compared by the in-memory rules), so a search is answered in SQL when none exists.
    @Test func numberRangesLeaveOnlyNonNumbersUndecided() {
        let bounds = Self.bounds(.range(field: "create_time", bounds: RangeBounds(gte: 5, lt: 10.5))).0
        #expect(bounds.maybe.hasPrefix("(\(bounds.sure) OR "))
    }

    /// Relevance and analysis stay in memory; SQL only narrows the candidates.
    @Test(arguments: [
        Query.match(field: "name", text: "alpha", requireAll: false),
        .term("name", "alpha"),
        .term(field: "state", value: "running", caseInsensitive: true),
        .range(field: "n", bounds: RangeBounds(gt: "10")),
    ])
    func analysisIsLeftToMemory(_ query: Query) {
        let bounds = Self.bounds(query, .dynamic).0
        #expect(bounds.sure != bounds.maybe)
        #expect(bounds.maybe != "TRUE")  // still narrowed to rows that have the field
    }

    @Test func hostileNamesAndValuesAreBoundNotWritten() {
        let field = "a'); DROP TABLE ml_documents; --\"$.b"
        let value = "x' OR '1'='1\" || @ != \"\\"
        let (bounds, fragment) = Self.bounds(.bool(BoolQuery(
            must: [.term(field, .string(value)), .range(field: field, bounds: RangeBounds(gte: 1))],
            mustNot: [.prefix(field: field, value: value, caseInsensitive: false), .ids([value])])), .dynamic)
        for text in [bounds.sure, bounds.maybe] {
            #expect(!text.contains("DROP"))
            #expect(!text.contains("OR '1'"))
            #expect(!text.contains("ml_documents"))
        }
        #expect(fragment.binds.count > 0)
    }

    @Test func jsonPathQuotesEveryKey() {
        #expect(JSONPathText.path("a.b") == "$.\"a\".\"b\"")
        #expect(JSONPathText.path("a.keyword") == "$.\"a\"")
        #expect(JSONPathText.path("q\"uote") == "$.\"q\\\"uote\"")
        #expect(JSONPathText.path("_id") == nil)
        #expect(JSONPathText.path("nul\u{0}") == nil)
        #expect(JSONPathText.path(String(repeating: "x", count: 5000)) == nil)
    }

    /// Hostile text through a real PostgreSQL store: stored, found, and nothing else touched.
    @Test func hostileTextRoundTripsThroughPostgreSQL() async throws {
        try await StoreBackend.postgres.withNewStore { store in
            let field = "a'); DROP TABLE ml_documents; --"
            let value = "x' OR '1'='1\" || @ != \"\\"
            try await store.put(index: "i", id: value, source: [field: .string(value), "other": 1])
            try await store.put(index: "i", id: "plain", source: ["other": 2])
            #expect(try await store.search(index: "i", request: SearchRequest(query: .term("\(field).keyword", .string(value)))).hits.map(\.document.id) == [value])
            #expect(try await store.count(index: "i", query: .exists(field: field)) == 1)
            #expect(try await store.count(index: "i", query: .matchAll) == 2)
            // PostgreSQL cannot hold NUL: refused with a clear error, never half-written.
            do {
                try await store.put(index: "i", id: "nul", source: ["t": "a\u{0}b"])
                Issue.record("NUL was accepted")
            } catch let error as StoreError {
                #expect(error.description.contains("NUL"))
            }
            #expect(try await store.get(index: "i", id: "nul") == nil)
            #expect(try await store.count(index: "i", query: .term("t", "a\u{0}b")) == 0)
        }
    }

    /// A server that does not answer fails the open in time, naming the store but not its password.
    @Test func anUnreachableServerFailsTheOpen() async throws {
        let start = ContinuousClock.now
        do {
            _ = try await PostgresDocumentStore.open(try PostgresLocation.parse("postgres://ml:secretpw@127.0.0.1:1/db"),
                                                     reachTimeout: .seconds(2), logger: Logger(label: "test"))
            Issue.record("opened a store on a closed port")
        } catch let error as StoreError {
            #expect(error.description.contains("postgres://ml:***@127.0.0.1:1/db"))
            #expect(!error.description.contains("secretpw"))
        }
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func storeURLsParseAndNeverShowThePassword() throws {
        let location = try PostgresLocation.parse("postgres://ml:s%40cret@db.example:6543/commons")
        #expect(location == PostgresLocation(host: "db.example", port: 6543, user: "ml", password: "s@cret", database: "commons"))
        #expect(!location.description.contains("cret"))
        #expect(try PostgresLocation.parse("postgresql://ml@db/commons", password: "fromenv").password == "fromenv")
        for bad in ["postgres://db/commons", "postgres://ml@db", "postgres://ml:pw@/x", "postgres://ml:pw@db:99999/x", "mysql://ml@db/x"] {
            #expect(throws: StoreError.self) { try PostgresLocation.parse(bad) }
            do { _ = try PostgresLocation.parse(bad) } catch { #expect(!"\(error)".contains("pw")) }
        }
    }
}
