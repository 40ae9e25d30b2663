import Logging
import NIOConcurrencyHelpers
import NIOCore
import OrderedJSON
import PostgresNIO

/// The shared document store: every index of every node in one PostgreSQL database (issue 14).
/// Writes are transactions that lock what they read (`SELECT … FOR UPDATE`), unique fields are a
/// primary key, so several server processes on one database stay correct; searches are answered in
/// SQL where the query allows (`PostgresSearch.swift`).
public final class PostgresDocumentStore: DocumentStore {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    let location: PostgresLocation
    let uniqueFields: [String: [String]]
    let builtInMappings: [String: IndexMapping]
    /// How searches and counts were answered: in SQL alone, or candidates evaluated in memory.
    let plans = NIOLockedValueBox(SearchPlans())

    public var searchPlans: SearchPlans { plans.withLockedValue { $0 } }

    /// Connects (a pool of at most `maximumConnections`), then creates or migrates the schema; a server
    /// not reached within `reachTimeout` is an error.
    public static func open(_ location: PostgresLocation, uniqueFields: [String: [String]] = [:],
                            mappings: [String: IndexMapping] = [:], maximumConnections: Int = 10,
                            reachTimeout: Duration = .seconds(15), logger: Logger) async throws -> PostgresDocumentStore {
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.user,
                                                         password: location.password, database: location.database, tls: .disable)
        configuration.options.maximumConnections = max(1, maximumConnections)
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let store = PostgresDocumentStore(client: client, location: location, uniqueFields: uniqueFields, mappings: mappings, logger: logger)
        do {
            try await store.untilReachable(within: reachTimeout) {
                try await store.withConnection { connection in try await PostgresSchema.migrate(connection, logger: logger) }
            }
        } catch {
            await store.abandon()
            throw error
        }
        return store
    }

    /// The pool retries an unreachable server forever; at start that must be an error instead. On the
    /// deadline the pool is shut down and the open fails at once, without waiting for the pending
    /// request to notice (a task group waits for it, and on a loaded machine that once took minutes).
    private func untilReachable(within timeout: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let work = Task { try await body() }
        let outcome = await withTaskCancellationHandler { await Self.result(of: work, within: timeout) } onCancel: { work.cancel() }
        guard let outcome else {
            work.cancel()
            runner.cancel()
            throw StoreError.storage("the PostgreSQL store \(location) could not be reached within \(timeout.components.seconds) s")
        }
        try outcome.get()
    }

    /// Closes a store whose open failed: the pool's runner is cancelled, and waited for a few seconds at most.
    private func abandon() async {
        runner.cancel()
        let runner = self.runner
        _ = await Self.result(of: Task<Void, Error> { await runner.value }, within: .seconds(5))
    }

    /// The task's result, or nil once `timeout` has passed (the task is not waited for after that).
    private static func result<T: Sendable>(of task: Task<T, Error>, within timeout: Duration) async -> Result<T, Error>? {
        let waiting = NIOLockedValueBox<CheckedContinuation<Result<T, Error>?, Never>?>(nil)
        @Sendable func finish(_ result: Result<T, Error>?) {
            waiting.withLockedValue { continuation in
                continuation?.resume(returning: result)
                continuation = nil
            }
        }
        return await withCheckedContinuation { continuation in
            waiting.withLockedValue { $0 = continuation }
            Task { finish(await task.result) }
            Task {
                try? await Task.sleep(for: timeout)
                finish(nil)
            }
        }
    }

    private init(client: PostgresClient, location: PostgresLocation, uniqueFields: [String: [String]],
                 mappings: [String: IndexMapping], logger: Logger) {
        self.client = client
        self.location = location
        self.uniqueFields = uniqueFields
        self.builtInMappings = mappings
        self.logger = logger
        runner = Task { await client.run() }
    }

    public func close() async throws {
        runner.cancel()
        await runner.value
    }

    // MARK: - Connections and transactions

    /// Runs `body` on a pooled connection; PostgreSQL's errors become `StoreError`s that name the store
    /// without its password.
    func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch let error as PSQLError {
            throw mapped(error)
        }
    }

    /// One transaction; a deadlock or serialization failure (two batches locking in different
    /// orders) runs it again, up to five times. `readOnly` reads one snapshot (REPEATABLE READ).
    func transaction<T: Sendable>(readOnly: Bool = false, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { connection in
                    try await connection.query(readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN", logger: logger)
                    do {
                        let result = try await body(connection)
                        try await connection.query("COMMIT", logger: logger)
                        return result
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch let error as PSQLError {
                let state = error.serverInfo?[.sqlState]
                if attempt < 5, state == "40P01" || state == "40001" { continue }
                throw mapped(error)
            }
        }
    }

    func mapped(_ error: PSQLError) -> StoreError {
        guard let info = error.serverInfo else {
            return .storage("the PostgreSQL store \(location) cannot be reached (\(error.code))")
        }
        let message = info[.message] ?? "unknown error"
        switch info[.sqlState] ?? "" {
        case "22P05", "22021":
            return .storage("the PostgreSQL store cannot hold the NUL character (\\u0000) in document ids or sources: \(message)")
        case "53100":
            return .diskFull("not enough disk space in the PostgreSQL store \(location): \(message)")
        case "28P01", "28000":
            return .storage("the PostgreSQL store \(location) refused the login: \(message)")
        case "3D000":
            return .storage("the PostgreSQL store \(location) has no such database: \(message)")
        default:
            return .storage("PostgreSQL store error: \(message)")
        }
    }

    /// The field types searches of `index` use.
    func mapping(_ connection: PostgresConnection, index: String) async throws -> IndexMapping {
        if let builtIn = builtInMappings[index] { return builtIn }
        return try await Self.definition(connection, index: index, logger: logger)?.mapping ?? .dynamic
    }

    static func definition(_ connection: PostgresConnection, index: String, logger: Logger) async throws -> IndexDefinition? {
        let rows = try await connection.query("SELECT mappings, settings FROM ml_index_definitions WHERE name = \(index)", logger: logger)
        guard let (mappings, settings) = try await rows.collect().first?.decode((String, String).self),
              case .object(let settingsObject) = try JSON.parse(settings) else { return nil }
        return IndexDefinition(mapping: try IndexMapping(json: try JSON.parse(mappings)), settings: settingsObject)
    }

    /// Rows selected as `id, version, seq_no, primary_term, body`.
    static func documents(_ rows: PostgresRowSequence, index: String) async throws -> [StoredDocument] {
        var documents: [StoredDocument] = []
        for try await (id, version, seqNo, primaryTerm, body) in rows.decode((String, Int64, Int64, Int64, String).self) {
            guard case .object(let source) = try JSON.parse(body) else { throw StoreError.storage("corrupt document row in index \(index)") }
            documents.append(StoredDocument(index: index, id: id, source: source, version: version, seqNo: seqNo, primaryTerm: primaryTerm))
        }
        return documents
    }

    static let documentColumns = "id, version, seq_no, primary_term, body"

    // MARK: - DocumentStore: indices and single reads

    public func indexExists(_ index: String) async throws -> Bool {
        try await withConnection { connection in
            try await connection.query("SELECT 1 FROM ml_indices WHERE name = \(index)", logger: logger).collect().count > 0
        }
    }

    public func createIndex(_ index: String, definition: IndexDefinition) async throws -> Bool {
        let mappings = JSON.object(definition.mapping.json).serialized, settings = JSON.object(definition.settings).serialized
        return try await transaction { connection in
            // seq_no -1: the first document gets 0, as in an index its first document created.
            let created = try await connection.query("""
                INSERT INTO ml_indices (name, seq_no, created_time) VALUES (\(index), -1, (extract(epoch FROM now()) * 1000)::bigint)
                ON CONFLICT (name) DO NOTHING RETURNING 1
                """, logger: logger).collect().count > 0
            guard created else { return false }
            try await connection.query("""
                INSERT INTO ml_index_definitions (name, mappings, settings) VALUES (\(index), \(mappings), \(settings))
                ON CONFLICT (name) DO UPDATE SET mappings = excluded.mappings, settings = excluded.settings
                """, logger: logger)
            return true
        }
    }

    public func deleteIndex(_ index: String) async throws -> Bool {
        try await transaction { connection in
            let existed = try await connection.query("DELETE FROM ml_indices WHERE name = \(index) RETURNING 1", logger: logger).collect().count > 0
            try await connection.query("DELETE FROM ml_documents WHERE index_name = \(index)", logger: logger)
            try await connection.query("DELETE FROM ml_unique_values WHERE index_name = \(index)", logger: logger)
            try await connection.query("DELETE FROM ml_index_definitions WHERE name = \(index)", logger: logger)
            return existed
        }
    }

    public func indexDefinition(_ index: String) async throws -> IndexDefinition? {
        try await withConnection { connection in try await Self.definition(connection, index: index, logger: logger) }
    }

    public func get(index: String, id: String) async throws -> StoredDocument? {
        guard JSONPathText.storable(id) else { return nil }
        return try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT id, version, seq_no, primary_term, body FROM ml_documents WHERE index_name = \(index) AND id = \(id)", logger: logger)
            return try await Self.documents(rows, index: index).first
        }
    }

    public func attachment(index: String, id: String) async throws -> [UInt8]? {
        guard JSONPathText.storable(id) else { return nil }
        return try await withConnection { connection in
            let rows = try await connection.query("SELECT data FROM ml_attachments WHERE index_name = \(index) AND id = \(id)", logger: logger)
            return try await rows.collect().first.map { Array(try $0.decode(ByteBuffer.self).readableBytesView) }
        }
    }

    // MARK: - DocumentStore: writes (applied in `PostgresWrites.swift`)

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
        try await transaction { connection in
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(batch.count)
            for write in batch { outcomes.append(try await self.apply(write, connection)) }
            return outcomes
        }
    }
}
