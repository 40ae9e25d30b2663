import Foundation
import OrderedJSON
import Storage

/// `PUT|GET|HEAD|DELETE /<index>` on ordinary indices, as OpenSearch answers them. A mapping makes
/// `match` analyse as it says (text or keyword) and percolator fields hold queries that must parse;
/// the system indices (names starting with `.`) stay out of reach, as for documents.
extension DocumentService {
    public func createIndex(_ index: String, body: JSON?) async throws -> JSON {
        try Self.validate(index: index)
        let object: JSONObject
        switch body {
        case nil: object = [:]
        case .object(let given)?: object = given
        default: throw MLError.parse("request body must be a JSON object")
        }
        var definition = IndexDefinition()
        for (key, value) in object {
            switch key {
            case "mappings": definition.mapping = try IndexMapping(json: value)
            case "settings": definition.settings = try Self.settings(value)
            case "aliases":
                guard value.objectValue?.isEmpty ?? false else { throw MLError.illegalArgument("index aliases are not supported by this server") }
            default: throw MLError.parse("unknown key [\(key)] for create index")
            }
        }
        definition.settings["uuid"] = .string(Identifiers.newID())
        definition.settings["creation_date"] = .string(String(Int64(Date().timeIntervalSince1970 * 1000)))
        definition.settings["provided_name"] = .string(index)
        guard try await store.createIndex(index, definition: definition) else {
            let uuid = try await store.indexDefinition(index)?.settings["uuid"]?.stringValue ?? "_na_"
            throw MLError(status: 400, type: "resource_already_exists_exception", reason: "index [\(index)/\(uuid)] already exists")
        }
        return ["acknowledged": true, "shards_acknowledged": true, "index": .string(index)]
    }

    public func deleteIndex(_ index: String) async throws -> JSON {
        try Self.validate(index: index)
        guard try await store.deleteIndex(index) else { throw Self.noSuchIndex(index) }
        return ["acknowledged": true]
    }

    public func indexExists(_ index: String) async throws -> Bool {
        try Self.validate(index: index)
        return try await store.indexExists(index)
    }

    /// `GET /<index>`: aliases, mappings and settings (nested, values as strings, as OpenSearch shows them).
    public func getIndex(_ index: String) async throws -> JSON {
        try Self.validate(index: index)
        guard try await store.indexExists(index) else { throw Self.noSuchIndex(index) }
        let definition = try await store.indexDefinition(index) ?? IndexDefinition()
        var settings = definition.settings
        if settings["number_of_shards"] == nil { settings["number_of_shards"] = "1" }
        if settings["number_of_replicas"] == nil { settings["number_of_replicas"] = "1" }
        return [index: ["aliases": [:], "mappings": .object(definition.mapping.json),
                        "settings": ["index": .object(ClusterSettings.nest(settings))]]]
    }

    static func noSuchIndex(_ index: String) -> MLError {
        MLError(status: 404, type: "index_not_found_exception", reason: "no such index [\(index)]")
    }

    /// Settings flattened (`{"index": {"number_of_shards": 1}}` → `number_of_shards: "1"`); custom
    /// analysis is refused, since only the standard and keyword analyzers exist here.
    static func settings(_ value: JSON) throws -> JSONObject {
        guard let object = value.objectValue else { throw MLError.parse("[settings] must be an object") }
        var flat: JSONObject = [:]
        for (key, setting) in ClusterSettings.flatten(object) {
            let name = key.hasPrefix("index.") ? String(key.dropFirst("index.".count)) : key
            if name.hasPrefix("analysis.") { throw MLError.illegalArgument("custom analysis settings [\(key)] are not supported by this server") }
            guard flat.count < 256 else { throw MLError.illegalArgument("too many index settings (at most 256)") }
            flat[name] = .string(setting.scalarText ?? setting.serialized)
        }
        return flat
    }

    /// Percolator fields must hold a query the server can run (OpenSearch parses it at index time).
    func checkPercolatorFields(_ index: String, _ source: JSONObject) async throws {
        guard let mapping = try await store.indexDefinition(index)?.mapping, !mapping.percolatorFields.isEmpty else { return }
        for field in mapping.percolatorFields {
            guard let query = JSON.object(source).value(atPath: field), !query.isNull else { continue }
            do {
                _ = try Query.parse(query)
            } catch {
                throw MLError(status: 400, type: "mapper_parsing_exception",
                              reason: "failed to parse field [\(field)] of type [percolator]: \(error.reason)")
            }
        }
    }
}
