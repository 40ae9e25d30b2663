import OrderedJSON
import Security
import Storage

/// `GET /_plugins/_ml[/<nodeId>]/stats[/<stat>]` and `GET /_plugins/_ml/profile…` (§9.1, §9.2).
struct StatsAndProfile: Sendable {
    let context: CoreContext
    let stats: NodeStats
    let deployed: DeployedModels
    let latencies: LatencyMonitor

    static let clusterStats = [
        "ml_model_index_status", "ml_connector_index_status", "ml_config_index_status", "ml_task_index_status",
        "ml_controller_index_status", "ml_model_count", "ml_connector_count",
    ]
    static let nodeStats = [
        "ml_executing_task_count", "ml_request_count", "ml_failure_count", "ml_deployed_model_count",
        "ml_circuit_breaker_trigger_count",
    ]

    func stats(nodeIDs: [String]?, statNames: [String]?) async throws -> JSON {
        let wanted = statNames.map { Set($0.map { $0.lowercased() }) }
        if let wanted, let unknown = wanted.first(where: { !Self.clusterStats.contains($0) && !Self.nodeStats.contains($0) }) {
            throw MLError.illegalArgument("Stat \"\(unknown)\" does not exist; known stats: \((Self.clusterStats + Self.nodeStats).joined(separator: ", "))")
        }
        func include(_ name: String) -> Bool { wanted?.contains(name) ?? true }
        var result = JSONObject()
        let indices = ["ml_model_index_status": Indices.model, "ml_connector_index_status": Indices.connector,
                       "ml_config_index_status": Indices.config, "ml_task_index_status": Indices.task,
                       "ml_controller_index_status": ".plugins-ml-controller"]
        for name in Self.clusterStats where include(name) {
            if let index = indices[name] {
                result[name] = .string(try await context.store.indexExists(index) ? "green" : "non-existent")
            } else if name == "ml_model_count" {
                result[name] = .int(Int64(try await context.store.count(index: Indices.model, query: .not(ModelDocument.isChunk))))
            } else {
                result[name] = .int(Int64(try await context.store.count(index: Indices.connector, query: .matchAll)))
            }
        }
        let wantsNodeStats = wanted == nil || Self.nodeStats.contains(where: include)
        let nodeSelected = nodeIDs.map { $0.contains(context.node.id) || $0.contains("_all") || $0.contains("_local") } ?? true
        guard wantsNodeStats else { return .object(result) }
        var node = JSONObject()
        let total = await stats.total
        let values: [String: Int] = [
            "ml_executing_task_count": try await runningTaskCount(), "ml_request_count": total.requests,
            "ml_failure_count": total.failures, "ml_deployed_model_count": await deployed.count,
            "ml_circuit_breaker_trigger_count": await stats.circuitBreakerTrips,
        ]
        for name in Self.nodeStats where include(name) { node[name] = .int(Int64(values[name] ?? 0)) }
        if wanted == nil {
            node["algorithms"] = Self.render(await stats.byAlgorithm)
            var byModel = await stats.byModel
            let viewer = try await restrictedViewer()
            for id in byModel.keys where try await !visible(id, to: viewer) { byModel[id] = nil }
            node["models"] = Self.render(byModel)
        }
        result["nodes"] = .object(nodeSelected ? [context.node.id: .object(node)] : [:])
        return .object(result)
    }

    private static func render(_ counts: [String: [String: NodeStats.Counts]]) -> JSON {
        .object(JSONObject(counts.sorted { $0.key < $1.key }.map { name, actions in
            (key: name, value: .object(JSONObject(actions.sorted { $0.key < $1.key }.map { action, count in
                var entry: JSONObject = ["ml_action_request_count": .int(Int64(count.requests))]
                if count.failures > 0 { entry["ml_action_failure_count"] = .int(Int64(count.failures)) }
                return (key: action, value: .object(entry))
            })))
        }))
    }

