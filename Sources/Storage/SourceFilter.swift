import OrderedJSON

/// `_source` filtering: whole source, none, or includes / excludes with `*` wildcards on dotted paths.
public struct SourceFilter: Sendable, Equatable {
    public var enabled = true
    public var includes: [String] = []
    public var excludes: [String] = []

    public static let all = SourceFilter()

    public init(enabled: Bool = true, includes: [String] = [], excludes: [String] = []) {
        self.enabled = enabled
        self.includes = includes
        self.excludes = excludes
    }

    static func parse(_ value: JSON) throws(SearchRequestError) -> SourceFilter {
        switch value {
        case .bool(let enabled): return SourceFilter(enabled: enabled)
        case .string(let field): return SourceFilter(includes: [field])
        case .array(let fields): return SourceFilter(includes: fields.compactMap(\.stringValue))
        case .object(let object):
            func list(_ key: String) -> [String] {
                guard let entry = object[key] else { return [] }
                return entry.arrayValue?.compactMap(\.stringValue) ?? entry.stringValue.map { [$0] } ?? []
            }
            for key in object.keys where !["includes", "include", "excludes", "exclude"].contains(key) {
                throw SearchRequestError(reason: "Unknown key [\(key)] in [_source]")
            }
            return SourceFilter(includes: list("includes") + list("include"), excludes: list("excludes") + list("exclude"))
        default:
            throw SearchRequestError(reason: "[_source] must be a boolean, a field, a list of fields or an object")
        }
    }

    /// Adds exclusions (used to keep large or secret fields out of search hits).
    public func excluding(_ fields: [String]) -> SourceFilter {
        var copy = self
        copy.excludes += fields
        return copy
    }

    public func apply(to source: JSONObject) -> JSONObject? {
        guard enabled else { return nil }
        if includes.isEmpty && excludes.isEmpty { return source }
        return filter(source, prefix: "")
    }

    private func filter(_ object: JSONObject, prefix: String) -> JSONObject {
        var result = JSONObject()
        for (key, value) in object {
            let path = prefix.isEmpty ? key : prefix + "." + key
            if excludes.contains(where: { SourceFilter.glob($0, matches: path) }) { continue }
            let included = includes.isEmpty || includes.contains { SourceFilter.glob($0, matches: path) }
            if case .object(let child) = value {
                if included && !excludes.contains(where: { $0.hasPrefix(path + ".") }) {
                    result[key] = value
                } else if included || includes.contains(where: { $0.hasPrefix(path + ".") || $0.hasPrefix("*") }) {
                    let filtered = SourceFilter(includes: included ? [] : includes, excludes: excludes).filter(child, prefix: path)
                    if !filtered.isEmpty || included { result[key] = .object(filtered) }
                }
            } else if included {
                result[key] = value
            }
        }
        return result
    }

    /// `*` matches any run of characters (dots included), as in OpenSearch source filtering.
    static func glob(_ pattern: String, matches text: String) -> Bool {
        if !pattern.contains("*") { return pattern == text }
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        var rest = Substring(text)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for (i, part) in parts.enumerated().dropFirst() {
            if i == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            guard let range = rest.firstRange(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}
