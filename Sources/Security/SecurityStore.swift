import Foundation
import OrderedJSON
import Storage

/// Users, roles, role mappings and API keys in the document store's system index, so every node
/// sharing the store sees one configuration. Built-in roles live in code (`BuiltInRoles`).
public final class SecurityStore: Sendable {
    public static let index = ".plugins-security-config"

    let store: any DocumentStore
    let hasher: PasswordHasher
    let now: @Sendable () -> Int64

    /// - Parameter now: milliseconds since 1970, for the keys' `created_time`.
    public init(store: any DocumentStore, hasher: PasswordHasher = PasswordHasher(),
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) {
        self.store = store
        self.hasher = hasher
        self.now = now
    }

    // MARK: Users

    public func user(_ name: String) async throws -> InternalUser? {
        guard (try? Validation.name(name, of: "user")) != nil,
              let document = try await store.get(index: Self.index, id: Self.id("internaluser", name)) else { return nil }
        return InternalUser(document: document.source)
    }

    public func users() async throws -> [InternalUser] {
        try await all("internaluser").compactMap(InternalUser.init(document:))
    }

    /// Creates or replaces a user (`PUT internalusers/<name>`); true when it was created. A new user
    /// needs a password; an existing one keeps its hash when none is given.
    @discardableResult
    public func putUser(_ name: String, _ update: InternalUser.Update) async throws -> Bool {
        try Validation.name(name, of: "user")
        let existing = try await store.get(index: Self.index, id: Self.id("internaluser", name))
        let hash: String
        if let password = update.password {
            try PasswordPolicy.check(password, userName: name)
            hash = try hasher.hash(password)
        } else if let stored = existing.flatMap({ InternalUser(document: $0.source) }) {
            hash = stored.hash
        } else {
            throw SecurityError.badRequest("Please specify a 'password' when creating a new internal user.")
        }
        let user = InternalUser(name: name, hash: hash, backendRoles: update.backendRoles, securityRoles: update.securityRoles,
                                attributes: update.attributes, description: update.description)
        // A concurrent change between the read and the write fails the write instead of being overwritten.
        let condition: WriteCondition = existing.map { .ifMatch(seqNo: $0.seqNo, primaryTerm: $0.primaryTerm) } ?? .mustNotExist
        try await store.put(index: Self.index, id: Self.id("internaluser", name), source: user.document, condition: condition)
        return existing == nil
    }

    /// Deletes a user and, in the same transaction, its API keys; false when there was none.
    @discardableResult
    public func deleteUser(_ name: String) async throws -> Bool {
        guard try await user(name) != nil else { return false }
        let keys = try await apiKeys(owner: name)
        try await store.write([.delete(index: Self.index, id: Self.id("internaluser", name), condition: .mustExist)]
            + keys.map { .delete(index: Self.index, id: Self.id("apikey", $0.id)) })
        return true
    }

