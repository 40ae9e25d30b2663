import Foundation
import OrderedJSON

/// Relevance as OpenSearch ranks hits: Lucene's BM25 (k1 1.2, b 0.75) for full-text clauses, summed
/// over a bool query's `must` and `should` clauses; filters, `constant_score`, ranges, `exists`, `ids`,
/// `terms` and `prefix` score a constant 1. Clients rely on the order: the by-name helpers of
/// opensearch-py-ml take the first hit of a `match` on `name`, which must be the shortest (best) match.
/// Statistics are exact per index (one shard), where Lucene's field lengths are lossy bytes.
final class Corpus {
    let documents: [StoredDocument]
    let mapping: IndexMapping
    private var statistics: [String: FieldStatistics] = [:]

    static let k1 = 1.2
    static let b = 0.75

    init(documents: [StoredDocument], mapping: IndexMapping) {
        self.documents = documents
        self.mapping = mapping
    }

    struct FieldStatistics {
        var documentCount = 0
        var totalLength = 0
        var documentFrequency: [String: Int] = [:]
        var averageLength: Double { documentCount == 0 ? 1 : max(Double(totalLength) / Double(documentCount), 1) }
    }

    /// Analysed once per request: the field statistics and every scored document read them.
    private var analysed: [String: [String: [String]]] = [:]

    /// The field's terms in one document: tokens for text, exact values for keywords.
    func terms(of field: String, in document: StoredDocument) -> [String] {
        if let known = analysed[field]?[document.id] { return known }
        let text = mapping.type(of: field) == .text
        let terms = Query.values(of: field, in: document).flatMap { value -> [String] in
            guard let scalar = value.scalarText else { return [] }
            return text && value.stringValue != nil ? StandardAnalyzer.tokens(scalar) : [scalar]
        }
        analysed[field, default: [:]][document.id] = terms
        return terms
    }

    func statistics(of field: String) -> FieldStatistics {
        if let known = statistics[field] { return known }
        var stats = FieldStatistics()
        for document in documents {
            let terms = terms(of: field, in: document)
            guard !terms.isEmpty else { continue }
            stats.documentCount += 1
            stats.totalLength += terms.count
            for term in Set(terms) { stats.documentFrequency[term, default: 0] += 1 }
        }
        statistics[field] = stats
        return stats
    }

    /// BM25 of `wanted` terms (each scored once per occurrence in the query, as Lucene's should clauses).
    func bm25(field: String, wanted: [String], in document: StoredDocument) -> Double {
        let stats = statistics(of: field)
        let terms = terms(of: field, in: document)
        let analysed = mapping.type(of: field) == .text
        var frequency: [String: Int] = [:]
        for term in terms { frequency[term, default: 0] += 1 }
        // Keyword fields omit norms: the length part of BM25 is 1.
        let norm = analysed ? Self.k1 * (1 - Self.b + Self.b * Double(terms.count) / stats.averageLength) : Self.k1
        var score = 0.0
        for term in wanted {
            guard let tf = frequency[term].map(Double.init) else { continue }
            score += idf(stats, term) * tf / (tf + norm)
        }
        return score
    }

    func idf(_ stats: FieldStatistics, _ term: String) -> Double {
        let n = Double(stats.documentFrequency[term] ?? 0), total = Double(stats.documentCount)
        return log(1 + (total - n + 0.5) / (n + 0.5))
    }
}

extension Query {
    /// The relevance of a document this query matches.
    func score(_ document: StoredDocument, in corpus: Corpus) -> Double {
        switch self {
        case .matchAll, .ids, .exists, .prefix, .range, .terms, .constantScore: return 1
        case .matchNone: return 0
        case .term(let field, let value, let caseInsensitive):
            guard let text = value.stringValue else { return 1 }
            let wanted = caseInsensitive ? text.lowercased() : text
            let score = corpus.bm25(field: field, wanted: [wanted], in: document)
            return score > 0 ? score : 1  // matched by exact value or case folding only
        case .match(let field, let text, _):
            return corpus.bm25(field: field, wanted: Self.queryTerms(text, field: field, corpus.mapping), in: document)
        case .matchPhrase(let field, let text):
            let wanted = Self.queryTerms(text, field: field, corpus.mapping)
            return corpus.bm25(field: field, wanted: wanted, in: document)
        case .bool(let bool):
            // An empty bool is OpenSearch's match_all; filters and must_not alone score 0.
            if bool.must.isEmpty, bool.should.isEmpty, bool.filter.isEmpty, bool.mustNot.isEmpty { return 1 }
            let scored = bool.must + bool.should.filter { $0.matches(document, mapping: corpus.mapping) }
            return scored.reduce(0) { $0 + $1.score(document, in: corpus) }
        }
    }

    /// Ties between equal scores go to the document whose value equals the query text exactly: among
    /// `beta` and `Beta`, a search for `beta` ranks `beta` first (OpenSearch would order them by
    /// internal document id, so whichever was indexed first).
    func exactness(_ document: StoredDocument) -> Int {
        switch self {
        case .match(let field, let text, _), .matchPhrase(let field, let text):
            return Query.values(of: field, in: document).contains { $0.scalarText == text } ? 1 : 0
        case .term(let field, let value, _):
            return Query.values(of: field, in: document).contains { $0 == value } ? 1 : 0
        case .bool(let bool):
            return (bool.must + bool.should).reduce(0) { $0 + $1.exactness(document) }
        default:
            return 0
        }
    }

    private static func queryTerms(_ text: String, field: String, _ mapping: IndexMapping) -> [String] {
        mapping.type(of: field) == .text ? StandardAnalyzer.tokens(text) : [text]
    }
}
