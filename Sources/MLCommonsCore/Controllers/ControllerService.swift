import Connectors
import OrderedJSON
import Storage

/// Model controllers (§7.2): per-user rate limits of a model, kept in `.plugins-ml-controller`
/// under the model's id and enforced on every predict of that model (local or remote).
struct ControllerService: Sendable {
    let context: CoreContext
    let limiter: RateLimiter

    static let index = ".plugins-ml-controller"

    private func checkEnabled() async throws {
        if !(try await context.settings.current()).bool(MLSettings.controllerEnabled) {
            throw MLError(status: 500, type: "illegal_state_exception",
                          reason: "Controller is currently disabled. To enable it, update the setting \"plugins.ml_commons.controller_enabled\" to true.")
        }
    }

    /// `POST /controllers/<model_id>`: `{"model_id", "status": "CREATED" | "UPDATED"}`.
    func create(_ modelID: String, body: JSON?) async throws -> JSON {
        try await checkEnabled()
        guard let limits = body?["user_rate_limiter"]?.objectValue else {
            throw MLError.parse("Create model controller request has empty body")
        }
        let validated = try Self.validate(limits)
        guard let model = try await context.models.meta(modelID) else {
            throw MLError.status(404, "Failed to find model to create the corresponding model controller with the provided model ID")
        }
        let function = model.source["algorithm"]?.stringValue ?? ""
        guard function == FunctionName.textEmbedding.rawValue || function == FunctionName.remote.rawValue else {
            throw MLError.status(403, "Creating model controller on this operation on the function category \(function) is not supported.")
        }
        if context.models.state(of: model) == .deploying {
            throw MLError.status(409, "Creating a model controller during its corresponding model in DEPLOYING state is not allowed, please either wait for the model to be deployed or reindex the model.")
        }
        let existed = try await context.store.get(index: Self.index, id: modelID) != nil
        try await context.store.put(index: Self.index, id: modelID, source: ["model_id": .string(modelID), "user_rate_limiter": .object(validated)])
        try await context.models.update(modelID) { $0["is_controller_enabled"] = true }
        await limiter.reset(modelID: modelID)
        return ["model_id": .string(modelID), "status": existed ? "UPDATED" : "CREATED"]
    }

    func get(_ modelID: String) async throws -> JSON {
        try await checkEnabled()
        guard let document = try await context.store.get(index: Self.index, id: modelID) else {
            if try await !context.store.indexExists(Self.index) { throw MLError.status(404, "Failed to find model controller") }
            throw MLError.status(404, "Failed to find model controller with the provided model ID")
        }
        return ["model_id": .string(modelID), "user_rate_limiter": document.source["user_rate_limiter"] ?? [:]]
    }

    /// `PUT /controllers/<model_id>`: merges per user.
    func update(_ modelID: String, body: JSON?) async throws -> WriteResult {
        try await checkEnabled()
        guard let limits = body?["user_rate_limiter"]?.objectValue else { throw MLError.parse("Update model controller request has empty body") }
        let validated = try Self.validate(limits)
        guard try await context.models.meta(modelID) != nil else {
            throw MLError.status(404, "Failed to find model to update the corresponding model controller with the provided model ID")
        }
        guard let existing = try await context.store.get(index: Self.index, id: modelID) else {
            throw MLError.status(409, "Model controller haven't been created for the model. Consider calling create model controller api instead.")
        }
        var merged = existing.source["user_rate_limiter"]?.objectValue ?? [:]
        for (user, limit) in validated { merged[user] = limit }
        let stored = try await context.store.put(index: Self.index, id: modelID,
                                                 source: ["model_id": .string(modelID), "user_rate_limiter": .object(merged)],
                                                 condition: .ifMatch(seqNo: existing.seqNo, primaryTerm: existing.primaryTerm))
        await limiter.reset(modelID: modelID)
        return WriteResult(index: Self.index, id: modelID, version: stored.version, seqNo: stored.seqNo, primaryTerm: stored.primaryTerm, outcome: .updated)
    }

    func delete(_ modelID: String) async throws -> WriteResult {
        try await checkEnabled()
        guard let deleted = try await context.store.delete(index: Self.index, id: modelID) else {
            return .notFound(index: Self.index, id: modelID)
        }
        _ = try await context.models.update(modelID) { $0["is_controller_enabled"] = nil }
        await limiter.reset(modelID: modelID)
        return WriteResult(index: Self.index, id: modelID, version: deleted.version, seqNo: deleted.seqNo,
                           primaryTerm: deleted.primaryTerm, outcome: .deleted)
    }

    /// Takes a token from the user's bucket of the model, if its controller limits that user: 429 when empty.
    func admit(modelID: String, user: String) async throws {
        guard let document = try await context.store.get(index: Self.index, id: modelID),
              let json = document.source["user_rate_limiter"]?[user],
              let limit = try? RateLimit(json: json) else { return }
        try await connectorCall { () async throws(ConnectorError) in try await limiter.acquire(.init(modelID: modelID, user: user), limit: limit) }
    }

    /// Each user's `{"limit", "unit"}`, stored with the limit as a string.
    static func validate(_ limits: JSONObject) throws -> JSONObject {
        var result = JSONObject()
        for (user, value) in limits {
            guard value.objectValue != nil else { throw MLError.parse("user_rate_limiter of \(user) must be an object") }
            guard let limit = try connectorCall({ () throws(ConnectorError) in try RateLimit(json: value) }) else {
                throw MLError.parse("user_rate_limiter of \(user) needs both limit and unit")
            }
            result[user] = limit.json
        }
        return result
    }
}
