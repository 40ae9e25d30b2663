import Foundation
import OrderedJSON
import ProviderFakes
import Testing

/// Security at the HTTP edge, over real HTTPS: authentication (Basic and API keys), the permission of
/// every route for each built-in role, the security plugin's REST API, the login throttle, the first
/// admin, and that no password or key ever shows in an answer or a log line.
@Suite struct ServerSecurityTests {
    static let ml = "cluster:admin/opensearch/ml/"

    /// One request per action family, with the action it needs.
    static let requests: [(method: String, path: String, body: JSON?, action: String)] = [
        ("POST", "/_plugins/_ml/model_groups/_register", ["name": "group-of-ROLE"], ml + "register_model_group"),
        ("GET", "/_plugins/_ml/model_groups/GROUP", nil, ml + "model_groups/get"),
        ("POST", "/_plugins/_ml/model_groups/_search", [:], ml + "model_groups/search"),
        ("PUT", "/_plugins/_ml/model_groups/GROUP", ["description": "changed"], ml + "update_model_group"),
        ("DELETE", "/_plugins/_ml/model_groups/nope", nil, ml + "model_groups/delete"),
        ("POST", "/_plugins/_ml/models/_register", [:], ml + "register_model"),
        ("POST", "/_plugins/_ml/models/_register_meta", [:], ml + "register_model_meta"),
        ("POST", "/_plugins/_ml/models/nope/upload_chunk/0", ["x": 1], ml + "upload_model_chunk"),
        ("GET", "/_plugins/_ml/models/nope", nil, ml + "models/get"),
        ("GET", "/_plugins/_ml/models/_search", nil, ml + "models/search"),
        ("PUT", "/_plugins/_ml/models/nope", ["description": "x"], ml + "models/update"),
        ("DELETE", "/_plugins/_ml/models/nope", nil, ml + "models/delete"),
        ("POST", "/_plugins/_ml/models/nope/_deploy", nil, ml + "deploy_model"),
        ("POST", "/_plugins/_ml/models/nope/_undeploy", nil, ml + "undeploy_models"),
        ("POST", "/_plugins/_ml/models/_undeploy", ["model_ids": ["nope"]], ml + "undeploy_models"),
        ("POST", "/_plugins/_ml/models/nope/_predict", ["text_docs": ["a"]], ml + "predict"),
        ("POST", "/_plugins/_ml/_predict/text_embedding/nope", ["text_docs": ["a"]], ml + "predict"),
        ("GET", "/_plugins/_ml/tasks/nope", nil, ml + "tasks/get"),
        ("POST", "/_plugins/_ml/tasks/_search", [:], ml + "tasks/search"),
        ("DELETE", "/_plugins/_ml/tasks/nope", nil, ml + "tasks/delete"),
        ("POST", "/_plugins/_ml/connectors/_create", [:], ml + "create_connector"),
        ("GET", "/_plugins/_ml/connectors/nope", nil, ml + "connectors/get"),
        ("POST", "/_plugins/_ml/connectors/_search", [:], ml + "connectors/search"),
        ("PUT", "/_plugins/_ml/connectors/nope", ["description": "x"], ml + "connectors/update"),
        ("DELETE", "/_plugins/_ml/connectors/nope", nil, ml + "connectors/delete"),
        ("POST", "/_plugins/_ml/controllers/nope", ["user_rate_limiter": [:]], ml + "controllers/create"),
        ("GET", "/_plugins/_ml/controllers/nope", nil, ml + "controllers/get"),
        ("PUT", "/_plugins/_ml/controllers/nope", ["user_rate_limiter": [:]], ml + "controllers/update"),
        ("DELETE", "/_plugins/_ml/controllers/nope", nil, ml + "controllers/delete"),
        ("GET", "/_plugins/_ml/stats", nil, ml + "stats/nodes"),
        ("GET", "/_plugins/_ml/profile/models", nil, ml + "profile/nodes"),
        ("POST", "/v1/embeddings", ["model": "nope", "input": "a"], ml + "predict"),
        ("GET", "/", nil, "cluster:monitor/main"),
        ("GET", "/_cluster/settings", nil, "cluster:monitor/state"),
        ("PUT", "/_cluster/settings", ["persistent": [:]], "cluster:admin/settings/update"),
        ("PUT", "/notes-ROLE/_doc/1", ["a": 1], "indices:data/write/index"),
        ("POST", "/notes-ROLE/_search", [:], "indices:data/read/search"),
    ]

