import OrderedJSON
import Storage

/// Deploy attempts of this node's models (`.mlcommons-deploy-attempts`, one record per model and
/// node, `<model id>@<node id>`; stores written before nodes shared them keyed it by model id). The
/// record is written, durably, before the model is loaded; a load the process did not survive leaves
/// it in state `loading`, which the next start counts as a crash (the crash-loop guard).
struct DeployAttempts: Sendable {
    let store: any DocumentStore
    let node: String

    enum State: String, Sendable {
        /// A load is running (or the process died during it).
        case loading
        /// Deploy again at the next start: the load failed for want of memory or disk, or a clean stop interrupted it.
        case retry
        /// Not redeployed at start: it crashed too often, or auto-redeploy is off.
        case stopped
    }

    struct Record: Sendable {
        let document: StoredDocument
        var modelID: String { document.source["model_id"]?.stringValue ?? document.id }
        var taskID: String? { document.source["task_id"]?.stringValue }
        var node: String? { document.source["node"]?.stringValue }
        var state: State? { document.source["state"]?.stringValue.flatMap(State.init(rawValue:)) }
        /// Loads of the model the process did not survive since it last deployed.
        var crashes: Int64 { document.source["crashes"]?.intValue ?? 0 }
    }

    func record(_ modelID: String) async throws -> Record? {
        if let record = try await store.get(index: Indices.deployAttempts, id: id(modelID)).map(Record.init) { return record }
        return try await store.get(index: Indices.deployAttempts, id: modelID).map(Record.init).flatMap { $0.node == node ? $0 : nil }
    }

    private func id(_ modelID: String) -> String { "\(modelID)@\(node)" }

    func all() async throws -> [Record] {
        try await store.all(index: Indices.deployAttempts).map(Record.init).filter { $0.node == node }
    }

    func write(_ modelID: String, taskID: String?, state: State, crashes: Int64, reason: String? = nil) -> StoreWrite {
        var source: JSONObject = ["model_id": .string(modelID), "node": .string(node), "state": .string(state.rawValue), "crashes": .int(crashes)]
        if let taskID { source["task_id"] = .string(taskID) }
        if let reason { source["reason"] = .string(reason) }
        source["updated_time"] = .int(nowMillis())
        return .put(index: Indices.deployAttempts, id: id(modelID), source: source)
    }

    /// Removes this node's record of the model (under either id).
    func clear(_ modelID: String) -> StoreWrite {
        .deleteByQuery(index: Indices.deployAttempts, query: .and(.term("model_id", .string(modelID)), .term("node", .string(node))))
    }

    /// On a clean stop: loads still running are not crashes; they are retried at the next start.
    func markInterrupted() async throws {
        let running = try await all().filter { $0.state == .loading }
        guard !running.isEmpty else { return }
        try await store.write(running.map { write($0.modelID, taskID: $0.taskID, state: .retry, crashes: $0.crashes) })
    }

    /// A failure worth retrying at the next start, unlike a broken model: memory or disk ran short
    /// (they may be back by then), or a stop cancelled the load.
    static func retriesAtStart(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        if case StoreError.diskFull = error { return true }
        if let error = error as? MLError { return error.status == 429 || error.status == 507 }
        return DiskSpace.isOutOfSpace(error)
    }
}
