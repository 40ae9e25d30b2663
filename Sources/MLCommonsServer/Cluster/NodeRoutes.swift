import Foundation
import MLCommonsCore
import OrderedJSON
import Security

/// `GET /_cat/nodes` and `GET /_nodes[/{node_id}]`: the live nodes, as OpenSearch lists them (the
/// columns and fields this server can fill; `opensearch-py`'s `cat.nodes()` and `nodes.info()` read them).
extension MLCommonsRoutes {
    func addNodes(_ table: inout RouteTable) {
        let commons = commons
        table.add("GET", "/_cat/nodes") { request in
            let nodes = try await commons.cluster.liveNodes()
            return NodeListing.cat(nodes, local: commons.node.id, query: request.query)
        }
        let info: RouteHandler = { request in
            let nodes = try await commons.cluster.liveNodes()
            let selector = request.parameters["node_id"] ?? "_all"
            return .ok(NodeListing.info(nodes.filter { NodeListing.selects(selector, $0, local: commons.node.id) }, total: nodes.count))
        }
        table.add("GET", "/_nodes", info)
        table.add("GET", "/_nodes/{node_id}", info)
    }
}

enum NodeListing {
    static let defaultColumns = ["ip", "node.role", "node.roles", "cluster_manager", "name"]
    static let knownColumns = ["id", "name", "ip", "port", "http_address", "node.role", "node.roles", "cluster_manager", "version", "uptime"]

    /// `_all`, `_local`, or comma-separated ids or names (wildcards `*`).
    static func selects(_ selector: String, _ node: NodeRecord, local: String) -> Bool {
        selector.split(separator: ",").contains { part in
            let part = String(part)
            if part == "_all" || part == "*" { return true }
            if part == "_local" { return node.id == local }
            return Wildcard.matches(part, node.id) || Wildcard.matches(part, node.name)
        }
    }

    static func cat(_ nodes: [NodeRecord], local: String, query: [String: String]) -> APIReply {
        let wanted = query["h"].map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? defaultColumns
        let columns = wanted.filter(knownColumns.contains)
        let rows: [[String: String]] = nodes.map { node in
            let address = HostAndPort(url: node.publishURL)
            let fullID = query["full_id"].map { $0.isEmpty || $0 == "true" } ?? false
            return [
                "id": fullID ? node.id : String(node.id.prefix(4)), "name": node.name, "ip": address.host, "port": address.port,
                "http_address": "\(address.host):\(address.port)", "node.role": roleLetters(node.roles),
                "node.roles": node.roles.joined(separator: ","), "cluster_manager": node.id == nodes.first?.id ? "*" : "-",
                "version": node.version, "uptime": "\(node.uptimeMillis / 1000)s",
            ]
        }
        if query["format"]?.lowercased() == "json" {
            return .ok(.array(rows.map { row in .object(JSONObject(columns.map { (key: $0, value: .string(row[$0] ?? "")) })) }))
        }
        let verbose = query["v"].map { $0.isEmpty || $0 == "true" } ?? false
        var lines = verbose ? [columns] : []
        lines += rows.map { row in columns.map { row[$0] ?? "" } }
        let widths = columns.indices.map { i in lines.map { $0[i].count }.max() ?? 0 }
        let text = lines.map { line in
            line.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: " ")
        }.joined(separator: "\n")
        return APIReply(status: 200, body: nil, text: text.isEmpty ? "" : text + "\n")
    }

    /// OpenSearch's one-letter role codes (`d` data, `i` ingest, `m` cluster_manager, `r` remote
    /// cluster client, `s` search); roles without a letter (`ml`) are listed whole in `node.roles`.
    static func roleLetters(_ roles: [String]) -> String {
        let letters = ["data": "d", "ingest": "i", "cluster_manager": "m", "master": "m", "remote_cluster_client": "r", "search": "s"]
        let code = roles.compactMap { letters[$0] }.sorted().joined()
        return code.isEmpty ? "-" : code
    }

    static func info(_ nodes: [NodeRecord], total: Int) -> JSON {
        var entries = JSONObject()
        for node in nodes {
            let address = HostAndPort(url: node.publishURL)
            entries[node.id] = [
                "name": .string(node.name), "transport_address": .string("\(address.host):\(address.port)"),
                "host": .string(address.host), "ip": .string(address.host), "version": .string(node.version),
                "build_type": "native", "build_hash": "mlcommons-swift", "roles": JSON(node.roles), "attributes": [:],
                "http": ["publish_address": .string("\(address.host):\(address.port)"), "bound_address": [.string("\(address.host):\(address.port)")]],
                "mlcommons": ["publish_url": .string(node.publishURL), "started_time": .int(node.startedTime),
                              "heartbeat_time": .int(node.heartbeatTime)],
            ]
        }
        return ["_nodes": ["total": .int(Int64(nodes.count)), "successful": .int(Int64(nodes.count)), "failed": 0],
                "cluster_name": "mlcommons", "nodes": .object(entries)]
    }
}

/// The host and port of a publish URL, for the address fields.
struct HostAndPort {
    let host: String
    let port: String

    init(url: String) {
        let components = URLComponents(string: url)
        host = components?.host ?? ""
        port = components?.port.map(String.init) ?? (components?.scheme == "https" ? "443" : "80")
    }
}

extension MLCommonsRoutes {
    /// A predict handler that first sends the request on to a node holding the model when this one
    /// does not (`MLCommons.forwardTargets`); it answers itself when it holds the model, when no
    /// other node does, and always for a request already forwarded. When the holders cannot be
    /// reached the answer is 503 (the model is deployed, just not reachable now), not "not deployed".
    func forwarding(_ modelID: @escaping @Sendable (APIRequest) -> String?, _ local: @escaping RouteHandler) -> RouteHandler {
        { [commons, forwarder] request in
            if request.headers[NodeForwarder.forwardedHeader] == nil, let id = modelID(request), !id.isEmpty {
                let targets = try await commons.forwardTargets(modelID: id)
                if !targets.isEmpty {
                    if let reply = await forwarder.forward(request, to: targets, from: commons.node.id) { return reply }
                    throw MLError.status(503, "Model \(id) is deployed on node(s) [\(targets.map(\.id).sorted().joined(separator: ", "))] "
                        + "but none of them could be reached; retry, or deploy it on this node")
                }
            }
            return try await local(request)
        }
    }
}
