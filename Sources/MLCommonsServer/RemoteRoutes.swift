import Foundation
import MLCommonsCore
import OrderedJSON
import Storage

/// Connectors (§6), controllers (§7.2), and the document calls guardrail stop words need.
extension MLCommonsRoutes {
    func addConnectors(_ table: inout RouteTable) {
        let commons = commons
        table.add("POST", "\(Self.base)/connectors/_create") { request in .ok(try await commons.createConnector(try request.json())) }
        table.add("GET", "\(Self.base)/connectors/{id}") { request in .ok(try await commons.getConnector(request.parameter("id"))) }
        table.add("PUT", "\(Self.base)/connectors/{id}") { request in
            write(try await commons.updateConnector(request.parameter("id"), body: try request.json()))
        }
        table.add("DELETE", "\(Self.base)/connectors/{id}") { request in write(try await commons.deleteConnector(request.parameter("id"))) }
        addSearch(&table, "\(Self.base)/connectors/_search", index: Indices.connector, hiding: ["credential"]) {
            try await commons.searchConnectors($0)
        }
    }

    func addControllers(_ table: inout RouteTable) {
        let commons = commons
        let path = "\(Self.base)/controllers/{model_id}"
        table.add("POST", path) { request in .ok(try await commons.createController(request.parameter("model_id"), body: try request.json())) }
        table.add("GET", path) { request in .ok(try await commons.getController(request.parameter("model_id"))) }
        table.add("PUT", path) { request in
            write(try await commons.updateController(request.parameter("model_id"), body: try request.json()))
        }
        table.add("DELETE", path) { request in write(try await commons.deleteController(request.parameter("model_id"))) }
    }

    /// `PUT|POST /<index>/_doc/<id>`, `POST /<index>/_doc`, `PUT|POST /<index>/_create/<id>`,
    /// `GET|DELETE /<index>/_doc/<id>`, `POST|PUT [/<index>]/_bulk`, `GET|POST /<index>/_search`.
    func addDocuments(_ table: inout RouteTable) {
        let documents = commons.documents
        @Sendable func reply(_ result: (status: Int, body: JSON)) -> APIReply { APIReply(status: result.status, body: result.body) }
        table.add(["PUT", "POST"], "/{index}/_doc/{id}") { request in
            reply(try await documents.index(request.parameter("index"), id: request.parameter("id"), source: try request.json(),
                                            create: request.query["op_type"] == "create"))
        }
        table.add("POST", "/{index}/_doc") { request in
            reply(try await documents.index(request.parameter("index"), id: nil, source: try request.json()))
        }
        table.add(["PUT", "POST"], "/{index}/_create/{id}") { request in
            reply(try await documents.index(request.parameter("index"), id: request.parameter("id"), source: try request.json(), create: true))
        }
        table.add("GET", "/{index}/_doc/{id}") { request in reply(try await documents.get(request.parameter("index"), id: request.parameter("id"))) }
        table.add("DELETE", "/{index}/_doc/{id}") { request in
            reply(try await documents.delete(request.parameter("index"), id: request.parameter("id")))
        }
        table.add(["POST", "PUT"], "/_bulk") { request in .ok(try await documents.bulk(defaultIndex: nil, body: request.body)) }
        table.add(["POST", "PUT"], "/{index}/_bulk") { request in
            .ok(try await documents.bulk(defaultIndex: request.parameter("index"), body: request.body))
        }
        addIndices(&table)
        table.add(["GET", "POST"], "/{index}/_search") { request in
            let index = request.parameter("index")
            let started = Date()
            let search = try SearchRequest.parse(try request.json() ?? .object([:]))
            let hits = try await documents.search(index, search)
            return .ok(SearchReplies.render(hits, index: index, request: search, tookMillis: Int(Date().timeIntervalSince(started) * 1000)))
        }
    }
}

extension MLCommonsRoutes {
    /// `PUT|GET|HEAD|DELETE /<index>`. A path of one `_`-segment the router does not know stays
    /// "no handler found", as before these routes existed.
    func addIndices(_ table: inout RouteTable) {
        let documents = commons.documents
        @Sendable func unknown(_ request: APIRequest) -> APIReply? {
            request.parameter("index").hasPrefix("_") ? ErrorReplies.noHandler(method: request.method, uri: request.path) : nil
        }
        table.add("PUT", "/{index}") { request in
            if let reply = unknown(request) { return reply }
            return .ok(try await documents.createIndex(request.parameter("index"), body: try request.json()))
        }
        table.add("GET", "/{index}") { request in
            if let reply = unknown(request) { return reply }
            return .ok(try await documents.getIndex(request.parameter("index")))
        }
        table.add("HEAD", "/{index}") { request in
            if let reply = unknown(request) { return reply }
            return APIReply(status: try await documents.indexExists(request.parameter("index")) ? 200 : 404, body: nil)
        }
        table.add("DELETE", "/{index}") { request in
            if let reply = unknown(request) { return reply }
            return .ok(try await documents.deleteIndex(request.parameter("index")))
        }
    }
}

extension APIRequest {
    /// The security plugin's name for requests without credentials.
    static let anonymousUser = "opendistro_security_anonymous"

    /// Who the request is from, for a controller's per-user limit: the authenticated user with
    /// security on; with it off, the user HTTP Basic credentials name (unchecked), else the anonymous user.
    var user: String {
        principal?.name ?? Credentials(authorization: headers["authorization"]).claimedUser ?? Self.anonymousUser
    }
}
