import OrderedJSON

/// The subset of the OpenSearch query DSL the server evaluates.
public indirect enum Query: Sendable, Equatable {
    case matchAll
    case matchNone
    case term(field: String, value: JSON, caseInsensitive: Bool)
    case terms(field: String, values: [JSON])
    /// Full-text match: on a text field the query text and the field are analysed alike (`StandardAnalyzer`)
    /// and any (or, with `requireAll`, every) query token must occur; on keyword fields the value must be equal.
    case match(field: String, text: String, requireAll: Bool)
    /// The query's tokens must occur consecutively in one value of the field.
    case matchPhrase(field: String, text: String)
    /// Matches as its filter does, every hit scoring 1.
    case constantScore(Query)
    case ids([String])
    case exists(field: String)
    case prefix(field: String, value: String, caseInsensitive: Bool)
    case range(field: String, bounds: RangeBounds)
    case bool(BoolQuery)
}

public struct RangeBounds: Sendable, Equatable {
    public var gt: JSON?
    public var gte: JSON?
    public var lt: JSON?
    public var lte: JSON?
    public init(gt: JSON? = nil, gte: JSON? = nil, lt: JSON? = nil, lte: JSON? = nil) {
        self.gt = gt; self.gte = gte; self.lt = lt; self.lte = lte
    }
}

public struct BoolQuery: Sendable, Equatable {
    public var must: [Query] = []
    public var filter: [Query] = []
    public var should: [Query] = []
    public var mustNot: [Query] = []
    public var minimumShouldMatch: Int?
    public init(must: [Query] = [], filter: [Query] = [], should: [Query] = [], mustNot: [Query] = [], minimumShouldMatch: Int? = nil) {
        self.must = must; self.filter = filter; self.should = should; self.mustNot = mustNot
        self.minimumShouldMatch = minimumShouldMatch
    }
}

/// A search body that uses DSL the server does not support, or is malformed. Rendered as a 400.
public struct SearchRequestError: Error, Sendable, Equatable {
    public let type: String
    public let reason: String
    public init(type: String = "parsing_exception", reason: String) {
        self.type = type
        self.reason = reason
    }
}

extension Query {
    public static func and(_ queries: Query...) -> Query { .bool(BoolQuery(filter: queries)) }
    public static func not(_ query: Query) -> Query { .bool(BoolQuery(mustNot: [query])) }
    public static func term(_ field: String, _ value: JSON) -> Query { .term(field: field, value: value, caseInsensitive: false) }

    /// Parses one query clause such as `{"term": {"name.keyword": "x"}}`.
    public static func parse(_ json: JSON) throws(SearchRequestError) -> Query {
        guard let object = json.objectValue, object.count == 1, let (kind, body) = object.entries.first.map({ ($0.key, $0.value) }) else {
            throw SearchRequestError(reason: "query malformed, must start with a single query name and its body")
        }
        switch kind {
        case "match_all": return .matchAll
        case "match_none": return .matchNone
        case "term": return try parseTerm(body)
        case "terms": return try parseTerms(body)
        case "match", "match_phrase": return try parseMatch(body, kind: kind)
        case "ids":
            guard let values = body["values"]?.arrayValue else { throw SearchRequestError(reason: "[ids] query requires a [values] array") }
            return .ids(values.compactMap(\.scalarText))
        case "exists":
            guard let field = body["field"]?.stringValue else { throw SearchRequestError(reason: "[exists] must be provided with a [field]") }
            return .exists(field: field)
        case "prefix": return try parsePrefix(body)
        case "range": return try parseRange(body)
        case "bool": return try parseBool(body)
        case "constant_score":
            guard let filter = body["filter"] else { throw SearchRequestError(reason: "[constant_score] requires a 'filter' element") }
            return .constantScore(try parse(filter))
        case "query_string": return try QueryStringParser.parse(body)
        case "nested":
            // Documents are evaluated on full dotted paths, so a nested query is its inner query.
            guard let inner = body["query"] else { throw SearchRequestError(reason: "[nested] requires 'query' field") }
            return try parse(inner)
        default:
            throw SearchRequestError(reason: "[\(kind)] query is not supported by this server; supported: match_all, match_none, match, match_phrase, query_string, term, terms, ids, exists, prefix, range, bool, constant_score, nested")
        }
    }

    private static func singleField(_ body: JSON, _ kind: String) throws(SearchRequestError) -> (String, JSON) {
        guard let object = body.objectValue else { throw SearchRequestError(reason: "[\(kind)] query malformed, no start_object after query name") }
        let fields = object.entries.filter { $0.key != "boost" && $0.key != "_name" }
        guard fields.count == 1 else { throw SearchRequestError(reason: "[\(kind)] query doesn't support multiple fields, found \(fields.map(\.key))") }
        return (fields[0].key, fields[0].value)
    }

    private static func parseTerm(_ body: JSON) throws(SearchRequestError) -> Query {
        let (field, spec) = try singleField(body, "term")
        if let options = spec.objectValue {
            guard let value = options["value"] else { throw SearchRequestError(reason: "[term] query on [\(field)] requires a [value]") }
            return .term(field: field, value: value, caseInsensitive: options["case_insensitive"]?.boolValue ?? false)
        }
        return .term(field: field, value: spec, caseInsensitive: false)
    }

    private static func parseTerms(_ body: JSON) throws(SearchRequestError) -> Query {
        let (field, spec) = try singleField(body, "terms")
        guard let values = spec.arrayValue else { throw SearchRequestError(reason: "[terms] query does not support [\(field)] without an array of values") }
        return .terms(field: field, values: values)
    }

