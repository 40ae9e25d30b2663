import Foundation
import OrderedJSON
import Security
import Storage

/// The security plugin's REST API (`/_plugins/_security`), so `opensearch-py`'s `client.security`
/// manages users, roles and mappings here as on OpenSearch; plus API keys for services and
/// OpenAI-style clients. Only served with security on. Answers use the plugin's own shapes
/// (`{"status": "CREATED", "message": ...}`), not ML Commons' error bodies.
struct SecurityRoutes {
    let authenticator: Authenticator
    static let base = "/_plugins/_security"
    static let api = base + "/api"

    private var store: SecurityStore { authenticator.store }

    func add(to table: inout RouteTable) {
        addIdentity(&table)
        addUsers(&table)
        addRoles(&table)
        addMappings(&table)
        addAPIKeys(&table)
    }

    // MARK: - Who am I

    private func addIdentity(_ table: inout RouteTable) {
        let store = store, cache = authenticator.cache, authenticator = authenticator
        table.add("GET", "\(Self.base)/health", access: .anonymous) { _ in .ok(["message": nil, "mode": "strict", "status": "UP"]) }
        table.add("GET", "\(Self.base)/authinfo", access: .authenticated) { request in .ok(.object(try request.caller().authInfo)) }
        table.add("GET", "\(Self.base)/whoami", access: .authenticated) { request in
            .ok(["dn": nil, "is_admin": .bool(try request.caller().isAdmin), "is_node_certificate_request": false])
        }
        table.add("GET", "\(Self.api)/account", access: .authenticated) { request in
            let caller = try request.caller()
            return .ok(["user_name": .string(caller.name), "is_reserved": false, "is_hidden": false, "is_internal_user": true,
                        "user_requested_tenant": nil, "backend_roles": JSON(caller.backendRoles), "custom_attribute_names": [],
                        "tenants": [:], "roles": JSON(caller.roles)])
        }
        table.add("PUT", "\(Self.api)/account", access: .authenticated) { request in
            try await SecurityReplies.answering {
                let caller = try request.caller()
                guard caller.apiKeyID == nil else { throw SecurityError.forbidden("An API key cannot change its user's password") }
                let body = try request.securityBody()
                try Self.onlyKeys(body, ["current_password", "password"])
                guard let current = body["current_password"]?.stringValue, let password = body["password"]?.stringValue else {
                    throw SecurityError.badRequest("Both [current_password] and [password] are required")
                }
                try await authenticator.withSlowHashing { try await store.changePassword(user: caller.name, current: current, new: password) }
                cache.invalidateAll()
                return SecurityReplies.status(200, "'\(caller.name)' updated.")
            }
        }
    }

    // MARK: - Users, roles, mappings

    private func addUsers(_ table: inout RouteTable) {
        let store = store, authenticator = authenticator
        addResource(&table, "internalusers", list: {
            JSON.object(JSONObject(try await store.users().map { ($0.name, JSON.object($0.rendered)) }))
        }, get: { name in try await store.user(name).map { .object($0.rendered) } },
        put: { name, body in
            let update = try InternalUser.Update(body: body)
            return try await authenticator.withSlowHashing { try await store.putUser(name, update) }
        }, delete: { name in try await store.deleteUser(name) })
    }

    private func addRoles(_ table: inout RouteTable) {
        let store = store
        addResource(&table, "roles", list: {
            JSON.object(JSONObject(try await store.roles().map { ($0.name, JSON.object($0.rendered)) }))
        }, get: { name in try await store.role(name).map { .object($0.rendered) } },
        put: { name, body in try await store.putRole(try Role(name: name, body: body)) },
        delete: { name in try await store.deleteRole(name) })
    }

    private func addMappings(_ table: inout RouteTable) {
        let store = store
        addResource(&table, "rolesmapping", list: {
            JSON.object(JSONObject(try await store.mappings().map { ($0.role, JSON.object($0.rendered)) }))
        }, get: { name in try await store.mapping(name).map { .object($0.rendered) } },
        put: { name, body in try await store.putMapping(try RoleMapping(role: name, body: body)) },
        delete: { name in try await store.deleteMapping(name) })
    }

