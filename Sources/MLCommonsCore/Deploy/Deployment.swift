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
        if await deployed.deployingCount >= Int(settings.int(MLSettings.maxDeployTasks)) {
            throw MLError.limitExceeded("exceed max running task limit")
        }
        let taskID = try await startDeploy(modelID)
        return ["task_id": .string(taskID), "task_type": .string(TaskType.deployModel.rawValue), "status": "CREATED"]
    }

    /// Creates the deploy task, marks the model DEPLOYING and loads it in the background.
    func startDeploy(_ modelID: String) async throws -> String {
        let document = try await context.models.require(modelID)
        let function = document.source["algorithm"]?.stringValue ?? FunctionName.textEmbedding.rawValue
        let taskID = try await context.tasks.create(
            MLTask(type: .deployModel, functionName: function, modelID: modelID, workerNode: context.node.id))
        let node = context.node.id
        try await context.models.update(modelID) { source in
            source["model_state"] = .string(ModelState.deploying.rawValue)
            source["planning_worker_node_count"] = 1
            source["planning_worker_nodes"] = [.string(node)]
            source["deploy_to_all_nodes"] = true
        }
        let job = self
        context.jobs.start { await job.run(modelID: modelID, taskID: taskID) }
        return taskID
    }

    private func run(modelID: String, taskID: String) async {
        guard await deployed.beginDeploy(modelID) else {
            try? await context.tasks.fail(taskID, error: errorJSON("Model \(modelID) is already being deployed on this node"))
            return
        }
        await load(modelID: modelID, taskID: taskID)
        await deployed.endDeploy(modelID)
    }

    private func load(modelID: String, taskID: String) async {
        let logger = context.logger
        do {
            try await context.tasks.markRunning(taskID)
            if await !deployed.contains(modelID) {
                let settings = try await context.settings.current()
                if await deployed.count >= Int(settings.int(MLSettings.maxModelOnNode)) {
                    throw MLError.limitExceeded("Exceed max local model per node limit")
                }
                let document = try await context.models.require(modelID)
                try MemoryBudget.check(modelID: modelID, artifactBytes: document.source["model_content_size_in_bytes"]?.intValue ?? 0,
                                       deployedBytes: await deployed.residentBytes, settings: settings)
                logger.info("deploy task \(taskID): rebuilding artifact of model \(modelID) from its chunks")
                let artifact = try await reassemble(document)
                logger.info("deploy task \(taskID): loading model \(modelID) into the inference engine")
                let request = ModelLoadRequest(
                    modelID: modelID, name: document.source["name"]?.stringValue ?? "", artifact: artifact,
                    format: document.source["model_format"]?.stringValue.flatMap(ModelFormat.init(parsing:)) ?? .torchScript,
                    function: document.source["algorithm"]?.stringValue.flatMap(FunctionName.init(parsing:)) ?? .textEmbedding,
                    modelConfig: document.source["model_config"])
                do {
                    await deployed.add(modelID, try await engine.load(request))
                    FreedMemory.release()
                } catch {
                    try? FileManager.default.removeItem(at: context.artifactDir(for: modelID))
                    throw error
                }
            }
            try await context.models.update(modelID) { source in
                source["model_state"] = .string(ModelState.deployed.rawValue)
                source["current_worker_node_count"] = 1
                source["last_deployed_time"] = .int(nowMillis())
                source["auto_redeploy_retry_times"] = nil
            }
            try await context.tasks.complete(taskID, modelID: modelID)
            logger.info("deploy task \(taskID): model \(modelID) deployed")
        } catch {
            let message = (error as? MLError)?.reason ?? "\(error)"
            logger.error("deploy task \(taskID) failed for model \(modelID): \(message)")
            _ = try? await context.models.update(modelID) { source in
                source["model_state"] = .string(ModelState.deployFailed.rawValue)
                source["current_worker_node_count"] = 0
            }
            try? await context.tasks.fail(taskID, error: errorJSON(message))
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
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let output = try FileHandle(forWritingTo: file)
        var hasher = SHA256()
        do {
            for number in 0..<total {
                guard let bytes = try await context.store.attachment(index: Indices.model, id: ModelDocument.chunkID(modelID, number)) else {
                    throw MLError.generic("Failed to find chunk \(number) of \(total) of model \(modelID)")
                }
                hasher.update(data: bytes)
                try output.write(contentsOf: bytes)
            }
            try output.close()
        } catch {
            try? output.close()
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        let actual = hasher.finalize().map { String(format: "%02x", $0) }.joined()
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
        try await context.models.update(modelID) { source in
            source["model_state"] = .string(ModelState.undeployed.rawValue)
            source["planning_worker_node_count"] = 0
            source["current_worker_node_count"] = 0
            source["planning_worker_nodes"] = nil
            source["deploy_to_all_nodes"] = nil
            source["last_undeployed_time"] = .int(nowMillis())
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

    /// Loads again every model the store says this node should hold (ML Commons' auto-redeploy).
    func redeployAfterRestart() async throws {
        let settings = try await context.settings.current()
        for document in try await context.store.all(index: Indices.model, query: .not(ModelDocument.isChunk)) {
            if RemoteDeployment.isRemote(document) { continue }  // RemoteDeployment.redeployAfterRestart
            guard let state = context.models.state(of: document), state.wantsDeployment else { continue }
            let planned = document.source["planning_worker_nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard planned.isEmpty || planned.contains(context.node.id) else { continue }
            if settings.bool(MLSettings.autoRedeploy) {
                context.logger.info("model \(document.id) was \(state.rawValue) before the restart: deploying it again")
                try await context.models.update(document.id) { source in
                    source["auto_redeploy_retry_times"] = .int((source["auto_redeploy_retry_times"]?.intValue ?? 0) + 1)
                }
                _ = try await startDeploy(document.id)
            } else {
                _ = try await unload(document.id)
            }
        }
    }

    func isDeployed(_ modelID: String) async -> Bool { await deployed.contains(modelID) }
}
