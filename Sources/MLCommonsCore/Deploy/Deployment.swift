import Crypto
import Foundation
import Logging
import OrderedJSON
import Storage

/// Deploy and undeploy (§3): deploy runs as a task that rebuilds the artifact from its chunks,
/// checks its SHA-256 again and hands it to the inference engine.
struct Deployment: Sendable {
    let context: CoreContext
    let engine: any InferenceEngine
    let deployed: DeployedModels

    // MARK: - Deploy

    func deploy(_ modelID: String, body: JSON?) async throws -> JSON {
        let settings = try await context.settings.current()
        try checkNodeIDs(body, settings: settings, action: "deploy")
        let document = try await context.models.require(modelID)
        if !settings.bool(MLSettings.localModelEnabled) {
            throw MLError.illegalArgument("Local Model is currently disabled. To enable it, update the setting \"plugins.ml_commons.local_model.enabled\" to true.")
        }
        if context.models.state(of: document) == .registering {
            throw MLError.illegalArgument("Model \(modelID) is still registering (its upload is not complete) and cannot be deployed yet")
        }
        try ResourceGuard.check(settings, dataDir: context.dataDir)
        if await !deployed.contains(modelID) {
            try MemoryBudget.check(modelID: modelID, artifactBytes: document.source["model_content_size_in_bytes"]?.intValue ?? 0,
                                   deployedBytes: await deployed.residentBytes, settings: settings)
        }
        if await deployed.runningDeploy(of: modelID) == nil, await deployed.deployingCount >= Int(settings.int(MLSettings.maxDeployTasks)) {
            throw MLError.limitExceeded("exceed max running task limit")
        }
        let (taskID, alreadyRunning) = try await startDeploy(modelID)
        // A second deploy while the first is loading joins it: same task, its state now.
        let status = alreadyRunning ? (try? await context.tasks.get(taskID))?["state"]?.stringValue ?? "RUNNING" : "CREATED"
        return ["task_id": .string(taskID), "task_type": .string(TaskType.deployModel.rawValue), "status": .string(status)]
    }

    var attempts: DeployAttempts { DeployAttempts(store: context.store, node: context.node.id) }

    /// Creates the deploy task and marks the model DEPLOYING (one transaction), and loads it in the
    /// background. When a deploy of the model is already loading here, returns its task instead.
    @discardableResult
    func startDeploy(_ modelID: String) async throws -> (taskID: String, alreadyRunning: Bool) {
        let node = context.node.id
        let document = try await context.models.require(modelID)
        let function = document.source["algorithm"]?.stringValue ?? FunctionName.textEmbedding.rawValue
        let (taskID, taskWrite) = context.tasks.creation(MLTask(type: .deployModel, functionName: function, modelID: modelID, workerNode: node))
        if let running = await deployed.claimDeploy(modelID, task: taskID) { return (running, true) }
        do {
            try await writeDeployStart(modelID, taskWrite: taskWrite, node: node)
        } catch {
            await deployed.endDeploy(modelID)
            throw error
        }
        let job = self
        context.jobs.start { await job.run(modelID: modelID, taskID: taskID) }
        return (taskID, false)
    }

