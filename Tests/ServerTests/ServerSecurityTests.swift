import Foundation
import OrderedJSON
import Testing

/// Security at the HTTP edge, over real HTTPS: authentication (Basic and API keys), the permission of
/// every route for each built-in role, the security plugin's REST API, the login throttle, the first
/// admin, and that no password or key ever shows in an answer or a log line.
@Suite struct ServerSecurityTests {
    static let ml = "cluster:admin/opensearch/ml/"

    /// One request per action family, with the action it needs.
    static let requests: [(method: String, path: String, body: JSON?, action: String)] = [
        ("POST", "/_plugins/_ml/model_groups/_register", ["name": "group-of-ROLE"], ml + "register_model_group"),
        ("GET", "/_plugins/_ml/model_groups/GROUP", nil, ml + "model_groups/get"),
        ("POST", "/_plugins/_ml/model_groups/_search", [:], ml + "model_groups/search"),
        ("PUT", "/_plugins/_ml/model_groups/GROUP", ["description": "changed"], ml + "update_model_group"),
        ("DELETE", "/_plugins/_ml/model_groups/nope", nil, ml + "model_groups/delete"),
        ("POST", "/_plugins/_ml/models/_register", [:], ml + "register_model"),
        ("POST", "/_plugins/_ml/models/_register_meta", [:], ml + "register_model_meta"),
        ("POST", "/_plugins/_ml/models/nope/upload_chunk/0", ["x": 1], ml + "upload_model_chunk"),
        ("GET", "/_plugins/_ml/models/nope", nil, ml + "models/get"),
        ("GET", "/_plugins/_ml/models/_search", nil, ml + "models/search"),
        ("PUT", "/_plugins/_ml/models/nope", ["description": "x"], ml + "models/update"),
        ("DELETE", "/_plugins/_ml/models/nope", nil, ml + "models/delete"),
        ("POST", "/_plugins/_ml/models/nope/_deploy", nil, ml + "deploy_model"),
        ("POST", "/_plugins/_ml/models/nope/_undeploy", nil, ml + "undeploy_models"),
        ("POST", "/_plugins/_ml/models/_undeploy", ["model_ids": ["nope"]], ml + "undeploy_models"),
        ("POST", "/_plugins/_ml/models/nope/_predict", ["text_docs": ["a"]], ml + "predict"),
        ("POST", "/_plugins/_ml/_predict/text_embedding/nope", ["text_docs": ["a"]], ml + "predict"),
        ("GET", "/_plugins/_ml/tasks/nope", nil, ml + "tasks/get"),
        ("POST", "/_plugins/_ml/tasks/_search", [:], ml + "tasks/search"),
        ("DELETE", "/_plugins/_ml/tasks/nope", nil, ml + "tasks/delete"),
        ("POST", "/_plugins/_ml/connectors/_create", [:], ml + "create_connector"),
        ("GET", "/_plugins/_ml/connectors/nope", nil, ml + "connectors/get"),
        ("POST", "/_plugins/_ml/connectors/_search", [:], ml + "connectors/search"),
        ("PUT", "/_plugins/_ml/connectors/nope", ["description": "x"], ml + "connectors/update"),
        ("DELETE", "/_plugins/_ml/connectors/nope", nil, ml + "connectors/delete"),
        ("POST", "/_plugins/_ml/controllers/nope", ["user_rate_limiter": [:]], ml + "controllers/create"),
        ("GET", "/_plugins/_ml/controllers/nope", nil, ml + "controllers/get"),
        ("PUT", "/_plugins/_ml/controllers/nope", ["user_rate_limiter": [:]], ml + "controllers/update"),
        ("DELETE", "/_plugins/_ml/controllers/nope", nil, ml + "controllers/delete"),
        ("GET", "/_plugins/_ml/stats", nil, ml + "stats/nodes"),
        ("GET", "/_plugins/_ml/profile/models", nil, ml + "profile/nodes"),
        ("POST", "/v1/embeddings", ["model": "nope", "input": "a"], ml + "predict"),
        ("GET", "/", nil, "cluster:monitor/main"),
        ("GET", "/_cluster/settings", nil, "cluster:monitor/state"),
        ("PUT", "/_cluster/settings", ["persistent": [:]], "cluster:admin/settings/update"),
        ("PUT", "/notes-ROLE/_doc/1", ["a": 1], "indices:data/write/index"),
        ("POST", "/notes-ROLE/_search", [:], "indices:data/read/search"),
    ]

    /// What each built-in role may do, written out here (not computed by the server's own rules).
    static let readActions: Set<String> = Set(["model_groups/get", "model_groups/search", "models/get", "models/search", "tasks/get",
                                               "tasks/search", "connectors/get", "connectors/search", "controllers/get", "stats/nodes",
                                               "profile/nodes"].map { ml + $0 })

    static func allowed(_ role: String?, _ action: String) -> Bool {
        switch role {
        case "all_access": true
        case "ml_full_access": action.hasPrefix(ml) || action.hasPrefix("cluster:monitor/")
        case "ml_readonly_access", "ml_read_access": readActions.contains(action)
        default: false
        }
    }

    @Test func eachBuiltInRoleAgainstEveryActionFamily() async throws {
        try await SecureServer.with { server in
            let group = try await server.admin.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "shared"])
            let groupID = try #require(group["model_group_id"]?.stringValue)
            let roles: [String?] = ["all_access", "ml_full_access", "ml_readonly_access", "ml_read_access", nil]
            for (index, role) in roles.enumerated() {
                let name = "user\(index)"
                let client = try await server.user(name, password: "Pw-\(index)-quartz-lime", roles: role.map { [$0] } ?? [],
                                                   backendRoles: ["team\(index)"])
                for request in Self.requests {
                    let path = request.path.replacingOccurrences(of: "GROUP", with: groupID).replacingOccurrences(of: "ROLE", with: "\(index)")
                    let body = request.body.map { Array($0.serialized.replacingOccurrences(of: "ROLE", with: "\(index)").utf8) }
                    let reply = try await client.send(request.method, path, body: body)
                    let label = "\(role ?? "no role") \(request.method) \(path): \(reply.status) \(reply.text)"
                    if Self.allowed(role, request.action) {
                        #expect(![401, 403].contains(reply.status), "\(label)")
                    } else {
                        #expect(reply.status == 403, "\(label)")
                        let reason = "no permissions for [\(request.action)] and User [name=\(name), backend_roles=[team\(index)], requestedTenant=null]"
                        #expect(try reply.json["error"]?["reason"]?.stringValue == reason, "\(label)")
                        #expect(try reply.json["error"]?["type"]?.stringValue == "security_exception", "\(label)")
                    }
                }
            }
            // A denial is audited with user, address, route and action.
            #expect(server.server.log().contains(#"audit MISSING_PRIVILEGES user="user2" address=127.0.0.1 request="POST /_plugins/_ml/models/_register" action cluster:admin/opensearch/ml/register_model"#))
        }
    }
}
