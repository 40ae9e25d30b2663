import OrderedJSON

extension JSON {
    /// The string form ML Commons keeps for a parameter: strings as they are, anything else as
    /// compact JSON (`7` → `"7"`, `[1,2]` → `"[1,2]"`).
    var parameterText: String {
        if case .string(let text) = self { return text }
        return serialized
    }

    /// Parses text as one JSON document, or nil.
    static func parseOrNil(_ text: String) -> JSON? { try? JSON.parse(text) }
}

extension JSONObject {
    /// Every value in its parameter string form, keys kept in order.
    var parameterStrings: JSONObject {
        JSONObject(entries.map { (key: $0.key, value: JSON.string($0.value.parameterText)) })
    }

    /// Lookup of a value's parameter string form.
    func text(_ key: String) -> String? { self[key]?.parameterText }
}

/// JSON string escaping without the surrounding quotes, for splicing into a string literal.
func jsonEscaped(_ text: String) -> String {
    let quoted = JSON.string(text).serialized
    return String(quoted.dropFirst().dropLast())
}
