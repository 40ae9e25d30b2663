import Foundation
import Logging
import OrderedJSON
import SQLiteNIO
@testable import Storage
import Testing

/// That values and field names reach SQLite only as parameters, deep queries stay within its limits,
/// and the hot fields' searches use the expression indexes (what it decides: `QueryTranslationTests`).
@Suite struct SQLiteTranslationTests {
    static let tasks = IndexMapping(fields: ["state": .keyword, "model_id": .keyword, "task_type": .keyword])

    static func bounds(_ query: Query, _ mapping: IndexMapping = tasks, scalar: Set<String> = ["state", "model_id", "task_type"])
        -> (SQLBounds, SQLiteFragment) {
        var translator = SQLiteQueryTranslator(mapping: mapping, scalarFields: scalar)
        return (translator.bounds(query), translator.fragment)
    }

    @Test func hostileNamesAndValuesAreBoundNotWritten() {
        let field = "a'); DROP TABLE documents; --\"$.b"
        let value = "x' OR '1'='1\" || 1 --"
        let (bounds, fragment) = Self.bounds(.bool(BoolQuery(
            must: [.term(field, .string(value)), .range(field: "create_time", bounds: RangeBounds(gte: 1)),
                   .term("ok.path", .string(value)), .prefix(field: "ok", value: value, caseInsensitive: true)],
            mustNot: [.ids([value]), .match(field: "state", text: value, requireAll: false)])), .dynamic)
        for text in [bounds.sure, bounds.maybe] {
            #expect(!text.contains("DROP"))
            #expect(!text.contains("1'='1"))
            #expect(!text.contains("ok.path") && !text.contains("\"ok\""))
        }
        #expect(fragment.binds.contains(.text("$.\"ok\".\"path\"")))
        #expect(fragment.binds.contains { $0.string?.contains("1'='1") ?? false })
    }

    /// Deep and wide queries stay within SQLite's expression depth (1,000) and are still answered.
    @Test func deepAndWideQueriesAreAnswered() async throws {
        var deep = Query.term("state", "RUNNING")
        for _ in 0..<150 { deep = .bool(BoolQuery(mustNot: [.bool(BoolQuery(mustNot: [deep]))])) }
        let wide = Query.bool(BoolQuery(should: (0..<2000).map { .term("model_id", .string("m\($0)")) }))
        try await StoreBackend.sqlite.withNewStore(mappings: ["tasks": Self.tasks]) { store in
            try await store.put(index: "tasks", id: "t", source: ["state": "RUNNING", "model_id": "m1999"])
            try await store.put(index: "tasks", id: "u", source: ["state": "FAILED", "model_id": "x"])
            #expect(try await store.count(index: "tasks", query: deep) == 1)
            #expect(try await store.search(index: "tasks", request: SearchRequest(query: wide)).hits.map(\.document.id) == ["t"])
        }
    }

    /// A term, a range and the `_id` lookup of the task index read through an index, not a scan.
    @Test func hotFieldsUseTheExpressionIndexes() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
        let store = try await SQLiteDocumentStore.open(path: path, mappings: ["tasks": Self.tasks], logger: Logger(label: "test"))
        do {
            try await store.write((0..<200).map { .put(index: "tasks", id: "t\($0)", source: ["state": .string("S\($0 % 40)"), "create_time": .int(Int64($0))]) })
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        try await SQLiteFileTests.raw(path) { db in
            _ = try await db.query("ANALYZE")
            let plan = SQLitePlan(index: "tasks", mapping: Self.tasks, scalarFields: ["state", "create_time"],
                                  numericFields: ["create_time"], impure: false)
            for query in [Query.term("state", "S7"), .range(field: "create_time", bounds: RangeBounds(gte: 190)), .ids(["t1"])] {
                var (bounds, fragment) = plan.translate(query)
                let sql = "EXPLAIN QUERY PLAN SELECT id FROM documents WHERE \(plan.inIndex(&fragment)) AND \(bounds.maybe)"
                let steps = try await db.query(sql, fragment.binds).compactMap { $0.column("detail")?.string }
                #expect(steps.contains { $0.hasPrefix("SEARCH documents USING") }, "\(query): \(steps)")
            }
        }
    }
}
