import OrderedJSON
import Storage

/// Where a deploy goes: the nodes that load the model now (`targets`), the model's whole plan
/// afterwards (`planning_worker_nodes`), and whether it follows every eligible node (`deploy_to_all_nodes`).
struct DeployPlan: Sendable, Equatable {
    var targets: [String]
    var planned: [String]
    var toAllNodes: Bool
    /// An automatic redeploy (a node was counted out): counts against `lifetime_retry_times`.
    var isAutoRedeploy = false
}

/// Chooses the nodes of a deploy (§3.1): the requested `node_ids` that are live and eligible, or
/// every eligible node.
struct DeployPlanner: Sendable {
    let cluster: ClusterMembership
    let placements: ModelPlacements

    func plan(_ modelID: String, requested: [String]?, settings: EffectiveSettings, remote: Bool = false) async throws -> DeployPlan {
        let eligible = try await cluster.liveNodes().filter { $0.isEligible(settings, remote: remote) }.map(\.id)
        guard let requested else {
            guard !eligible.isEmpty else { throw MLError.illegalArgument("no eligible node found") }
            return DeployPlan(targets: eligible, planned: eligible, toAllNodes: true)
        }
        // Unknown or ineligible ids are dropped, as ML Commons drops them.
        let targets = eligible.filter(requested.contains)
        guard !targets.isEmpty else { throw MLError.illegalArgument("no eligible node found") }
        let elsewhere = try await placements.of(model: modelID).values.map(\.placement)
            .filter { $0.state == .deployed && !targets.contains($0.nodeID) }.map(\.nodeID).sorted()
        if !elsewhere.isEmpty {
            throw MLError.illegalArgument("Model already deployed to these nodes: [\(elsewhere.joined(separator: ", "))], but they are not "
                + "included in target node ids. Undeploy model from these nodes if you don't need them any more.")
        }
        return DeployPlan(targets: targets, planned: targets, toAllNodes: false)
    }

    /// This node takes back its share of a model already planned (a restart, a deploy-to-all model
    /// it has not loaded yet): the plan stays, this node added when the model follows every node.
    static func rejoin(_ document: StoredDocument, node: String) -> DeployPlan {
        var planned = document.source["planning_worker_nodes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let toAll = document.source["deploy_to_all_nodes"]?.boolValue ?? false
        if !planned.contains(node) { planned.append(node) }
        return DeployPlan(targets: [node], planned: planned, toAllNodes: toAll)
    }
}
