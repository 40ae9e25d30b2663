/// What a route asks of its caller when security is on.
enum RouteAccess: Sendable, Equatable {
    /// Anyone, without credentials (the security plugin's health check).
    case anonymous
    /// Any authenticated user: who am I, my own account and API keys.
    case authenticated
    /// Security administrators only (users, roles, mappings): holders of `all_access`.
    case securityAdmin
    /// A role of the caller must allow this cluster action.
    case action(String)
}

/// The permission each route needs, named as the OpenSearch security plugin names actions (§8 of the
/// API reference): ML Commons' `cluster:admin/opensearch/ml/...` actions, and OpenSearch core's
/// names for the cluster and index routes this server answers. Looked up by a route's method and
/// pattern; a test holds every route of the table to having one.
enum RoutePermissions {
    static let ml = "cluster:admin/opensearch/ml/"

    /// The action a request to `method pattern` performs, or nil for a route this table does not know.
    static func action(method: String, pattern: String) -> String? {
        let base = MLCommonsRoutes.base + "/"
        if pattern.hasPrefix(base) { return mlAction(method: method, path: String(pattern.dropFirst(base.count))) }
        return coreActions[method + " " + pattern]
    }

    private static func mlAction(method: String, path: String) -> String? {
        let parts = path.split(separator: "/").map(String.init)
        guard let family = parts.first else { return nil }
        switch (family, method) {
        case ("model_groups", "POST") where parts.last == "_register": return ml + "register_model_group"
        case ("model_groups", "POST") where parts.last == "_search", ("model_groups", "GET") where parts.last == "_search":
            return ml + "model_groups/search"
        case ("model_groups", "GET"): return ml + "model_groups/get"
        case ("model_groups", "PUT"): return ml + "update_model_group"
        case ("model_groups", "DELETE"): return ml + "model_groups/delete"
        case ("models", _): return modelAction(method: method, parts: Array(parts.dropFirst()))
        case ("_predict", "POST"): return ml + "predict"
        case ("tasks", "GET") where parts.last == "_search", ("tasks", "POST") where parts.last == "_search": return ml + "tasks/search"
        case ("tasks", "GET"): return ml + "tasks/get"
        case ("tasks", "DELETE"): return ml + "tasks/delete"
        case ("connectors", "POST") where parts.last == "_create": return ml + "create_connector"
        case ("connectors", "GET") where parts.last == "_search", ("connectors", "POST") where parts.last == "_search":
            return ml + "connectors/search"
        case ("connectors", "GET"): return ml + "connectors/get"
        case ("connectors", "PUT"): return ml + "connectors/update"
        case ("connectors", "DELETE"): return ml + "connectors/delete"
        case ("controllers", _):
            return ["POST": "create", "GET": "get", "PUT": "update", "DELETE": "delete"][method].map { ml + "controllers/" + $0 }
        case (_, "GET") where parts.contains("stats"): return ml + "stats/nodes"
        case ("profile", "GET"): return ml + "profile/nodes"
        default: return nil
        }
    }

    private static func modelAction(method: String, parts: [String]) -> String? {
        let last = parts.last ?? ""
        switch (method, last) {
        case ("POST", "_register"), ("POST", "_upload"): return ml + "register_model"
        case ("POST", "_register_meta"), ("POST", "meta"): return ml + "register_model_meta"
        case ("POST", "{n}") where parts.contains("upload_chunk") || parts.contains("chunk"): return ml + "upload_model_chunk"
        case ("POST", "_deploy"), ("POST", "_load"): return ml + "deploy_model"
        case ("POST", "_undeploy"), ("POST", "_unload"): return ml + "undeploy_models"
        case ("POST", "_predict"): return ml + "predict"
        case ("GET", "_search"), ("POST", "_search"): return ml + "models/search"
        case ("GET", _): return ml + "models/get"
        case ("PUT", _): return ml + "models/update"
        case ("DELETE", _): return ml + "models/delete"
        default: return nil
        }
    }

    /// OpenSearch core's action names for the routes outside `/_plugins/_ml`.
    private static let coreActions: [String: String] = [
        "GET /": "cluster:monitor/main",
        "HEAD /": "cluster:monitor/main",
        "GET /_cluster/settings": "cluster:monitor/state",
        "GET /_cat/nodes": "cluster:monitor/nodes/info",
        "GET /_nodes": "cluster:monitor/nodes/info",
        "GET /_nodes/{node_id}": "cluster:monitor/nodes/info",
        "PUT /_cluster/settings": "cluster:admin/settings/update",
        // OpenAI's embeddings API runs a predict.
        "POST /v1/embeddings": ml + "predict",
        "PUT /{index}/_doc/{id}": "indices:data/write/index",
        "POST /{index}/_doc/{id}": "indices:data/write/index",
        "POST /{index}/_doc": "indices:data/write/index",
        "PUT /{index}/_create/{id}": "indices:data/write/index",
        "POST /{index}/_create/{id}": "indices:data/write/index",
        "GET /{index}/_doc/{id}": "indices:data/read/get",
        "DELETE /{index}/_doc/{id}": "indices:data/write/delete",
        "POST /_bulk": "indices:data/write/bulk",
        "PUT /_bulk": "indices:data/write/bulk",
        "POST /{index}/_bulk": "indices:data/write/bulk",
        "PUT /{index}/_bulk": "indices:data/write/bulk",
        "GET /{index}/_search": "indices:data/read/search",
        "POST /{index}/_search": "indices:data/read/search",
        "PUT /{index}": "indices:admin/create",
        "GET /{index}": "indices:admin/get",
        "HEAD /{index}": "indices:admin/get",
        "DELETE /{index}": "indices:admin/delete",
    ]
}
