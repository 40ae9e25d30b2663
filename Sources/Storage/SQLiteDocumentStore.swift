import Logging
import OrderedJSON
import NIOConcurrencyHelpers
import SQLiteNIO

/// The embedded document store: one SQLite file. Every write is one transaction (a batch too); fields
/// an index keeps unique are enforced by a table constraint, so two processes sharing the file stay correct.
public final class SQLiteDocumentStore: DocumentStore {
    let connection: SQLiteConnection
    let lock = AsyncLock()
    private let uniqueFields: [String: [String]]
    private let builtInMappings: [String: IndexMapping]
    private let path: String
    private let writes = WriteCounter()
    private let fault = WriteFaultHook.fromEnvironment()
    /// How searches and counts were answered: in SQL alone, or candidates evaluated in memory.
    let plans = NIOLockedValueBox(SearchPlans())

    public var searchPlans: SearchPlans { plans.withLockedValue { $0 } }

    /// Opens (creating if needed) the database at `path` and checks it (`PRAGMA quick_check`): a damaged
    /// file throws `StoreError.damaged`, saying how to recover, instead of serving from it.
    /// - Parameter uniqueFields: per index, source fields whose exact values may appear only once.
    /// - Parameter mappings: field types of the server's own indices (other indices have theirs from
    ///   `createIndex`, or OpenSearch's dynamic mapping).
    public static func open(path: String, uniqueFields: [String: [String]] = [:], mappings: [String: IndexMapping] = [:],
                            logger: Logger) async throws -> SQLiteDocumentStore {
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch let error as SQLiteError {
            throw StoreError.damaged(path: path, detail: "it cannot be opened: \(error.message)")
        }
        let store = SQLiteDocumentStore(connection: connection, uniqueFields: uniqueFields, mappings: mappings, path: path)
        do {
            try await store.checkIntegrity()
            try await store.migrate()
        } catch {
            try? await connection.close()
            if let error = error as? SQLiteError {
                switch error.reason {
                case .corrupt, .notADatabase, .format: throw StoreError.damaged(path: path, detail: error.message)
                default: throw store.mapped(error)
                }
            }
            throw error
        }
        return store
    }

    private init(connection: SQLiteConnection, uniqueFields: [String: [String]], mappings: [String: IndexMapping], path: String) {
        self.connection = connection
        self.uniqueFields = uniqueFields
        self.builtInMappings = mappings
        self.path = path
    }

    public func close() async throws { try await connection.close() }

    private func checkIntegrity() async throws {
        let rows = try await retryingBusy { try await self.connection.query("PRAGMA quick_check") }
        let findings = rows.compactMap { $0.columns.first?.data.string }
        if findings != ["ok"] {
            throw StoreError.damaged(path: path, detail: "quick_check: " + findings.prefix(5).joined(separator: "; "))
        }
    }

