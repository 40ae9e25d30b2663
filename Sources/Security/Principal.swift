import OrderedJSON

/// Who a request runs as, once authenticated: the user's name, backend roles, and the security
/// roles it holds (given directly or through role mappings by name or backend role).
public struct Principal: Sendable, Equatable {
    public var name: String
    public var backendRoles: [String]
    public var roles: [String]
    /// Set when the request authenticated with an API key rather than a password.
    public var apiKeyID: String?

    public init(name: String, backendRoles: [String] = [], roles: [String] = [], apiKeyID: String? = nil) {
        self.name = name
        self.backendRoles = backendRoles
        self.roles = roles
        self.apiKeyID = apiKeyID
    }

    /// ML Commons' "admin": holds `all_access`.
    public var isAdmin: Bool { roles.contains(BuiltInRoles.allAccess) }

    /// The `owner` object ML Commons stores on model groups and connectors.
    public var ownerJSON: JSONObject {
        ["name": .string(name), "backend_roles": JSON(backendRoles), "roles": JSON(roles),
         "custom_attribute_names": [], "user_requested_tenant": nil]
    }

    /// The body of `GET /_plugins/_security/authinfo`.
    public var authInfo: JSONObject {
        ["user": .string("User [name=\(name), backend_roles=[\(backendRoles.joined(separator: ", "))], requestedTenant=null]"),
         "user_name": .string(name), "user_requested_tenant": nil, "backend_roles": JSON(backendRoles),
         "custom_attribute_names": [], "roles": JSON(roles), "tenants": [:], "principal": nil,
         "peer_certificates": "0", "sso_logout_url": nil]
    }
}
