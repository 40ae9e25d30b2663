import OrderedJSON
import Storage

/// One node's share of a model: being loaded there for a deploy task, loaded, or failed to load.
/// Kept in `.mlcommons-model-placements` as `<model id>@<node id>`; the deploy request writes one per
/// target node, the node writes the outcome, an undeploy or the node's death removes it.
struct Placement: Sendable, Equatable {
    enum State: String, Sendable {
        case deploying, deployed, failed
    }

    var modelID: String
    var nodeID: String
    var state: State
    var taskID: String?
    var error: String?

    var id: String { Self.id(model: modelID, node: nodeID) }
    static func id(model: String, node: String) -> String { "\(model)@\(node)" }

    init(modelID: String, nodeID: String, state: State, taskID: String?, error: String? = nil) {
        self.modelID = modelID
        self.nodeID = nodeID
        self.state = state
        self.taskID = taskID
        self.error = error
    }

    init?(_ document: StoredDocument) {
        let source = document.source
        guard let model = source["model_id"]?.stringValue, let node = source["node_id"]?.stringValue,
              let state = source["state"]?.stringValue.flatMap(State.init(rawValue:)) else { return nil }
        self.init(modelID: model, nodeID: node, state: state, taskID: source["task_id"]?.stringValue, error: source["error"]?.stringValue)
    }

    var source: JSONObject {
        var source: JSONObject = ["model_id": .string(modelID), "node_id": .string(nodeID), "state": .string(state.rawValue)]
        if let taskID { source["task_id"] = .string(taskID) }
        if let error { source["error"] = .string(error) }
        source["updated_time"] = .int(nowMillis())
        return source
    }
}

/// Reads and writes of the placement records.
struct ModelPlacements: Sendable {
    let store: any DocumentStore

    /// Every node's record for a model, keyed by node id, with the documents (for conditional writes).
    func of(model modelID: String) async throws -> [String: (placement: Placement, document: StoredDocument)] {
        var result: [String: (Placement, StoredDocument)] = [:]
        for document in try await store.all(index: Indices.placements, query: .term("model_id", .string(modelID))) {
            if let placement = Placement(document) { result[placement.nodeID] = (placement, document) }
        }
        return result
    }

    /// This node's records.
    func of(node nodeID: String) async throws -> [Placement] {
        try await store.all(index: Indices.placements, query: .term("node_id", .string(nodeID))).compactMap(Placement.init)
    }

    /// Nodes holding the model loaded, per their records.
    func holders(of modelID: String) async throws -> [String] {
        try await store.all(index: Indices.placements, query: .and(.term("model_id", .string(modelID)), .term("state", "deployed")))
            .compactMap { Placement($0)?.nodeID }
    }

    func write(_ placement: Placement) -> StoreWrite {
        .put(index: Indices.placements, id: placement.id, source: placement.source)
    }

    func remove(model: String, node: String) -> StoreWrite {
        .delete(index: Indices.placements, id: Placement.id(model: model, node: node))
    }

    func removeAll(model: String) -> StoreWrite {
        .deleteByQuery(index: Indices.placements, query: .term("model_id", .string(model)))
    }
}

/// What a model's placements add up to (§3.1, §3.5): its state and worker count, and the outcome of
/// a deploy task once every node it targeted has answered. Liveness is not consulted: a node counted
/// out loses its placements (its loads fail), so a node that is merely slow to beat changes nothing.
enum PlacementRollup {
    /// - Parameters:
    ///   - planned: the model's `planning_worker_nodes`;
    ///   - placements: its records by node.
    static func model(planned: [String], placements: [String: Placement], current: ModelState?) -> (state: ModelState, workers: Int) {
        let deployed = placements.values.filter { $0.state == .deployed }.count
        let loading = placements.values.contains { $0.state == .deploying }
        if loading && (current == .deploying || deployed == 0) { return (.deploying, deployed) }
        if deployed == 0 { return (.deployFailed, 0) }
        return (deployed >= max(1, planned.count) ? .deployed : .partiallyDeployed, deployed)
    }

    /// A deploy task's end, or nil while a target is still loading for it. Targets whose record
    /// belongs to a later task count as done; a target that lost its record (undeployed, or counted
    /// out) failed.
    static func task(_ taskID: String, targets: [String], placements: [String: Placement]) -> (state: TaskState, error: String?)? {
        var errors = JSONObject()
        for node in targets {
            guard let placement = placements[node] else {
                errors[node] = .string("the model was undeployed from this node (or the node left the cluster) while it was loading")
                continue
            }
            guard placement.taskID == taskID else { continue }
            switch placement.state {
            case .deploying: return nil
            case .failed: errors[node] = .string(placement.error ?? "deploy failed")
            case .deployed: break
            }
        }
        if errors.isEmpty { return (.completed, nil) }
        return (errors.count >= targets.count ? .failed : .completedWithError, JSON.object(errors).serialized)
    }
}
