import Foundation
import Inference
import Logging
import OrderedJSON
import Security
import Storage

/// `POST /models/_register`: pretrained models by name and custom models by URL (§2.4).
///
/// The request returns a task at once; the work runs in the background. The artifact is downloaded
/// and its SHA-256 and layout checked before anything is stored, so most failures leave nothing
/// behind. Later failures roll back what was written (meta doc, chunks, the group or its version),
/// and a journal entry lets the next start roll back a registration a crash interrupted.
struct ModelRegistration: Sendable {
    let context: CoreContext
    let deployment: Deployment
    let running: RunningJobs

    static let chunkSize = 10_000_000

    func register(_ body: JSON?, deploy: Bool) async throws -> JSON {
        let settings = try await context.settings.current()
        let input = try RegisterModelInput.parse(body, meta: false, settings: settings)
        try checkLocalModelsEnabled(settings)
        if let url = input.url { try checkCustomURL(url, settings: settings) }
        try ResourceGuard.check(settings, dataDir: context.dataDir)
        if let id = input.customModelID, try await context.store.get(index: Indices.model, id: id) != nil {
            throw MLError(status: 409, type: "status_exception", reason: "Model '\(id)' already exists")
        }
        try await checkGroupAccess(input)
        guard await running.begin(limit: Int(settings.int(MLSettings.maxRegisterTasks))) else {
            throw MLError.limitExceeded("exceed max running task limit")
        }
        let task = MLTask(type: .registerModel, functionName: input.function.rawValue, modelID: nil, workerNode: context.node.id)
        let taskID: String
        do {
            taskID = try await context.tasks.create(task)
        } catch {
            await running.end()
            throw error
        }
        let job = self
        context.jobs.start {
            await job.run(input, taskID: taskID, deploy: deploy, settings: settings)
            await job.running.end()
        }
        return ["task_id": .string(taskID), "status": "CREATED"]
    }

    /// Registering into a group the user may not use is refused at once (400), as ML Commons
    /// checks before it creates the task; a missing group stays the task's error, as before.
    func checkGroupAccess(_ input: RegisterModelInput) async throws {
        guard let user = input.user, let groupID = input.modelGroupID,
              let group = try await context.store.get(index: Indices.modelGroup, id: groupID) else { return }
        if !ModelGroupAccess.permits(group.source, principal: user) { throw ModelGroupAccess.denied(.registerIntoGroup) }
    }

    func checkLocalModelsEnabled(_ settings: EffectiveSettings) throws {
        if !settings.bool(MLSettings.localModelEnabled) {
            throw MLError.illegalArgument("Local Model is currently disabled. To enable it, update the setting \"plugins.ml_commons.local_model.enabled\" to true.")
        }
    }

    private func checkCustomURL(_ url: String, settings: EffectiveSettings) throws {
        if !settings.bool(MLSettings.allowModelURL) {
            throw MLError.illegalArgument("To upload custom model user needs to enable allow_registering_model_via_url settings. Otherwise please use OpenSearch pre-trained models.")
        }
        let pattern = settings.string(MLSettings.trustedURLRegex)
        guard url.range(of: pattern, options: .regularExpression) != nil else {
            throw MLError.illegalArgument("URL can't match trusted url regex")
        }
        if url.lowercased().hasPrefix("file:"), !settings.bool(MLSettings.allowLocalFile) {
            throw MLError.illegalArgument("To register a model from a file:// URL, user needs to enable allow_registering_model_via_local_file settings.")
        }
    }

    // MARK: - The background job

