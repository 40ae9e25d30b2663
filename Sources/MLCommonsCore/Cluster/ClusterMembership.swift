import Foundation
import OrderedJSON
import Storage
import Synchronization

/// How often nodes beat and when silence means death.
public struct ClusterTiming: Sendable, Equatable {
    public var heartbeatInterval: Duration
    /// A node silent for this long is dead (`--node-timeout`).
    public var nodeTimeout: Duration

    public init(heartbeatInterval: Duration = .seconds(1), nodeTimeout: Duration = .seconds(10)) {
        self.heartbeatInterval = heartbeatInterval
        self.nodeTimeout = nodeTimeout
    }

    var timeoutMillis: Int64 { nodeTimeout.components.seconds * 1000 + nodeTimeout.components.attoseconds / 1_000_000_000_000_000 }
}

/// Which nodes form the cluster. With the embedded SQLite store this process is the whole cluster
/// (the data dir is locked to it) and nothing is written; with a shared store every node keeps its
/// record in `.mlcommons-nodes` fresh with heartbeats, and the live ones are those heard from lately.
public final class ClusterMembership: Sendable {
    let store: any DocumentStore
    public let shared: Bool
    public let timing: ClusterTiming
    private let local: Mutex<NodeRecord>

    init(store: any DocumentStore, node: NodeIdentity, shared: Bool, timing: ClusterTiming, roles: [String], version: String) {
        self.store = store
        self.shared = shared
        self.timing = timing
        let now = nowMillis()
        local = Mutex(NodeRecord(id: node.id, name: node.name, publishURL: "", roles: roles, version: version,
                                 startedTime: now, heartbeatTime: now))
    }

    /// The cluster's id (`cluster_uuid` of `GET /`): made by the first node of a shared store and read
    /// by the others; with the embedded store, this node's id.
    func clusterUUID() async throws -> String {
        guard shared else { return me.id }
        if let existing = try await store.get(index: Indices.nodes, id: Self.clusterDocument)?.source["cluster_uuid"]?.stringValue {
            return existing
        }
        let made = String(Identifiers.newID().prefix(22))
        do {
            try await store.put(index: Indices.nodes, id: Self.clusterDocument, source: ["cluster_uuid": .string(made)], condition: .mustNotExist)
            return made
        } catch StoreError.versionConflict {
            return try await store.get(index: Indices.nodes, id: Self.clusterDocument)?.source["cluster_uuid"]?.stringValue ?? made
        }
    }

    /// The document of `.mlcommons-nodes` that holds the cluster's id rather than a node.
    static let clusterDocument = "_cluster"

    /// This node's record as it would be written now.
    public var me: NodeRecord { local.withLock { $0 } }

    /// Sets the address other nodes reach this one at (known once the server listens); the next beat writes it.
    public func announce(publishURL: String) {
        local.withLock { $0.publishURL = publishURL }
    }

    /// Writes this node's record with a fresh heartbeat (status `live`). Returns true when the record
    /// said this node was dead: the others gave up on it while it was away, so it takes back its share.
    @discardableResult
    func beat() async throws -> Bool {
        guard shared else { return false }
        let record = local.withLock { record -> NodeRecord in
            record.heartbeatTime = nowMillis()
            record.status = .live
            return record
        }
        let previous = try await store.get(index: Indices.nodes, id: record.id).flatMap(NodeRecord.init)
        try await store.put(index: Indices.nodes, id: record.id, source: record.source)
        return previous?.status == .dead
    }

    /// A clean stop: the others need not wait for the timeout to count this node out.
    func leave() async {
        guard shared else { return }
        var record = me
        record.status = .left
        try? await store.put(index: Indices.nodes, id: record.id, source: record.source)
    }

    /// Every node the store knows (this one as it is now), by id.
    public func allNodes() async throws -> [NodeRecord] {
        guard shared else { return [me] }
        var records = try await store.all(index: Indices.nodes).compactMap(NodeRecord.init)
        records.removeAll { $0.id == me.id }
        return ([me] + records).sorted { $0.id < $1.id }
    }

    /// The nodes alive now; this node always counts itself.
    public func liveNodes() async throws -> [NodeRecord] {
        let now = nowMillis()
        let timeout = timing.timeoutMillis
        return try await allNodes().filter { $0.id == me.id || $0.isAlive(now: now, timeoutMillis: timeout) }
    }

    /// Nodes that stopped beating (or left) but are not yet counted out.
    func nodesToCountOut() async throws -> [(record: NodeRecord, document: StoredDocument)] {
        guard shared else { return [] }
        let now = nowMillis()
        let timeout = timing.timeoutMillis
        return try await store.all(index: Indices.nodes).compactMap { document in
            guard let record = NodeRecord(document), record.id != me.id, record.status != .dead,
                  !record.isAlive(now: now, timeoutMillis: timeout) else { return nil }
            return (record, document)
        }
    }
}
