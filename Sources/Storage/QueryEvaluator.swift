import OrderedJSON

/// Evaluates queries against one document, with OpenSearch's field conventions:
/// `name.keyword` is the exact value of `name`; dotted paths reach into objects; an array field
/// matches when any element matches; `_id` is the document id.
extension Query {
    /// Whether the document matches, reading field types from `mapping` (unmapped strings are text).
    public func matches(_ document: StoredDocument, mapping: IndexMapping = .dynamic) -> Bool {
        switch self {
        case .matchAll: return true
        case .matchNone: return false
        case .ids(let ids): return ids.contains(document.id)
        case .exists(let field): return !Query.values(of: field, in: document).isEmpty
        case .term(let field, let value, let caseInsensitive):
            let exact = mapping.type(of: field) != .text
            return Query.values(of: field, in: document).contains { Query.termMatches($0, value, caseInsensitive: caseInsensitive, exact: exact) }
        case .terms(let field, let values):
            let exact = mapping.type(of: field) != .text
            let found = Query.values(of: field, in: document)
            return values.contains { value in found.contains { Query.termMatches($0, value, caseInsensitive: false, exact: exact) } }
        case .match(let field, let text, let requireAll):
            let found = Query.values(of: field, in: document)
            guard mapping.type(of: field) == .text else { return found.contains { Query.equals($0, text) } }
            let wanted = StandardAnalyzer.tokens(text)
            guard !wanted.isEmpty else { return false }  // zero_terms_query: none
            var present: Set<String> = []
            for value in found {
                guard let string = value.stringValue else {
                    if Query.equals(value, text) { present.insert(text) }
                    continue
                }
                present.formUnion(StandardAnalyzer.tokens(string))
            }
            return requireAll ? wanted.allSatisfy(present.contains) : wanted.contains(where: present.contains)
        case .matchPhrase(let field, let text):
            let found = Query.values(of: field, in: document)
            guard mapping.type(of: field) == .text else { return found.contains { Query.equals($0, text) } }
            let wanted = StandardAnalyzer.tokens(text)
            guard !wanted.isEmpty else { return false }
            return found.contains { value in
                guard let string = value.stringValue else { return Query.equals(value, text) }
                return Query.phraseCount(wanted, in: StandardAnalyzer.tokens(string)) > 0
            }
        case .constantScore(let inner): return inner.matches(document, mapping: mapping)
        case .prefix(let field, let value, let caseInsensitive):
            let analysed = mapping.type(of: field) == .text
            return Query.values(of: field, in: document).contains { candidate in
                guard let text = candidate.scalarText else { return false }
                if caseInsensitive ? text.lowercased().hasPrefix(value.lowercased()) : text.hasPrefix(value) { return true }
                // On a text field the prefix applies to each token, as OpenSearch's does to each term.
                return analysed && StandardAnalyzer.tokens(text).contains { $0.hasPrefix(caseInsensitive ? value.lowercased() : value) }
            }
        case .range(let field, let bounds):
            return Query.values(of: field, in: document).contains { bounds.contains($0) }
        case .bool(let bool):
            guard bool.must.allSatisfy({ $0.matches(document, mapping: mapping) }),
                  bool.filter.allSatisfy({ $0.matches(document, mapping: mapping) }),
                  !bool.mustNot.contains(where: { $0.matches(document, mapping: mapping) }) else { return false }
            let required = bool.minimumShouldMatch ?? ((bool.must.isEmpty && bool.filter.isEmpty && !bool.should.isEmpty) ? 1 : 0)
            guard required > 0 else { return true }
            return bool.should.lazy.filter { $0.matches(document, mapping: mapping) }.count >= required
        }
    }

    /// A keyword (or number, boolean) value against a query text: equal values, numbers by value.
    static func equals(_ candidate: JSON, _ text: String) -> Bool {
        if candidate.isNumber, let number = Double(text) { return candidate.doubleValue == number }
        return candidate.scalarText == text
    }

    /// How often `phrase` occurs as consecutive tokens of `tokens`.
    static func phraseCount(_ phrase: [String], in tokens: [String]) -> Int {
        guard !phrase.isEmpty, tokens.count >= phrase.count else { return 0 }
        var count = 0
        for start in 0...(tokens.count - phrase.count) where tokens[start] == phrase[0] {
            if zip(phrase, tokens[start...]).allSatisfy({ $0 == $1 }) { count += 1 }
        }
        return count
    }

    /// The scalar values at a field path, with arrays flattened; nulls count as absent.
    static func values(of field: String, in document: StoredDocument) -> [JSON] {
        if field == "_id" { return [.string(document.id)] }
        if field == "*" {  // query_string's default: every field
            var found: [JSON] = []
            collectAll(JSON.object(document.source), into: &found)
            return found
        }
        let path = field.hasSuffix(".keyword") ? String(field.dropLast(".keyword".count)) : field
        var found: [JSON] = []
        collect(JSON.object(document.source), path: path.split(separator: ".").map(String.init)[...], into: &found)
        return found
    }

    private static func collect(_ value: JSON, path: ArraySlice<String>, into found: inout [JSON]) {
        if case .array(let items) = value {
            for item in items { collect(item, path: path, into: &found) }
            return
        }
        guard let key = path.first else {
            if !value.isNull { found.append(value) }
            return
        }
        if let child = value[key] { collect(child, path: path.dropFirst(), into: &found) }
    }

    private static func collectAll(_ value: JSON, into found: inout [JSON]) {
        switch value {
        case .array(let items): for item in items { collectAll(item, into: &found) }
        case .object(let object): for (_, child) in object { collectAll(child, into: &found) }
        default: if !value.isNull { found.append(value) }
        }
    }

    /// Term semantics: a keyword (or non-text) value must be equal; a text value also matches one of
    /// its analyzed tokens, as a term query on an analyzed field does.
    static func termMatches(_ candidate: JSON, _ wanted: JSON, caseInsensitive: Bool, exact: Bool) -> Bool {
        if candidate.isNumber, wanted.isNumber || wanted.stringValue != nil {
            return candidate.doubleValue == wanted.doubleValue
        }
        guard let have = candidate.scalarText, let want = wanted.scalarText else { return false }
        if caseInsensitive ? have.lowercased() == want.lowercased() : have == want { return true }
        if exact || candidate.stringValue == nil { return false }
        return StandardAnalyzer.tokens(have).contains(caseInsensitive ? want.lowercased() : want)
    }
}

extension RangeBounds {
    func contains(_ value: JSON) -> Bool {
        func compare(_ bound: JSON) -> Int? { ValueOrdering.compare(value, bound) }
        if let gt, !(compare(gt).map { $0 > 0 } ?? false) { return false }
        if let gte, !(compare(gte).map { $0 >= 0 } ?? false) { return false }
        if let lt, !(compare(lt).map { $0 < 0 } ?? false) { return false }
        if let lte, !(compare(lte).map { $0 <= 0 } ?? false) { return false }
        return true
    }
}

/// Orders scalar values: numbers numerically (numeric strings too), otherwise as text.
enum ValueOrdering {
    static func compare(_ a: JSON, _ b: JSON) -> Int? {
        if let x = a.doubleValue, let y = b.doubleValue, a.isNumber || b.isNumber {
            return x < y ? -1 : (x > y ? 1 : 0)
        }
        if case .bool(let x) = a, case .bool(let y) = b { return x == y ? 0 : (x ? 1 : -1) }
        guard let x = a.scalarText, let y = b.scalarText else { return nil }
        return x < y ? -1 : (x > y ? 1 : 0)
    }
}
