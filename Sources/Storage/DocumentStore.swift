import OrderedJSON

/// A stored document with the bookkeeping OpenSearch returns on every hit.
public struct StoredDocument: Sendable, Equatable {
    public let index: String
    public let id: String
    public var source: JSONObject
    public var version: Int64
    public var seqNo: Int64
    public var primaryTerm: Int64

    public init(index: String, id: String, source: JSONObject, version: Int64, seqNo: Int64, primaryTerm: Int64) {
        self.index = index
        self.id = id
        self.source = source
        self.version = version
        self.seqNo = seqNo
        self.primaryTerm = primaryTerm
    }
}

/// What must hold for a write to go through (OpenSearch `op_type=create` and `if_seq_no`/`if_primary_term`).
public enum WriteCondition: Sendable, Equatable {
    case always
    case mustNotExist
    case mustExist
    case ifMatch(seqNo: Int64, primaryTerm: Int64)
}

/// One write of a batch (`DocumentStore.write`): every write of a batch is applied, or none.
public enum StoreWrite: Sendable {
    case put(index: String, id: String, source: JSONObject, attachment: [UInt8]? = nil, condition: WriteCondition = .always)
    /// Deleting a missing document is no error unless the condition asks for the document.
    case delete(index: String, id: String, condition: WriteCondition = .always)
    case deleteByQuery(index: String, query: Query)
    /// Writes nothing, but fails the batch unless the document meets the condition when the batch commits.
    case check(index: String, id: String, condition: WriteCondition)
}

/// What each write of a batch did, in the batch's order.
public enum WriteOutcome: Sendable {
    case stored(StoredDocument)
    /// The deleted document (version bumped as OpenSearch reports it), nil if there was none.
    case deleted(StoredDocument?)
    case deletedCount(Int)
    case checked

    public var storedDocument: StoredDocument? { if case .stored(let document) = self { document } else { nil } }
    public var deletedDocument: StoredDocument? { if case .deleted(let document) = self { document } else { nil } }
}

public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The document exists already (for `.mustNotExist`) or changed since it was read (for `.ifMatch`).
    case versionConflict(index: String, id: String, reason: String)
    /// Another document already holds this value of a field the index keeps unique.
    case uniqueViolation(index: String, field: String, value: String, existingID: String)
    /// A write failed for want of disk space (or of the process's file-size limit); nothing of it was applied.
    case diskFull(String)
    /// The store's file is damaged or is not a store; the server must not start on it.
    case damaged(path: String, detail: String)
    case storage(String)

    public var description: String {
        switch self {
        case .versionConflict(_, _, let reason): reason
        case .uniqueViolation(let index, let field, let value, let existing): "[\(index)] \(field) [\(value)] is already used by document [\(existing)]"
        case .diskFull(let reason): reason
        case .damaged(let path, let detail):
            "The store \(path) is damaged (\(detail)). The server will not start on it. To recover: stop every process using it, "
                + "move the file (and its -wal and -shm files) aside, then either restore it from a backup or salvage it with "
                + "`sqlite3 <moved file> .recover | sqlite3 \(path)`, and start again."
        case .storage(let reason): reason
        }
    }
}

/// An index's mapping and settings as `PUT /<index>` gave them (settings flattened, without `index.`).
public struct IndexDefinition: Sendable, Equatable {
    public var mapping: IndexMapping
    public var settings: JSONObject

    public init(mapping: IndexMapping = IndexMapping(), settings: JSONObject = [:]) {
        self.mapping = mapping
        self.settings = settings
    }
}

/// The result of a search: matching documents after sort and paging, and the total before paging.
public struct SearchHits: Sendable {
    public var total: Int
    public var hits: [SearchHit]
}

public struct SearchHit: Sendable {
    public var document: StoredDocument
    public var score: Double?
    public var sortValues: [JSON]?
}

/// The document store behind every index of the server. The embedded default is SQLite; a shared
/// PostgreSQL store comes later, so implementations must be safe for several processes at once:
/// uniqueness and conditional writes are enforced by the store, never by callers' memory.
public protocol DocumentStore: Sendable {
    func indexExists(_ index: String) async throws -> Bool

    /// Creates an empty index with its mapping and settings (`PUT /<index>`); false when it exists.
    func createIndex(_ index: String, definition: IndexDefinition) async throws -> Bool

    /// Deletes an index with all its documents; false when there was none.
    func deleteIndex(_ index: String) async throws -> Bool

    /// What `createIndex` stored, or nil (an index made by its first document, or none).
    func indexDefinition(_ index: String) async throws -> IndexDefinition?

    func get(index: String, id: String) async throws -> StoredDocument?

    /// Writes a document; returns it with its new version and sequence number.
    /// `attachment` holds large binary content (model chunks) kept outside the JSON source.
    @discardableResult
    func put(index: String, id: String, source: JSONObject, attachment: [UInt8]?,
             condition: WriteCondition) async throws -> StoredDocument

    /// Deletes a document; returns what was deleted (with its version bumped as OpenSearch reports it), or nil.
    @discardableResult
    func delete(index: String, id: String) async throws -> StoredDocument?

    func attachment(index: String, id: String) async throws -> [UInt8]?

    /// Runs a parsed search request over one index.
    func search(index: String, request: SearchRequest) async throws -> SearchHits

    /// Deletes every document that matches; returns how many.
    @discardableResult
    func deleteByQuery(index: String, query: Query) async throws -> Int

    func count(index: String, query: Query) async throws -> Int

    /// Applies the writes in order as one transaction: all of them, or (on any error, including a failed
    /// condition) none. Conditions are checked against the state the earlier writes of the batch left.
    /// (A PostgreSQL store: one `BEGIN … COMMIT`, conditions read with `SELECT … FOR UPDATE`.)
    @discardableResult
    func write(_ batch: [StoreWrite]) async throws -> [WriteOutcome]

    /// Releases the store's connections; the store must not be used afterwards.
    func close() async throws
}

extension DocumentStore {
    @discardableResult
    public func put(index: String, id: String, source: JSONObject, condition: WriteCondition = .always) async throws -> StoredDocument {
        try await put(index: index, id: id, source: source, attachment: nil, condition: condition)
    }

    /// Writes a batch built from fresh reads; when a condition failed because of a concurrent write,
    /// reads and builds again (up to `attempts` times). An empty batch writes nothing.
    @discardableResult
    public func writeRetrying(attempts: Int = 20, retryIf shouldRetry: @Sendable (StoreError) -> Bool = { _ in true },
                              _ build: () async throws -> [StoreWrite]) async throws -> [WriteOutcome] {
        for attempt in 1...max(1, attempts) {
            let batch = try await build()
            if batch.isEmpty { return [] }
            do {
                return try await write(batch)
            } catch let error as StoreError {
                guard case .versionConflict = error, attempt < attempts, shouldRetry(error) else { throw error }
            }
        }
        return []
    }

    /// All documents that match a query, unpaged (used for bookkeeping, not for user searches).
    public func all(index: String, query: Query = .matchAll) async throws -> [StoredDocument] {
        var request = SearchRequest(query: query)
        request.size = Int.max / 2
        request.ranked = false
        return try await search(index: index, request: request).hits.map(\.document)
    }
}
