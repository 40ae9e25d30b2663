import OrderedJSON

/// Bounds on everything a client may put into the security configuration (hostile input).
enum Validation {
    static let maximumNameLength = 128
    static let maximumListCount = 256
    static let maximumEntryLength = 256
    static let maximumAttributes = 64
    static let maximumAttributeValueLength = 1024
    static let maximumDescriptionLength = 4096

    /// User, role and key names: 1…128 of letters, digits and `. _ - @`, not starting with `_` or `.`
    /// (those are how the REST paths and system names begin).
    static func name(_ value: String, of kind: String) throws(SecurityError) {
        guard !value.isEmpty, value.utf8.count <= maximumNameLength else {
            throw .badRequest("The \(kind) name must be 1 to \(maximumNameLength) characters long")
        }
        guard value.unicodeScalars.allSatisfy({ $0.isASCII && (isAlphanumeric($0) || "._-@".unicodeScalars.contains($0)) }),
              let first = value.unicodeScalars.first, first != "_", first != "." else {
            throw .badRequest("The \(kind) name [\(printable(value))] may hold only letters, digits and . _ - @, and must not start with _ or .")
        }
    }

    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// A list of strings (`backend_roles`, `users`, permissions): bounded, no empty or control-character entries.
    static func strings(_ json: JSON?, field: String) throws(SecurityError) -> [String] {
        guard let json, !json.isNull else { return [] }
        guard let array = json.arrayValue else { throw .badRequest("[\(field)] must be an array of strings") }
        guard array.count <= maximumListCount else { throw .badRequest("[\(field)] may hold at most \(maximumListCount) entries") }
        var result: [String] = []
        for item in array {
            guard let text = item.stringValue else { throw .badRequest("[\(field)] must be an array of strings") }
            guard !text.isEmpty, text.utf8.count <= maximumEntryLength,
                  !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .badRequest("Each entry of [\(field)] must be 1 to \(maximumEntryLength) characters without control characters")
            }
            if !result.contains(text) { result.append(text) }
        }
        return result
    }

    /// `attributes`: an object of string values, bounded.
    static func attributes(_ json: JSON?) throws(SecurityError) -> JSONObject {
        guard let json, !json.isNull else { return [:] }
        guard let object = json.objectValue else { throw .badRequest("[attributes] must be an object of strings") }
        guard object.count <= maximumAttributes else { throw .badRequest("[attributes] may hold at most \(maximumAttributes) entries") }
        for (key, value) in object {
            guard !key.isEmpty, key.utf8.count <= maximumNameLength else {
                throw .badRequest("Each key of [attributes] must be 1 to \(maximumNameLength) characters long")
            }
            guard let text = value.stringValue, text.utf8.count <= maximumAttributeValueLength else {
                throw .badRequest("[attributes.\(printable(key))] must be a string of at most \(maximumAttributeValueLength) characters")
            }
        }
        return object
    }

    static func description(_ json: JSON?) throws(SecurityError) -> String? {
        guard let json, !json.isNull else { return nil }
        guard let text = json.stringValue, text.utf8.count <= maximumDescriptionLength else {
            throw .badRequest("[description] must be a string of at most \(maximumDescriptionLength) characters")
        }
        return text
    }

    /// Refuses keys the body shape does not have, as the security plugin's "Invalid configuration" does.
    static func onlyKnownKeys(_ body: JSONObject, _ known: Set<String>) throws(SecurityError) {
        let unknown = body.keys.filter { !known.contains($0) }
        if !unknown.isEmpty {
            throw .badRequest("Invalid configuration: unknown keys [\(unknown.prefix(10).map(printable).joined(separator: ", "))]")
        }
    }

    /// A client's text echoed in a message: shortened, control characters dropped.
    static func printable(_ text: String) -> String {
        let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.generalCategory != .control }))
        return kept.count > 64 ? String(kept.prefix(64)) + "…" : kept
    }
}
