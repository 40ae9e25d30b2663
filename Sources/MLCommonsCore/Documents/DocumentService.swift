import Foundation
import OrderedJSON
import Storage

/// The standard document calls on ordinary indices (`PUT|POST /<index>/_doc[/<id>]`,
/// `GET|DELETE /<index>/_doc/<id>`, `POST [/<index>]/_bulk`), kept in the same store as everything
/// else: guardrail stop words live there. Names starting with `.` (the system indices holding
/// models, connectors and settings) are refused, as are names OpenSearch would refuse.
public struct DocumentService: Sendable {
    let store: any DocumentStore

    static func validate(index: String) throws {
        let forbidden = CharacterSet(charactersIn: "\\/*?\"<>| ,#:")
        guard !index.isEmpty, index != ".", index != "..", index.rangeOfCharacter(from: forbidden) == nil,
              index == index.lowercased(), !["_", "-", "+"].contains(where: index.hasPrefix) else {
            throw MLError(status: 400, type: "invalid_index_name_exception", reason: "Invalid index name [\(index)]")
        }
        if index.hasPrefix(".") {
            throw MLError(status: 403, type: "security_exception",
                          reason: "no permissions for [indices:data/write] on system index [\(index)] through the document API")
        }
    }

    private static func validate(id: String) throws {
        guard !id.isEmpty, id.utf8.count <= 512 else { throw MLError(status: 400, type: "action_request_validation_exception", reason: "Validation Failed: 1: id is missing or too long;") }
    }

    /// Indexes (creates or replaces) a document; `create` refuses an existing id.
    public func index(_ index: String, id: String?, source: JSON?, create: Bool = false) async throws -> (status: Int, body: JSON) {
        try Self.validate(index: index)
        guard let object = source?.objectValue else { throw MLError.parse("request body is required and must be a JSON object") }
        let id = id ?? Identifiers.newID()
        try Self.validate(id: id)
        try await checkPercolatorFields(index, object)
        let existed = try await store.get(index: index, id: id) != nil
        let stored: StoredDocument
        do {
            stored = try await store.put(index: index, id: id, source: object, condition: create ? .mustNotExist : .always)
        } catch StoreError.versionConflict(_, _, let reason) {
            throw MLError(status: 409, type: "version_conflict_engine_exception", reason: reason)
        }
        let result = existed ? "updated" : "created"
        return (existed ? 200 : 201, Self.writeBody(stored, result: result))
    }

    public func get(_ index: String, id: String) async throws -> (status: Int, body: JSON) {
        try Self.validate(index: index)
        guard try await store.indexExists(index) else { throw Self.noSuchIndex(index) }
        guard let document = try await store.get(index: index, id: id) else {
            return (404, ["_index": .string(index), "_id": .string(id), "found": false])
        }
        return (200, ["_index": .string(index), "_id": .string(id), "_version": .int(document.version), "_seq_no": .int(document.seqNo),
                      "_primary_term": .int(document.primaryTerm), "found": true, "_source": .object(document.source)])
    }

    public func delete(_ index: String, id: String) async throws -> (status: Int, body: JSON) {
        try Self.validate(index: index)
        guard let deleted = try await store.delete(index: index, id: id) else {
            return (404, WriteResult.notFound(index: index, id: id).json)
        }
        return (200, Self.writeBody(deleted, result: "deleted"))
    }

    public func search(_ index: String, _ request: SearchRequest) async throws -> SearchHits {
        try Self.validate(index: index)
        return try await store.search(index: index, request: request)
    }

    /// `_bulk` with NDJSON: `index`, `create` and `delete` actions (`update` is answered per item
    /// as unsupported). Items fail one by one, as in OpenSearch.
    public func bulk(defaultIndex: String?, body: [UInt8]) async throws -> JSON {
        let started = Date()
        let lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
            .filter { !$0.allSatisfy { $0 == 0x20 || $0 == 0x0D || $0 == 0x09 } }
        guard !lines.isEmpty else {
            throw MLError(status: 400, type: "action_request_validation_exception", reason: "Validation Failed: 1: no requests added;")
        }
        var items: [JSON] = []
        var errors = false
        var position = 0
        while position < lines.count {
            let header = try JSON.parse(Array(lines[position]))
            position += 1
            guard let (action, meta) = header.objectValue?.entries.first, header.objectValue?.count == 1, let meta = meta.objectValue else {
                throw MLError.illegalArgument("Malformed action/metadata line [\(position)], expected a simple value for field [index] but found [START_OBJECT]")
            }
            let index = meta["_index"]?.stringValue ?? defaultIndex ?? ""
            let id = meta["_id"]?.scalarText
            var source: JSON?
            if action != "delete" {
                guard position < lines.count else { throw MLError.illegalArgument("The bulk request must be terminated by a newline [\\n]") }
                source = try JSON.parse(Array(lines[position]))
                position += 1
            }
            var item: JSONObject
            do {
                switch action {
                case "index", "create":
                    let (status, reply) = try await self.index(index, id: id, source: source, create: action == "create")
                    item = reply.objectValue ?? [:]
                    item["status"] = .int(Int64(status))
                case "delete":
                    let (status, reply) = try await delete(index, id: id ?? "")
                    item = reply.objectValue ?? [:]
                    item["status"] = .int(Int64(status))
                default:
                    throw MLError.illegalArgument("Action [\(action)] is not supported by this server's _bulk")
                }
            } catch let error as MLError {
                errors = true
                item = ["_index": .string(index), "_id": id.map(JSON.string) ?? .null, "status": .int(Int64(error.status)),
                        "error": ["type": .string(error.type), "reason": .string(error.reason)]]
            }
            items.append([action: .object(item)])
        }
        return ["took": .int(Int64(Date().timeIntervalSince(started) * 1000)), "errors": .bool(errors), "items": .array(items)]
    }

    static func writeBody(_ document: StoredDocument, result: String) -> JSON {
        ["_index": .string(document.index), "_id": .string(document.id), "_version": .int(document.version), "result": .string(result),
         "_shards": ["total": 1, "successful": 1, "failed": 0], "_seq_no": .int(document.seqNo), "_primary_term": .int(document.primaryTerm)]
    }
}
