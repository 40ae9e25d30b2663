import MLCommonsCore
import OrderedJSON

/// Stats and profile for every node (§9.1, §9.2): the node asked answers for itself and asks every
/// other live node the same request, then merges their `nodes` (and, in the model view of the
/// profile, each model's nodes and worker lists). A node that does not answer in time is left out.
extension MLCommonsRoutes {
    enum ViewKind { case stats, profile }

    func fannedOut(_ kind: ViewKind, _ local: @escaping RouteHandler) -> RouteHandler {
        { [commons, forwarder] request in
            let own = try await local(request)
            guard commons.cluster.shared, request.headers[NodeForwarder.forwardedHeader] == nil, own.status == 200,
                  var merged = own.body?.objectValue else { return own }
            let others = try await commons.cluster.liveNodes().filter { $0.id != commons.node.id }
            let replies = await withTaskGroup(of: JSON?.self) { group in
                for node in others {
                    group.addTask {
                        guard let reply = await forwarder.ask(request, node: node, from: commons.node.id), reply.status == 200 else { return nil }
                        return reply.body
                    }
                }
                return await group.reduce(into: [JSON]()) { if let body = $1 { $0.append(body) } }
            }
            for reply in replies { ClusterViewMerge.merge(reply.objectValue ?? [:], into: &merged, kind: kind) }
            return .ok(.object(merged))
        }
    }
}

enum ClusterViewMerge {
    static func merge(_ other: JSONObject, into merged: inout JSONObject, kind: MLCommonsRoutes.ViewKind) {
        if let nodes = other["nodes"]?.objectValue {
            var mine = merged["nodes"]?.objectValue ?? [:]
            for (id, entry) in nodes where mine[id] == nil { mine[id] = entry }
            merged["nodes"] = .object(sorted(mine))
        }
        guard kind == .profile, let models = other["models"]?.objectValue else { return }
        var mine = merged["models"]?.objectValue ?? [:]
        for (id, entry) in models {
            guard var existing = mine[id]?.objectValue else {
                mine[id] = entry
                continue
            }
            for list in ["target_worker_nodes", "worker_nodes"] {
                let union = Set(((existing[list]?.arrayValue ?? []) + (entry[list]?.arrayValue ?? [])).compactMap(\.stringValue))
                existing[list] = JSON(union.sorted())
            }
            var nodes = existing["nodes"]?.objectValue ?? [:]
            for (node, value) in entry["nodes"]?.objectValue ?? [:] where nodes[node] == nil { nodes[node] = value }
            existing["nodes"] = .object(sorted(nodes))
            mine[id] = .object(existing)
        }
        merged["models"] = .object(mine)
    }

    private static func sorted(_ object: JSONObject) -> JSONObject {
        JSONObject(object.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
    }
}
