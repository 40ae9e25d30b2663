import Foundation
import OrderedJSON
import Storage

/// A remote model held "deployed" on this node: nothing in memory but its id (the connector is
/// read per call, so connector and model updates apply without a redeploy).
struct RemoteLoadedModel: LoadedModel {
    var residentBytes: Int { 0 }
    var isLocal: Bool { false }
}

/// Deploy of `REMOTE` models (§3.1, §3.4): synchronous, no artifact, no memory checks. Undeploy is
/// the common path (`Deployment.undeploy`), which drops the model from `DeployedModels`.
struct RemoteDeployment: Sendable {
    let context: CoreContext
    let deployed: DeployedModels

    static func isRemote(_ document: StoredDocument) -> Bool {
        document.source["algorithm"]?.stringValue?.uppercased() == FunctionName.remote.rawValue
    }

    /// `POST /models/<id>/_deploy` on a remote model: `{"task_id", "task_type": "DEPLOY_MODEL", "status": "COMPLETED"}`.
    func deploy(_ modelID: String, body: JSON?) async throws -> JSON {
        let settings = try await context.settings.current()
        try RemoteRuntime.checkRemoteEnabled(settings)
        if let nodes = body?["node_ids"]?.arrayValue?.compactMap(\.stringValue), !nodes.isEmpty {
            guard settings.bool(MLSettings.allowCustomDeploymentPlan) else { throw MLError.illegalArgument("Don't allow custom deployment plan") }
            guard nodes.contains(context.node.id) else { throw MLError.illegalArgument("no eligible node found") }
        }
        _ = try await context.models.require(modelID)
        let taskID = try await load(modelID)
        return ["task_id": .string(taskID), "task_type": .string(TaskType.deployModel.rawValue), "status": "COMPLETED"]
    }

    /// Holds the model here, and records a COMPLETED deploy task with the model DEPLOYED in one
    /// transaction; returns the task id.
    @discardableResult
    func load(_ modelID: String) async throws -> String {
        var task = MLTask(type: .deployModel, functionName: FunctionName.remote.rawValue, modelID: modelID, workerNode: context.node.id)
        task.state = .completed
        let (taskID, taskWrite) = context.tasks.creation(task)
        await deployed.add(modelID, RemoteLoadedModel())
        let node = context.node.id
        do {
            try await context.store.writeRetrying {
                let document = try await context.models.require(modelID)
                var source = document.source
                source["model_state"] = .string(ModelState.deployed.rawValue)
                source["planning_worker_node_count"] = 1
                source["planning_worker_nodes"] = [.string(node)]
                source["deploy_to_all_nodes"] = true
                source["current_worker_node_count"] = 1
                source["last_deployed_time"] = .int(nowMillis())
                source["auto_redeploy_retry_times"] = nil
                source["last_updated_time"] = .int(nowMillis())
                return [taskWrite, .put(index: Indices.model, id: modelID, source: ModelDocument.ordered(source),
                                        condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))]
            }
        } catch {
            await deployed.remove(modelID)
            throw error
        }
        context.logger.info("remote model \(modelID) deployed")
        return taskID
    }

    /// Predict on a remote model that is not held here deploys it first, unless the cluster or the
    /// model turned auto-deploy off.
    func ensureDeployed(_ document: StoredDocument, settings: EffectiveSettings) async throws {
        guard await !deployed.contains(document.id) else { return }
        if document.source["deploy_setting"]?["is_auto_deploy_enabled"]?.boolValue == false {
            throw MLError.illegalArgument("Auto deployment disabled for this model, please deploy model first Model ID: \(document.id)")
        }
        guard settings.bool(MLSettings.modelAutoDeploy) else {
            throw MLError.illegalArgument("Model not ready yet. Please deploy the model first.")
        }
        context.logger.info("auto-deploying remote model \(document.id) for a predict request")
        try await load(document.id)
    }

    /// After a restart: remote models that were deployed are held again (no task; nothing to load),
    /// or marked UNDEPLOYED when auto-redeploy is off.
    func redeployAfterRestart() async throws {
        let settings = try await context.settings.current()
        for document in try await context.store.all(index: Indices.model, query: .not(ModelDocument.isChunk)) where Self.isRemote(document) {
            guard context.models.state(of: document)?.wantsDeployment == true else { continue }
            if settings.bool(MLSettings.autoRedeploy) {
                await deployed.add(document.id, RemoteLoadedModel())
            } else {
                try await context.models.update(document.id) { source in
                    source["model_state"] = .string(ModelState.undeployed.rawValue)
                    source["current_worker_node_count"] = 0
                    source["planning_worker_node_count"] = 0
                    source["planning_worker_nodes"] = nil
                }
            }
        }
    }
}
