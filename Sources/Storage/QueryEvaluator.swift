import OrderedJSON

/// Evaluates queries against one document, with OpenSearch's field conventions:
/// `name.keyword` is the exact value of `name`; dotted paths reach into objects; an array field
/// matches when any element matches; `_id` is the document id.
extension Query {
    public func matches(_ document: StoredDocument) -> Bool {
        switch self {
        case .matchAll: return true
        case .matchNone: return false
        case .ids(let ids): return ids.contains(document.id)
        case .exists(let field): return !Query.values(of: field, in: document).isEmpty
        case .term(let field, let value, let caseInsensitive):
            return Query.values(of: field, in: document).contains { Query.termMatches($0, value, caseInsensitive: caseInsensitive, exact: field.hasSuffix(".keyword")) }
        case .terms(let field, let values):
            let found = Query.values(of: field, in: document)
            return values.contains { value in found.contains { Query.termMatches($0, value, caseInsensitive: false, exact: field.hasSuffix(".keyword")) } }
        case .match(let field, let text, let requireAll):
            let wanted = TextAnalyzer.tokens(text)
            let found = Query.values(of: field, in: document)
            if found.contains(where: { $0.scalarText == text }) { return true }
            let present = Set(found.flatMap { TextAnalyzer.tokens($0.scalarText ?? "") })
            guard !wanted.isEmpty else { return false }
            return requireAll ? wanted.allSatisfy(present.contains) : wanted.contains(where: present.contains)
        case .prefix(let field, let value, let caseInsensitive):
            return Query.values(of: field, in: document).contains { candidate in
                guard let text = candidate.scalarText else { return false }
                return caseInsensitive ? text.lowercased().hasPrefix(value.lowercased()) : text.hasPrefix(value)
            }
        case .range(let field, let bounds):
            return Query.values(of: field, in: document).contains { bounds.contains($0) }
        case .bool(let bool):
            guard bool.must.allSatisfy({ $0.matches(document) }),
                  bool.filter.allSatisfy({ $0.matches(document) }),
                  !bool.mustNot.contains(where: { $0.matches(document) }) else { return false }
            let required = bool.minimumShouldMatch ?? ((bool.must.isEmpty && bool.filter.isEmpty && !bool.should.isEmpty) ? 1 : 0)
            guard required > 0 else { return true }
            return bool.should.lazy.filter { $0.matches(document) }.count >= required
        }
    }

    /// The scalar values at a field path, with arrays flattened; nulls count as absent.
    static func values(of field: String, in document: StoredDocument) -> [JSON] {
        if field == "_id" { return [.string(document.id)] }
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

    /// Term semantics: a keyword (or non-text) value must be equal; a text value also matches one of
    /// its analyzed tokens, as a term query on an analyzed field does.
    static func termMatches(_ candidate: JSON, _ wanted: JSON, caseInsensitive: Bool, exact: Bool) -> Bool {
        if candidate.isNumber, wanted.isNumber || wanted.stringValue != nil {
            return candidate.doubleValue == wanted.doubleValue
        }
        guard let have = candidate.scalarText, let want = wanted.scalarText else { return false }
        if caseInsensitive ? have.lowercased() == want.lowercased() : have == want { return true }
        if exact || candidate.stringValue == nil { return false }
        return TextAnalyzer.tokens(have).contains(caseInsensitive ? want.lowercased() : want)
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

/// The standard analyzer in small: lower case, split on anything that is not a letter or digit.
enum TextAnalyzer {
    static func tokens(_ text: String) -> [String] {
        text.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init)
    }
}
