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
    case ifMatch(seqNo: Int64, primaryTerm: Int64)
}

public enum StoreError: Error, Sendable, Equatable {
    /// The document exists already (for `.mustNotExist`) or changed since it was read (for `.ifMatch`).
    case versionConflict(index: String, id: String, reason: String)
    /// Another document already holds this value of a field the index keeps unique.
    case uniqueViolation(index: String, field: String, value: String, existingID: String)
    case storage(String)
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

    /// Releases the store's connections; the store must not be used afterwards.
    func close() async throws
}

extension DocumentStore {
    @discardableResult
    public func put(index: String, id: String, source: JSONObject, condition: WriteCondition = .always) async throws -> StoredDocument {
        try await put(index: index, id: id, source: source, attachment: nil, condition: condition)
    }

    /// All documents that match a query, unpaged (used for bookkeeping, not for user searches).
    public func all(index: String, query: Query = .matchAll) async throws -> [StoredDocument] {
        var request = SearchRequest(query: query)
        request.size = Int.max / 2
        return try await search(index: index, request: request).hits.map(\.document)
    }
}
