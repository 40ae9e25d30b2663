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
