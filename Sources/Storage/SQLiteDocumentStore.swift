import Logging
import OrderedJSON
import SQLiteNIO

/// The embedded document store: one SQLite file. Every write is one transaction; fields an index
/// keeps unique are enforced by a table constraint, so two processes sharing the file stay correct.
public final class SQLiteDocumentStore: DocumentStore {
    private let connection: SQLiteConnection
    private let lock = AsyncLock()
    private let uniqueFields: [String: [String]]

    /// Opens (creating if needed) the database at `path`.
    /// - Parameter uniqueFields: per index, source fields whose exact values may appear only once.
    public static func open(path: String, uniqueFields: [String: [String]] = [:], logger: Logger) async throws -> SQLiteDocumentStore {
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        let store = SQLiteDocumentStore(connection: connection, uniqueFields: uniqueFields)
        try await store.migrate()
        return store
    }

    private init(connection: SQLiteConnection, uniqueFields: [String: [String]]) {
        self.connection = connection
        self.uniqueFields = uniqueFields
    }

    public func close() async throws { try await connection.close() }

    private func migrate() async throws {
        for statement in [
            "PRAGMA journal_mode=WAL",
            "PRAGMA busy_timeout=10000",
            "PRAGMA synchronous=NORMAL",
            """
            CREATE TABLE IF NOT EXISTS indices (
                name TEXT PRIMARY KEY, seq_no INTEGER NOT NULL, created_time INTEGER NOT NULL)
            """,
            """
            CREATE TABLE IF NOT EXISTS documents (
                index_name TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                seq_no INTEGER NOT NULL, primary_term INTEGER NOT NULL, source TEXT NOT NULL,
                attachment BLOB, PRIMARY KEY (index_name, id))
            """,
            """
            CREATE TABLE IF NOT EXISTS unique_values (
                index_name TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, id TEXT NOT NULL,
                PRIMARY KEY (index_name, field, value))
            """,
            "CREATE INDEX IF NOT EXISTS unique_values_by_doc ON unique_values (index_name, id)",
        ] {
            _ = try await connection.query(statement)
        }
    }

    // MARK: - Transactions

    private func transaction<T: Sendable>(_ body: @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        try await lock.withLock {
            _ = try await self.connection.query("BEGIN IMMEDIATE")
            do {
                let result = try await body(self.connection)
                _ = try await self.connection.query("COMMIT")
                return result
            } catch {
                _ = try? await self.connection.query("ROLLBACK")
                throw error
            }
        }
    }

    private func read<T: Sendable>(_ body: @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        try await lock.withLock { try await body(self.connection) }
    }

    // MARK: - DocumentStore

    public func indexExists(_ index: String) async throws -> Bool {
        try await read { db in
            try await !db.query("SELECT 1 FROM indices WHERE name = ?", [.text(index)]).isEmpty
        }
    }

    public func get(index: String, id: String) async throws -> StoredDocument? {
        try await read { db in
            let rows = try await db.query(
                "SELECT id, version, seq_no, primary_term, source FROM documents WHERE index_name = ? AND id = ?",
                [.text(index), .text(id)])
            return try rows.first.map { try Self.document(index: index, row: $0) }
        }
    }

