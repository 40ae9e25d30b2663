import OrderedJSON

/// A role (`roles`): the cluster actions it allows, as action names or wildcard patterns.
public struct Role: Sendable, Equatable {
    public var name: String
    public var clusterPermissions: [String]
    public var description: String?
    /// Built-in roles are reserved: they can be neither changed nor deleted.
    public var reserved: Bool

    public init(name: String, clusterPermissions: [String], description: String? = nil, reserved: Bool = false) {
        self.name = name
        self.clusterPermissions = clusterPermissions
        self.description = description
        self.reserved = reserved
    }

    /// Parses a `PUT roles/<name>` body. Index and tenant permissions are accepted only empty: this
    /// server has no per-index security.
    public init(name: String, body: JSONObject) throws(SecurityError) {
        try Validation.name(name, of: "role")
        try Validation.onlyKnownKeys(body, ["cluster_permissions", "index_permissions", "tenant_permissions", "description"])
        for field in ["index_permissions", "tenant_permissions"] where !(body[field]?.arrayValue?.isEmpty ?? true) {
            throw .badRequest("[\(field)] is not supported: this server has cluster permissions only")
        }
        let permissions = try Validation.strings(body["cluster_permissions"], field: "cluster_permissions")
        self.init(name: name, clusterPermissions: permissions, description: try Validation.description(body["description"]))
    }

    /// The security plugin's `GET roles/<name>` entry.
    public var rendered: JSONObject {
        var object: JSONObject = ["reserved": .bool(reserved), "hidden": false]
        if let description { object["description"] = .string(description) }
        object["cluster_permissions"] = JSON(clusterPermissions)
        object["index_permissions"] = []
        object["tenant_permissions"] = []
        object["static"] = .bool(reserved)
        return object
    }

    var document: JSONObject {
        var object: JSONObject = ["type": "role", "name": .string(name), "cluster_permissions": JSON(clusterPermissions)]
        if let description { object["description"] = .string(description) }
        return object
    }

    init?(document: JSONObject) {
        guard let name = document["name"]?.stringValue else { return nil }
        self.init(name: name, clusterPermissions: document["cluster_permissions"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  description: document["description"]?.stringValue)
    }
}
