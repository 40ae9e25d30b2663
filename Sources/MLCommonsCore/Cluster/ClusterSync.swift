import Foundation
import OrderedJSON
import Storage

/// What every node does at each heartbeat when nodes share the store: beat (a loop of its own), count out nodes that
/// went silent, load the placements planned for it, drop what the cluster no longer plans here, and
/// join the models deployed to every node. Each step is idempotent and reads fresh state, so a
/// missed beat or a crash in the middle is made good by the next one.
extension Deployment {
    /// One heartbeat, on its own loop so slow sync work never makes this node look dead.
    func beat() async throws {
        if try await context.cluster.beat() {
            context.logger.warning("this node was counted out of the cluster while it was away: taking back what is planned for it")
            try await redeployAfterRestart()
        }
    }

    func syncWithCluster(registration: ModelRegistration) async throws {
        try await countOutSilentNodes { node, reason in try await registration.rollbackCountedOut(node, reason: reason) }
        try await followPlacements()
    }

    /// Loads this node's placements still waiting, and drops models held here without one.
    func followPlacements() async throws {
        let me = context.node.id
        let held = await deployed.localIDs  // before the read: a deploy finishing meanwhile has its placement then
        let mine = try await placements.of(node: me)
        for placement in mine where placement.state == .deploying {
            guard let taskID = placement.taskID, await deployed.runningDeploy(of: placement.modelID) == nil else { continue }
            // Read again: a load of this node may have finished since the list was read.
            guard let fresh = try await context.store.get(index: Indices.placements, id: placement.id).flatMap(Placement.init),
                  fresh.state == .deploying, fresh.taskID == taskID else { continue }
            if await adopt(modelID: placement.modelID, taskID: taskID) {
                context.logger.info("deploy task \(taskID): loading model \(placement.modelID), planned for this node")
            }
        }
        // A deploy task whose last answer was missed (say the node that gave it died before settling)
        // ends here: this node's share is done and the placements may add up now.
        for placement in mine where placement.state != .deploying {
            guard let taskID = placement.taskID, let task = try await context.store.get(index: Indices.task, id: taskID),
                  [TaskState.created.rawValue, TaskState.running.rawValue].contains(task.source["state"]?.stringValue ?? "") else { continue }
            try await settle(placement.modelID, taskIDs: [taskID], changes: { $0 })
        }
        let placed = Set(mine.map(\.modelID))
        for modelID in held where !placed.contains(modelID) {
            guard await deployed.runningDeploy(of: modelID) == nil,
                  try await context.store.get(index: Indices.placements, id: Placement.id(model: modelID, node: me)) == nil else { continue }
            try await dropLocally(modelID)
        }
        let settings = try await context.settings.current()
        guard context.cluster.me.isEligible(settings) else { return }
        let followers = try await context.store.all(index: Indices.model, query: .and(
            .term("deploy_to_all_nodes", true),
            .terms(field: "model_state", values: [ModelState.deployed, .partiallyDeployed, .deploying].map { .string($0.rawValue) })))
        for document in followers where !placed.contains(document.id) && !RemoteDeployment.isRemote(document) {
            // Read again: a deploy that placed this node may have been written since the list was read.
            guard await deployed.runningDeploy(of: document.id) == nil,
                  try await context.store.get(index: Indices.placements, id: Placement.id(model: document.id, node: me)) == nil else { continue }
            context.logger.info("model \(document.id) is deployed to every node: deploying it on this node too")
            try await startDeploy(document.id, plan: DeployPlanner.rejoin(document, node: me))
        }
    }
}
