@testable import MLCommonsCore
import OrderedJSON
import Security
import Storage
import Testing

/// The users of the access-control tests: two non-admins in different backend roles, a colleague
/// of the first, a user without backend roles, and an admin.
enum Users {
    static let alice = Principal(name: "alice", backendRoles: ["IT"], roles: ["ml_full_access"])
    static let bob = Principal(name: "bob", backendRoles: ["HR"], roles: ["ml_full_access"])
    static let dave = Principal(name: "dave", backendRoles: ["IT"], roles: ["ml_full_access"])
    static let carol = Principal(name: "carol", backendRoles: [], roles: ["ml_full_access"])
    static let admin = Principal(name: "admin", backendRoles: [], roles: ["all_access"])
}

/// Runs `body` as `user` (nil: security off), as the HTTP edge runs each request.
func acting<T: Sendable>(_ user: Principal?, _ body: () async throws -> T) async throws -> T {
    try await Caller.$principal.withValue(user) { try await body() }
}

/// What an operation was refused with, whichever module refused it.
struct Refusal: Equatable, CustomStringConvertible {
    let status: Int
    let type: String
    let reason: String
    init(_ status: Int, _ type: String, _ reason: String) {
        self.status = status
        self.type = type
        self.reason = reason
    }
    var description: String { "\(status) \(type): \(reason)" }

    static func badRequest(_ reason: String) -> Refusal { Refusal(400, "illegal_argument_exception", reason) }
    static let modelDenied = Refusal(403, "security_exception", "User doesn't have privilege to perform this operation on this model")
}

/// The refusal of `body` run as `user`; nil when it succeeded.
func refusal(as user: Principal?, _ body: () async throws -> some Sendable) async -> Refusal? {
    do {
        _ = try await acting(user) { try await body() }
        return nil
    } catch let error as SecurityError {
        return Refusal(error.status, error.type, error.reason)
    } catch let error as MLError {
        return Refusal(error.status, error.type, error.reason)
    } catch {
        return Refusal(0, "\(type(of: error))", "\(error)")
    }
}

extension MLCommons {
    func enableAccessControl(models: Bool = true, connectors: Bool = true) async throws {
        _ = try await settings.update(["persistent": [
            "plugins.ml_commons.model_access_control_enabled": .bool(models),
            "plugins.ml_commons.connector_access_control_enabled": .bool(connectors),
        ]])
    }

    /// Registers a group as `user`; returns its id.
    func group(_ name: String, as user: Principal?, _ access: JSONObject = [:]) async throws -> String {
        var body: JSONObject = ["name": .string(name)]
        for (key, value) in access { body[key] = value }
        let reply = try await acting(user) { try await groups.register(.object(body)) }
        return try #require(reply["model_group_id"]?.stringValue)
    }

    /// Total hits and ids of a search of `index` as `user`.
    func visible(_ index: String, as user: Principal?, size: Int = 10) async throws -> (total: Int, ids: Set<String>) {
        // Model search returns chunk documents too (as before); the tests count models.
        var request = SearchRequest(query: index == Indices.model ? .not(.exists(field: "chunk_number")) : .matchAll)
        request.size = size
        let hits = try await acting(user) {
            index == Indices.model ? try await searchModels(request) : try await search(index: index, request)
        }
        return (hits.total, Set(hits.hits.map(\.document.id)))
    }
}