    /// `PUT /_plugins/_security/api/account`: a user changes its own password, giving the current one.
    public func changePassword(user name: String, current: String, new password: String) async throws {
        guard let document = try await store.get(index: Self.index, id: Self.id("internaluser", name)),
              var user = InternalUser(document: document.source) else { throw SecurityError.notFound("User \(name) not found") }
        guard hasher.verify(current, against: user.hash) else { throw SecurityError.badRequest("Could not validate your current password.") }
        try PasswordPolicy.check(password, userName: name)
        user.hash = try hasher.hash(password)
        try await store.put(index: Self.index, id: document.id, source: user.document,
                            condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))
    }

    // MARK: Roles

    public func role(_ name: String) async throws -> Role? {
        if let builtIn = BuiltInRoles.role(named: name) { return builtIn }
        guard (try? Validation.name(name, of: "role")) != nil,
              let document = try await store.get(index: Self.index, id: Self.id("role", name)) else { return nil }
        return Role(document: document.source)
    }

    /// Built-in roles first, then the stored ones by name.
    public func roles() async throws -> [Role] {
        BuiltInRoles.all + (try await all("role").compactMap(Role.init(document:)).filter { BuiltInRoles.role(named: $0.name) == nil })
    }

    @discardableResult
    public func putRole(_ role: Role) async throws -> Bool {
        if BuiltInRoles.role(named: role.name) != nil { throw SecurityError.reserved(role.name) }
        try Validation.name(role.name, of: "role")
        var stored = role
        stored.reserved = false
        let previous = try await store.get(index: Self.index, id: Self.id("role", role.name))
        try await store.put(index: Self.index, id: Self.id("role", role.name), source: stored.document)
        return previous == nil
    }

    @discardableResult
    public func deleteRole(_ name: String) async throws -> Bool {
        if BuiltInRoles.role(named: name) != nil { throw SecurityError.reserved(name) }
        guard (try? Validation.name(name, of: "role")) != nil else { return false }
        return try await store.delete(index: Self.index, id: Self.id("role", name)) != nil
    }

    // MARK: Role mappings

    public func mapping(_ role: String) async throws -> RoleMapping? {
        guard (try? Validation.name(role, of: "role")) != nil,
              let document = try await store.get(index: Self.index, id: Self.id("rolesmapping", role)) else { return nil }
        return RoleMapping(document: document.source)
    }

    public func mappings() async throws -> [RoleMapping] {
        try await all("rolesmapping").compactMap(RoleMapping.init(document:))
    }

    /// Maps users and backend roles to an existing role; true when the mapping was created.
    @discardableResult
    public func putMapping(_ mapping: RoleMapping) async throws -> Bool {
        guard try await role(mapping.role) != nil else { throw SecurityError.notFound("The role '\(mapping.role)' does not exist") }
        let previous = try await store.get(index: Self.index, id: Self.id("rolesmapping", mapping.role))
        try await store.put(index: Self.index, id: Self.id("rolesmapping", mapping.role), source: mapping.document)
        return previous == nil
    }

    @discardableResult
    public func deleteMapping(_ role: String) async throws -> Bool {
        guard (try? Validation.name(role, of: "role")) != nil else { return false }
        return try await store.delete(index: Self.index, id: Self.id("rolesmapping", role)) != nil
    }

    // MARK: API keys

    /// A new key for an existing user: the stored record and the secret to show once.
    public func createAPIKey(name: String, owner: String) async throws -> (key: APIKey, secret: String) {
        try Validation.name(name, of: "API key")
        guard try await user(owner) != nil else { throw SecurityError.notFound("User \(owner) not found") }
        let made = APIKey.generate(name: name, owner: owner, now: now())
        try await store.put(index: Self.index, id: Self.id("apikey", made.key.id), source: made.key.document, condition: .mustNotExist)
        return made
    }

    public func apiKey(id: String) async throws -> APIKey? {
        guard id.count == 24, id.allSatisfy(\.isHexDigit),
              let document = try await store.get(index: Self.index, id: Self.id("apikey", id)) else { return nil }
        return APIKey(document: document.source)
    }

    public func apiKeys(owner: String) async throws -> [APIKey] {
        try await all("apikey", .term("owner.keyword", .string(owner))).compactMap(APIKey.init(document:))
    }

    /// Marks a key revoked (it stays listed as revoked); false when there is no such key.
    @discardableResult
    public func revokeAPIKey(id: String) async throws -> Bool {
        guard var key = try await apiKey(id: id) else { return false }
        key.revoked = true
        try await store.put(index: Self.index, id: Self.id("apikey", id), source: key.document, condition: .mustExist)
        return true
    }

    // MARK: Helpers

    static func id(_ type: String, _ name: String) -> String { "\(type):\(name)" }

    func all(_ type: String, _ filter: Query? = nil) async throws -> [JSONObject] {
        guard try await store.indexExists(Self.index) else { return [] }
        let byType = Query.term("type.keyword", .string(type))
        return try await store.all(index: Self.index, query: filter.map { .and(byType, $0) } ?? byType)
            .map(\.source).sorted { ($0["name"]?.stringValue ?? "") < ($1["name"]?.stringValue ?? "") }
    }
}