    /// `GET <kind>`, `GET|PUT|DELETE <kind>/{name}`, for security administrators; every change
    /// empties the authentication cache, so it applies from the next request.
    private func addResource(_ table: inout RouteTable, _ kind: String,
                             list: @escaping @Sendable () async throws -> JSON,
                             get: @escaping @Sendable (String) async throws -> JSON?,
                             put: @escaping @Sendable (String, JSONObject) async throws -> Bool,
                             delete: @escaping @Sendable (String) async throws -> Bool) {
        let cache = authenticator.cache
        let path = "\(Self.api)/\(kind)"
        table.add("GET", path, access: .securityAdmin) { _ in try await SecurityReplies.answering { .ok(try await list()) } }
        table.add("GET", path + "/{name}", access: .securityAdmin) { request in
            try await SecurityReplies.answering {
                let name = request.parameter("name")
                guard let found = try await get(name) else { return SecurityReplies.status(404, "'\(name)' not found.") }
                return .ok([name: found])
            }
        }
        table.add("PUT", path + "/{name}", access: .securityAdmin) { request in
            try await SecurityReplies.answering {
                let name = request.parameter("name")
                let created = try await put(name, try request.securityBody())
                cache.invalidateAll()
                return created ? SecurityReplies.status(201, "'\(name)' created.") : SecurityReplies.status(200, "'\(name)' updated.")
            }
        }
        table.add("DELETE", path + "/{name}", access: .securityAdmin) { request in
            try await SecurityReplies.answering {
                let name = request.parameter("name")
                guard try await delete(name) else { return SecurityReplies.status(404, "'\(name)' not found.") }
                cache.invalidateAll()
                return SecurityReplies.status(200, "'\(name)' deleted.")
            }
        }
    }

    // MARK: - API keys

    /// Keys act as their owner. Anyone signed in with a password may make keys for themself; a
    /// security administrator may make them for any user. Keys cannot make keys.
    private func addAPIKeys(_ table: inout RouteTable) {
        let store = store, cache = authenticator.cache
        let path = "\(Self.api)/apikeys"
        table.add("POST", path, access: .authenticated) { request in
            try await SecurityReplies.answering {
                let caller = try request.caller()
                guard caller.apiKeyID == nil else { throw SecurityError.forbidden("An API key cannot create API keys; sign in with a password") }
                let body = try request.securityBody()
                try Self.onlyKeys(body, ["name", "user"])
                guard let name = body["name"]?.stringValue else { throw SecurityError.badRequest("[name] is required: a name for the key") }
                let owner = body["user"]?.stringValue ?? caller.name
                if owner != caller.name && !caller.isAdmin {
                    throw SecurityError.forbidden("Only a security administrator can create API keys for another user")
                }
                let made = try await store.createAPIKey(name: name, owner: owner)
                var answer = made.key.rendered
                answer["api_key"] = .string(made.secret)
                return .ok(.object(answer))
            }
        }
        table.add("GET", path, access: .authenticated) { request in
            try await SecurityReplies.answering {
                let caller = try request.caller()
                let owner = request.query["user"] ?? caller.name
                if owner != caller.name && !caller.isAdmin {
                    throw SecurityError.forbidden("Only a security administrator can list another user's API keys")
                }
                return .ok(["api_keys": .array(try await store.apiKeys(owner: owner).map { .object($0.rendered) })])
            }
        }
        table.add("DELETE", path + "/{id}", access: .authenticated) { request in
            try await SecurityReplies.answering {
                let caller = try request.caller()
                let id = request.parameter("id")
                // Someone else's key is "not found" to a non-administrator: ids are not confirmed.
                guard let key = try await store.apiKey(id: id), key.owner == caller.name || caller.isAdmin,
                      try await store.revokeAPIKey(id: id) else { return SecurityReplies.status(404, "API key '\(id)' not found.") }
                cache.invalidateAll()
                return SecurityReplies.status(200, "API key '\(key.id)' revoked.")
            }
        }
    }

    static func onlyKeys(_ body: JSONObject, _ keys: Set<String>) throws {
        if let unknown = body.keys.first(where: { !keys.contains($0) }) {
            throw SecurityError.badRequest("Unknown field [\(EdgeSecurity.quoted(unknown, quotes: false))]; expected \(keys.sorted())")
        }
    }
}

/// The security plugin's answer shapes.
enum SecurityReplies {
    static let statusNames = [200: "OK", 201: "CREATED", 400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                              409: "CONFLICT", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR"]

    static func status(_ code: Int, _ message: String) -> APIReply {
        APIReply(status: code, body: ["status": .string(statusNames[code] ?? "ERROR"), "message": .string(message)])
    }

    /// Runs a handler, answering its `SecurityError`s and store conflicts in the plugin's shape.
    static func answering(_ body: () async throws -> APIReply) async throws -> APIReply {
        do {
            return try await body()
        } catch let error as SecurityError {
            var reply = status(error.status, error.reason)
            if let seconds = error.retryAfter { reply.headers.append(("Retry-After", String(seconds))) }
            return reply
        } catch let error as JSONParseError {
            return status(400, "The request body is not valid JSON: \(error.description)")
        } catch StoreError.versionConflict {
            return status(409, "The resource was changed by another request at the same time; try again")
        }
    }
}

extension APIRequest {
    /// The authenticated principal; the security routes are only served with security on.
    func caller() throws -> Principal {
        guard let principal else { throw SecurityError.unauthorized }
        return principal
    }

    /// A JSON object body, as the security plugin requires for its writes.
    func securityBody() throws -> JSONObject {
        guard let body = try json() else { throw SecurityError.badRequest("Request body required for this action.") }
        guard let object = body.objectValue else { throw SecurityError.badRequest("The request body must be a JSON object") }
        return object
    }
}
