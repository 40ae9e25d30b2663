import Foundation
import Logging
import OrderedJSON
import SQLiteNIO
@testable import Storage
import Testing

/// The SQLite file: a damaged one is refused at open (batches on both backends: `StoreBehaviourTests`).
@Suite struct SQLiteFileTests {
    static func tempPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
    }

    @Test func aFileThatIsNotAStoreIsRefusedWithTheRecoveryStep() async throws {
        let path = Self.tempPath()
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        do {
            _ = try await SQLiteDocumentStore.open(path: path, logger: Logger(label: "test"))
            Issue.record("a damaged store opened")
        } catch let error as StoreError {
            guard case .damaged(let damagedPath, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(damagedPath == path)
            #expect(error.description.contains(".recover"))
        }
    }

    static let logger = Logger(label: "test")

    /// Runs statements on a plain connection to the file (as an older server, or to inspect it).
    static func raw(_ path: String, _ body: (SQLiteConnection) async throws -> Void) async throws {
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            try await body(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    static let tasks = ["tasks": IndexMapping(fields: ["state": .keyword])]

    /// A file as the server wrote it before schema versions (user_version 0, no `plain` column, no
    /// expression indexes) opens with its data, is migrated in place, and is then searched in SQL.
    @Test func aFileOfTheUnversionedSchemaIsMigratedInPlace() async throws {
        let path = Self.tempPath()
        try await Self.raw(path) { old in
            for statement in SQLiteSchema.tables { _ = try await old.query(statement) }
            _ = try await old.query("INSERT INTO indices (name, seq_no, created_time) VALUES ('tasks', 2, 0)")
            for (i, state) in ["RUNNING", "COMPLETED", "RUNN\u{130}NG"].enumerated() {
                _ = try await old.query(
                    "INSERT INTO documents (index_name, id, version, seq_no, primary_term, source) VALUES ('tasks', ?, 1, ?, 1, ?)",
                    [.text("t\(i)"), .integer(i), .text(JSON.object(["state": .string(state), "n": .int(Int64(i))]).serialized)])
            }
        }
        let store = try await SQLiteDocumentStore.open(path: path, mappings: Self.tasks, logger: Self.logger)
        do {
            #expect(try await store.get(index: "tasks", id: "t0")?.source == ["state": "RUNNING", "n": 0])
            #expect(try await store.count(index: "tasks", query: .term("state", "RUNNING")) == 1)
            // The old rows were flagged: one is not plain ASCII, so a search over it runs in memory.
            #expect(store.searchPlans == SearchPlans(inSQL: 0, inMemory: 1))
            try await store.delete(index: "tasks", id: "t2")
            #expect(try await store.count(index: "tasks", query: .term("state", "RUNNING")) == 1)
            #expect(store.searchPlans == SearchPlans(inSQL: 1, inMemory: 1))
            #expect(try await store.put(index: "tasks", id: "t3", source: ["state": "RUNNING"]).seqNo == 4)
            var request = SearchRequest(query: .term("state", "RUNNING"))
            request.sort = [SortField(field: "_id", descending: true)]
            #expect(try await store.search(index: "tasks", request: request).hits.map(\.document.id) == ["t3", "t0"])
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        try await Self.raw(path) { db in
            #expect(try await db.query("PRAGMA user_version").first?.columns.first?.data.integer == SQLiteSchema.version)
            let indexes = try await db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents'")
                .compactMap { $0.column("name")?.string }
            #expect(Set(indexes).isSuperset(of: SQLiteSchema.indexedFields.map { "documents_\($0)" } + ["documents_by_seq", "documents_impure"]))
        }
        // Opening a migrated file again changes nothing.
        let again = try await SQLiteDocumentStore.open(path: path, mappings: Self.tasks, logger: Self.logger)
        let total = try? await again.count(index: "tasks", query: .matchAll)
        try await again.close()
        #expect(total == 3)
    }

    /// A file of a later schema version is refused (and the connection closed), not misread.
    @Test func aFileOfANewerSchemaIsRefused() async throws {
        let path = Self.tempPath()
        try await Self.raw(path) { db in _ = try await db.query("PRAGMA user_version = \(SQLiteSchema.version + 1)") }
        do {
            let store = try await SQLiteDocumentStore.open(path: path, logger: Self.logger)
            try await store.close()
            Issue.record("a store of a newer schema opened")
        } catch let error as StoreError {
            #expect(error.description.contains("newer"))
        }
    }
}
