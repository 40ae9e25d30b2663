import Foundation
import OrderedJSON
import Storage

/// Get, update, delete and search of models (§2.6–2.9).
struct ModelService: Sendable {
    let context: CoreContext
    let deployment: Deployment

    func get(_ id: String, returnContent: Bool) async throws -> JSON {
        guard let document = try await context.store.get(index: Indices.model, id: id) else {
            if try await !context.store.indexExists(Indices.model) { throw MLError.status(404, "Fail to find model") }
            throw MLError.status(404, "Failed to find model with the provided model id: \(id)")
        }
        var source = document.source
        if returnContent, source["chunk_number"] != nil,
           let bytes = try await context.store.attachment(index: Indices.model, id: id) {
            source["model_content"] = .string(Data(bytes).base64EncodedString())
            source = ModelDocument.ordered(source)
        }
        source["connector"]?["credential"] = nil
        return .object(source)
    }

    /// Model search: hidden models are left out and large or secret fields never returned.
    func search(_ request: SearchRequest) async throws -> SearchHits {
        var request = request
        let visible = Query.bool(BoolQuery(should: [.term("is_hidden", false), .not(.exists(field: "is_hidden"))]))
        request.query = .and(request.query, visible)
        // With access control ON: only models in groups the user may see (§8), inside the query.
        if let groups = try await context.access.modelSearchFilter() { request.query = .and(request.query, groups) }
        request.source = request.source.excluding(["model_content", "content", "connector.credential"])
        return try await context.store.search(index: Indices.model, request: request)
    }

    static let updatableFields: Set<String> = [
        "name", "description", "model_group_id", "is_enabled", "rate_limiter", "model_config", "deploy_setting",
        "connector_id", "connector", "guardrails", "interface",
    ]
    static let ignoredUpdateFields: Set<String> = ["model_version", "updated_connector", "model_id", "last_updated_time"]