    private func run(_ original: RegisterModelInput, taskID: String, deploy: Bool, settings: EffectiveSettings) async {
        let logger = context.logger
        var input = original
        var download: DownloadedArtifact?
        var claim: GroupClaim?
        var modelID: String?
        do {
            // Register tasks stay CREATED until they finish, as in ML Commons: opensearch-py-ml polls
            // until the state is no longer CREATED and then reads `model_id` at once.
            if let groupID = input.modelGroupID, try await context.store.get(index: Indices.modelGroup, id: groupID) == nil {
                throw MLError.status(404, "Model group not found")
            }
            if input.url == nil { try await resolvePretrained(&input, taskID: taskID, settings: settings) }
            guard let url = input.url else { throw MLError.illegalArgument("model url is null") }
            guard let expectedHash = input.hash else {
                throw MLError.illegalArgument("Model content Hash code need to be provided when register via url. Please calculate sha 256 Hash code.")
            }
            logger.info("register task \(taskID): downloading \(input.name) from \(url)")
            let artifact = try await context.downloader.download(url, policy: DownloadPolicy(settings))
            download = artifact
            guard artifact.sha256 == expectedHash else {
                // The caller may not be able to read the file: its hash stays in the server log.
                logger.warning("register task \(taskID): \(url) has SHA-256 \(artifact.sha256), expected \(expectedHash)")
                throw MLError.illegalArgument("model content changed: the downloaded file does not have the SHA-256 given in model_content_hash_value (\(expectedHash))")
            }
            do {
                _ = try ArtifactLayout.inspect(zip: artifact.file, format: input.format == .onnx ? .onnx : .torchScript,
                                               modelFileOptional: input.function == .sparseTokenize)
            } catch let error as ArtifactError {
                throw MLError.illegalArgument(error.message)
            }
            try deployment.engine.validate(ModelLoadRequest(modelID: input.customModelID ?? "", name: input.name, artifact: artifact.file,
                                                            format: input.format ?? .torchScript, function: input.function,
                                                            modelConfig: input.modelConfig.map(JSON.object)))

            // One transaction: the group claim, the journal entry that lets a restart undo it, the meta document.
            let id = input.customModelID ?? Identifiers.newID()
            var meta = JSONObject()
            let registering = input
            claim = try await GroupClaim.commit(groupID: input.modelGroupID, modelName: input.name, description: input.description,
                                                access: input.groupAccess, user: input.user, groups: context.groups) { claim in
                meta = metaDocument(registering, claim: claim, state: .registering)
                return [.put(index: Indices.registrationJournal, id: taskID, source: journalEntry(taskID: taskID, modelID: id, claim: claim),
                             condition: .mustNotExist),
                        .put(index: Indices.model, id: id, source: meta, condition: .mustNotExist)]
            }
            modelID = id
            let total = try await storeChunks(of: artifact, modelID: id, meta: meta)
            meta["model_state"] = .string(ModelState.registered.rawValue)
            meta["model_content_size_in_bytes"] = .int(artifact.size)
            meta["model_content_hash_value"] = .string(artifact.sha256)
            meta["total_chunks"] = .int(Int64(total))
            meta["last_registered_time"] = .int(nowMillis())
            meta["last_updated_time"] = .int(nowMillis())
            let registered = ModelDocument.ordered(meta)
            // One transaction: the model REGISTERED, its task COMPLETED, the journal entry gone; a client
            // that saw COMPLETED never sees the registration rolled back.
            try await context.store.writeRetrying {
                guard let completion = try await context.tasks.completion(taskID, modelID: id) else {
                    throw MLError.generic("register task \(taskID) vanished")
                }
                return [.put(index: Indices.model, id: id, source: registered, condition: .mustExist), completion,
                        .delete(index: Indices.registrationJournal, id: taskID, condition: .mustExist)]
            }
            try? FileManager.default.removeItem(at: artifact.file)
            logger.info("register task \(taskID): model \(id) registered (\(artifact.size) bytes in \(total) chunks)")
            FreedMemory.release()
            if deploy { try await deployment.startDeploy(id) }
        } catch {
            let message = DiskSpace.isOutOfSpace(error) ? DiskSpace.error("store the model artifact under \(context.dataDir.path)").reason
                : (error as? MLError)?.reason ?? "\(error)"
            logger.error("register task \(taskID) failed: \(message)")
            if let download { try? FileManager.default.removeItem(at: download.file) }
            do {
                try await rollback(taskID: taskID, modelID: modelID, claim: claim, error: message)
            } catch {
                // The journal entry stays; the next start rolls the registration back.
                logger.error("register task \(taskID): rollback failed (\(error)); the next start retries it")
            }
        }
    }

    /// Undoes a registration in one transaction: model, chunks, group (or its version), journal entry,
    /// and the task marked FAILED. Idempotent: what is already gone stays gone.
    func rollback(taskID: String, modelID: String?, claim: GroupClaim?, error: String) async throws {
        try await context.store.writeRetrying {
            var writes: [StoreWrite] = []
            if let modelID {
                writes.append(.delete(index: Indices.model, id: modelID))
                writes.append(.deleteByQuery(index: Indices.model, query: ModelDocument.chunks(of: modelID)))
            }
            if let claim, let write = try await claim.rollbackWrite(store: context.store, modelID: modelID) { writes.append(write) }
            writes.append(.delete(index: Indices.registrationJournal, id: taskID))
            if let failure = try await context.tasks.failure(taskID, error: error) { writes.append(failure) }
            return writes
        }
    }

    /// On start: roll back every registration of this node that a stop interrupted (entries that
    /// name no node predate shared stores and are this node's too).
    func rollbackInterrupted() async throws {
        try await rollback(of: context.node.id, includingUnnamed: true,
                           error: "The registration was interrupted: the node restarted before it finished")
    }

    /// The registrations a node that was counted out of the cluster left unfinished.
    func rollbackCountedOut(_ node: String, reason: String) async throws {
        try await rollback(of: node, includingUnnamed: false, error: "The registration was interrupted: \(reason)")
    }

