import OrderedJSON

/// A parsed OpenSearch search body: query, paging, sort and `_source` filtering.
public struct SearchRequest: Sendable {
    public var query: Query
    public var from = 0
    public var size = 10
    public var sort: [SortField] = []
    public var source: SourceFilter = .all
    public var trackScores = false

    public static let maxResultWindow = 10_000

    public init(query: Query = .matchAll) { self.query = query }

    /// Parses a search body; anything outside the supported DSL is a `SearchRequestError` naming it.
    public static func parse(_ body: JSON) throws(SearchRequestError) -> SearchRequest {
        guard let object = body.objectValue else { throw SearchRequestError(reason: "search body must be a JSON object") }
        var request = SearchRequest()
        for (key, value) in object {
            switch key {
            case "query": request.query = try Query.parse(value)
            case "from":
                guard let from = value.intValue, from >= 0 else { throw SearchRequestError(reason: "[from] parameter cannot be negative") }
                request.from = Int(from)
            case "size":
                guard let size = value.intValue, size >= 0 else { throw SearchRequestError(reason: "[size] parameter cannot be negative") }
                request.size = Int(size)
            case "sort": request.sort = try SortField.parseList(value)
            case "_source": request.source = try SourceFilter.parse(value)
            case "track_scores": request.trackScores = value.boolValue ?? false
            case "track_total_hits", "timeout", "version", "seq_no_primary_term", "explain", "stored_fields", "min_score", "terminate_after":
                continue  // accepted; hits always carry versions and exact totals
            case "aggs", "aggregations", "highlight", "suggest", "collapse", "search_after", "script_fields", "docvalue_fields",
                 "post_filter", "rescore", "knn", "pit", "slice", "profile", "indices_boost", "ext":
                throw SearchRequestError(reason: "[\(key)] is not supported by this server's search")
            default:
                throw SearchRequestError(reason: "Unknown key for a START_OBJECT in [\(key)].")
            }
        }
        // Both are non-negative Int64s, so their sum fits a UInt64 even where it overflows an Int.
        let window = UInt64(request.from) + UInt64(request.size)
        if window > UInt64(maxResultWindow) {
            throw SearchRequestError(type: "illegal_argument_exception",
                reason: "Result window is too large, from + size must be less than or equal to: [\(maxResultWindow)] but was [\(window)].")
        }
        return request
    }

    /// Whether hits without a sort are ranked by relevance (user searches); bookkeeping reads keep
    /// the store's order and skip scoring.
    public var ranked = true

    /// Applies the query, sort and paging to documents held in memory (in index order). BM25 reads its
    /// statistics from `corpus` when given (a store that passes only the candidate documents passes the
    /// whole index's scored fields there), else from `documents`.
    public func run(over documents: [StoredDocument], mapping: IndexMapping = .dynamic, corpus: [StoredDocument]? = nil) -> SearchHits {
        let matched = documents.filter { query.matches($0, mapping: mapping) }
        let scored = isScored
        var scores: [String: Double] = [:]
        var ordered = matched
        if scored {
            let corpus = Corpus(documents: corpus ?? documents, mapping: mapping)
            var exactness: [String: Int] = [:]
            for document in matched {
                scores[document.id] = query.score(document, in: corpus)
                exactness[document.id] = query.exactness(document)
            }
            if sort.isEmpty {
                // Stable: equal scores and exactness keep index order.
                ordered = matched.enumerated().sorted { lhs, rhs in
                    let a = (scores[lhs.element.id] ?? 0, exactness[lhs.element.id] ?? 0)
                    let b = (scores[rhs.element.id] ?? 0, exactness[rhs.element.id] ?? 0)
                    return a != b ? a > b : lhs.offset < rhs.offset
                }.map(\.element)
            }
        }
        if !sort.isEmpty {
            ordered.sort { lhs, rhs in SortField.areInIncreasingOrder(lhs, rhs, by: sort, scores: scores) }
        }
        let page = ordered.dropFirst(from).prefix(size)
        let hits = page.map { document in
            SearchHit(document: document, score: scored ? scores[document.id] ?? 0 : nil,
                      sortValues: sort.isEmpty ? nil : sort.map { $0.key(of: document, scores: scores) ?? .null })
        }
        return SearchHits(total: matched.count, hits: Array(hits))
    }
}

public struct SortField: Sendable, Equatable {
    public var field: String
    public var descending: Bool

    public init(field: String, descending: Bool) {
        self.field = field
        self.descending = descending
    }

    static func parseList(_ value: JSON) throws(SearchRequestError) -> [SortField] {
        let items = value.arrayValue ?? [value]
        var fields: [SortField] = []
        for item in items {
            if let name = item.stringValue {
                fields.append(SortField(field: name, descending: name == "_score"))
                continue
            }
            guard let object = item.objectValue, object.count == 1, let entry = object.entries.first else {
                throw SearchRequestError(reason: "malformed sort format, each sort must be a field name or an object with one field")
            }
            let order: String
            if let text = entry.value.stringValue {
                order = text
            } else if let options = entry.value.objectValue {
                order = options["order"]?.stringValue ?? (entry.key == "_score" ? "desc" : "asc")
            } else {
                throw SearchRequestError(reason: "malformed sort for field [\(entry.key)]")
            }
            guard ["asc", "desc"].contains(order.lowercased()) else {
                throw SearchRequestError(reason: "Unknown SortOrder [\(order)]")
            }
            fields.append(SortField(field: entry.key, descending: order.lowercased() == "desc"))
        }
        return fields
    }

    func key(of document: StoredDocument, scores: [String: Double]) -> JSON? {
        if field == "_score" { return .double(scores[document.id] ?? 1.0) }
        let values = Query.values(of: field, in: document)
        // For arrays OpenSearch sorts by the smallest value ascending and the largest descending.
        return values.sorted { (ValueOrdering.compare($0, $1) ?? 0) < 0 }.first.map { descending ? values.max { (ValueOrdering.compare($0, $1) ?? 0) < 0 }! : $0 }
    }

    static func areInIncreasingOrder(_ lhs: StoredDocument, _ rhs: StoredDocument, by fields: [SortField], scores: [String: Double]) -> Bool {
        for field in fields {
            let a = field.key(of: lhs, scores: scores), b = field.key(of: rhs, scores: scores)
            switch (a, b) {
            case (nil, nil): continue
            case (nil, _): return false  // missing values sort last in both directions
            case (_, nil): return true
            case (let a?, let b?):
                let order = ValueOrdering.compare(a, b) ?? 0
                if order != 0 { return field.descending ? order > 0 : order < 0 }
            }
        }
        return lhs.id < rhs.id
    }
}
