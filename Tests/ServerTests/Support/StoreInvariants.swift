import Foundation
import OrderedJSON
import Testing

/// What must hold in the store after any crash and restart, read through the API as a client sees it.
final class StoreInvariants: @unchecked Sendable {
    /// Groups the test created itself: they may be empty and may skip versions (their models get deleted).
    var userGroups: Set<String> = []
    /// User groups whose `latest_version` must still equal their newest model's version (0 when empty).
    var strictGroups: Set<String> = []
    private let lock = NSLock()
    private var completedTasks: [String: String] = [:]
    private var registeredModels: Set<String> = []
    private var deletedPaths: Set<String> = []

    /// What a client was told must survive any later crash.
    func sawCompleted(task: String, model: String) { lock.withLock { completedTasks[task] = model } }
    func sawRegistered(model: String) { lock.withLock { _ = registeredModels.insert(model) } }
    func sawDeleted(path: String) { lock.withLock { _ = deletedPaths.insert(path) } }

    /// Waits for the tasks the restart left (redeploys) to finish, then records every broken invariant.
    func check(_ client: TestClient, _ context: String) async throws {
        var tasks: [JSON] = []
        for _ in 0..<600 {
            tasks = try await client.search("tasks", ["query": ["match_all": [:]], "size": 10000]).compactMap { $0["_source"] }
            if !tasks.contains(where: { $0["state"] == "CREATED" || $0["state"] == "RUNNING" }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        for task in tasks where task["state"] == "CREATED" || task["state"] == "RUNNING" {
            Issue.record("\(context): task left \(task["state"]?.stringValue ?? "?") after the restart: \(task.serialized)")
        }
        for task in tasks where task["state"] == "FAILED" && (task["error"]?.stringValue ?? "").isEmpty {
            Issue.record("\(context): task FAILED without a reason: \(task.serialized)")
        }

        var metas: [String: JSON] = [:]
        var chunks: [(id: String, model: String)] = []
        for hit in try await client.search("models", ["query": ["match_all": [:]], "size": 10000]) {
            guard let id = hit["_id"]?.stringValue, let source = hit["_source"] else { continue }
            if source["chunk_number"] != nil {
                chunks.append((id, source["model_id"]?.stringValue ?? ""))
            } else {
                metas[id] = source
            }
        }
        for chunk in chunks where metas[chunk.model] == nil {
            Issue.record("\(context): orphan chunk \(chunk.id) of missing model \(chunk.model)")
        }
        for (id, meta) in metas where meta["model_state"] != "REGISTERING" {
            let stored = chunks.filter { $0.model == id }.count
            if Int64(stored) != meta["total_chunks"]?.intValue {
                Issue.record("\(context): model \(id) (\(meta["model_state"]?.stringValue ?? "?")) has \(stored) of \(meta["total_chunks"]?.intValue ?? -1) chunks")
            }
        }
        for task in tasks where task["state"] == "COMPLETED" && task["task_type"] == "REGISTER_MODEL" {
            if let model = task["model_id"]?.stringValue, metas[model] == nil, !deletedModels.contains(model) {
                Issue.record("\(context): register task COMPLETED but its model \(model) is missing")
            }
        }

        var groups: [String: JSON] = [:]
        for hit in try await client.search("model_groups", ["query": ["match_all": [:]], "size": 10000]) {
            if let id = hit["_id"]?.stringValue, let source = hit["_source"] { groups[id] = source }
        }
        for (id, meta) in metas {
            guard let group = meta["model_group_id"]?.stringValue else { continue }
            if groups[group] == nil { Issue.record("\(context): model \(id) is in the missing group \(group)") }
        }
        for (id, group) in groups where !userGroups.contains(id) {
            let versions = metas.values.filter { $0["model_group_id"]?.stringValue == id }.compactMap { $0["model_version"]?.stringValue.flatMap { Int64($0) } }
            if versions.isEmpty { Issue.record("\(context): group \(id) (\(group["name"]?.stringValue ?? "")) is empty, and no client asked for it") }
            let latest = group["latest_version"]?.intValue ?? 0
            if Set(versions) != Set(latest > 0 ? Array(1...latest) : []) {
                Issue.record("\(context): group \(id) has latest_version \(latest) but its models hold versions \(versions.sorted())")
            }
        }
        let (completed, registered, deleted) = lock.withLock { (completedTasks, registeredModels, deletedPaths) }
        for (taskID, model) in completed {
            let task = try await client.expect(200, "GET", "/_plugins/_ml/tasks/\(taskID)")
            if task["state"] != "COMPLETED" { Issue.record("\(context): task \(taskID) was COMPLETED for the client, now \(task.serialized)") }
            if metas[model] == nil, !deletedModels.contains(model) { Issue.record("\(context): model \(model) of the COMPLETED task \(taskID) is gone") }
        }
        for model in registered where !deletedModels.contains(model) {
            if metas[model]?["model_state"] == nil || metas[model]?["model_state"] == "REGISTERING" {
                Issue.record("\(context): model \(model) was REGISTERED for the client, now \(metas[model]?.serialized ?? "missing")")
            }
        }
        for path in deleted {
            let status = try await client.send("GET", path).status
            if status != 404 { Issue.record("\(context): \(path) was deleted for the client but answers \(status)") }
        }
        for id in strictGroups {
            guard let group = groups[id] else { continue }
            let newest = metas.values.filter { $0["model_group_id"]?.stringValue == id }
                .compactMap { $0["model_version"]?.stringValue.flatMap { Int64($0) } }.max() ?? 0
            if group["latest_version"]?.intValue != newest {
                Issue.record("\(context): group \(id) has latest_version \(group["latest_version"]?.intValue ?? -1), its newest model \(newest)")
            }
        }
        // Every model answers GET consistently with the search.
        for id in metas.keys {
            let reply = try await client.send("GET", "/_plugins/_ml/models/\(id)")
            if reply.status != 200 { Issue.record("\(context): GET model \(id) answered \(reply.status)") }
        }
    }

    /// Models the test deleted on purpose (their register tasks stay COMPLETED).
    var deletedModels: Set<String> = []
}