    private func rollback(of node: String, includingUnnamed: Bool, error: String) async throws {
        for entry in try await context.store.all(index: Indices.registrationJournal) {
            let owner = entry.source["node"]?.stringValue
            guard owner == node || (owner == nil && includingUnnamed) else { continue }
            context.logger.warning("rolling back interrupted registration (task \(entry.id), node \(node))")
            try await rollback(taskID: entry.id, modelID: entry.source["model_id"]?.stringValue, claim: GroupClaim(journal: entry.source),
                               error: error)
        }
    }

    private func journalEntry(taskID: String, modelID: String, claim: GroupClaim) -> JSONObject {
        var entry: JSONObject = ["task_id": .string(taskID), "model_id": .string(modelID), "node": .string(context.node.id)]
        for (key, value) in claim.journalFields { entry[key] = value }
        return entry
    }

    /// Looks a pretrained model up in the catalog and reads its `config.json` from the artifact site.
    private func resolvePretrained(_ input: inout RegisterModelInput, taskID: String, settings: EffectiveSettings) async throws {
        guard let model = PretrainedCatalog.find(name: input.name), let version = input.version?.lowercased(),
              model.versions.contains(version), let format = input.format, model.formats.contains(format) else {
            throw MLError.illegalArgument("This model is not in the pre-trained model list, please check your parameters.")
        }
        let base = settings.string(MLSettings.artifactsBaseURL)
        let configURL = model.folderURL(base: base, version: version, format: format) + "/config.json"
        let bytes = try await context.downloader.fetch(configURL, policy: DownloadPolicy(settings))
        guard let config = try? JSON.parse(bytes), config.objectValue != nil else {
            throw MLError.parse("The config.json of \(input.name) \(version) at \(configURL) is not a JSON object")
        }
        let requested = input.function
        let functionText = config["function_name"]?.stringValue ?? config["model_task_type"]?.stringValue ?? model.function.rawValue
        let function = FunctionName(parsing: functionText) ?? model.function
        input.function = function
        if let formatText = config["model_format"]?.stringValue, let declared = ModelFormat(parsing: formatText) { input.format = declared }
        if let modelConfig = config["model_config"], !modelConfig.isNull {
            input.modelConfig = try ModelConfig.normalize(modelConfig, function: function)
        }
        guard let hash = config["model_content_hash_value"]?.stringValue else {
            throw MLError.illegalArgument("The config.json of \(input.name) \(version) has no model_content_hash_value")
        }
        input.hash = hash.lowercased()
        input.url = model.zipURL(base: base, version: version, format: format)
        if function != requested {
            try await context.tasks.update(taskID) { $0.functionName = function.rawValue }
        }
    }

    func metaDocument(_ input: RegisterModelInput, claim: GroupClaim, state: ModelState) -> JSONObject {
        let now = nowMillis()
        var meta: JSONObject = [
            "name": .string(input.name), "model_group_id": .string(claim.groupID), "algorithm": .string(input.function.rawValue),
            "model_version": .string(String(claim.version)),
        ]
        if let description = input.description { meta["description"] = .string(description) }
        if let format = input.format { meta["model_format"] = .string(format.rawValue) }
        meta["model_state"] = .string(state.rawValue)
        if let config = input.modelConfig { meta["model_config"] = .object(config) }
        for (key, value) in input.passthrough { meta[key] = value }
        meta["created_time"] = .int(now)
        meta["last_updated_time"] = .int(now)
        meta["is_hidden"] = false
        return ModelDocument.ordered(meta)
    }

    /// Splits the artifact into 10 MB chunk documents `<model_id>_<n>`.
    private func storeChunks(of artifact: DownloadedArtifact, modelID: String, meta: JSONObject) async throws -> Int {
        let total = max(1, Int((artifact.size + Int64(Self.chunkSize) - 1) / Int64(Self.chunkSize)))
        guard let input = FileHandle(forReadingAtPath: artifact.file.path) else { throw MLError.generic("downloaded artifact vanished") }
        defer { try? input.close() }
        for number in 0..<total {
            let data = try input.read(upToCount: Self.chunkSize) ?? Data()
            try await context.store.put(index: Indices.model, id: ModelDocument.chunkID(modelID, number),
                                        source: ModelDocument.chunkSource(meta: meta, modelID: modelID, number: number, total: total),
                                        attachment: Array(data), condition: .always)
            if total > 1 { context.logger.info("model \(modelID): stored chunk \(number + 1)/\(total)") }
        }
        return total
    }
}

/// Counts this node's running register jobs against `max_register_model_tasks_per_node`.
actor RunningJobs {
    private var count = 0

    func begin(limit: Int) -> Bool {
        guard count < limit else { return false }
        count += 1
        return true
    }

    func end() { count -= 1 }
}
