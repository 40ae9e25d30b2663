import OrderedJSON
import Storage

/// Reads and conditional writes of model meta documents, in ML Commons' field order.
struct ModelRepository: Sendable {
    let store: any DocumentStore

    func meta(_ id: String) async throws -> StoredDocument? {
        guard let document = try await store.get(index: Indices.model, id: id), document.source["chunk_number"] == nil else { return nil }
        return document
    }

    func require(_ id: String) async throws -> StoredDocument {
        guard let document = try await meta(id) else { throw MLError.status(404, "Failed to find model") }
        return document
    }

    @discardableResult
    func write(_ id: String, _ source: JSONObject, condition: WriteCondition = .always) async throws -> StoredDocument {
        try await store.put(index: Indices.model, id: id, source: ModelDocument.ordered(source), condition: condition)
    }

    /// Read-modify-write with optimistic concurrency; returns the stored document, nil if the model is gone.
    @discardableResult
    func update(_ id: String, _ change: @Sendable (inout JSONObject) throws -> Void) async throws -> StoredDocument? {
        for _ in 0..<50 {
            guard let document = try await meta(id) else { return nil }
            var source = document.source
            try change(&source)
            source["last_updated_time"] = .int(nowMillis())
            do {
                return try await write(id, source, condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))
            } catch StoreError.versionConflict {
                continue
            }
        }
        throw MLError.generic("Failed to update model \(id): too many concurrent updates")
    }

    func state(of document: StoredDocument) -> ModelState? {
        document.source["model_state"]?.stringValue.flatMap(ModelState.init(rawValue:))
    }

    /// Removes a model's meta document, every chunk and its deploy record in one transaction, if the
    /// model is still as read (`condition`); returns the deleted meta document.
    func deleteWithChunks(_ id: String, condition: WriteCondition = .always) async throws -> StoredDocument? {
        try await store.write([
            .delete(index: Indices.model, id: id, condition: condition),
            .deleteByQuery(index: Indices.model, query: ModelDocument.chunks(of: id)),
            .deleteByQuery(index: Indices.deployAttempts, query: .term("model_id", .string(id))),
            .deleteByQuery(index: Indices.placements, query: .term("model_id", .string(id))),
        ]).first?.deletedDocument
    }
}
