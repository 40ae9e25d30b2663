import OrderedJSON

extension SecurityStore {
    /// HTTP Basic: the principal for a right user name and password, else `SecurityError.unauthorized`.
    /// An unknown user costs the same hash as a known one, so timing does not tell which names exist.
    public func authenticate(basic name: String, password: String) async throws -> Principal {
        let user = password.utf8.count <= PasswordPolicy.maximumLength ? try await user(name) : nil
        let verified = hasher.verify(password, against: user?.hash ?? Self.decoyHash)
        guard let user, verified else { throw SecurityError.unauthorized }
        return try await principal(for: user)
    }

    /// `Authorization: Bearer <key>`: the principal of the key's owner, unless the key is unknown,
    /// revoked, or its owner was deleted.
    public func authenticate(apiKey presented: String) async throws -> Principal {
        guard let parsed = APIKey.parse(presented), let key = try await apiKey(id: parsed.id),
              key.matches(secret: parsed.secret), !key.revoked,
              let owner = try await user(key.owner) else { throw SecurityError.unauthorized }
        var principal = try await principal(for: owner)
        principal.apiKeyID = key.id
        return principal
    }

    /// The user's roles: its own `opendistro_security_roles` and every role mapped to its name or a
    /// backend role, in name order.
    public func principal(for user: InternalUser) async throws -> Principal {
        var roles = Set(user.securityRoles)
        for mapping in try await mappings() where mapping.applies(toUser: user.name, backendRoles: user.backendRoles) {
            roles.insert(mapping.role)
        }
        return Principal(name: user.name, backendRoles: user.backendRoles, roles: roles.sorted())
    }

    /// Whether the principal's roles allow the cluster action (roles read fresh from the store).
    public func permits(_ principal: Principal, action: String) async throws -> Bool {
        Authorization.permits(principal, action: action, roles: try await resolvedRoles(principal))
    }

    /// Throws the security plugin's 403 `security_exception` when the action is not allowed.
    public func require(_ principal: Principal, action: String) async throws {
        try Authorization.require(principal, action: action, roles: try await resolvedRoles(principal))
    }

    func resolvedRoles(_ principal: Principal) async throws -> [String: Role] {
        var roles: [String: Role] = [:]
        for name in principal.roles.prefix(Validation.maximumListCount) {
            if let role = try await role(name) { roles[name] = role }
        }
        return roles
    }

    /// A well-formed hash of nothing anyone knows, verified when the user does not exist.
    static let decoyHash: String = (try? PasswordHasher().hash(APIKey.randomHex(bytes: 16))) ?? ""
}
