import OrderedJSON
import Storage

extension SecurityStore {
    public static let adminUser = "admin"
    static let bootstrapMarker = "meta:bootstrap"

    /// On the first start with security on: creates `admin` with `initialAdminPassword`, mapped to
    /// `all_access`, in one transaction with a marker; on later starts does nothing. Returns whether it
    /// created the admin. A missing or weak password is refused with what to do.
    @discardableResult
    public func bootstrap(initialAdminPassword: String?) async throws -> Bool {
        if try await store.get(index: Self.index, id: Self.bootstrapMarker) != nil { return false }
        guard let password = initialAdminPassword, !password.isEmpty else {
            throw SecurityError.badRequest("No admin user exists yet: set the initial admin password "
                + "(MLCOMMONS_INITIAL_ADMIN_PASSWORD) to a strong password to create user [admin]")
        }
        do {
            try PasswordPolicy.check(password, userName: Self.adminUser)
        } catch {
            throw SecurityError.badRequest("The initial admin password is refused. \(error.reason)")
        }
        let admin = InternalUser(name: Self.adminUser, hash: try hasher.hash(password),
                                 description: "The first administrator, made at the first start")
        var mapping = try await mapping(BuiltInRoles.allAccess) ?? RoleMapping(role: BuiltInRoles.allAccess)
        if !mapping.users.contains(Self.adminUser) { mapping.users.append(Self.adminUser) }
        do {
            try await store.write([
                .put(index: Self.index, id: Self.bootstrapMarker, source: ["type": "meta", "bootstrapped_at": .int(now())],
                     condition: .mustNotExist),
                .put(index: Self.index, id: Self.id("internaluser", Self.adminUser), source: admin.document),
                .put(index: Self.index, id: Self.id("rolesmapping", BuiltInRoles.allAccess), source: mapping.document),
            ])
        } catch StoreError.versionConflict {
            return false  // another node bootstrapped first
        }
        return true
    }
}

extension SecurityStore {
    /// Recovery for an operator locked out (the admin deleted, its password lost, its mapping
    /// changed): sets `admin`'s password, keeps its other fields, and maps it to `all_access`, in one
    /// transaction. Run offline (`mlcommons reset-admin`), by whoever holds the data dir.
    public func resetAdmin(password: String?) async throws {
        guard let password, !password.isEmpty else {
            throw SecurityError.badRequest("Set MLCOMMONS_INITIAL_ADMIN_PASSWORD to the new password of user [admin]")
        }
        do {
            try PasswordPolicy.check(password, userName: Self.adminUser)
        } catch {
            throw SecurityError.badRequest("The new admin password is refused. \(error.reason)")
        }
        var admin = try await user(Self.adminUser) ?? InternalUser(name: Self.adminUser, hash: "", description: "Made again by reset-admin")
        admin.hash = try hasher.hash(password)
        var mapping = try await mapping(BuiltInRoles.allAccess) ?? RoleMapping(role: BuiltInRoles.allAccess)
        if !mapping.users.contains(Self.adminUser) { mapping.users.append(Self.adminUser) }
        try await store.write([
            .put(index: Self.index, id: Self.bootstrapMarker, source: ["type": "meta", "bootstrapped_at": .int(now())]),
            .put(index: Self.index, id: Self.id("internaluser", Self.adminUser), source: admin.document),
            .put(index: Self.index, id: Self.id("rolesmapping", BuiltInRoles.allAccess), source: mapping.document),
        ])
    }
}
