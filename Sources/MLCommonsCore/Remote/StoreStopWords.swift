import Connectors
import OrderedJSON
import Storage

/// Stop words for `local_regex` guardrails, read from ordinary documents of the named index (put
/// there with `PUT /<index>/_doc/<id>` or `_bulk`, the index made by `PUT /<index>` or by its first
/// document). ML Commons runs a percolate query on the index's `query` field with the document
/// `{<source field>: text}` for every source field; so here a document with a `query` (a query DSL
/// object, `match`, `query_string`…) stops the text when that query matches the document, its fields
/// analysed as the index's mapping says. Beyond ML Commons, a document without a query stops the
/// text when all words of one of its source-field values occur in it.
struct StoreStopWords: StopWordsLookup {
    let store: any DocumentStore

    struct MissingIndex: Error {}

    func matches(text: String, in source: StopWordsSource) async throws -> Bool {
        guard try await store.indexExists(source.indexName) else { throw MissingIndex() }
        var candidate = JSONObject()
        for field in source.sourceFields { candidate[field] = .string(text) }
        let document = StoredDocument(index: source.indexName, id: "_percolate", source: candidate, version: 1, seqNo: 0, primaryTerm: 0)
        let mapping = try await store.indexDefinition(source.indexName)?.mapping ?? .dynamic
        for stopWords in try await store.all(index: source.indexName) {
            if let query = stopWords.source["query"], query.objectValue != nil {
                if try Query.parse(query).matches(document, mapping: mapping) { return true }
                continue
            }
            for field in source.sourceFields {
                for value in Self.texts(stopWords.source[field])
                where Query.match(field: field, text: value, requireAll: true).matches(document, mapping: mapping) {
                    return true
                }
            }
        }
        return false
    }

    private static func texts(_ value: JSON?) -> [String] {
        switch value {
        case .string(let text)?: return text.isEmpty ? [] : [text]
        case .array(let items)?: return items.compactMap(\.stringValue).filter { !$0.isEmpty }
        default: return []
        }
    }
}

/// Runs a `model`-type guardrail's guard model through the remote predict path.
struct GuardModelInvoker: GuardrailModelInvoker {
    let predict: @Sendable (String, JSONObject) async throws -> JSON

    func invoke(modelID: String, parameters: JSONObject) async throws -> JSON? {
        let output = try await predict(modelID, parameters)
        return output["inference_results"]?.arrayValue?.first?["output"]?.arrayValue?.first?["dataAsMap"]?["response"]
    }
}
