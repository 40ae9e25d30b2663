import OrderedJSON
import Storage

/// A task document (`.plugins-ml-task`), serialized in ML Commons' field order.
struct MLTask: Sendable {
    var modelID: String?
    var type: TaskType
    var functionName: String
    var state: TaskState
    var workerNodes: [String]
    var createTime: Int64
    var lastUpdateTime: Int64
    var error: String?
    var isAsync: Bool

    var source: JSONObject {
        var object = JSONObject()
        if let modelID { object["model_id"] = .string(modelID) }
        object["task_type"] = .string(type.rawValue)
        object["function_name"] = .string(functionName)
        object["state"] = .string(state.rawValue)
        object["worker_node"] = JSON(workerNodes)
        object["create_time"] = .int(createTime)
        object["last_update_time"] = .int(lastUpdateTime)
        if let error { object["error"] = .string(error) }
        object["is_async"] = .bool(isAsync)
        return object
    }

    init(type: TaskType, functionName: String, modelID: String?, workerNode: String, isAsync: Bool = true) {
        let now = nowMillis()
        self.modelID = modelID
        self.type = type
        self.functionName = functionName
        self.state = .created
        self.workerNodes = [workerNode]
        self.createTime = now
        self.lastUpdateTime = now
        self.isAsync = isAsync
    }

    init?(source: JSONObject) {
        guard let type = source["task_type"]?.stringValue.flatMap(TaskType.init(rawValue:)),
              let state = source["state"]?.stringValue.flatMap(TaskState.init(rawValue:)) else { return nil }
        self.modelID = source["model_id"]?.stringValue
        self.type = type
        self.functionName = source["function_name"]?.stringValue ?? FunctionName.textEmbedding.rawValue
        self.state = state
        self.workerNodes = source["worker_node"]?.arrayValue?.compactMap(\.stringValue) ?? []
        self.createTime = source["create_time"]?.intValue ?? 0
        self.lastUpdateTime = source["last_update_time"]?.intValue ?? 0
        self.error = source["error"]?.stringValue
        self.isAsync = source["is_async"]?.boolValue ?? true
    }
}

/// Tasks of register and deploy work (§4 of the API reference).
public struct TaskService: Sendable {
    let store: any DocumentStore

    func create(_ task: MLTask) async throws -> String {
        let (id, write) = creation(task)
        try await store.write([write])
        return id
    }

    /// A new task's id and the write that stores it, for a batch with other writes.
    func creation(_ task: MLTask) -> (String, StoreWrite) {
        let id = Identifiers.newID()
        return (id, .put(index: Indices.task, id: id, source: task.source, condition: .mustNotExist))
    }

    /// Applies a change to a stored task and stamps `last_update_time`.
    func update(_ id: String, _ change: @Sendable (inout MLTask) -> Void) async throws {
        _ = try await store.writeRetrying { try await updateWrite(id, change).map { [$0] } ?? [] }
    }

    /// The conditional write that applies a change to the task as stored now; nil if it is gone.
    func updateWrite(_ id: String, _ change: (inout MLTask) -> Void) async throws -> StoreWrite? {
        guard let document = try await store.get(index: Indices.task, id: id), var task = MLTask(source: document.source) else { return nil }
        change(&task)
        task.lastUpdateTime = max(nowMillis(), task.createTime)
        return .put(index: Indices.task, id: id, source: task.source,
                    condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))
    }

    /// CREATED → RUNNING; a task already further along keeps its state (a late start must not reopen it).
    func markRunning(_ id: String) async throws {
        try await update(id) { if $0.state == .created { $0.state = .running } }
    }

    func complete(_ id: String, modelID: String?) async throws {
        _ = try await store.writeRetrying { try await completion(id, modelID: modelID).map { [$0] } ?? [] }
    }

    func fail(_ id: String, error: String) async throws {
        _ = try await store.writeRetrying { try await failure(id, error: error).map { [$0] } ?? [] }
    }

    func completion(_ id: String, modelID: String?) async throws -> StoreWrite? {
        try await updateWrite(id) { task in
            task.state = .completed
            if let modelID { task.modelID = modelID }
        }
    }

    func failure(_ id: String, error: String) async throws -> StoreWrite? {
        try await updateWrite(id) { task in
            task.state = .failed
            task.error = error
        }
    }

    public func get(_ id: String) async throws -> JSON {
        guard let document = try await store.get(index: Indices.task, id: id) else {
            throw MLError.status(404, "Failed to find task")
        }
        return .object(document.source)
    }

    public func delete(_ id: String) async throws -> WriteResult {
        guard let document = try await store.get(index: Indices.task, id: id) else {
            throw MLError.status(404, "Failed to find task")
        }
        if document.source["state"]?.stringValue == TaskState.running.rawValue {
            throw MLError.generic("Task cannot be deleted in running state. Try after some time.")
        }
        guard let deleted = try await store.delete(index: Indices.task, id: id) else {
            return .notFound(index: Indices.task, id: id)
        }
        return WriteResult(index: Indices.task, id: id, version: deleted.version, seqNo: deleted.seqNo,
                           primaryTerm: deleted.primaryTerm, outcome: .deleted)
    }

    /// On start: tasks this node alone left CREATED or RUNNING when it stopped can never finish.
    func failInterrupted(on node: String) async throws -> [StoredDocument] {
        let query = Query.and(
            .terms(field: "state", values: [.string(TaskState.created.rawValue), .string(TaskState.running.rawValue)]),
            .term("worker_node", .string(node)))
        // A deploy task of several nodes ends when they all answered: this node answers again by redeploying.
        let stale = try await store.all(index: Indices.task, query: query).filter { ($0.source["worker_node"]?.arrayValue?.count ?? 0) <= 1 }
        for document in stale {
            try await fail(document.id, error: "The task was interrupted: the node restarted before it finished")
        }
        return stale
    }
}
