import Foundation
import Logging
import OrderedJSON
import Storage
import Testing

/// Mappings as `PUT /<index>` gives them: validated, stored in the SQLite file, and used by searches.
@Suite struct IndexDefinitionTests {
    @Test func mappingsGiveFieldTypes() throws {
        let mapping = try IndexMapping(json: ["properties": [
            "title": ["type": "text", "fields": ["raw": ["type": "keyword"]]],
            "tag": ["type": "keyword"], "query": ["type": "percolator"], "n": ["type": "long"],
            "meta": ["properties": ["owner": ["type": "text", "analyzer": "keyword"]]],
            "params": ["type": "flat_object"],
        ]])
        #expect(mapping.type(of: "title") == .text)
        #expect(mapping.type(of: "title.raw") == .keyword)
        #expect(mapping.type(of: "tag") == .keyword)
        #expect(mapping.type(of: "meta.owner") == .keyword)  // the keyword analyzer: one exact term
        #expect(mapping.type(of: "params.a.b") == .keyword)
        #expect(mapping.type(of: "n") == .other("long"))
        #expect(mapping.type(of: "unmapped") == .text)
        #expect(mapping.type(of: "unmapped.keyword") == .keyword)
        #expect(mapping.percolatorFields == ["query"])
    }

    @Test(arguments: [
        ["properties": ["t": ["type": "texty"]]] as JSON,
        ["properties": ["t": ["type": "text", "analyzer": "english"]]],
        ["properties": ["t": ["type": "keyword", "normalizer": "lowercase"]]],
        ["properties": ["t": "text"]],
        ["properties": ["t": ["type": 3]]],
        ["colour": "red"],
        "not an object",
    ])
    func badMappingsAreRefused(_ json: JSON) {
        #expect { try IndexMapping(json: json) } throws: { ($0 as? SearchRequestError)?.type == "mapper_parsing_exception" }
    }

    @Test func deepMappingsAreRefused() {
        var properties: JSON = ["leaf": ["type": "text"]]
        for _ in 0..<30 { properties = ["nested": ["properties": properties]] }
        #expect(throws: SearchRequestError.self) { try IndexMapping(json: ["properties": properties]) }
    }

    @Test func theStoreKeepsDefinitionsAndSearchesWithThem() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("index-\(UUID().uuidString).sqlite").path
        let store = try await SQLiteDocumentStore.open(path: path, logger: Logger(label: "test"))
        let mapping = try IndexMapping(json: ["properties": ["name": ["type": "keyword"]]])
        #expect(try await store.createIndex("exact", definition: IndexDefinition(mapping: mapping, settings: ["number_of_shards": "1"])))
        #expect(try await !store.createIndex("exact", definition: IndexDefinition()))
        #expect(try await store.indexExists("exact"))
        #expect(try await store.indexDefinition("exact") == IndexDefinition(mapping: mapping, settings: ["number_of_shards": "1"]))
        let first = try await store.put(index: "exact", id: "1", source: ["name": "Alpha Beta"])
        #expect(first.seqNo == 0)  // as in an index made by its first document
        try await store.put(index: "dynamic", id: "1", source: ["name": "Alpha Beta"])
        let match = SearchRequest(query: .match(field: "name", text: "alpha", requireAll: false))
        #expect(try await store.search(index: "exact", request: match).total == 0)  // keyword: exact only
        #expect(try await store.search(index: "dynamic", request: match).total == 1)  // dynamic: text
        #expect(try await store.indexDefinition("dynamic") == nil)
        try await store.close()

        // The definition survives a reopen; deleting the index drops it with its documents.
        let reopened = try await SQLiteDocumentStore.open(path: path, logger: Logger(label: "test"))
        #expect(try await reopened.search(index: "exact", request: match).total == 0)
        #expect(try await reopened.deleteIndex("exact"))
        #expect(try await !reopened.deleteIndex("exact"))
        #expect(try await !reopened.indexExists("exact"))
        #expect(try await reopened.get(index: "exact", id: "1") == nil)
        #expect(try await reopened.indexDefinition("exact") == nil)
        try await reopened.close()
    }
}