    private func writeDeployStart(_ modelID: String, taskWrite: StoreWrite, node: String) async throws {
        try await context.store.writeRetrying {
            let document = try await context.models.require(modelID)
            var source = document.source
            source["model_state"] = .string(ModelState.deploying.rawValue)
            source["planning_worker_node_count"] = 1
            source["planning_worker_nodes"] = [.string(node)]
            source["deploy_to_all_nodes"] = true
            source["last_updated_time"] = .int(nowMillis())
            return [taskWrite, .put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                                    condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))]
        }
    }

    /// Loads a model whose deploy `startDeploy` claimed, and gives the claim back.
    private func run(modelID: String, taskID: String) async {
        await load(modelID: modelID, taskID: taskID)
        await deployed.endDeploy(modelID)
    }

    private func load(modelID: String, taskID: String) async {
        let logger = context.logger
        do {
            if await deployed.contains(modelID) {
                try await context.tasks.markRunning(taskID)
                try await finish(modelID: modelID, taskID: taskID, loaded: nil)
                return
            }
            let settings = try await context.settings.current()
            if await deployed.localCount >= Int(settings.int(MLSettings.maxModelOnNode)) {
                throw MLError.limitExceeded("Exceed max local model per node limit")
            }
            let document = try await context.models.require(modelID)
            try MemoryBudget.check(modelID: modelID, artifactBytes: document.source["model_content_size_in_bytes"]?.intValue ?? 0,
                                   deployedBytes: await deployed.residentBytes, settings: settings)
            // Durable before loading: a load the process does not survive is counted at the next start.
            let crashes = try await attempts.record(modelID)?.crashes ?? 0
            try await context.store.writeRetrying {
                guard let running = try await context.tasks.updateWrite(taskID, { $0.state = .running }) else {
                    throw MLError.generic("deploy task \(taskID) vanished")
                }
                return [running, attempts.write(modelID, taskID: taskID, state: .loading, crashes: crashes)]
            }
            logger.info("deploy task \(taskID): rebuilding artifact of model \(modelID) from its chunks")
            let artifact = try await reassemble(document)
            logger.info("deploy task \(taskID): loading model \(modelID) into the inference engine")
            let request = ModelLoadRequest(
                modelID: modelID, name: document.source["name"]?.stringValue ?? "", artifact: artifact,
                format: document.source["model_format"]?.stringValue.flatMap(ModelFormat.init(parsing:)) ?? .torchScript,
                function: document.source["algorithm"]?.stringValue.flatMap(FunctionName.init(parsing:)) ?? .textEmbedding,
                modelConfig: document.source["model_config"])
            FaultHooks.crashAtLoadIfAsked(modelID)
            let model: any LoadedModel
            do {
                model = try await engine.load(request)
                FreedMemory.release()
            } catch {
                try? FileManager.default.removeItem(at: context.artifactDir(for: modelID))
                throw error
            }
            try await finish(modelID: modelID, taskID: taskID, loaded: model)
            logger.info("deploy task \(taskID): model \(modelID) deployed")
        } catch {
            await fail(modelID: modelID, taskID: taskID, error: error)
        }
    }

    /// Holds the loaded model and records the deploy: model DEPLOYED, task COMPLETED and the attempt
    /// record gone, in one transaction, and only while the model is still DEPLOYING (an undeploy or a
    /// delete during the load wins: the loaded model is dropped).
    private func finish(modelID: String, taskID: String, loaded: (any LoadedModel)?) async throws {
        if let loaded, await !deployed.addUnlessCancelled(modelID, loaded) {
            throw MLError.status(409, "Model \(modelID) was undeployed while it was loading")
        }
        do {
            try await context.store.writeRetrying {
                guard let document = try await context.models.meta(modelID) else {
                    throw MLError.status(404, "Model \(modelID) was deleted while it was loading")
                }
                guard context.models.state(of: document) == .deploying else {
                    throw MLError.status(409, "Model \(modelID) was undeployed while it was loading")
                }
                guard let completion = try await context.tasks.completion(taskID, modelID: modelID) else {
                    throw MLError.generic("deploy task \(taskID) vanished")
                }
                var source = document.source
                source["model_state"] = .string(ModelState.deployed.rawValue)
                source["current_worker_node_count"] = 1
                source["last_deployed_time"] = .int(nowMillis())
                source["auto_redeploy_retry_times"] = nil
                source["last_updated_time"] = .int(nowMillis())
                return [.put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                             condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm)),
                        completion, attempts.clear(modelID)]
            }
        } catch {
            if loaded != nil {
                await deployed.remove(modelID)
                try? FileManager.default.removeItem(at: context.artifactDir(for: modelID))
            }
            throw error
        }
    }

    /// Records a failed deploy in one transaction: the model DEPLOY_FAILED (unless an undeploy changed
    /// it meanwhile), the task FAILED, and the attempt record kept for a retry at the next start when
    /// memory or disk ran short or a stop cancelled the load, dropped otherwise.
    private func fail(modelID: String, taskID: String, error: any Error) async {
        let message = (error as? MLError)?.reason ?? "\(error)"
        context.logger.error("deploy task \(taskID) failed for model \(modelID): \(message)")
        let retry = DeployAttempts.retriesAtStart(error)
        do {
            try await context.store.writeRetrying {
                var writes: [StoreWrite] = []
                // An undeploy or delete during the load wins: no DEPLOY_FAILED, no retry at start.
                if let document = try await context.models.meta(modelID), context.models.state(of: document) == .deploying {
                    var source = document.source
                    source["model_state"] = .string(ModelState.deployFailed.rawValue)
                    source["current_worker_node_count"] = 0
                    source["last_updated_time"] = .int(nowMillis())
                    writes.append(.put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                                       condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm)))
                    if retry {
                        let crashes = try await attempts.record(modelID)?.crashes ?? 0
                        writes.append(attempts.write(modelID, taskID: taskID, state: .retry, crashes: crashes, reason: message))
                    } else {
                        writes.append(attempts.clear(modelID))
                    }
                } else {
                    writes.append(attempts.clear(modelID))
                }
                if let failure = try await context.tasks.failure(taskID, error: errorJSON(message)) { writes.append(failure) }
                return writes
            }
        } catch {
            context.logger.error("deploy task \(taskID): recording the failure failed: \(error)")
        }
    }

    /// Deploy errors are reported per node, as `{"<node id>": "<message>"}` in a string.
    private func errorJSON(_ message: String) -> String {
        JSON.object([context.node.id: .string(message)]).serialized
    }

    /// Concatenates chunks 0..n-1 into the model's artifact file and checks the stored SHA-256.
    private func reassemble(_ document: StoredDocument) async throws -> URL {
        let modelID = document.id
        let total = Int(document.source["total_chunks"]?.intValue ?? 0)
        guard total > 0 else { throw MLError.generic("Model \(modelID) has no chunks to deploy") }
        let directory = context.artifactDir(for: modelID)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("model.zip")
        let actual: String
        do {
            actual = try await ChunkAssembly.write(modelID: modelID, total: total, to: file, store: context.store)
        } catch let missing as ChunkAssembly.MissingChunk {
            try? FileManager.default.removeItem(at: directory)
            throw MLError.generic("Failed to find chunk \(missing.number) of \(total) of model \(modelID)")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            if DiskSpace.isOutOfSpace(error) { throw DiskSpace.error("rebuild the artifact of model \(modelID) in \(directory.path)") }
            throw error
        }
        let expected = document.source["model_content_hash_value"]?.stringValue?.lowercased()
        guard actual == expected else {
            try? FileManager.default.removeItem(at: directory)
            throw MLError.generic("model content changed: the chunks have SHA-256 \(actual) but model_content_hash_value is \(expected ?? "missing")")
        }
        return file
    }

    // MARK: - Undeploy

    func undeploy(_ modelID: String, body: JSON?) async throws -> JSON {
        let settings = try await context.settings.current()
        try checkNodeIDs(body, settings: settings, action: "undeploy")
        _ = try await context.models.require(modelID)
        return ["\(context.node.id)": ["stats": .object([modelID: .string(try await unload(modelID))])]]
    }

    func undeployMany(body: JSON?) async throws -> JSON {
        let settings = try await context.settings.current()
        guard let ids = body?["model_ids"]?.arrayValue?.compactMap(\.stringValue), !ids.isEmpty else {
            throw MLError.illegalArgument("Must set specific model ids to undeploy")
        }
        try checkNodeIDs(body, settings: settings, action: "undeploy")
        var stats = JSONObject()
        for id in ids {
            stats[id] = .string(try await context.models.meta(id) == nil ? "not_found" : try await unload(id))
        }
        return [context.node.id: ["stats": .object(stats)]]
    }

    /// Drops the model from memory and marks it UNDEPLOYED; "undeployed" if it was loaded here.
    private func unload(_ modelID: String) async throws -> String {
        let wasLoaded = await deployed.remove(modelID)
        try? FileManager.default.removeItem(at: context.artifactDir(for: modelID))
        // One transaction: the model UNDEPLOYED and its deploy-attempt record gone (no redeploy at start).
        try await context.store.writeRetrying {
            guard let document = try await context.models.meta(modelID) else { return [] }
            var source = document.source
            source["model_state"] = .string(ModelState.undeployed.rawValue)
            source["planning_worker_node_count"] = 0
            source["current_worker_node_count"] = 0
            source["planning_worker_nodes"] = nil
            source["deploy_to_all_nodes"] = nil
            source["last_undeployed_time"] = .int(nowMillis())
            source["last_updated_time"] = .int(nowMillis())
            return [.put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                         condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm)),
                    attempts.clear(modelID)]
        }
        if wasLoaded { context.logger.info("model \(modelID) undeployed") }
        return wasLoaded ? "undeployed" : "not_found"
    }

    /// `node_ids` need `allow_custom_deployment_plan`; this node is the only eligible one.
    private func checkNodeIDs(_ body: JSON?, settings: EffectiveSettings, action: String) throws {
        guard let nodes = body?["node_ids"]?.arrayValue?.compactMap(\.stringValue), !nodes.isEmpty else { return }
        guard settings.bool(MLSettings.allowCustomDeploymentPlan) else { throw MLError.illegalArgument("Don't allow custom deployment plan") }
        guard nodes.contains(context.node.id) else { throw MLError.illegalArgument("no eligible node found") }
    }

    // MARK: - Restart

    /// Loads again every model the store says this node should hold (ML Commons' auto-redeploy),
    /// except models whose loads crashed the process more than `lifetime_retry_times` times.
    func redeployAfterRestart() async throws {
        let settings = try await context.settings.current()
        let auto = settings.bool(MLSettings.autoRedeploy)
        var handled = Set<String>()
        for record in try await attempts.all() {
            handled.insert(record.modelID)
            if try await recover(record, autoRedeploy: auto, limit: settings.int(MLSettings.lifetimeRetryTimes)) {
                try await startDeploy(record.modelID)
            }
        }
        for document in try await context.store.all(index: Indices.model, query: .not(ModelDocument.isChunk)) {
            if RemoteDeployment.isRemote(document) || handled.contains(document.id) { continue }  // RemoteDeployment.redeployAfterRestart
            guard let state = context.models.state(of: document), state.wantsDeployment else { continue }
            let planned = document.source["planning_worker_nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard planned.isEmpty || planned.contains(context.node.id) else { continue }
            if auto {
                context.logger.info("model \(document.id) was \(state.rawValue) before the restart: deploying it again")
                try await context.models.update(document.id) { source in
                    source["auto_redeploy_retry_times"] = .int((source["auto_redeploy_retry_times"]?.intValue ?? 0) + 1)
                }
                try await startDeploy(document.id)
            } else {
                _ = try await unload(document.id)
            }
        }
    }

    /// Applies the start-up rules to one attempt record (one transaction); true when the model is to
    /// be deployed again. A record still `loading` is a load the process did not survive: a crash.
    private func recover(_ record: DeployAttempts.Record, autoRedeploy: Bool, limit: Int64) async throws -> Bool {
        let modelID = record.modelID
        let crashed = record.state == .loading
        if record.state == .stopped { return false }
        let crashes = record.crashes + (crashed ? 1 : 0)
        var redeploy = false
        try await context.store.writeRetrying {
            guard let document = try await context.models.meta(modelID) else { return [attempts.clear(modelID)] }
            redeploy = false
            var writes: [StoreWrite] = []
            var reason: String?
            if crashed {
                let gaveUp = crashes > limit || !autoRedeploy
                reason = gaveUp
                    ? "Deploying model \(modelID) crashed the server: the process died while loading it (\(crashes) time(s)). "
                        + (autoRedeploy
                            ? "Auto-redeploy stopped at plugins.ml_commons.\(MLSettings.lifetimeRetryTimes) = \(limit). "
                            : "Auto-redeploy is off. ")
                        + "Check the model's files, then deploy it again (an explicit deploy is allowed)."
                    : "The server process died while loading model \(modelID) (crash \(crashes)); deploying it again "
                        + "(at most \(limit) time(s): plugins.ml_commons.\(MLSettings.lifetimeRetryTimes))"
                if let taskID = record.taskID, let failure = try await context.tasks.failure(taskID, error: errorJSON(reason!)) {
                    writes.append(failure)
                }
                var source = document.source
                if gaveUp {
                    source["model_state"] = .string(ModelState.deployFailed.rawValue)
                    source["current_worker_node_count"] = 0
                } else {
                    source["auto_redeploy_retry_times"] = .int(crashes)  // this redeploy is retry number `crashes`
                }
                source["last_updated_time"] = .int(nowMillis())
                writes.append(.put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                                   condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm)))
                redeploy = !gaveUp
            } else {
                redeploy = autoRedeploy && record.state == .retry
            }
            let state: DeployAttempts.State = redeploy ? .retry : .stopped
            if !crashed && state == record.state { return [] }
            writes.append(attempts.write(modelID, taskID: record.taskID, state: state, crashes: crashes, reason: reason))
            return writes
        }
        if crashed { context.logger.error("model \(modelID): the last start died while loading it (crash \(crashes) of at most \(limit + 1))") }
        if redeploy { context.logger.info("model \(modelID): deploying it again after the restart") }
        return redeploy
    }

    func isDeployed(_ modelID: String) async -> Bool { await deployed.contains(modelID) }
}