    /// What each built-in role may do, written out here (not computed by the server's own rules).
    static let readActions: Set<String> = Set(["model_groups/get", "model_groups/search", "models/get", "models/search", "tasks/get",
                                               "tasks/search", "connectors/get", "connectors/search", "controllers/get", "stats/nodes",
                                               "profile/nodes"].map { ml + $0 })

    static func allowed(_ role: String?, _ action: String) -> Bool {
        switch role {
        case "all_access": true
        case "ml_full_access": action.hasPrefix(ml) || action.hasPrefix("cluster:monitor/")
        case "ml_readonly_access", "ml_read_access": readActions.contains(action)
        default: false
        }
    }

    @Test(arguments: [true, false]) func eachBuiltInRoleAgainstEveryActionFamily(tls: Bool) async throws {
        try await SecureServer.with(tls: tls) { server in
            let group = try await server.admin.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "shared"])
            let groupID = try #require(group["model_group_id"]?.stringValue)
            let roles: [String?] = ["all_access", "ml_full_access", "ml_readonly_access", "ml_read_access", nil]
            for (index, role) in roles.enumerated() {
                let name = "user\(index)"
                let client = try await server.user(name, password: "Pw-\(index)-quartz-lime", roles: role.map { [$0] } ?? [],
                                                   backendRoles: ["team\(index)"])
                for request in Self.requests {
                    let path = request.path.replacingOccurrences(of: "GROUP", with: groupID).replacingOccurrences(of: "ROLE", with: "\(index)")
                    let body = request.body.map { Array($0.serialized.replacingOccurrences(of: "ROLE", with: "\(index)").utf8) }
                    let reply = try await client.send(request.method, path, body: body)
                    let label = "\(role ?? "no role") \(request.method) \(path): \(reply.status) \(reply.text)"
                    if Self.allowed(role, request.action) {
                        #expect(![401, 403].contains(reply.status), "\(label)")
                    } else {
                        #expect(reply.status == 403, "\(label)")
                        let reason = "no permissions for [\(request.action)] and User [name=\(name), backend_roles=[team\(index)], requestedTenant=null]"
                        #expect(try reply.json["error"]?["reason"]?.stringValue == reason, "\(label)")
                        #expect(try reply.json["error"]?["type"]?.stringValue == "security_exception", "\(label)")
                    }
                }
            }
            // A denial is audited with user, address, route and action.
            #expect(server.server.log().contains(#"audit MISSING_PRIVILEGES user="user2" address=127.0.0.1 request="POST /_plugins/_ml/models/_register" action cluster:admin/opensearch/ml/register_model"#))
        }
    }

    @Test func missingOrWrongCredentialsAre401WithAChallengeAndAnAuditLine() async throws {
        try await SecureServer.with { server in
            let wrong = "Wrong-guess-77"
            // Three failed checks from one address: the throttle's free allowance (more are slowed, below).
            let attempts: [(TestClient, String, String)] = [
                (server.anonymous.signedIn("admin", wrong), "GET", "/"),
                (server.anonymous.signedIn("nobody", wrong), "GET", "/no/such/route"),
                (server.anonymous.withKey("mlk_0123456789abcdef01234567_" + String(repeating: "ab", count: 32)), "GET", "/_plugins/_ml/models/_search"),
            ] + [("GET", "/"), ("GET", "/_plugins/_ml/models/_search"), ("POST", "/no/such/route")].map { (server.anonymous, $0.0, $0.1) }
            for (client, method, path) in attempts {
                let reply = try await client.send(method, path)
                #expect(reply.status == 401, "\(client.headers) \(method) \(path): \(reply.text)")
                #expect(reply.header("WWW-Authenticate") == #"Basic realm="OpenSearch Security""#)
                #expect(try reply.json["error"]?["type"]?.stringValue == "security_exception")
                #expect(!reply.text.contains(wrong))
            }
            // Headers that are not credentials at all.
            for header in ["Basic !!!", "Basic " + Data("no-colon".utf8).base64EncodedString(), "Digest abc", "Bearer", "Bearer a b"] {
                var client = server.anonymous
                client.headers = [("Authorization", header)]
                #expect(try await client.send("GET", "/").status == 401, "\(header)")
            }
            // The plugin's health check needs none; a good password is served.
            let health = try await server.anonymous.expect(200, "GET", "/_plugins/_security/health")
            #expect(health["status"]?.stringValue == "UP")
            try await server.admin.expect(200, "GET", "/")
            let log = server.server.log()
            #expect(log.contains(#"audit AUTHENTICATION_FAILED user="<none>" address=127.0.0.1 request="GET /" no credentials"#))
            #expect(log.contains(#"audit AUTHENTICATION_FAILED user="nobody" address=127.0.0.1 request="GET /no/such/route" wrong user name or password"#))
            #expect(log.contains("unknown or revoked API key"))
            try server.expectLogHolds(none: [wrong, SecureServer.adminPassword])
        }
    }

    @Test func theSecurityAPIManagesUsersRolesAndMappings() async throws {
        try await SecureServer.with { server in
            let alicePassword = "Velvet-Tundra-28"
            let alice = try await server.user("alice", password: alicePassword, backendRoles: ["analysts"])
            // Users: listed and fetched without their hash; a second PUT updates.
            let fetched = try await server.admin.expect(200, "GET", "/_plugins/_security/api/internalusers/alice")
            #expect(fetched["alice"]?["hash"]?.stringValue == "")
            #expect(fetched["alice"]?["backend_roles"] == ["analysts"])
            let all = try await server.admin.expect(200, "GET", "/_plugins/_security/api/internalusers")
            #expect(all.objectValue?.keys.sorted() == ["admin", "alice"])
            let updated = try await server.admin.expect(200, "PUT", "/_plugins/_security/api/internalusers/alice", ["backend_roles": ["analysts"]])
            #expect(updated == ["status": "OK", "message": "'alice' updated."])
            try await server.admin.expect(404, "GET", "/_plugins/_security/api/internalusers/bob")
            let weak = try await server.admin.send("PUT", "/_plugins/_security/api/internalusers/bob", json: ["password": "password"])
            #expect(weak.status == 400)
            #expect(try weak.json["message"]?.stringValue?.hasPrefix("Weak password") == true)

            // A non-administrator is refused the security API, in the plugin's shape.
            let refused = try await alice.send("GET", "/_plugins/_security/api/internalusers")
            #expect(refused.status == 403)
            #expect(try refused.json["status"]?.stringValue == "FORBIDDEN")
            // Everyone may read who they are.
            let info = try await alice.expect(200, "GET", "/_plugins/_security/authinfo")
            #expect(info["user_name"] == "alice")
            #expect(info["backend_roles"] == ["analysts"])

            // Built-in roles are reserved.
            for method in ["PUT", "DELETE"] {
                let reply = try await server.admin.send(method, "/_plugins/_security/api/roles/ml_full_access", json: ["cluster_permissions": ["*"]])
                #expect(reply.status == 403, "\(method) \(reply.text)")
            }
            // A role with a wildcard, mapped by backend role: allowed at once; unmapped: refused at once.
            try await alice.expect(403, "GET", "/_plugins/_ml/models/nope")
            try await server.admin.expect(201, "PUT", "/_plugins/_security/api/roles/model_readers",
                                          ["cluster_permissions": ["cluster:admin/opensearch/ml/models/*"]])
            try await server.admin.expect(201, "PUT", "/_plugins/_security/api/rolesmapping/model_readers", ["backend_roles": ["analyst*"]])
            let mapping = try await server.admin.expect(200, "GET", "/_plugins/_security/api/rolesmapping/model_readers")
            #expect(mapping["model_readers"]?["backend_roles"] == ["analyst*"])
            try await alice.expect(404, "GET", "/_plugins/_ml/models/nope")
            try await alice.expect(200, "GET", "/_plugins/_ml/models/_search")
            let predict = try await alice.send("POST", "/_plugins/_ml/models/nope/_predict", json: ["text_docs": ["a"]])
            #expect(try predict.json["error"]?["reason"]?.stringValue
                == "no permissions for [cluster:admin/opensearch/ml/predict] and User [name=alice, backend_roles=[analysts], requestedTenant=null]")
            try await server.admin.expect(200, "DELETE", "/_plugins/_security/api/rolesmapping/model_readers")
            try await alice.expect(403, "GET", "/_plugins/_ml/models/nope")

            // Her own password: the current one is checked, the new one takes over at once.
            let newPassword = "Quiet-Harbor-93"
            let badChange = try await alice.send("PUT", "/_plugins/_security/api/account",
                                                 json: ["current_password": "Not-her-pass-1", "password": .string(newPassword)])
            #expect(badChange.status == 400)
            try await alice.expect(200, "PUT", "/_plugins/_security/api/account", ["current_password": .string(alicePassword), "password": .string(newPassword)])
            #expect(try await alice.send("GET", "/_plugins/_security/authinfo").status == 401)
            try await server.anonymous.signedIn("alice", newPassword).expect(200, "GET", "/_plugins/_security/api/account")

            // Deleting a user ends its sessions.
            try await server.admin.expect(200, "DELETE", "/_plugins/_security/api/internalusers/alice")
            #expect(try await server.anonymous.signedIn("alice", newPassword).send("GET", "/_plugins/_security/authinfo").status == 401)
            try await server.admin.expect(404, "DELETE", "/_plugins/_security/api/internalusers/alice")
            try server.expectLogHolds(none: [alicePassword, newPassword, SecureServer.adminPassword])
        }
    }

    @Test func apiKeysActAsTheirOwnerUntilRevoked() async throws {
        try await SecureServer.with { server in
            let reader = try await server.user("reader", password: "Maple-Crater-55", roles: ["ml_readonly_access"])
            let other = try await server.user("other", password: "Cobalt-Meadow-64", roles: ["ml_readonly_access"])
            let made = try await reader.expect(200, "POST", "/_plugins/_security/api/apikeys", ["name": "search-service"])
            let key = try #require(made["api_key"]?.stringValue)
            let id = try #require(made["id"]?.stringValue)
            #expect(made["owner"] == "reader")
            #expect(key.hasPrefix("mlk_\(id)_"))
            // The key works as Bearer and as ApiKey, with the owner's roles.
            let service = server.anonymous.withKey(key)
            try await service.expect(200, "GET", "/_plugins/_ml/models/_search")
            var apiKeyScheme = server.anonymous
            apiKeyScheme.headers = [("Authorization", "ApiKey " + key)]
            try await apiKeyScheme.expect(200, "GET", "/_plugins/_ml/models/_search")
            let denied = try await service.send("POST", "/_plugins/_ml/models/_register", json: [:])
            #expect(try denied.json["error"]?["reason"]?.stringValue
                == "no permissions for [cluster:admin/opensearch/ml/register_model] and User [name=reader, backend_roles=[], requestedTenant=null]")
            // A key cannot make keys or change its user's password; the list never shows the secret.
            try await service.expect(403, "POST", "/_plugins/_security/api/apikeys", ["name": "more"])
            try await service.expect(403, "PUT", "/_plugins/_security/api/account", ["current_password": "x", "password": "Other-Strong-81"])
            let listed = try await reader.expect(200, "GET", "/_plugins/_security/api/apikeys")
            #expect(listed["api_keys"]?.arrayValue?.count == 1)
            #expect(!listed.serialized.contains(String(key.suffix(64))))
            // Only an administrator makes keys for someone else or lists theirs.
            try await reader.expect(403, "POST", "/_plugins/_security/api/apikeys", ["name": "theirs", "user": "other"])
            try await reader.expect(403, "GET", "/_plugins/_security/api/apikeys?user=other")
            let forOther = try await server.admin.expect(200, "POST", "/_plugins/_security/api/apikeys", ["name": "theirs", "user": "other"])
            let otherKey = try #require(forOther["api_key"]?.stringValue)
            // Someone else's key is not found to a non-administrator.
            try await other.expect(404, "DELETE", "/_plugins/_security/api/apikeys/\(id)")
            try await service.expect(200, "GET", "/_plugins/_ml/models/_search")
            // Revoked: refused at once; still listed, as revoked.
            try await reader.expect(200, "DELETE", "/_plugins/_security/api/apikeys/\(id)")
            #expect(try await service.send("GET", "/_plugins/_ml/models/_search").status == 401)
            let afterRevoke = try await reader.expect(200, "GET", "/_plugins/_security/api/apikeys")
            #expect(afterRevoke["api_keys"]?[0]?["revoked"] == true)
            // Deleting the owner ends its keys.
            try await server.anonymous.withKey(otherKey).expect(200, "GET", "/_plugins/_ml/models/_search")
            try await server.admin.expect(200, "DELETE", "/_plugins/_security/api/internalusers/other")
            #expect(try await server.anonymous.withKey(otherKey).send("GET", "/_plugins/_ml/models/_search").status == 401)
            try server.expectLogHolds(none: [key, otherKey, String(key.suffix(64)), "Maple-Crater-55", "Cobalt-Meadow-64"])
        }
    }

    @Test func repeatedFailuresAreSlowedThenRefusedWithoutLockingOutOthers() async throws {
        try await SecureServer.with { server in
            let password = "Granite-Willow-36"
            let carol = try await server.user("carol", password: password, roles: ["ml_readonly_access"])
            try await server.admin.expect(200, "GET", "/_plugins/_ml/stats")  // the admin's credentials are now verified (cached 60 s)
            let verifiedAt = ContinuousClock.now
            let guesser = server.anonymous.signedIn("carol", "Guess-number-1")
            for _ in 0..<3 { #expect(try await guesser.send("GET", "/_plugins/_ml/stats").status == 401) }  // free
            // From the fourth failure on, each sets a wait (1 s, 2 s, …) before the next attempt is checked;
            // an attempt within it is answered 429 unchecked. Guess until a wait of 8 s or more is under way
            // (waiting out shorter ones; 7 failures in all, below the lockout's 10), so the next request
            // lands inside it even on a machine loaded enough to take seconds between two requests.
            var throttled: HTTPReply?
            for _ in 0..<12 where throttled == nil {
                let reply = try await guesser.send("GET", "/_plugins/_ml/stats")
                guard reply.status == 429 else {
                    #expect(reply.status == 401)
                    continue
                }
                let wait = Int(reply.header("Retry-After") ?? "") ?? 0
                #expect((1...30).contains(wait), "Retry-After \(wait)")
                if wait >= 8 { throttled = reply } else { try await Task.sleep(for: .seconds(wait)) }
            }
            let refusal = try #require(throttled, "no attempt was held back")
            #expect(try refusal.json["error"]?["reason"]?.stringValue?.hasPrefix("Too many failed login attempts") == true)
            // Inside the wait even the right password is refused, unchecked.
            #expect(try await carol.send("GET", "/_plugins/_ml/stats").status == 429)
            // A session already verified is not locked out by someone guessing at another name (while its
            // cache entry lives: a machine loaded enough to take a minute over the guesses has let it expire).
            if ContinuousClock.now - verifiedAt < .seconds(50) {
                try await server.admin.expect(200, "GET", "/_plugins/_ml/stats")
            }
            // After the wait the right password is accepted. (On a machine so loaded that a guess above
            // was answered after its own wait ended, one more wait may have been set: wait that out too.)
            try await Task.sleep(for: .seconds(Int(refusal.header("Retry-After") ?? "") ?? 30))
            var accepted = try await carol.send("GET", "/_plugins/_ml/stats")
            for _ in 0..<2 where accepted.status == 429 {
                try await Task.sleep(for: .seconds(Int(accepted.header("Retry-After") ?? "") ?? 30))
                accepted = try await carol.send("GET", "/_plugins/_ml/stats")
            }
            #expect(accepted.status == 200)
            #expect(server.server.log().contains("throttled after repeated failures"))
        }
    }

    @Test func theFirstStartNeedsAStrongAdminPassword() async throws {
        for (environment, message) in [([String: String](), "No admin user exists yet: set the initial admin password (MLCOMMONS_INITIAL_ADMIN_PASSWORD)"),
                                       (["MLCOMMONS_INITIAL_ADMIN_PASSWORD": "admin123"], "The initial admin password is refused. Weak password"),
                                       (["MLCOMMONS_INITIAL_ADMIN_PASSWORD": "short1"], "The initial admin password is refused. Weak password")] {
            let server = ServerProcess(extraArguments: ["--security"])
            defer { try? FileManager.default.removeItem(at: server.dataDir) }
            server.environment = environment
            await #expect(throws: (any Error).self) { try await server.start() }
            #expect(server.log().contains(message), "\(server.log())")
            #expect(!server.log().contains("Usage:"))
        }
        // Once made, the admin keeps its password: a later start ignores the variable.
        let server = ServerProcess(extraArguments: ["--security"])
        defer { try? FileManager.default.removeItem(at: server.dataDir) }
        server.environment = ["MLCOMMONS_INITIAL_ADMIN_PASSWORD": SecureServer.adminPassword]
        try await server.start()
        try await TestClient(baseURL: server.baseURL).signedIn("admin", SecureServer.adminPassword).expect(200, "GET", "/_plugins/_security/authinfo")
        server.environment = ["MLCOMMONS_INITIAL_ADMIN_PASSWORD": "Another-Strong-19"]
        try await server.restart()
        let client = TestClient(baseURL: server.baseURL)
        try await client.signedIn("admin", SecureServer.adminPassword).expect(200, "GET", "/_plugins/_security/authinfo")
        try await client.signedIn("admin", "Another-Strong-19").expect(401, "GET", "/_plugins/_security/authinfo")
        // Without --security the same store serves everyone, and there is no security API (as without the plugin).
        await server.stop()
        let open = ServerProcess(dataDir: server.dataDir)
        try await open.start()
        try await TestClient(baseURL: open.baseURL).expect(200, "GET", "/_plugins/_ml/models/_search")
        try await TestClient(baseURL: open.baseURL).expect(400, "GET", "/_plugins/_security/authinfo")
        await open.stop()
        #expect(!server.log().contains(SecureServer.adminPassword))
    }

    @Test func aNonLoopbackHostNeedsSecurityAndTLS() async throws {
        let plain = ServerProcess(extraArguments: ["--host", "0.0.0.0", "--security"])
        defer { try? FileManager.default.removeItem(at: plain.dataDir) }
        plain.environment = ["MLCOMMONS_INITIAL_ADMIN_PASSWORD": SecureServer.adminPassword]
        await #expect(throws: (any Error).self) { try await plain.start() }
        #expect(plain.log().contains("refusing to listen on 0.0.0.0 with security but without TLS: passwords and API keys would cross the network in clear"))
        try await SecureServer.with(["--host", "0.0.0.0"]) { server in
            try await server.admin.expect(200, "GET", "/_plugins/_security/authinfo")
            #expect(server.server.log().contains("listening on https://0.0.0.0:"))
        }
    }

    @Test func controllersLimitTheAuthenticatedUser() async throws {
        let provider = FakeProvider()
        try await provider.start()
        defer { provider.stop() }
        try await SecureServer.with { server in
            try await server.admin.expect(200, "PUT", "/_cluster/settings", ["persistent": [
                "plugins.ml_commons.trusted_connector_endpoints_regex": [#"^http://127\.0\.0\.1:[0-9]+/.*$"#],
                "plugins.ml_commons.connector.private_ip_enabled": true,
            ]])
            let registered = try await server.admin.expect(200, "POST", "/_plugins/_ml/models/_register?deploy=true", [
                "name": "limited per user", "function_name": "remote", "connector": Connectors.chat(provider),
            ])
            let modelID = try #require(registered["model_id"]?.stringValue)
            try await server.admin.expect(200, "POST", "/_plugins/_ml/controllers/\(modelID)",
                                          ["user_rate_limiter": ["alice": ["limit": 1, "unit": "MINUTES"]]])
            let alice = try await server.user("alice", password: "Sable-Orchid-47", roles: ["ml_full_access"])
            let bob = try await server.user("bob", password: "Tidal-Ember-58", roles: ["ml_full_access"])
            let path = "/_plugins/_ml/models/\(modelID)/_predict"
            let body: JSON = ["parameters": ["prompt": "hi"]]
            try await alice.expect(200, "POST", path, body)
            let limited = try await alice.send("POST", path, json: body)
            #expect(limited.status == 429)
            #expect(try limited.json["error"]?["reason"]?.stringValue?.hasPrefix("Request is throttled at user level.") == true)
            try await bob.expect(200, "POST", path, body)
            // Naming alice without her password neither spends nor escapes her budget: it is not a user at all.
            #expect(try await server.anonymous.signedIn("alice", "pw").send("POST", path, json: body).status == 401)
        }
    }

    /// §8 over HTTPS: two users in different backend roles (and one sharing a role) against a public,
    /// a private and a restricted group, and a model in each.
    @Test func modelGroupsAndTheirModelsFollowTheAccessRules() async throws {
        let provider = FakeProvider()
        try await provider.start()
        defer { provider.stop() }
        try await SecureServer.with { server in
            try await server.admin.expect(200, "PUT", "/_cluster/settings", ["persistent": [
                "plugins.ml_commons.model_access_control_enabled": true,
                "plugins.ml_commons.trusted_connector_endpoints_regex": [#"^http://127\.0\.0\.1:[0-9]+/.*$"#],
                "plugins.ml_commons.connector.private_ip_enabled": true,
            ]])
            let alice = try await server.user("alice", password: "Amber-Falcon-11", roles: ["ml_full_access"], backendRoles: ["IT"])
            let bob = try await server.user("bob", password: "Birch-Lagoon-22", roles: ["ml_full_access"], backendRoles: ["HR"])
            let carol = try await server.user("carol", password: "Cedar-Meteor-33", roles: ["ml_full_access"], backendRoles: ["IT", "ops"])
            func group(_ body: JSON) async throws -> String {
                try #require(try await alice.expect(200, "POST", "/_plugins/_ml/model_groups/_register", body)["model_group_id"]?.stringValue)
            }
            let open = try await group(["name": "open", "access_mode": "public"])
            let mine = try await group(["name": "mine", "access_mode": "private"])
            let team = try await group(["name": "team", "access_mode": "restricted", "backend_roles": ["IT"]])
            let stored = try await server.admin.expect(200, "GET", "/_plugins/_ml/model_groups/\(team)")
            #expect(stored["owner"]?["name"] == "alice")
            #expect(stored["access"] == "restricted")
            #expect(stored["backend_roles"] == ["IT"])
            // Registering: roles the user does not hold, and restricted without roles, are refused.
            let notHeld = try await bob.send("POST", "/_plugins/_ml/model_groups/_register",
                                             json: ["name": "x", "access_mode": "restricted", "backend_roles": ["IT"]])
            #expect(notHeld.status == 400)
            #expect(try notHeld.json["error"]?["reason"]?.stringValue == "You don't have the backend roles specified.")

            // Get group.
            let groupDenied = "User doesn't have privilege to perform this operation on this model group"
            for (client, id, allowed) in [(bob, open, true), (bob, mine, false), (bob, team, false),
                                          (carol, team, true), (carol, mine, false), (alice, mine, true), (server.admin, mine, true)] {
                let reply = try await client.send("GET", "/_plugins/_ml/model_groups/\(id)")
                if allowed {
                    #expect(reply.status == 200, "\(reply.text)")
                } else {
                    #expect(reply.status == 403, "\(reply.text)")
                    #expect(try reply.json["error"]?["reason"]?.stringValue == groupDenied)
                }
            }
            // Search shows each only what it may see, totals included.
            func visible(_ client: TestClient) async throws -> (Set<String>, Int64?) {
                let reply = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_search", ["query": ["match_all": [:]], "size": 100])
                return (Set(reply["hits"]?["hits"]?.arrayValue?.compactMap { $0["_id"]?.stringValue } ?? []),
                        reply["hits"]?["total"]?["value"]?.intValue)
            }
            #expect(try await visible(bob) == ([open], 1))
            #expect(try await visible(carol) == ([open, team], 2))
            #expect(try await visible(alice) == ([open, mine, team], 3))
            #expect(try await visible(server.admin).0 == [open, mine, team])

            // A model in each group (remote: deployed at once).
            func model(_ groupID: String) async throws -> String {
                let reply = try await alice.expect(200, "POST", "/_plugins/_ml/models/_register?deploy=true", [
                    "name": .string("model in \(groupID)"), "function_name": "remote", "model_group_id": .string(groupID),
                    "connector": Connectors.chat(provider),
                ])
                return try #require(reply["model_id"]?.stringValue)
            }
            let inOpen = try await model(open), inMine = try await model(mine), inTeam = try await model(team)
            // Registering into someone else's private group is refused.
            let intoMine = try await bob.send("POST", "/_plugins/_ml/models/_register", json: [
                "name": "intruder", "function_name": "remote", "model_group_id": .string(mine), "connector": Connectors.chat(provider),
            ])
            #expect(intoMine.status == 400, "\(intoMine.text)")
            #expect(try intoMine.json["error"]?["reason"]?.stringValue == "You don't have permissions to perform this operation on this model.")

            let modelDenied = "User doesn't have privilege to perform this operation on this model"
            let predict: JSON = ["parameters": ["prompt": "hi"]]
            for (client, id, allowed) in [(bob, inOpen, true), (bob, inMine, false), (bob, inTeam, false), (carol, inTeam, true),
                                          (carol, inMine, false), (server.admin, inMine, true)] {
                for (method, suffix, body) in [("GET", "", nil), ("POST", "/_predict", predict), ("POST", "/_deploy", nil),
                                               ("PUT", "", ["description": "changed"] as JSON?), ("POST", "/_undeploy", nil)] {
                    let reply = try await client.send(method, "/_plugins/_ml/models/\(id)\(suffix)", body: body?.serializedBytes)
                    if allowed {
                        #expect(![401, 403].contains(reply.status), "\(method) \(suffix): \(reply.text)")
                    } else {
                        #expect(reply.status == 403, "\(method) \(suffix): \(reply.text)")
                        #expect(try reply.json["error"]?["reason"]?.stringValue == modelDenied, "\(method) \(suffix)")
                    }
                }
            }
            let deleteOther = try await bob.send("DELETE", "/_plugins/_ml/models/\(inMine)")
            #expect(deleteOther.status == 403)
            // Model search leaves out models of groups the user cannot see.
            let models = try await bob.expect(200, "POST", "/_plugins/_ml/models/_search", ["query": ["match_all": [:]], "size": 100])
            let modelIDs = Set(models["hits"]?["hits"]?.arrayValue?.compactMap { $0["_source"]?["model_id"]?.stringValue ?? $0["_id"]?.stringValue } ?? [])
            #expect(modelIDs.contains(inOpen))
            #expect(!modelIDs.contains(inMine) && !modelIDs.contains(inTeam))

            // Only the owner (or an admin) changes access fields; others may not delete the group.
            let change = try await bob.send("PUT", "/_plugins/_ml/model_groups/\(open)", json: ["access_mode": "private"])
            #expect(change.status == 400, "\(change.text)")  // ML Commons throws it as an IllegalArgumentException
            #expect(try change.json["error"]?["reason"]?.stringValue == "Only owner or admin can update access control data.")
            let deleteGroup = try await bob.send("DELETE", "/_plugins/_ml/model_groups/\(mine)")
            #expect(deleteGroup.status == 500, "\(deleteGroup.text)")
            #expect(try deleteGroup.json["error"]?["reason"]?.stringValue == "User doesn't have privilege to delete this model group")
            try await alice.expect(200, "PUT", "/_plugins/_ml/model_groups/\(mine)", ["access_mode": "restricted", "backend_roles": ["IT"]])
            try await carol.expect(200, "GET", "/_plugins/_ml/model_groups/\(mine)")
        }
    }

    /// `mlcommons reset-admin`, with the server stopped, after the admin deleted itself.
    @Test func aLockedOutAdminIsResetOffline() async throws {
        let server = ServerProcess(extraArguments: ["--security"])
        defer { try? FileManager.default.removeItem(at: server.dataDir) }
        server.environment = ["MLCOMMONS_INITIAL_ADMIN_PASSWORD": SecureServer.adminPassword]
        try await server.start()
        let admin = TestClient(baseURL: server.baseURL).signedIn("admin", SecureServer.adminPassword)
        try await admin.expect(200, "DELETE", "/_plugins/_security/api/internalusers/admin")
        try await admin.expect(401, "GET", "/_plugins/_security/authinfo")
        func resetAdmin(_ password: String?) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = ServerProcess.binary
            process.arguments = ["reset-admin", "--data-dir", server.dataDir.path]
            process.environment = ProcessInfo.processInfo.environment.filter { $0.key != "MLCOMMONS_INITIAL_ADMIN_PASSWORD" }
                .merging(password.map { ["MLCOMMONS_INITIAL_ADMIN_PASSWORD": $0] } ?? [:]) { $1 }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, output)
        }
        // Not while the server holds the data dir.
        #expect(try resetAdmin("Renewed-Summit-84").status != 0)
        await server.stop()
        let missing = try resetAdmin(nil)
        #expect(missing.status != 0 && missing.output.contains("Set MLCOMMONS_INITIAL_ADMIN_PASSWORD"), "\(missing.output)")
        let weak = try resetAdmin("password1")
        #expect(weak.status != 0 && weak.output.contains("Weak password") && !weak.output.contains("password1"), "\(weak.output)")
        let done = try resetAdmin("Renewed-Summit-84")
        #expect(done.status == 0, "\(done.output)")
        try await server.start()
        let renewed = TestClient(baseURL: server.baseURL).signedIn("admin", "Renewed-Summit-84")
        #expect(try await renewed.expect(200, "GET", "/_plugins/_security/authinfo")["roles"] == ["all_access"])
        try await TestClient(baseURL: server.baseURL).signedIn("admin", SecureServer.adminPassword).expect(401, "GET", "/_plugins/_security/authinfo")
        await server.stop()
        #expect(!server.log().contains("Renewed-Summit-84"))
    }
}
