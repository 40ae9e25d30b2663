import OrderedJSON

/// Which users and backend roles get a role (`rolesmapping/<role>`).
public struct RoleMapping: Sendable, Equatable {
    public var role: String
    public var users: [String]
    public var backendRoles: [String]
    public var description: String?

    public init(role: String, users: [String] = [], backendRoles: [String] = [], description: String? = nil) {
        self.role = role
        self.users = users
        self.backendRoles = backendRoles
        self.description = description
    }

    /// Parses a `PUT rolesmapping/<role>` body. `hosts` and `and_backend_roles` are accepted only empty.
    public init(role: String, body: JSONObject) throws(SecurityError) {
        try Validation.name(role, of: "role")
        try Validation.onlyKnownKeys(body, ["users", "backend_roles", "hosts", "and_backend_roles", "description"])
        for field in ["hosts", "and_backend_roles"] where !(body[field]?.arrayValue?.isEmpty ?? true) {
            throw .badRequest("[\(field)] is not supported in role mappings here")
        }
        self.init(role: role, users: try Validation.strings(body["users"], field: "users"),
                  backendRoles: try Validation.strings(body["backend_roles"], field: "backend_roles"),
                  description: try Validation.description(body["description"]))
    }

    /// Whether the mapping gives its role to this user (user names and backend roles may be wildcards).
    public func applies(toUser name: String, backendRoles roles: [String]) -> Bool {
        users.contains { Wildcard.matches($0, name) } || backendRoles.contains { pattern in roles.contains { Wildcard.matches(pattern, $0) } }
    }

    /// The security plugin's `GET rolesmapping/<role>` entry.
    public var rendered: JSONObject {
        var object: JSONObject = ["hosts": [], "users": JSON(users), "reserved": false, "hidden": false,
                                  "backend_roles": JSON(backendRoles), "and_backend_roles": []]
        if let description { object["description"] = .string(description) }
        return object
    }

    var document: JSONObject {
        var object: JSONObject = ["type": "rolesmapping", "name": .string(role), "users": JSON(users), "backend_roles": JSON(backendRoles)]
        if let description { object["description"] = .string(description) }
        return object
    }

    init?(document: JSONObject) {
        guard let role = document["name"]?.stringValue else { return nil }
        self.init(role: role, users: document["users"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  backendRoles: document["backend_roles"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  description: document["description"]?.stringValue)
    }
}
