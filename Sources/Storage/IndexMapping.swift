import OrderedJSON

/// An index's field mapping, as far as searching needs it: which string fields are analysed text,
/// which are exact keywords, and which hold percolator queries. Fields not mapped follow OpenSearch's
/// dynamic mapping of strings: text, with an exact `.keyword` sub-field.
public struct IndexMapping: Sendable, Equatable {
    public enum FieldType: Sendable, Equatable {
        case text, keyword, percolator
        /// Numbers, dates, booleans, objects…: compared by value, never analysed.
        case other(String)
    }

    /// Types by full dotted path, sub-fields included (`name.keyword`).
    public private(set) var fields: [String: FieldType] = [:]
    /// `flat_object` fields: every leaf inside one is a keyword.
    public private(set) var flatObjects: Set<String> = []
    /// The `mappings` object as given (without defaults filled in), for `GET /<index>`.
    public private(set) var json: JSONObject = [:]

    public static let dynamic = IndexMapping()

    public init() {}

    /// Field types OpenSearch knows; the ones beyond text, keyword and percolator are stored and
    /// compared by value.
    static let knownTypes: Set<String> = [
        "text", "keyword", "percolator", "match_only_text", "constant_keyword", "wildcard", "flat_object",
        "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long",
        "date", "date_nanos", "boolean", "binary", "object", "nested", "ip", "knn_vector", "token_count",
        "geo_point", "geo_shape", "rank_feature", "rank_features", "alias", "version", "join",
    ]
    /// Analyzers this server implements (`default` and `standard` are the same).
    static let analyzers: Set<String> = ["standard", "default", "keyword"]
    static let maxFields = 1000
    static let maxDepth = 20

    /// Parses a `mappings` object (`{"properties": {...}, "dynamic": ...}`).
    public init(json: JSON) throws(SearchRequestError) {
        guard let object = json.objectValue else { throw Self.error("Failed to parse mapping: mappings must be an object") }
        for key in object.keys where !["properties", "dynamic", "_meta", "_source", "_routing", "date_detection", "numeric_detection"].contains(key) {
            throw Self.error("Root mapping definition has unsupported parameters:  [\(key)]")
        }
        self.json = object
        if let properties = object["properties"] { try add(properties, prefix: "", depth: 0) }
    }

    private mutating func add(_ properties: JSON, prefix: String, depth: Int) throws(SearchRequestError) {
        guard depth < Self.maxDepth else { throw Self.error("The depth of the mapping is more than \(Self.maxDepth) levels") }
        guard let object = properties.objectValue else { throw Self.error("Failed to parse mapping: [properties] must be an object") }
        for (name, definition) in object {
            guard !name.isEmpty, let field = definition.objectValue else {
                throw Self.error("Failed to parse mapping: Expected map for property [\(name)] on field [\(prefix + name)]")
            }
            let path = prefix + name
            if let given = field["type"], given.stringValue == nil {
                throw Self.error("No type specified for field [\(path)]")
            }
            let type = field["type"]?.stringValue ?? "object"
            if type == "flat_object" { flatObjects.insert(path) }
            guard Self.knownTypes.contains(type) else { throw Self.error("No handler for type [\(type)] declared on field [\(path)]") }
            var kind: FieldType = switch type {
            case "text", "match_only_text": .text
            case "keyword", "constant_keyword", "wildcard", "flat_object": .keyword
            case "percolator": .percolator
            default: .other(type)
            }
            for key in ["analyzer", "search_analyzer"] {
                guard let analyzer = field[key] else { continue }
                guard let name = analyzer.stringValue, Self.analyzers.contains(name) else {
                    throw Self.error("analyzer [\(analyzer.scalarText ?? analyzer.serialized)] on field [\(path)] is not supported by this server; supported: standard, keyword")
                }
                if name == "keyword", kind == .text { kind = .keyword }
            }
            if field["normalizer"] != nil { throw Self.error("normalizer on field [\(path)] is not supported by this server") }
            fields[path] = kind
            guard fields.count <= Self.maxFields else { throw Self.error("Limit of total fields [\(Self.maxFields)] has been exceeded") }
            if let nested = field["properties"] { try add(nested, prefix: path + ".", depth: depth + 1) }
            if let multi = field["fields"] { try add(multi, prefix: path + ".", depth: depth + 1) }
        }
    }

    /// Builds a mapping from field types directly (the server's own system indices).
    public init(fields: [String: FieldType], flatObjects: Set<String> = []) {
        self.fields = fields
        self.flatObjects = flatObjects
    }

    public func type(of path: String) -> FieldType {
        if let type = fields[path] { return type }
        // Inside a flat_object every leaf is a keyword.
        var prefix = Substring(path)
        while let dot = prefix.lastIndex(of: ".") {
            prefix = prefix[..<dot]
            if flatObjects.contains(String(prefix)) { return .keyword }
        }
        return path.hasSuffix(".keyword") ? .keyword : .text
    }

    /// Paths mapped as percolator fields (their values must be queries).
    public var percolatorFields: [String] { fields.filter { $0.value == .percolator }.map(\.key).sorted() }

    static func error(_ reason: String) -> SearchRequestError { SearchRequestError(type: "mapper_parsing_exception", reason: reason) }
}
