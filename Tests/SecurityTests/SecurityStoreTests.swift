import Foundation
import Logging
import OrderedJSON
@testable import Security
import Storage
import Testing

/// The security configuration over a real SQLite file through `SQLiteDocumentStore`.
@Suite struct SecurityStoreTests {
    /// Runs `body` over a fresh store file, closing the store afterwards (SQLite connections must be closed).
    static func withStore(_ body: (SecurityStore, SQLiteDocumentStore, String) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("security-\(UUID().uuidString).sqlite").path
        let store = try await SQLiteDocumentStore.open(path: path, logger: Logger(label: "security-test"))
        do {
            try await body(SecurityStore(store: store), store, path)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    static func user(_ body: JSONObject) throws -> InternalUser.Update { try InternalUser.Update(body: body) }

    @Test func bootstrapCreatesTheAdminOnceAndRefusesWeakOrMissingPasswords() async throws {
        try await Self.withStore { (security, store, path) async throws in
            await #expect(throws: SecurityError.self) { try await security.bootstrap(initialAdminPassword: nil) }
            await #expect(throws: SecurityError.self) { try await security.bootstrap(initialAdminPassword: "admin") }
            await #expect(throws: SecurityError.self) { try await security.bootstrap(initialAdminPassword: "Admin12345") }
            #expect(try await security.user("admin") == nil)

            #expect(try await security.bootstrap(initialAdminPassword: "Blue-Whale-42"))
            let admin = try await security.authenticate(basic: "admin", password: "Blue-Whale-42")
            #expect(admin.roles == ["all_access"] && admin.isAdmin)

            // Later starts do nothing, whatever they are given: the password stays the first one.
            #expect(try await !security.bootstrap(initialAdminPassword: "Other-Secret-99"))
            #expect(try await !security.bootstrap(initialAdminPassword: nil))
            await #expect(throws: SecurityError.unauthorized) { try await security.authenticate(basic: "admin", password: "Other-Secret-99") }

            // And on another connection to the same file, as after a restart.
            let second = try await SQLiteDocumentStore.open(path: path, logger: Logger(label: "t"))
            let reopened = SecurityStore(store: second)
            let bootstrappedAgain: Bool, stillAdmin: Bool
            do {  // closed on every path: a dropped open connection asserts in debug builds
                bootstrappedAgain = try await reopened.bootstrap(initialAdminPassword: "Other-Secret-99")
                stillAdmin = try await reopened.authenticate(basic: "admin", password: "Blue-Whale-42").isAdmin
            } catch {
                try? await second.close()
                throw error
            }
            try await second.close()
            #expect(!bootstrappedAgain && stillAdmin)
            _ = store
        }
    }

    @Test func usersRoundTripWithoutEverRenderingTheirHash() async throws {
        try await Self.withStore { (security, _, _) async throws in
            let created = try await security.putUser("alice", Self.user([
                "password": "Correct-Horse-7", "backend_roles": ["IT", "IT", "ops"], "attributes": ["team": "search"],
            ]))
            #expect(created)
            let alice = try #require(try await security.user("alice"))
            #expect(alice.backendRoles == ["IT", "ops"])
            #expect(alice.hash.hasPrefix("$pbkdf2-sha512$"))
            let rendered = JSON.object(alice.rendered).serialized
            #expect(!rendered.contains("pbkdf2") && !rendered.contains("Correct-Horse-7"))
            #expect(alice.rendered["hash"] == "")

            // Replacing without a password keeps it; with a weak one is refused.
            #expect(try await !security.putUser("alice", Self.user(["backend_roles": ["HR"]])))
            #expect(try await security.authenticate(basic: "alice", password: "Correct-Horse-7").backendRoles == ["HR"])
            await #expect(throws: SecurityError.self) { try await security.putUser("alice", Self.user(["password": "alice123"])) }
            await #expect(throws: SecurityError.self) { try await security.putUser("bob", Self.user(["backend_roles": ["HR"]])) }
            #expect(throws: SecurityError.self) { try Self.user(["hash": "$2y$12$x"]) }
            #expect(throws: SecurityError.self) { try Self.user(["password": "Correct-Horse-7", "admin": true]) }
            #expect(throws: SecurityError.self) { try Self.user(["backend_roles": JSON.array(Array(repeating: "r", count: 257))]) }
            await #expect(throws: SecurityError.self) { try await security.putUser("_bad", Self.user(["password": "Correct-Horse-7"])) }
            await #expect(throws: SecurityError.self) {
                try await security.putUser(String(repeating: "a", count: 129), Self.user(["password": "Correct-Horse-7"]))
            }

            #expect(try await security.users().map(\.name) == ["alice"])
            #expect(try await security.deleteUser("alice"))
            #expect(try await !security.deleteUser("alice"))
            await #expect(throws: SecurityError.unauthorized) { try await security.authenticate(basic: "alice", password: "Correct-Horse-7") }
        }
    }

    @Test func authenticationResolvesRolesByNameAndBackendRole() async throws {
        try await Self.withStore { (security, _, _) async throws in
            try await security.putUser("alice", Self.user(["password": "Correct-Horse-7", "backend_roles": ["IT"]]))
            try await security.putUser("bob", Self.user(["password": "Battery-Staple-9", "opendistro_security_roles": ["ml_readonly_access"]]))
            try await security.putRole(Role(name: "predictor", body: ["cluster_permissions": ["cluster:admin/opensearch/ml/predict"]]))
            try await security.putMapping(RoleMapping(role: "ml_full_access", body: ["backend_roles": ["IT"]]))
            try await security.putMapping(RoleMapping(role: "predictor", body: ["users": ["b*"]]))
            await #expect(throws: SecurityError.self) { try await security.putMapping(RoleMapping(role: "nonexistent", users: ["x"])) }

            let alice = try await security.authenticate(basic: "alice", password: "Correct-Horse-7")
            #expect(alice.roles == ["ml_full_access"])
            let bob = try await security.authenticate(basic: "bob", password: "Battery-Staple-9")
            #expect(bob.roles == ["ml_readonly_access", "predictor"])
            #expect(try await security.permits(bob, action: "cluster:admin/opensearch/ml/predict"))
            #expect(try await security.permits(bob, action: "cluster:admin/opensearch/ml/models/get"))
            #expect(try await !security.permits(bob, action: "cluster:admin/opensearch/ml/deploy_model"))
            #expect(try await security.permits(alice, action: "cluster:admin/opensearch/ml/deploy_model"))
            await #expect(throws: SecurityError.forbidden(
                "no permissions for [cluster:admin/opensearch/ml/deploy_model] and User [name=bob, backend_roles=[], requestedTenant=null]")) {
                try await security.require(bob, action: "cluster:admin/opensearch/ml/deploy_model")
            }

            for (name, password) in [("alice", "Battery-Staple-9"), ("nobody", "Correct-Horse-7"), ("alice", ""),
                                     ("alice", String(repeating: "x", count: 5000)), ("", "")] {
                await #expect(throws: SecurityError.unauthorized) { try await security.authenticate(basic: name, password: password) }
            }

            // Removing the mapping takes the role away at the next login.
            #expect(try await security.deleteMapping("predictor"))
            #expect(try await security.authenticate(basic: "bob", password: "Battery-Staple-9").roles == ["ml_readonly_access"])
        }
    }

    @Test func builtInRolesAreReservedAndCustomRolesAreNot() async throws {
        try await Self.withStore { (security, _, _) async throws in
            for name in ["all_access", "ml_full_access", "ml_readonly_access", "ml_read_access"] {
                await #expect(throws: SecurityError.reserved(name)) { try await security.deleteRole(name) }
                await #expect(throws: SecurityError.reserved(name)) { try await security.putRole(Role(name: name, clusterPermissions: ["*"])) }
                #expect(try await security.role(name)?.rendered["reserved"] == true)
            }
            #expect(try await security.role("ml_full_access")?.clusterPermissions == ["cluster:admin/opensearch/ml/*", "cluster_monitor"])

            #expect(try await security.putRole(Role(name: "custom", body: ["cluster_permissions": ["cluster:admin/opensearch/ml/models/*"],
                                                                           "description": "models only"])))
            #expect(try await security.role("custom")?.rendered["reserved"] == false)
            #expect(try await security.roles().map(\.name) == ["all_access", "ml_full_access", "ml_readonly_access", "ml_read_access", "custom"])
            #expect(throws: SecurityError.self) { try Role(name: "x", body: ["index_permissions": [["index_patterns": ["*"]]]]) }
            #expect(throws: SecurityError.self) { try Role(name: "x", body: ["cluster_permissions": "cluster:*"]) }
            #expect(try await security.deleteRole("custom"))
            #expect(try await security.role("custom") == nil)
        }
    }

    @Test func apiKeysAuthenticateAsTheirOwnerUntilRevoked() async throws {
        try await Self.withStore { (security, store, _) async throws in
            try await security.putUser("svc", Self.user(["password": "Correct-Horse-7", "backend_roles": ["apps"]]))
            try await security.putMapping(RoleMapping(role: "ml_full_access", backendRoles: ["apps"]))
            let (key, secret) = try await security.createAPIKey(name: "embedder", owner: "svc")
            #expect(secret.hasPrefix("mlk_\(key.id)_"))

            let principal = try await security.authenticate(apiKey: secret)
            #expect(principal.name == "svc" && principal.roles == ["ml_full_access"] && principal.apiKeyID == key.id)
            // The secret is nowhere in the stored document or the rendered key.
            let stored = try #require(try await store.get(index: SecurityStore.index, id: "apikey:\(key.id)"))
            let secretPart = String(secret.split(separator: "_").last!)
            #expect(!JSON.object(stored.source).serialized.contains(secretPart))
            #expect(!JSON.object(key.rendered).serialized.contains(secretPart))

            let tampered = String(secret.dropLast()) + (secret.last == "0" ? "1" : "0")
            for bad in [tampered, "", "mlk_", "Bearer " + secret, String(repeating: "a", count: 10_000), "mlk_\(key.id)_zz"] {
                await #expect(throws: SecurityError.unauthorized) { try await security.authenticate(apiKey: bad) }
            }

            #expect(try await security.revokeAPIKey(id: key.id))
            await #expect(throws: SecurityError.unauthorized) { try await security.authenticate(apiKey: secret) }
            #expect(try await security.apiKeys(owner: "svc").map(\.revoked) == [true])
            #expect(try await !security.revokeAPIKey(id: "000000000000000000000000"))

            // Deleting the owner deletes its keys in the same transaction.
            let (_, second) = try await security.createAPIKey(name: "other", owner: "svc")
            #expect(try await security.deleteUser("svc"))
            #expect(try await security.apiKeys(owner: "svc").isEmpty)
            await #expect(throws: SecurityError.unauthorized) { try await security.authenticate(apiKey: second) }
            await #expect(throws: SecurityError.self) { try await security.createAPIKey(name: "k", owner: "svc") }
        }
    }

    @Test func ownPasswordChangeNeedsTheCurrentOne() async throws {
        try await Self.withStore { (security, _, _) async throws in
            try await security.putUser("alice", Self.user(["password": "Correct-Horse-7"]))
            await #expect(throws: SecurityError.self) {
                try await security.changePassword(user: "alice", current: "wrong-Password-1", new: "Battery-Staple-9")
            }
            await #expect(throws: SecurityError.self) { try await security.changePassword(user: "alice", current: "Correct-Horse-7", new: "short") }
            try await security.changePassword(user: "alice", current: "Correct-Horse-7", new: "Battery-Staple-9")
            #expect(try await security.authenticate(basic: "alice", password: "Battery-Staple-9").name == "alice")
            await #expect(throws: SecurityError.unauthorized) { try await security.authenticate(basic: "alice", password: "Correct-Horse-7") }
        }
    }
}
