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
        // Both match; the shorter name ranks first (BM25 length normalisation).
        #expect(try ids(["query": ["match": ["name": "MiniLM distilbert"]]]) == ["b", "a"])
        #expect(try ids(["query": ["match": ["name": ["query": "MiniLM distilbert", "operator": "and"]]]]) == [])
        #expect(try ids(["query": ["match": ["name": ["query": "minilm", "analyzer": "standard", "zero_terms_query": "none", "boost": 2]]]]) == ["a"])
        #expect(try ids(["query": ["match_phrase": ["name": ["query": "all minilm", "slop": 0]]]]) == ["a"])
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

    @Test(arguments: [
        ["query": ["query_string": ["query": "name:x*"]]] as JSON,
        ["query": ["query_string": ["query": "name:minilm~2"]]],
        ["query": ["query_string": ["query": "name:minilm^2"]]],
        ["query": ["query_string": ["query": "n:[1 TO 5]"]]],
        ["query": ["query_string": ["query": "/min.*/"]]],
        ["query": ["query_string": ["query": "(unclosed"]]],
        ["query": ["query_string": ["query": "\"unclosed"]]],
        ["query": ["query_string": ["query": "a OR"]]],
        ["query": ["query_string": ["query": "a", "fuzziness": 2]]],
        ["query": ["query_string": ["default_field": "name"]]],
        ["query": ["match": ["name": ["query": "x", "operator": "xor"]]]],
        ["query": ["match": ["name": ["query": "x", "fuzziness": "AUTO"]]]],
        ["query": ["match": ["name": ["query": "x y", "minimum_should_match": 2]]]],
        ["query": ["match": ["name": ["query": "x", "analyzer": "english"]]]],
        ["query": ["match_phrase": ["name": ["query": "x y", "slop": 2]]]],
        ["query": ["match": ["name": ["query": "x", "colour": "red"]]]],
    ])
    func unsupportedQueryStringsAreRefusedByName(body: JSON) {
        #expect(throws: SearchRequestError.self) { try SearchRequest.parse(body) }
    }

    @Test func unsupportedQueryStringFeaturesAreNamed() {
        #expect { try SearchRequest.parse(["query": ["query_string": ["query": "title:bad*"]]]) } throws: { error in
            (error as? SearchRequestError)?.reason.contains("wildcard queries (*) are not supported") == true
        }
        #expect { try SearchRequest.parse(["query": ["query_string": ["query": "x", "fuzziness": 1]]]) } throws: { error in
            (error as? SearchRequestError)?.reason == "[query_string] query does not support [fuzziness]"
        }
    }
}

/// `match` and `query_string` analyse with the standard analyzer on text fields and compare keyword
/// fields exactly; hits are ranked as OpenSearch ranks them.
@Suite struct AnalysedSearchTests {
    static func doc(_ id: String, _ source: JSON) -> StoredDocument {
        StoredDocument(index: "groups", id: id, source: source.objectValue!, version: 1, seqNo: 0, primaryTerm: 1)
    }

    /// Names that share parts, in an order where index order alone would pick the wrong one first.
    static let groups = [
        doc("1", ["name": "alpha_beta", "access": "public"]), doc("2", ["name": "alpha-beta", "access": "private"]),
        doc("3", ["name": "Beta", "access": "Public"]), doc("4", ["name": "beta", "access": "public"]),
    ]
    static let mapping = IndexMapping(fields: ["name": .text, "name.keyword": .keyword, "access": .keyword])

    func ids(_ query: JSON, mapping: IndexMapping = mapping, over documents: [StoredDocument] = groups) throws -> [String] {
        try SearchRequest.parse(["query": query]).run(over: documents, mapping: mapping).hits.map(\.document.id)
    }