    private static func parseMatch(_ body: JSON, kind: String) throws(SearchRequestError) -> Query {
        let (field, spec) = try singleField(body, kind)
        if let options = spec.objectValue {
            guard let text = options["query"]?.scalarText else { throw SearchRequestError(reason: "[\(kind)] query on [\(field)] requires a [query]") }
            try checkMatchOptions(options, kind: kind)
            if kind == "match_phrase" { return .matchPhrase(field: field, text: text) }
            let requireAll: Bool
            switch options["operator"]?.stringValue?.lowercased() {
            case nil, "or": requireAll = false
            case "and": requireAll = true
            case let other?: throw SearchRequestError(reason: "[\(kind)] unknown operator [\(other)] on [\(field)]; use and or or")
            }
            return .match(field: field, text: text, requireAll: requireAll)
        }
        guard let text = spec.scalarText else { throw SearchRequestError(reason: "[\(kind)] unknown token on [\(field)]") }
        return kind == "match_phrase" ? .matchPhrase(field: field, text: text) : .match(field: field, text: text, requireAll: false)
    }

    /// Options that change what matches are refused unless implemented, so no search silently
    /// answers something else than OpenSearch would.
    private static func checkMatchOptions(_ options: JSONObject, kind: String) throws(SearchRequestError) {
        for (key, value) in options {
            switch key {
            case "query", "operator", "boost", "_name", "lenient", "auto_generate_synonyms_phrase_query": continue
            case "analyzer" where ["standard", "default"].contains(value.stringValue ?? ""): continue
            case "zero_terms_query" where value.stringValue?.lowercased() == "none": continue
            case "slop" where kind == "match_phrase" && value.intValue == 0: continue
            case "analyzer", "zero_terms_query", "slop", "fuzziness", "minimum_should_match", "prefix_length", "max_expansions",
                 "fuzzy_transpositions", "fuzzy_rewrite", "cutoff_frequency":
                throw SearchRequestError(reason: "[\(kind)] option [\(key)] with value [\(value.scalarText ?? value.serialized)] is not supported by this server")
            default:
                throw SearchRequestError(reason: "[\(kind)] query does not support [\(key)]")
            }
        }
    }

    private static func parsePrefix(_ body: JSON) throws(SearchRequestError) -> Query {
        let (field, spec) = try singleField(body, "prefix")
        if let options = spec.objectValue {
            guard let value = options["value"]?.scalarText else { throw SearchRequestError(reason: "[prefix] query on [\(field)] requires a [value]") }
            return .prefix(field: field, value: value, caseInsensitive: options["case_insensitive"]?.boolValue ?? false)
        }
        guard let value = spec.scalarText else { throw SearchRequestError(reason: "[prefix] query on [\(field)] requires a value") }
        return .prefix(field: field, value: value, caseInsensitive: false)
    }

    private static func parseRange(_ body: JSON) throws(SearchRequestError) -> Query {
        let (field, spec) = try singleField(body, "range")
        guard let options = spec.objectValue else { throw SearchRequestError(reason: "[range] query malformed, no start_object after field [\(field)]") }
        var bounds = RangeBounds()
        for (key, value) in options {
            switch key {
            case "gt": bounds.gt = value
            case "gte", "from": bounds.gte = value
            case "lt": bounds.lt = value
            case "lte", "to": bounds.lte = value
            case "boost", "format", "time_zone", "include_lower", "include_upper", "relation": continue
            default: throw SearchRequestError(reason: "[range] query does not support [\(key)]")
            }
        }
        return .range(field: field, bounds: bounds)
    }

    private static func parseBool(_ body: JSON) throws(SearchRequestError) -> Query {
        guard let object = body.objectValue else { throw SearchRequestError(reason: "[bool] query malformed") }
        var query = BoolQuery()
        var rawMinimum: JSON?
        func clauses(_ value: JSON) throws(SearchRequestError) -> [Query] {
            if let array = value.arrayValue {
                var result: [Query] = []
                for item in array { result.append(try parse(item)) }
                return result
            }
            return [try parse(value)]
        }
        for (key, value) in object {
            switch key {
            case "must": query.must = try clauses(value)
            case "filter": query.filter = try clauses(value)
            case "should": query.should = try clauses(value)
            case "must_not", "mustNot": query.mustNot = try clauses(value)
            case "minimum_should_match": rawMinimum = value
            case "boost", "_name", "adjust_pure_negative": continue
            default: throw SearchRequestError(reason: "[bool] query does not support [\(key)]")
            }
        }
        if let rawMinimum {
            guard let count = resolveMinimumShouldMatch(rawMinimum, clauses: query.should.count) else {
                throw SearchRequestError(reason: "[bool] minimum_should_match [\(rawMinimum.serialized)] is not supported; use an integer or a percentage")
            }
            query.minimumShouldMatch = count
        }
        return .bool(query)
    }

    /// An integer or a percentage of the should clauses; negative values count back from all clauses.
    private static func resolveMinimumShouldMatch(_ value: JSON, clauses: Int) -> Int? {
        var count: Int
        if let integer = value.intValue {
            count = Int(integer)
        } else if let text = value.stringValue, text.hasSuffix("%"), let percent = Int(text.dropLast()), abs(percent) <= 100 {
            count = Int((Double(clauses) * Double(abs(percent)) / 100).rounded(.down))
            if percent < 0 { count = -count }
        } else {
            return nil
        }
        if count < 0 { count = clauses + count }
        return max(0, min(count, clauses))
    }
}