    /// Sets the connection up and brings the schema to `SQLiteSchema.version` in one write
    /// transaction, so two processes opening one file migrate it once.
    private func migrate() async throws {
        // First: later statements may meet another connection's lock. Short, because waits are
        // task sleeps in `retryingBusy`, off NIO's thread pool.
        _ = try await connection.query("PRAGMA busy_timeout=50")
        for statement in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"] {
            _ = try await retryingBusy { try await self.connection.query(statement) }
        }
        try await beginWriting()
        do {
            let found = try await connection.query("PRAGMA user_version").first?.columns.first?.data.integer ?? 0
            guard found <= SQLiteSchema.version else {
                throw StoreError.storage("the store \(path) has schema version \(found), newer than this server's \(SQLiteSchema.version); use a newer server")
            }
            for statement in SQLiteSchema.tables { _ = try await connection.query(statement) }
            for step in SQLiteSchema.steps[max(0, found)...] {
                for statement in step { _ = try await connection.query(statement) }
            }
            if found != SQLiteSchema.version { _ = try await connection.query("PRAGMA user_version = \(SQLiteSchema.version)") }
            _ = try await retryingBusy { try await self.connection.query("COMMIT") }
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw error
        }
    }

    /// SQLite's disk-full and write errors become `StoreError.diskFull` (the transaction was rolled back).
    func mapped(_ error: SQLiteError) -> StoreError {
        switch error.reason {
        case .full:
            return .diskFull("not enough disk space to write to the store \(path): \(error.message)")
        case .ioError, .ioErrorFailedWrite, .ioErrorFailedSync, .ioErrorFailedTruncate:
            return .diskFull("writing to the store \(path) failed (not enough disk space, or the file-size limit reached): \(error.message)")
        case .corrupt, .notADatabase:
            return .damaged(path: path, detail: error.message)
        default:
            return .storage("store error: \(error.message)")
        }
    }

    // MARK: - Transactions

    private func transaction<T: Sendable>(_ body: @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        await fault.holdWritesIfDying()
        return try await lock.withLock {
            try self.fault.refuseWriteIfDying()
            let number = self.writes.next()
            do {
                try await self.beginWriting()
                do {
                    let result = try await body(self.connection)
                    self.fault.reached(.beforeCommit, ofWrite: number)
                    _ = try await self.retryingBusy { try await self.connection.query("COMMIT") }
                    self.fault.reached(.afterCommit, ofWrite: number)
                    return result
                } catch {
                    _ = try? await self.connection.query("ROLLBACK")
                    throw error
                }
            } catch let error as SQLiteError {
                throw self.mapped(error)
            }
        }
    }

    /// `BEGIN IMMEDIATE`, retried for up to 30 s while another connection holds the write lock.
    private func beginWriting() async throws {
        _ = try await retryingBusy { try await self.connection.query("BEGIN IMMEDIATE") }
    }

    /// Runs a statement (or a read) again while SQLite says another connection holds a lock, for up
    /// to 30 s. The wait is a task sleep: SQLite's own busy wait would hold one of the few threads of
    /// NIO's pool, which the lock holder needs to finish (two stores in one process stalled each other
    /// that way). Only for work that is safe to repeat after a busy error: a whole read, one statement.
    func retryingBusy<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(30)
        var pause = Duration.milliseconds(1)
        while true {
            do {
                return try await body()
            } catch let error as SQLiteError where [.busy, .locked, .busyTimeout, .busyInRecovery].contains(error.reason) && ContinuousClock.now < deadline {
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(20))
            }
        }
    }

    /// A read under the connection's lock, repeated while another connection's lock is in the way.
    private func read<T: Sendable>(_ body: @Sendable @escaping (SQLiteConnection) async throws -> T) async throws -> T {
        try await lock.withLock { try await self.retryingBusy { try await body(self.connection) } }
    }

    /// Reads in one snapshot (a deferred transaction), so a search's count and page agree even while
    /// another process writes.
    func snapshot<T: Sendable>(_ body: @Sendable @escaping (SQLiteConnection) async throws -> T) async throws -> T {
        do {
            return try await read { db in
                _ = try await db.query("BEGIN")
                do {
                    let result = try await body(db)
                    _ = try await db.query("COMMIT")
                    return result
                } catch {
                    _ = try? await db.query("ROLLBACK")
                    throw error
                }
            }
        } catch let error as SQLiteError {
            throw mapped(error)
        }
    }

    // MARK: - DocumentStore

    public func indexExists(_ index: String) async throws -> Bool {
        try await read { db in
            try await !db.query("SELECT 1 FROM indices WHERE name = ?", [.text(index)]).isEmpty
        }
    }

    public func createIndex(_ index: String, definition: IndexDefinition) async throws -> Bool {
        try await transaction { db in
            guard try await db.query("SELECT 1 FROM indices WHERE name = ?", [.text(index)]).isEmpty else { return false }
            // seq_no -1: the first document gets 0, as in an index its first document created.
            _ = try await db.query("INSERT INTO indices (name, seq_no, created_time) VALUES (?, -1, strftime('%s','now') * 1000)", [.text(index)])
            _ = try await db.query("INSERT INTO index_definitions (name, mappings, settings) VALUES (?, ?, ?)",
                                   [.text(index), .text(JSON.object(definition.mapping.json).serialized), .text(JSON.object(definition.settings).serialized)])
            return true
        }
    }

    public func deleteIndex(_ index: String) async throws -> Bool {
        try await transaction { db in
            let existed = try await !db.query("SELECT 1 FROM indices WHERE name = ?", [.text(index)]).isEmpty
            for table in ["documents", "unique_values"] {
                _ = try await db.query("DELETE FROM \(table) WHERE index_name = ?", [.text(index)])
            }
            for table in ["indices", "index_definitions"] {
                _ = try await db.query("DELETE FROM \(table) WHERE name = ?", [.text(index)])
            }
            return existed
        }
    }

    public func indexDefinition(_ index: String) async throws -> IndexDefinition? {
        try await read { db in try await Self.definition(db, index: index) }
    }

    private static func definition(_ db: SQLiteConnection, index: String) async throws -> IndexDefinition? {
        guard let row = try await db.query("SELECT mappings, settings FROM index_definitions WHERE name = ?", [.text(index)]).first,
              let mappings = row.column("mappings")?.string, let settings = row.column("settings")?.string,
              case .object(let settingsObject) = try JSON.parse(settings) else { return nil }
        return IndexDefinition(mapping: try IndexMapping(json: try JSON.parse(mappings)), settings: settingsObject)
    }

    /// The field types searches of `index` use.
    func mapping(_ db: SQLiteConnection, index: String) async throws -> IndexMapping {
        if let builtIn = builtInMappings[index] { return builtIn }
        return try await Self.definition(db, index: index)?.mapping ?? .dynamic
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

    @discardableResult
    public func put(index: String, id: String, source: JSONObject, attachment: [UInt8]?, condition: WriteCondition) async throws -> StoredDocument {
        let outcome = try await write([.put(index: index, id: id, source: source, attachment: attachment, condition: condition)])
        guard let stored = outcome.first?.storedDocument else { throw StoreError.storage("put of \(index)/\(id) stored nothing") }
        return stored
    }

    @discardableResult
    public func delete(index: String, id: String) async throws -> StoredDocument? {
        try await write([.delete(index: index, id: id)]).first?.deletedDocument
    }

    @discardableResult
    public func deleteByQuery(index: String, query: Query) async throws -> Int {
        guard case .deletedCount(let count) = try await write([.deleteByQuery(index: index, query: query)]).first else { return 0 }
        return count
    }

    @discardableResult
    public func write(_ batch: [StoreWrite]) async throws -> [WriteOutcome] {
        let uniqueFields = self.uniqueFields
        return try await transaction { db in
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(batch.count)
            for write in batch {
                outcomes.append(try await self.apply(write, db, uniqueFields: uniqueFields))
            }
            return outcomes
        }
    }

    // MARK: - Writes inside a transaction

    private func apply(_ write: StoreWrite, _ db: SQLiteConnection, uniqueFields: [String: [String]]) async throws -> WriteOutcome {
        switch write {
        case .put(let index, let id, let source, let attachment, let condition):
            let existing = try await db.query(
                "SELECT version, seq_no, primary_term FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(id)]).first
            try Self.check(condition, existing: existing, index: index, id: id)
            let seqNo = try await Self.nextSeqNo(db, index: index)
            let version = (existing?.column("version")?.integer).map { Int64($0) + 1 } ?? 1
            try await Self.claimUniqueValues(db, index: index, id: id, fields: uniqueFields[index] ?? [], source: source)
            _ = try await db.query(
                """
                INSERT INTO documents (index_name, id, version, seq_no, primary_term, source, attachment, plain)
                VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, \(SQLiteSchema.plain(id: "?2", source: "?5")))
                ON CONFLICT (index_name, id) DO UPDATE SET version = excluded.version, seq_no = excluded.seq_no,
                    source = excluded.source, attachment = excluded.attachment, plain = excluded.plain
                """,
                [.text(index), .text(id), .integer(SQLiteInt64(version)), .integer(SQLiteInt64(seqNo)),
                 .text(JSON.object(source).serialized), attachment.map { .blob(ByteBuffer(bytes: $0)) } ?? .null])
            return .stored(StoredDocument(index: index, id: id, source: source, version: version, seqNo: seqNo, primaryTerm: 1))
        case .delete(let index, let id, let condition):
            let rows = try await db.query(
                "SELECT id, version, seq_no, primary_term, source FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(id)])
            try Self.check(condition, existing: rows.first, index: index, id: id)
            guard let row = rows.first else { return .deleted(nil) }
            var document = try Self.document(index: index, row: row)
            document.seqNo = try await Self.nextSeqNo(db, index: index)
            document.version += 1
            try await Self.remove(db, index: index, id: id)
            return .deleted(document)
        case .deleteByQuery(let index, let query):
            // The rows SQL cannot rule out, checked in memory (exact whatever SQL decided).
            let mapping = try await self.mapping(db, index: index)
            let doomed = try await candidates(db, index: index, query: query, mapping: mapping).filter { query.matches($0, mapping: mapping) }
            for document in doomed { try await Self.remove(db, index: index, id: document.id) }
            return .deletedCount(doomed.count)
        case .check(let index, let id, let condition):
            let existing = try await db.query(
                "SELECT version, seq_no, primary_term FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(id)]).first
            try Self.check(condition, existing: existing, index: index, id: id)
            return .checked
        }
    }

    private static func remove(_ db: SQLiteConnection, index: String, id: String) async throws {
        _ = try await db.query("DELETE FROM documents WHERE index_name = ? AND id = ?", [.text(index), .text(id)])
        _ = try await db.query("DELETE FROM unique_values WHERE index_name = ? AND id = ?", [.text(index), .text(id)])
    }

    // MARK: - Helpers

    static func document(index: String, row: SQLiteRow) throws -> StoredDocument {
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
        let current = existing.map { row in
            (seqNo: Int64(row.column("seq_no")?.integer ?? 0), primaryTerm: Int64(row.column("primary_term")?.integer ?? 1))
        }
        try condition.verify(current: current, index: index, id: id)
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