    func update(_ id: String, body: JSON?) async throws -> WriteResult {
        guard let body = body?.objectValue, !body.isEmpty else { throw MLError.parse("Update model request has empty body") }
        for key in body.keys where !Self.updatableFields.contains(key) && !Self.ignoredUpdateFields.contains(key) {
            throw MLError.parse("[update_model] unknown field [\(key)]; updatable fields: \(Self.updatableFields.sorted().joined(separator: ", "))")
        }
        if body["connector_id"] != nil && body["connector"] != nil {
            throw MLError.illegalArgument("Model cannot have both stand-alone connector and internal connector. Please check your update model request.")
        }
        guard let document = try await context.models.meta(id) else {
            throw MLError.status(404, "Failed to find model to update with the provided model id: \(id)")
        }
        if context.models.state(of: document) == .deploying {
            throw MLError.status(409, "Model is deploying. Please wait for the model to complete deployment. model ID \(id)")
        }
        let function = document.source["algorithm"]?.stringValue.flatMap(FunctionName.init(parsing:))
        guard function == .textEmbedding || function == .remote else {
            throw MLError.status(403, "The function category \(document.source["algorithm"]?.stringValue ?? "unknown") is not supported at this time.")
        }
        if function != .remote, body["connector_id"] != nil || body["connector"] != nil {
            throw MLError.illegalArgument("Trying to update the connector or connector_id field on a local model.")
        }
        let config = try body["model_config"].map { try ModelConfig.normalize($0, function: .textEmbedding) }
        let rateLimiter = try body["rate_limiter"].map { try Self.validRateLimiter($0) }
        if let enabled = body["is_enabled"], enabled.boolValue == nil { throw MLError.parse("is_enabled must be a boolean") }
        let newGroup = body["model_group_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        // One transaction: a move to another group takes that group's next version with the model's write.
        let outcome = try await context.store.writeRetrying {
            guard let current = try await context.models.meta(id) else {
                throw MLError.status(404, "Failed to find model to update with the provided model id: \(id)")
            }
            var source = current.source
            var writes: [StoreWrite] = []
            if let newGroup, newGroup != source["model_group_id"]?.stringValue {
                guard let group = try await context.store.get(index: Indices.modelGroup, id: newGroup) else {
                    throw MLError.status(404, "Failed to find model group with the provided model group id: \(newGroup)")
                }
                var groupSource = group.source
                let version = (groupSource["latest_version"]?.intValue ?? 0) + 1
                groupSource["latest_version"] = .int(version)
                groupSource["last_updated_time"] = .int(nowMillis())
                writes.append(.put(index: Indices.modelGroup, id: newGroup, source: groupSource,
                                   condition: .ifMatch(seqNo: group.seqNo, primaryTerm: group.primaryTerm)))
                source["model_group_id"] = .string(newGroup)
                source["model_version"] = .string(String(version))
            }
            for key in ["name", "description", "is_enabled", "deploy_setting", "guardrails", "interface"] {
                if let value = body[key] { source[key] = value }
            }
            // Remote models: a stand-alone connector replaces an inline one and the other way round.
            if let connectorID = body["connector_id"] { source["connector_id"] = connectorID; source["connector"] = nil }
            if let inline = body["connector"] { source["connector"] = inline; source["connector_id"] = nil }
            if let config { source["model_config"] = .object(config) }
            if let rateLimiter {
                var merged = source["rate_limiter"]?.objectValue ?? [:]
                for (key, value) in rateLimiter { merged[key] = value }
                source["rate_limiter"] = .object(merged)
            }
            source["last_updated_time"] = .int(nowMillis())
            writes.append(.put(index: Indices.model, id: id, source: ModelDocument.ordered(source),
                               condition: .ifMatch(seqNo: current.seqNo, primaryTerm: current.primaryTerm)))
            return writes
        }
        guard let stored = outcome.last?.storedDocument else {
            throw MLError.status(404, "Failed to find model to update with the provided model id: \(id)")
        }
        return WriteResult(index: Indices.model, id: id, version: stored.version, seqNo: stored.seqNo,
                           primaryTerm: stored.primaryTerm, outcome: .updated)
    }

    static let timeUnits = ["NANOSECONDS", "MICROSECONDS", "MILLISECONDS", "SECONDS", "MINUTES", "HOURS", "DAYS"]

    /// `{"limit": "<positive number>", "unit": "<TimeUnit>"}`, either part optional.
    static func validRateLimiter(_ value: JSON) throws -> JSONObject {
        guard let object = value.objectValue else { throw MLError.parse("rate_limiter must be an object") }
        var result = JSONObject()
        if let limit = object["limit"] {
            guard let number = limit.doubleValue, number > 0, number.isFinite else { throw MLError.parse("Limit field must be a positive number.") }
            result["limit"] = .string(limit.scalarText ?? String(number))
        }
        if let unit = object["unit"] {
            guard let text = unit.stringValue, timeUnits.contains(text.uppercased()) else {
                throw MLError.parse("Unit field must be one of \(timeUnits.joined(separator: ", ")).")
            }
            result["unit"] = .string(text.uppercased())
        }
        return result
    }

    func delete(_ id: String) async throws -> WriteResult {
        if try await !context.store.indexExists(Indices.model) { throw MLError.status(404, "Failed to find model") }
        guard let document = try await context.models.meta(id) else {
            if try await context.store.get(index: Indices.model, id: id) != nil {
                throw MLError.illegalArgument("\(id) is a chunk of a model; delete the model instead")
            }
            throw MLError.status(404, "Failed to find model")
        }
        var current = document
        var deleted: StoredDocument?
        for attempt in 0..<10 {
            let loadedHere = await deployment.isDeployed(id)
            if context.models.state(of: current)?.blocksDelete == true || loadedHere {
                throw MLError.illegalArgument("Model cannot be deleted in deploying or deployed state. Try undeploy model first then delete")
            }
            do {
                // Conditional on the model as checked: a deploy that started meanwhile makes it check again.
                deleted = try await context.models.deleteWithChunks(id, condition: .ifMatch(seqNo: current.seqNo, primaryTerm: current.primaryTerm))
                break
            } catch StoreError.versionConflict where attempt < 9 {
                guard let again = try await context.models.meta(id) else { return .notFound(index: Indices.model, id: id) }
                current = again
            }
        }
        guard let deleted else { return .notFound(index: Indices.model, id: id) }
        try? FileManager.default.removeItem(at: context.artifactDir(for: id))
        return WriteResult(index: Indices.model, id: id, version: deleted.version, seqNo: deleted.seqNo,
                           primaryTerm: deleted.primaryTerm, outcome: .deleted)
    }
}
