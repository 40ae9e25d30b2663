import OrderedJSON
import Storage
import Testing

@Suite struct QueryTests {
    static func doc(_ id: String, _ source: JSON) -> StoredDocument {
        StoredDocument(index: "i", id: id, source: source.objectValue!, version: 1, seqNo: 0, primaryTerm: 1)
    }

    static let docs = [
        doc("a", ["name": "All MiniLM L6", "state": "DEPLOYED", "n": 3, "tags": ["x", "y"], "cfg": ["type": "bert"]]),
        doc("b", ["name": "msmarco distilbert", "state": "REGISTERED", "n": 10, "tags": ["y"], "cfg": ["type": "distilbert"]]),
        doc("c", ["name": "Other", "state": "REGISTERED", "chunk_number": 0]),
    ]

    func ids(_ body: JSON) throws -> [String] {
        try SearchRequest.parse(body).run(over: Self.docs).hits.map(\.document.id)
    }

    @Test func termMatchesKeywordsExactlyAndTextByToken() throws {
        #expect(try ids(["query": ["term": ["name.keyword": "Other"]]]) == ["c"])
        #expect(try ids(["query": ["term": ["name.keyword": "other"]]]) == [])
        #expect(try ids(["query": ["term": ["name": "minilm"]]]) == ["a"])
        #expect(try ids(["query": ["term": ["name.keyword": ["value": "other", "case_insensitive": true]]]]) == ["c"])
        #expect(try ids(["query": ["term": ["n": "10"]]]) == ["b"])
        #expect(try ids(["query": ["term": ["tags": "x"]]]) == ["a"])
        #expect(try ids(["query": ["term": ["cfg.type": "bert"]]]) == ["a"])
    }

    @Test func matchTermsIdsExistsPrefixRange() throws {
        #expect(try ids(["query": ["match": ["name": "MiniLM distilbert"]]]) == ["a", "b"])
        #expect(try ids(["query": ["match": ["name": ["query": "MiniLM distilbert", "operator": "and"]]]]) == [])
        #expect(try ids(["query": ["terms": ["state": ["DEPLOYED", "nothing"]]]]) == ["a"])
        #expect(try ids(["query": ["ids": ["values": ["c", "a"]]]]) == ["a", "c"])
        #expect(try ids(["query": ["exists": ["field": "chunk_number"]]]) == ["c"])
        #expect(try ids(["query": ["prefix": ["name.keyword": "ms"]]]) == ["b"])
        #expect(try ids(["query": ["range": ["n": ["gt": 3, "lte": 10]]]]) == ["b"])
        #expect(try ids(["query": ["range": ["n": ["gte": 3]]]]) == ["a", "b"])
    }

    @Test func boolCombinations() throws {
        #expect(try ids(["query": ["bool": ["must_not": ["exists": ["field": "chunk_number"]]]]]) == ["a", "b"])
        #expect(try ids(["query": ["bool": ["filter": [["term": ["state": "REGISTERED"]]], "must_not": [["exists": ["field": "chunk_number"]]]]]]) == ["b"])
        #expect(try ids(["query": ["bool": ["should": [["term": ["tags": "x"]], ["term": ["tags": "y"]]], "minimum_should_match": 2]]]) == ["a"])
        #expect(try ids(["query": ["bool": ["should": [["term": ["tags": "x"]], ["term": ["tags": "y"]]], "minimum_should_match": "50%"]]]) == ["a", "b"])
        // should with a filter: optional unless minimum_should_match says otherwise.
        #expect(try ids(["query": ["bool": ["filter": ["term": ["state": "REGISTERED"]], "should": ["term": ["tags": "zzz"]]]]]) == ["b", "c"])
        #expect(try ids(["query": ["bool": ["should": [["term": ["tags": "zzz"]]]]]]) == [])
    }

    @Test func sortPagingAndSource() throws {
        let request = try SearchRequest.parse(["sort": [["n": ["order": "desc"]]], "from": 0, "size": 2, "_source": ["includes": ["cfg.*"], "excludes": []]])
        let hits = request.run(over: Self.docs)
        #expect(hits.total == 3)
        #expect(hits.hits.map(\.document.id) == ["b", "a"])  // missing values sort last
        #expect(hits.hits.first?.sortValues == [10])
        #expect(hits.hits.first?.score == nil)
        #expect(request.source.apply(to: hits.hits[0].document.source) == ["cfg": ["type": "distilbert"]])
        #expect(SourceFilter(excludes: ["cfg.type", "tags"]).apply(to: Self.docs[0].source)?.keys == ["name", "state", "n", "cfg"])
        #expect(try ids(["sort": ["name.keyword"]]) == ["a", "c", "b"])
    }

    @Test(arguments: [
        ["query": ["wildcard": ["name": "x*"]]] as JSON,
        ["aggregations": [:]],
        ["query": ["term": ["a": 1, "b": 2]]],
        ["sort": [["n": "sideways"]]],
        ["size": -1],
        ["from": 9_990, "size": 20],
        ["colour": "red"],
    ])
    func unsupportedOrMalformedBodiesAreRefused(body: JSON) {
        #expect(throws: SearchRequestError.self) { try SearchRequest.parse(body) }
    }
}