    public func attachment(index: String, id: String) async throws -> [UInt8]? {
        try await read { db in
            let rows = try await db.query("SELECT attachment FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(id)])
            guard let buffer = rows.first?.column("attachment")?.blob else { return nil }
            return Array(buffer.readableBytesView)
        }
    }

    public func put(index: String, id: String, source: JSONObject, attachment: [UInt8]?, condition: WriteCondition) async throws -> StoredDocument {
        let unique = uniqueFields[index] ?? []
        return try await transaction { db in
            let existing = try await db.query(
                "SELECT version, seq_no, primary_term FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(id)]).first
            try Self.check(condition, existing: existing, index: index, id: id)
            let seqNo = try await Self.nextSeqNo(db, index: index)
            let version = (existing?.column("version")?.integer).map { Int64($0) + 1 } ?? 1
            try await Self.claimUniqueValues(db, index: index, id: id, fields: unique, source: source)
            _ = try await db.query(
                """
                INSERT INTO documents (index_name, id, version, seq_no, primary_term, source, attachment)
                VALUES (?, ?, ?, ?, 1, ?, ?)
                ON CONFLICT (index_name, id) DO UPDATE SET version = excluded.version, seq_no = excluded.seq_no,
                    source = excluded.source, attachment = excluded.attachment
                """,
                [.text(index), .text(id), .integer(SQLiteInt64(version)), .integer(SQLiteInt64(seqNo)),
                 .text(JSON.object(source).serialized), attachment.map { .blob(ByteBuffer(bytes: $0)) } ?? .null])
            return StoredDocument(index: index, id: id, source: source, version: version, seqNo: seqNo, primaryTerm: 1)
        }
    }

    public func delete(index: String, id: String) async throws -> StoredDocument? {
        try await transaction { db in
            let rows = try await db.query(
                "SELECT id, version, seq_no, primary_term, source FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(id)])
            guard let row = rows.first else { return nil }
            var document = try Self.document(index: index, row: row)
            document.seqNo = try await Self.nextSeqNo(db, index: index)
            document.version += 1
            _ = try await db.query("DELETE FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(id)])
            _ = try await db.query("DELETE FROM unique_values WHERE index_name = ? AND id = ?", [.text(index), .text(id)])
            return document
        }
    }

    public func search(index: String, request: SearchRequest) async throws -> SearchHits {
        let documents = try await loadAll(index: index)
        return request.run(over: documents)
    }

    public func count(index: String, query: Query) async throws -> Int {
        try await loadAll(index: index).filter { query.matches($0) }.count
    }

    public func deleteByQuery(index: String, query: Query) async throws -> Int {
        try await transaction { db in
            let rows = try await db.query(
                "SELECT id, version, seq_no, primary_term, source FROM documents WHERE index_name = ?", [.text(index)])
            let doomed = try rows.map { try Self.document(index: index, row: $0) }.filter { query.matches($0) }
            for document in doomed {
                _ = try await db.query("DELETE FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(document.id)])
                _ = try await db.query("DELETE FROM unique_values WHERE index_name = ? AND id = ?", [.text(index), .text(document.id)])
            }
            return doomed.count
        }
    }

    // MARK: - Helpers

    private func loadAll(index: String) async throws -> [StoredDocument] {
        try await read { db in
            let rows = try await db.query(
                "SELECT id, version, seq_no, primary_term, source FROM documents WHERE index_name = ? ORDER BY seq_no", [.text(index)])
            return try rows.map { try Self.document(index: index, row: $0) }
        }
    }

    private static func document(index: String, row: SQLiteRow) throws -> StoredDocument {
        guard let id = row.column("id")?.string, let text = row.column("source")?.string,
              case .object(let source) = try JSON.parse(text) else {
            throw StoreError.storage("corrupt document row in index \(index)")
        }
        return StoredDocument(index: index, id: id, source: source,
                              version: Int64(row.column("version")?.integer ?? 1),
                              seqNo: Int64(row.column("seq_no")?.integer ?? 0),
                              primaryTerm: Int64(row.column("primary_term")?.integer ?? 1))
    }

    private static func check(_ condition: WriteCondition, existing: SQLiteRow?, index: String, id: String) throws {
        switch condition {
        case .always: return
        case .mustNotExist:
            if existing != nil {
                throw StoreError.versionConflict(index: index, id: id, reason: "[\(id)]: version conflict, document already exists")
            }
        case .ifMatch(let seqNo, let primaryTerm):
            let currentSeq = existing?.column("seq_no")?.integer.map(Int64.init)
            let currentTerm = existing?.column("primary_term")?.integer.map(Int64.init)
            if currentSeq != seqNo || currentTerm != primaryTerm {
                throw StoreError.versionConflict(index: index, id: id,
                    reason: "[\(id)]: version conflict, required seqNo [\(seqNo)], primary term [\(primaryTerm)]. "
                        + (currentSeq.map { "current document has seqNo [\($0)] and primary term [\(currentTerm ?? 1)]" } ?? "but no document was found"))
            }
        }
    }

    private static func nextSeqNo(_ db: SQLiteConnection, index: String) async throws -> Int64 {
        _ = try await db.query(
            """
            INSERT INTO indices (name, seq_no, created_time) VALUES (?, 0, strftime('%s','now') * 1000)
            ON CONFLICT (name) DO UPDATE SET seq_no = seq_no + 1
            """, [.text(index)])
        let rows = try await db.query("SELECT seq_no FROM indices WHERE name = ?", [.text(index)])
        return Int64(rows.first?.column("seq_no")?.integer ?? 0)
    }

    private static func claimUniqueValues(_ db: SQLiteConnection, index: String, id: String, fields: [String], source: JSONObject) async throws {
        guard !fields.isEmpty else { return }
        _ = try await db.query("DELETE FROM unique_values WHERE index_name = ? AND id = ?", [.text(index), .text(id)])
        for field in fields {
            guard let value = JSON.object(source).value(atPath: field)?.scalarText else { continue }
            let holder = try await db.query(
                "SELECT id FROM unique_values WHERE index_name = ? AND field = ? AND value = ?", [.text(index), .text(field), .text(value)])
            if let other = holder.first?.column("id")?.string {
                throw StoreError.uniqueViolation(index: index, field: field, value: value, existingID: other)
            }
            _ = try await db.query("INSERT INTO unique_values (index_name, field, value, id) VALUES (?, ?, ?, ?)",
                                   [.text(index), .text(field), .text(value), .text(id)])
        }
    }
}