    @Test func matchOnTextAnalysesBothSides() throws {
        // `beta` is a token of `alpha-beta`, `Beta` and `beta`, never of `alpha_beta`; the exact name ranks first.
        #expect(try ids(["match": ["name": "beta"]]) == ["4", "3", "2"])
        #expect(try ids(["match": ["name": "Beta"]]) == ["3", "4", "2"])
        #expect(try ids(["match": ["name": "alpha_beta"]]) == ["1"])
        #expect(try ids(["match": ["name": "alpha-beta"]]) == ["2", "3", "4"])  // equal scores, none exact: index order
        #expect(try ids(["match": ["name": ["query": "alpha-beta", "operator": "and"]]]) == ["2"])
        #expect(try ids(["match": ["name": "alpha"]]) == ["2"])
        #expect(try ids(["match": ["name": "!!!"]]) == [])  // no tokens: nothing matches
        // Without a mapping the same holds: unmapped strings are text.
        #expect(try ids(["match": ["name": "beta"]], mapping: .dynamic) == ["4", "3", "2"])
    }

    @Test func keywordFieldsMatchExactly() throws {
        #expect(try ids(["match": ["name.keyword": "beta"]]) == ["4"])
        #expect(try ids(["match": ["access": "public"]]) == ["1", "4"])
        #expect(try ids(["term": ["access": "Public"]]) == ["3"])
        #expect(try ids(["match_phrase": ["access": "public"]]) == ["1", "4"])
        // Dynamic mapping: `access` would be text, `Public` then matches `public` too.
        #expect(try ids(["match": ["access": "public"]], mapping: .dynamic) == ["1", "4", "3"])
    }

    @Test func scoresAreReturnedAndOrderHits() throws {
        let hits = try SearchRequest.parse(["query": ["match": ["name": "beta"]]]).run(over: Self.groups, mapping: Self.mapping).hits
        let scores = hits.compactMap(\.score)
        #expect(scores.count == 3)
        #expect(scores[0] == scores[1] && scores[1] > scores[2])  // `beta`, `Beta` tie; `alpha-beta` is longer
        let filtered = try SearchRequest.parse(["query": ["bool": ["filter": ["match": ["name": "beta"]]]]]).run(over: Self.groups, mapping: Self.mapping)
        #expect(filtered.hits.map(\.score) == [0, 0, 0])  // filters do not score; index order stays
        #expect(filtered.hits.map(\.document.id) == ["2", "3", "4"])
    }

    static let words = [
        doc("p", ["title": "The Master slave architecture"]), doc("q", ["title": "slave of the master"]),
        doc("r", ["title": "blacklist", "tags": "x"]), doc("s", ["body": "harmful words here"]),
    ]

    @Test func phrasesNeedConsecutiveTokens() throws {
        #expect(try ids(["match_phrase": ["title": "master slave"]], over: Self.words) == ["p"])
        #expect(try ids(["match": ["title": ["query": "master slave", "operator": "and"]]], over: Self.words) == ["p", "q"])
    }

    @Test func queryStringAsStopWordDocumentsUseIt() throws {
        func hits(_ text: String, _ options: JSON = [:]) throws -> [String] {
            var body = options.objectValue ?? [:]
            body["query"] = .string(text)
            return try ids(["query_string": .object(body)], mapping: .dynamic, over: Self.words).sorted()
        }
        #expect(try hits("title: blacklist") == ["r"])
        #expect(try hits("title: \"Master slave architecture\"") == ["p"])
        #expect(try hits("title:\"slave architecture\"") == ["p"])
        #expect(try hits("master") == ["p", "q"])  // default field `*`: every field
        #expect(try hits("harmful") == ["s"])
        #expect(try hits("master AND architecture") == ["p"])
        #expect(try hits("master architecture", ["default_operator": "AND"]) == ["p"])
        #expect(try hits("master architecture") == ["p", "q"])
        #expect(try hits("master -architecture") == ["q"])
        #expect(try hits("master NOT architecture") == ["q"])
        #expect(try hits("master - architecture") == ["q"])  // as in Lucene, the operator may stand apart
        #expect(try hits("+master +architecture") == ["p"])
        #expect(try hits("NOT master") == ["r", "s"])
        #expect(try hits("(blacklist OR harmful) AND NOT words") == ["r"])
        #expect(try hits("blacklist || harmful") == ["r", "s"])
        #expect(try hits("_exists_:tags") == ["r"])
        #expect(try hits("title:(blacklist architecture)") == ["p", "r"])
        #expect(try hits("harmful", ["fields": ["title"]]) == [])
        #expect(try hits("harmful", ["default_field": "body"]) == ["s"])
        #expect(try hits("Master\\ slave") == ["p", "q"])  // an escaped space is part of the term, analysed to two tokens
    }
}
