import Foundation
import Logging
import OrderedJSON
import Storage
import Testing

/// Mappings as `PUT /<index>` gives them: validated (stored and used by searches: `StoreBehaviourTests`).
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
}
