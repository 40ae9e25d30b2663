import Foundation
import OrderedJSON
import Storage

/// `_register_meta` + `upload_chunk/N` (§2.5): a client uploads a model zip in chunks of at most 10 MB.
/// As in ML Commons, the chunk numbered `total_chunks - 1` completes the registration and the hash
/// is checked when the model is deployed. Unlike ML Commons, completing keeps the fields given at
/// `_register_meta` (description, is_enabled, rate_limiter, …) instead of dropping them.
struct ChunkedUpload: Sendable {
    let context: CoreContext
    let registration: ModelRegistration

    private func requireLocalFileUploads(_ settings: EffectiveSettings) throws {
        if !settings.bool(MLSettings.allowLocalFile) {
            throw MLError.illegalArgument("To upload custom model from local file, user needs to enable allow_registering_model_via_local_file settings. Otherwise please use opensearch pre-trained models")
        }
    }

    func registerMeta(_ body: JSON?) async throws -> JSON {
        let settings = try await context.settings.current()
        try requireLocalFileUploads(settings)
        let input = try RegisterModelInput.parse(body, meta: true, settings: settings)
        try registration.checkLocalModelsEnabled(settings)
        if let groupID = input.modelGroupID, try await context.store.get(index: Indices.modelGroup, id: groupID) == nil {
            throw MLError.resourceNotFound("Fail to find model group")
        }
        try await registration.checkGroupAccess(input)
        let id = input.customModelID ?? Identifiers.newID()
        // One transaction: the group claim and the REGISTERING meta document the chunks will complete.
        do {
            _ = try await GroupClaim.commit(groupID: input.modelGroupID, modelName: input.name, description: input.description,
                                            access: input.groupAccess, user: input.user, groups: context.groups) { claim in
                var meta = registration.metaDocument(input, claim: claim, state: .registering)
                meta["model_content_hash_value"] = input.hash.map(JSON.string)
                meta["model_content_size_in_bytes"] = input.sizeInBytes.map(JSON.int)
                meta["total_chunks"] = .int(Int64(input.totalChunks ?? 0))
                return [.put(index: Indices.model, id: id, source: ModelDocument.ordered(meta), condition: .mustNotExist)]
            }
        } catch StoreError.versionConflict(let index, _, _) where index == Indices.model {
            throw MLError(status: 409, type: "status_exception", reason: "Model '\(id)' already exists")
        }
        return ["model_id": .string(id), "status": "CREATED"]
    }

    func uploadChunk(modelID: String, number: String, bytes: [UInt8]) async throws -> JSON {
        let settings = try await context.settings.current()
        try requireLocalFileUploads(settings)
        guard let chunkNumber = Int(number), chunkNumber >= 0 else {
            throw MLError.illegalArgument("chunk_number must be a non-negative integer, got [\(number)]")
        }
        guard let meta = try await context.models.meta(modelID) else { throw MLError.resourceNotFound("Failed to find model") }
        let total = Int(meta.source["total_chunks"]?.intValue ?? 0)
        if chunkNumber >= total { throw MLError.generic("Chunk number exceeds total chunks") }
        if bytes.isEmpty { throw MLError.generic("Chunk size either 0 or null") }
        if bytes.count > ModelRegistration.chunkSize { throw MLError.generic("Chunk size exceeds 10MB") }
        // The chunk is stored only while its model exists (a concurrent delete cannot orphan it); the
        // last chunk and the model's REGISTERED state are one transaction.
        let chunkID = ModelDocument.chunkID(modelID, chunkNumber)
        let last = chunkNumber == total - 1
        if last { try await checkLoadable(meta, total: total, lastChunk: bytes) }
        try await context.store.writeRetrying {
            guard let meta = try await context.models.meta(modelID) else { throw MLError.resourceNotFound("Failed to find model") }
            let chunk = StoreWrite.put(index: Indices.model, id: chunkID,
                                       source: ModelDocument.chunkSource(meta: meta.source, modelID: modelID, number: chunkNumber, total: total),
                                       attachment: bytes, condition: .always)
            let condition = WriteCondition.ifMatch(seqNo: meta.seqNo, primaryTerm: meta.primaryTerm)
            guard last else { return [.check(index: Indices.model, id: modelID, condition: condition), chunk] }
            var source = meta.source
            source["model_state"] = .string(ModelState.registered.rawValue)
            source["last_registered_time"] = .int(nowMillis())
            source["last_updated_time"] = .int(nowMillis())
            return [chunk, .put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source), condition: condition)]
        }
        if last {
            context.logger.info("model \(modelID): last chunk (\(chunkNumber + 1)/\(total)) uploaded, model registered")
        }
        return ["status": "Uploaded"]
    }

    /// Before the last chunk registers the model: the engine checks the whole artifact, so a broken
    /// upload is refused here (400, the model stays REGISTERING) rather than failing a later deploy.
    /// Chunks sent out of order may not all be stored yet; then deploy is where the artifact is checked.
    private func checkLoadable(_ meta: StoredDocument, total: Int, lastChunk: [UInt8]) async throws {
        guard let format = meta.source["model_format"]?.stringValue.flatMap(ModelFormat.init(parsing:)),
              let function = meta.source["algorithm"]?.stringValue.flatMap(FunctionName.init(parsing:)) else { return }
        let file = context.dataDir.appendingPathComponent("tmp").appendingPathComponent("upload-\(meta.id)-\(Identifiers.newID()).zip")
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            _ = try await ChunkAssembly.write(modelID: meta.id, total: total, lastChunk: lastChunk, to: file, store: context.store)
        } catch is ChunkAssembly.MissingChunk {
            return
        }
        do {
            try registration.deployment.engine.validate(ModelLoadRequest(
                modelID: meta.id, name: meta.source["name"]?.stringValue ?? "", artifact: file, format: format, function: function,
                modelConfig: meta.source["model_config"]))
        } catch let error as MLError {
            throw MLError.illegalArgument("The uploaded model cannot be registered: \(error.reason)")
        }
    }
}
