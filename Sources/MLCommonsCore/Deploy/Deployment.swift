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
        let document = try await context.models.require(modelID)
        if !settings.bool(MLSettings.localModelEnabled) {
            throw MLError.illegalArgument("Local Model is currently disabled. To enable it, update the setting \"plugins.ml_commons.local_model.enabled\" to true.")
        }
        if context.models.state(of: document) == .registering {
            throw MLError.illegalArgument("Model \(modelID) is still registering (its upload is not complete) and cannot be deployed yet")
        }
        let plan = try await DeployPlanner(cluster: context.cluster, placements: placements)
            .plan(modelID, requested: try requestedNodes(body, settings: settings), settings: settings)
        if plan.targets.contains(context.node.id) {
            try ResourceGuard.check(settings, dataDir: context.dataDir)
            if await !deployed.contains(modelID) {
                try MemoryBudget.check(modelID: modelID, artifactBytes: document.source["model_content_size_in_bytes"]?.intValue ?? 0,
                                       deployedBytes: await deployed.residentBytes, settings: settings)
            }
            if await deployed.runningDeploy(of: modelID) == nil, await deployed.deployingCount >= Int(settings.int(MLSettings.maxDeployTasks)) {
                throw MLError.limitExceeded("exceed max running task limit")
            }
        }
        let (taskID, alreadyRunning) = try await startDeploy(modelID, plan: plan)
        // A second deploy while the first is loading joins it: same task, its state now.
        let status = alreadyRunning ? (try? await context.tasks.get(taskID))?["state"]?.stringValue ?? "RUNNING" : "CREATED"
        return ["task_id": .string(taskID), "task_type": .string(TaskType.deployModel.rawValue), "status": .string(status)]
    }

    var attempts: DeployAttempts { DeployAttempts(store: context.store, node: context.node.id) }
    var placements: ModelPlacements { ModelPlacements(store: context.store) }

    /// Creates the deploy task, marks the model DEPLOYING with its plan and writes a placement for
    /// every target node (one transaction); loads it here in the background when this node is a
    /// target, the other targets pick their placement up at their next sync. When a deploy of the
    /// model is already loading here, returns its task instead.
    @discardableResult
    func startDeploy(_ modelID: String, plan: DeployPlan? = nil) async throws -> (taskID: String, alreadyRunning: Bool) {
        let node = context.node.id
        let plan = plan ?? DeployPlan(targets: [node], planned: [node], toAllNodes: false)
        let document = try await context.models.require(modelID)
        let function = document.source["algorithm"]?.stringValue ?? FunctionName.textEmbedding.rawValue
        var task = MLTask(type: .deployModel, functionName: function, modelID: modelID, workerNode: node)
        task.workerNodes = plan.targets
        let (taskID, taskWrite) = context.tasks.creation(task)
        let here = plan.targets.contains(node)
        if here, let running = await deployed.claimDeploy(modelID, task: taskID) { return (running, true) }
        do {
            try await writeDeployStart(modelID, taskID: taskID, taskWrite: taskWrite, plan: plan)
        } catch {
            if here { await deployed.endDeploy(modelID) }
            throw error
        }
        if here {
            let job = self
            context.jobs.start { await job.run(modelID: modelID, taskID: taskID) }
        }
        return (taskID, false)
    }

    private func writeDeployStart(_ modelID: String, taskID: String, taskWrite: StoreWrite, plan: DeployPlan) async throws {
        try await context.store.writeRetrying {
            let document = try await context.models.require(modelID)
            var source = document.source
            source["model_state"] = .string(ModelState.deploying.rawValue)
            source["planning_worker_node_count"] = .int(Int64(plan.planned.count))
            source["planning_worker_nodes"] = JSON(plan.planned)
            source["deploy_to_all_nodes"] = plan.toAllNodes ? true : nil
            if plan.isAutoRedeploy { source["auto_redeploy_retry_times"] = .int((source["auto_redeploy_retry_times"]?.intValue ?? 0) + 1) }
            source["last_updated_time"] = .int(nowMillis())
            let starts = plan.targets.map { placements.write(Placement(modelID: modelID, nodeID: $0, state: .deploying, taskID: taskID)) }
            return [taskWrite, .put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                                    condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))] + starts
        }
    }

    /// Starts loading a placement another node planned for this one (the sync found it); false when
    /// a deploy of the model already runs here.
    func adopt(modelID: String, taskID: String) async -> Bool {
        guard await deployed.claimDeploy(modelID, task: taskID) == nil else { return false }
        let job = self
        context.jobs.start { await job.run(modelID: modelID, taskID: taskID) }
        return true
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
                guard let running = try await context.tasks.updateWrite(taskID, { if $0.state == .created { $0.state = .running } }) else {
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

    /// Holds the loaded model and records the deploy: this node's placement `deployed`, the model's
    /// state and the task's end as the placements add up (one transaction), and the attempt record
    /// gone. An undeploy or a delete during the load wins (it removed the placement): the loaded model is dropped.
    private func finish(modelID: String, taskID: String, loaded: (any LoadedModel)?) async throws {
        if let loaded, await !deployed.addUnlessCancelled(modelID, loaded) {
            throw MLError.status(409, "Model \(modelID) was undeployed while it was loading")
        }
        do {
            try await settle(modelID, extra: { _ in [attempts.clear(modelID)] }) { mine in
                guard mine != nil else { throw MLError.status(409, "Model \(modelID) was undeployed while it was loading") }
                return Placement(modelID: modelID, nodeID: context.node.id, state: .deployed, taskID: taskID)
            }
        } catch {
            if loaded != nil {
                await deployed.remove(modelID)
                try? FileManager.default.removeItem(at: context.artifactDir(for: modelID))
            }
            throw error
        }
    }

    /// Records a failed deploy in one transaction: this node's placement `failed` (unless an undeploy
    /// removed it meanwhile), the model's state and the task as the placements add up, and the
    /// attempt record kept for a retry at the next start when memory or disk ran short or a stop
    /// cancelled the load, dropped otherwise.
    private func fail(modelID: String, taskID: String, error: any Error) async {
        let message = (error as? MLError)?.reason ?? "\(error)"
        context.logger.error("deploy task \(taskID) failed for model \(modelID): \(message)")
        let retry = DeployAttempts.retriesAtStart(error)
        do {
            let crashes = try await attempts.record(modelID)?.crashes ?? 0
            let me = context.node.id
            try await settle(modelID, taskIDs: [taskID], extra: { after in
                retry && after[me] != nil
                    ? [attempts.write(modelID, taskID: taskID, state: .retry, crashes: crashes, reason: message)]
                    : [attempts.clear(modelID)]
            }) { mine in
                guard mine != nil else { return nil }
                return Placement(modelID: modelID, nodeID: me, state: .failed, taskID: taskID, error: message)
            }
            // The placement was gone (undeployed or deleted meanwhile): the task still ends, with this node's error.
            if let task = try await context.store.get(index: Indices.task, id: taskID),
               [TaskState.created.rawValue, TaskState.running.rawValue].contains(task.source["state"]?.stringValue ?? ""),
               try await placements.of(model: modelID)[context.node.id] == nil,
               let failure = try await context.tasks.failure(taskID, error: errorJSON(message)) {
                try await context.store.write([failure])
            }
        } catch {
            context.logger.error("deploy task \(taskID): recording the failure failed: \(error)")
        }
    }

    /// Rewrites this node's placement of a model (`change` gets the current one, returns the new one
    /// or nil to leave it), then the model's state and worker count and the end of every deploy task
    /// the placements settle, in one transaction retried on conflicts.
    func settle(_ modelID: String, taskIDs: [String] = [], extra: @escaping @Sendable ([String: Placement]) -> [StoreWrite] = { _ in [] },
                change: @escaping @Sendable (Placement?) throws -> Placement?) async throws {
        try await settle(modelID, taskIDs: taskIDs, extra: extra, changes: { current in
            var result = current
            result[context.node.id] = try change(current[context.node.id])
            return result
        })
    }

    /// The general form: `changes` maps every node's placement (nil removes it).
    func settle(_ modelID: String, taskIDs: [String] = [], extra: @escaping @Sendable ([String: Placement]) -> [StoreWrite] = { _ in [] },
                changes: @escaping @Sendable ([String: Placement]) throws -> [String: Placement]) async throws {
        try await context.store.writeRetrying {
            let stored = try await placements.of(model: modelID)
            let before = stored.mapValues(\.placement)
            let after = try changes(before)
            var writes: [StoreWrite] = []
            for (node, entry) in stored where after[node] == nil {
                writes.append(.delete(index: Indices.placements, id: entry.placement.id,
                                      condition: .ifMatch(seqNo: entry.document.seqNo, primaryTerm: entry.document.primaryTerm)))
            }
            for (node, placement) in after where before[node] != placement {
                let condition: WriteCondition = stored[node].map { .ifMatch(seqNo: $0.document.seqNo, primaryTerm: $0.document.primaryTerm) } ?? .mustNotExist
                writes.append(.put(index: Indices.placements, id: placement.id, source: placement.source, condition: condition))
            }
            if let document = try await context.models.meta(modelID), let state = context.models.state(of: document),
               [.deploying, .deployed, .partiallyDeployed, .deployFailed].contains(state) {
                let planned = document.source["planning_worker_nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let (newState, workers) = PlacementRollup.model(planned: planned, placements: after, current: state)
                var source = document.source
                source["model_state"] = .string(newState.rawValue)
                source["current_worker_node_count"] = .int(Int64(workers))
                if newState == .deployed || newState == .partiallyDeployed, state == .deploying {
                    source["last_deployed_time"] = .int(nowMillis())
                    source["auto_redeploy_retry_times"] = nil
                }
                if source != document.source {
                    source["last_updated_time"] = .int(nowMillis())
                    writes.append(.put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                                       condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm)))
                }
            }
            let tasks = Set(taskIDs + after.values.compactMap(\.taskID) + before.values.compactMap(\.taskID))
            for taskID in tasks.sorted() {
                guard let task = try await context.store.get(index: Indices.task, id: taskID),
                      [TaskState.created.rawValue, TaskState.running.rawValue].contains(task.source["state"]?.stringValue ?? "") else { continue }
                let targets = task.source["worker_node"]?.arrayValue?.compactMap(\.stringValue) ?? []
                guard let outcome = PlacementRollup.task(taskID, targets: targets, placements: after) else {
                    // Still open: touch it anyway, so two nodes settling at once conflict here and the
                    // second reads the first's placement (else neither would see the task complete).
                    if after != before, let touch = try await context.tasks.updateWrite(taskID, { _ in }) { writes.append(touch) }
                    continue
                }
                let end = try await context.tasks.updateWrite(taskID) { task in
                    task.state = outcome.state
                    task.error = outcome.error
                    if outcome.state != .failed { task.modelID = modelID }
                }
                if let end { writes.append(end) }
            }
            return writes.isEmpty ? [] : writes + extra(after)
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
        let nodes = try requestedNodes(body, settings: settings)
        _ = try await context.models.require(modelID)
        var result = JSONObject()
        for (node, status) in try await unload(modelID, from: nodes) { result[node] = ["stats": .object([modelID: .string(status)])] }
        return .object(result)
    }

    func undeployMany(body: JSON?) async throws -> JSON {
        let settings = try await context.settings.current()
        guard let ids = body?["model_ids"]?.arrayValue?.compactMap(\.stringValue), !ids.isEmpty else {
            throw MLError.illegalArgument("Must set specific model ids to undeploy")
        }
        let nodes = try requestedNodes(body, settings: settings)
        var byNode: [String: JSONObject] = [:]
        for id in ids {
            guard try await context.models.meta(id) != nil else {
                byNode[context.node.id, default: [:]][id] = "not_found"
                continue
            }
            for (node, status) in try await unload(id, from: nodes) { byNode[node, default: [:]][id] = .string(status) }
        }
        return .object(JSONObject(byNode.sorted { $0.key < $1.key }.map { (key: $0.key, value: ["stats": .object($0.value)]) }))
    }

    /// Takes the model off `nodes` (every node when nil): their placements go, the model keeps the
    /// other nodes as its plan, or becomes UNDEPLOYED when none is left, in one transaction; this node
    /// drops it from memory now, the others at their next sync. Per node: "undeployed" where it was
    /// loaded, "not_found" where it was not (at least this node answers).
    func unload(_ modelID: String, from nodes: [String]? = nil) async throws -> [String: String] {
        let me = context.node.id
        let stored = try await placements.of(model: modelID).mapValues(\.placement)
        let targets = Set(nodes ?? Array(stored.keys) + [me])
        var statuses: [String: String] = [:]
        for node in targets.sorted() {
            let held = node == me ? await deployed.contains(modelID) : stored[node]?.state == .deployed
            if held || nodes != nil || node == me { statuses[node] = held ? "undeployed" : "not_found" }
        }
        if targets.contains(me) {
            let wasLoaded = await deployed.remove(modelID)
            try? FileManager.default.removeItem(at: context.artifactDir(for: modelID))
            if wasLoaded { context.logger.info("model \(modelID) undeployed") }
        }
        let remaining = Set(stored.keys).subtracting(targets)
        try await context.store.writeRetrying {
            guard let document = try await context.models.meta(modelID) else { return [] }
            var source = document.source
            let planned = (source["planning_worker_nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []).filter { !targets.contains($0) }
            if remaining.isEmpty || planned.isEmpty {
                source["model_state"] = .string(ModelState.undeployed.rawValue)
                source["planning_worker_node_count"] = 0
                source["current_worker_node_count"] = 0
                source["planning_worker_nodes"] = nil
                source["deploy_to_all_nodes"] = nil
                source["last_undeployed_time"] = .int(nowMillis())
            } else {
                let kept = stored.filter { remaining.contains($0.key) }
                let (state, workers) = PlacementRollup.model(planned: planned, placements: kept, current: context.models.state(of: document))
                source["model_state"] = .string(state.rawValue)
                source["planning_worker_nodes"] = JSON(planned)
                source["planning_worker_node_count"] = .int(Int64(planned.count))
                source["current_worker_node_count"] = .int(Int64(workers))
                source["deploy_to_all_nodes"] = nil
            }
            source["last_updated_time"] = .int(nowMillis())
            var writes: [StoreWrite] = [.put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                                             condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))]
            writes += targets.sorted().map { placements.remove(model: modelID, node: $0) }
            if targets.contains(me) { writes.append(attempts.clear(modelID)) }
            return writes
        }
        return statuses
    }

    /// This node dropped a model the cluster no longer plans for it (undeployed elsewhere, or counted out).
    func dropLocally(_ modelID: String) async throws {
        guard await deployed.remove(modelID) else { return }
        try? FileManager.default.removeItem(at: context.artifactDir(for: modelID))
        try await context.store.write([attempts.clear(modelID)])
        context.logger.info("model \(modelID) undeployed from this node (the cluster no longer plans it here)")
    }

    /// `node_ids` of a deploy or undeploy body: they need `allow_custom_deployment_plan`; nil when absent.
    private func requestedNodes(_ body: JSON?, settings: EffectiveSettings) throws -> [String]? {
        guard let value = body?["node_ids"], !value.isNull else { return nil }
        // Anything but a list of ids is refused: read as "no list" it would mean every node.
        guard let items = value.arrayValue, items.count <= 10_000 else { throw MLError.parse("node_ids must be an array of node ids") }
        let nodes = items.compactMap(\.stringValue)
        guard nodes.count == items.count else { throw MLError.parse("node_ids must be an array of node ids") }
        guard !nodes.isEmpty else { return nil }
        guard settings.bool(MLSettings.allowCustomDeploymentPlan) else { throw MLError.illegalArgument("Don't allow custom deployment plan") }
        return nodes
    }

    // MARK: - Restart

    /// Loads again every model the store says this node should hold (ML Commons' auto-redeploy),
    /// except models whose loads crashed the process more than `lifetime_retry_times` times.
    func redeployAfterRestart() async throws {
        let settings = try await context.settings.current()
        let auto = settings.bool(MLSettings.autoRedeploy)
        let me = context.node.id
        var handled = Set<String>()
        for record in try await attempts.all() {
            handled.insert(record.modelID)
            if try await recover(record, autoRedeploy: auto, limit: settings.int(MLSettings.lifetimeRetryTimes)),
               let document = try await context.models.meta(record.modelID) {
                try await startDeploy(record.modelID, plan: DeployPlanner.rejoin(document, node: me))
            }
        }
        let eligible = context.cluster.me.isEligible(settings)
        for document in try await context.store.all(index: Indices.model, query: .not(ModelDocument.isChunk)) {
            if RemoteDeployment.isRemote(document) || handled.contains(document.id) { continue }  // RemoteDeployment.redeployAfterRestart
            guard let state = context.models.state(of: document), state.wantsDeployment else { continue }
            let planned = document.source["planning_worker_nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let toAll = document.source["deploy_to_all_nodes"]?.boolValue ?? false
            guard planned.isEmpty || planned.contains(me) || (toAll && eligible) else { continue }
            if auto {
                context.logger.info("model \(document.id) was \(state.rawValue) before the restart: deploying it again")
                var plan = DeployPlanner.rejoin(document, node: me)
                plan.isAutoRedeploy = true
                try await startDeploy(document.id, plan: plan)
            } else {
                _ = try await unload(document.id, from: [me])
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