    /// The caller whose view of per-model entries is restricted: a non-admin with access control
    /// ON; nil when every entry shows.
    private func restrictedViewer() async throws -> Principal? {
        guard let user = try await context.access.modelUser(), !user.isAdmin else { return nil }
        return user
    }

    /// Whether a model's entry shows to `user` (from `restrictedViewer`): only models it may use (a
    /// model deleted since it was counted has no group to ask: hidden).
    private func visible(_ modelID: String, to user: Principal?) async throws -> Bool {
        guard let user else { return true }
        guard let model = try await context.models.meta(modelID) else { return false }
        return try await context.access.mayUse(model.source, user: user)
    }

    private func runningTasks() async throws -> [StoredDocument] {
        try await context.store.all(index: Indices.task, query: .and(
            .terms(field: "state", values: [.string(TaskState.created.rawValue), .string(TaskState.running.rawValue)]),
            .term("worker_node", .string(context.node.id))))
    }

    private func runningTaskCount() async throws -> Int { try await runningTasks().count }

    /// What this node holds in memory: deployed models and its unfinished tasks.
    func profile(modelIDs: [String]?, taskIDs: [String]?, nodeIDs: [String]?, includeModels: Bool, includeTasks: Bool,
                 modelView: Bool) async throws -> JSON {
        if let nodeIDs, !nodeIDs.isEmpty, !nodeIDs.contains(context.node.id) { return .object([:]) }
        var models = JSONObject()
        if includeModels {
            let viewer = try await restrictedViewer()
            for id in await deployed.ids.sorted() where modelIDs?.contains(id) ?? true {
                guard let loaded = await deployed.model(id), try await visible(id, to: viewer) else { continue }
                let document = try await context.models.meta(id)
                let state = document?.source["model_state"] ?? .string(ModelState.deployed.rawValue)
                let me = JSON.string(context.node.id)
                // The model's plan, and the nodes holding it (as the placements say when nodes share the store).
                let targets = document?.source["planning_worker_nodes"].flatMap { $0.arrayValue?.isEmpty == false ? $0 : nil } ?? [me]
                let holders = context.cluster.shared ? try await ModelPlacements(store: context.store).holders(of: id).sorted() : []
                var profile: JSONObject = [
                    "model_state": state, "predictor": .string("mlcommons.native.\(loaded.native.map { "\(type(of: $0))" } ?? "\(type(of: loaded))")@\(id)"),
                    "target_worker_nodes": targets, "worker_nodes": holders.isEmpty ? [me] : JSON(holders),
                ]
                if let (inference, request) = await latencies.summaries(of: id) {
                    profile["model_inference_stats"] = inference
                    profile["predict_request_stats"] = request
                }
                profile["memory_size_estimation_cpu"] = .int(Int64(loaded.residentBytes))
                models[id] = .object(profile)
            }
        }
        var tasks = JSONObject()
        if includeTasks {
            for task in try await runningTasks() where taskIDs?.contains(task.id) ?? true {
                var source: JSONObject = ["task_id": .string(task.id)]
                for (key, value) in task.source { source[key] = value }
                tasks[task.id] = .object(source)
            }
        }
        if models.isEmpty && tasks.isEmpty { return .object([:]) }
        if modelView {
            return ["models": .object(JSONObject(models.map { id, profile in
                var nodeEntry = profile.objectValue ?? [:]
                nodeEntry["target_worker_nodes"] = nil
                nodeEntry["worker_nodes"] = nil
                return (key: id, value: [
                    "target_worker_nodes": profile["target_worker_nodes"] ?? [], "worker_nodes": profile["worker_nodes"] ?? [],
                    "nodes": .object([context.node.id: .object(nodeEntry)]),
                ])
            }))]
        }
        var node = JSONObject()
        if !tasks.isEmpty { node["tasks"] = .object(tasks) }
        if !models.isEmpty { node["models"] = .object(models) }
        return ["nodes": .object([context.node.id: .object(node)])]
    }
}
