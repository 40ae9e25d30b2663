import Foundation
import OrderedJSON
import Storage

/// A node that stopped heartbeating (or left) is counted out once, by whichever node claims it
/// first: its unfinished tasks fail, the models it held are counted down, and with
/// `model_auto_redeploy.enable` models planned on chosen nodes move to another eligible node.
extension Deployment {
    /// - Parameter rollback: rolls back the registrations the node left unfinished.
    func countOutSilentNodes(rollback: @Sendable (_ node: String, _ reason: String) async throws -> Void) async throws {
        for (record, document) in try await context.cluster.nodesToCountOut() {
            var dead = record
            dead.status = .dead
            do {
                // The claim: only one node counts a node out, and a node that beat meanwhile is not.
                try await context.store.write([.put(index: Indices.nodes, id: record.id, source: dead.source,
                                                    condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))])
            } catch StoreError.versionConflict {
                continue
            }
            let seconds = max(0, record.millisSinceHeartbeat(now: nowMillis()) / 1000)
            let reason = record.status == .left
                ? "node \(record.id) (\(record.name)) left the cluster"
                : "node \(record.id) (\(record.name)) stopped heartbeating \(seconds) s ago and was counted out of the cluster"
            context.logger.warning("\(reason)")
            try await rollback(record.id, reason)
            try await failTasks(of: record.id, reason: reason)
            try await countDownModels(of: record.id, reason: reason)
        }
    }

    /// Tasks that ran on that node alone can never finish; deploy tasks of several nodes end through placements.
    private func failTasks(of node: String, reason: String) async throws {
        let running = try await context.store.all(index: Indices.task, query: .and(
            .terms(field: "state", values: [.string(TaskState.created.rawValue), .string(TaskState.running.rawValue)]),
            .term("worker_node", .string(node))))
        for task in running where (task.source["worker_node"]?.arrayValue?.count ?? 0) <= 1 {
            try await context.tasks.update(task.id) { task in
                task.state = .failed
                task.error = JSON.object([node: .string(reason)]).serialized
            }
        }
    }

    private func countDownModels(of node: String, reason: String) async throws {
        let settings = try await context.settings.current()
        for placement in try await placements.of(node: node) {
            try await settle(placement.modelID, changes: { current in
                var next = current
                switch current[node]?.state {
                case .deployed?: next[node] = nil
                case .deploying?: next[node]?.state = .failed; next[node]?.error = reason
                default: break
                }
                return next
            })
            guard placement.state == .deployed || placement.state == .deploying else { continue }
            try await redeployElsewhere(placement.modelID, lost: node, settings: settings)
        }
    }

    /// Auto-redeploy of a model planned on chosen nodes: the lost node's share goes to a live eligible
    /// node outside the plan, within `lifetime_retry_times`. Models deployed to every node need no
    /// move: every eligible node has them already.
    private func redeployElsewhere(_ modelID: String, lost: String, settings: EffectiveSettings) async throws {
        guard settings.bool(MLSettings.autoRedeploy), let document = try await context.models.meta(modelID),
              document.source["deploy_to_all_nodes"]?.boolValue != true,
              let state = context.models.state(of: document), [.deployed, .partiallyDeployed, .deploying, .deployFailed].contains(state) else { return }
        let retries = document.source["auto_redeploy_retry_times"]?.intValue ?? 0
        let limit = settings.int(MLSettings.lifetimeRetryTimes)
        guard retries < limit else {
            context.logger.warning("model \(modelID): not redeployed after losing node \(lost): auto_redeploy_retry_times \(retries) reached plugins.ml_commons.\(MLSettings.lifetimeRetryTimes) = \(limit)")
            return
        }
        var planned = document.source["planning_worker_nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let placed = Set(try await placements.of(model: modelID).keys)
        guard let replacement = try await context.cluster.liveNodes()
            .first(where: { $0.isEligible(settings) && !planned.contains($0.id) && !placed.contains($0.id) }) else {
            context.logger.warning("model \(modelID): no other eligible node to redeploy it on after losing node \(lost)")
            return
        }
        planned.removeAll { $0 == lost }
        planned.append(replacement.id)
        context.logger.info("model \(modelID): redeploying the share of node \(lost) on node \(replacement.id) (\(replacement.name))")
        try await startDeploy(modelID, plan: DeployPlan(targets: [replacement.id], planned: planned, toAllNodes: false, isAutoRedeploy: true))
    }
}
