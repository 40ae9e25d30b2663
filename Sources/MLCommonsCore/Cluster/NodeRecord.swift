import Foundation
import OrderedJSON
import Storage

/// One node of the cluster as the store knows it (`.mlcommons-nodes`, one document per node id):
/// written when the node starts, refreshed by its heartbeats, marked `left` by a clean stop and
/// `dead` by the node that noticed its heartbeats stopped.
public struct NodeRecord: Sendable, Equatable {
    public enum Status: String, Sendable {
        case live, left, dead
    }

    public var id: String
    public var name: String
    /// The base URL other nodes send forwarded requests to (`--publish-url`).
    public var publishURL: String
    public var roles: [String]
    public var version: String
    public var startedTime: Int64
    public var heartbeatTime: Int64
    public var status: Status

    public init(id: String, name: String, publishURL: String, roles: [String], version: String,
                startedTime: Int64, heartbeatTime: Int64, status: Status = .live) {
        self.id = id
        self.name = name
        self.publishURL = publishURL
        self.roles = roles
        self.version = version
        self.startedTime = startedTime
        self.heartbeatTime = heartbeatTime
        self.status = status
    }

    init?(_ document: StoredDocument) {
        let source = document.source
        guard let name = source["name"]?.stringValue, let url = source["publish_url"]?.stringValue,
              let status = source["status"]?.stringValue.flatMap(Status.init(rawValue:)) else { return nil }
        self.init(id: document.id, name: name, publishURL: url,
                  roles: source["roles"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  version: source["version"]?.stringValue ?? "", startedTime: source["started_time"]?.intValue ?? 0,
                  heartbeatTime: source["heartbeat_time"]?.intValue ?? 0, status: status)
    }

    var source: JSONObject {
        ["node_id": .string(id), "name": .string(name), "publish_url": .string(publishURL), "roles": JSON(roles),
         "version": .string(version), "started_time": .int(startedTime), "heartbeat_time": .int(heartbeatTime),
         "status": .string(status.rawValue)]
    }

    /// Live and heard from within `timeoutMillis` of `now` (wall clocks: nodes keep them in sync, e.g. NTP).
    func isAlive(now: Int64, timeoutMillis: Int64) -> Bool {
        status == .live && millisSinceHeartbeat(now: now) <= timeoutMillis
    }

    /// `now - heartbeatTime`, saturated: the times come from the store, and a record holding an
    /// extreme value must not trap the arithmetic of every node that reads it.
    public func millisSinceHeartbeat(now: Int64) -> Int64 { Self.difference(now, heartbeatTime) }

    /// How long the node has run, as of its last heartbeat (saturated, never negative).
    public var uptimeMillis: Int64 { max(0, Self.difference(heartbeatTime, startedTime)) }

    private static func difference(_ a: Int64, _ b: Int64) -> Int64 {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (a > b ? .max : .min) : result
    }

    /// `ml` work may run here: with `only_run_on_ml_node` a node needs the `ml` role, otherwise one of
    /// `task_dispatcher.eligible_node_role.local_model`; nodes named in `exclude_nodes._name` never.
    func isEligible(_ settings: EffectiveSettings, remote: Bool = false) -> Bool {
        let excluded = settings.string("exclude_nodes._name").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if excluded.contains(name) { return false }
        if settings.bool(MLSettings.onlyRunOnMLNode) { return roles.contains("ml") }
        let wanted = settings.stringList("task_dispatcher.eligible_node_role." + (remote ? "remote_model" : "local_model"))
        return roles.contains { wanted.contains($0) }
    }
}
