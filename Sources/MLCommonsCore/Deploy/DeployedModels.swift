/// The models this node holds in memory: the source of truth for "deployed here" (the index state
/// is what the cluster believes; predict and undeploy look here).
actor DeployedModels {
    private var models: [String: any LoadedModel] = [:]
    /// Deploys running here: model id → its deploy task.
    private var deploying: [String: String] = [:]
    /// Deploys still loading whose model was undeployed meanwhile: their load must not be held.
    private var cancelled: Set<String> = []

    var count: Int { models.count }
    /// Models that run here; remote models are held too but do not count against the local limit.
    var localCount: Int { models.values.lazy.filter(\.isLocal).count }
    var ids: [String] { Array(models.keys) }
    /// Models loaded into this node's engine (remote models are held too, but the cluster does not place them).
    var localIDs: [String] { models.filter { $0.value.isLocal }.map(\.key) }

    func contains(_ id: String) -> Bool { models[id] != nil }
    var residentBytes: Int64 { models.values.reduce(0) { $0 + Int64($1.residentBytes) } }
    func model(_ id: String) -> (any LoadedModel)? { models[id] }

    /// Claims the right to deploy a model with `task`; when a deploy of it is already running here,
    /// returns that deploy's task instead (and claims nothing).
    func claimDeploy(_ id: String, task: String) -> String? {
        if let running = deploying[id] { return running }
        deploying[id] = task
        return nil
    }
    func runningDeploy(of id: String) -> String? { deploying[id] }
    func endDeploy(_ id: String) {
        deploying[id] = nil
        cancelled.remove(id)
    }
    var deployingCount: Int { deploying.count }

    func add(_ id: String, _ model: any LoadedModel) { models[id] = model }

    /// Holds a model a deploy loaded, unless an undeploy came while it was loading.
    func addUnlessCancelled(_ id: String, _ model: any LoadedModel) -> Bool {
        if cancelled.contains(id) { return false }
        models[id] = model
        return true
    }

    /// Drops a model (and cancels a deploy of it still loading); true if it was held.
    @discardableResult
    func remove(_ id: String) -> Bool {
        if deploying[id] != nil { cancelled.insert(id) }
        return models.removeValue(forKey: id) != nil
    }
}
