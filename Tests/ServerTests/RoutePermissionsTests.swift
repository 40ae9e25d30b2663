import Foundation
import Logging
@testable import MLCommonsCore
@testable import MLCommonsServer
import Security
import Testing

/// Every route names the permission it needs, as the security plugin names actions (§8).
@Suite struct RoutePermissionsTests {
    static func routes() async throws -> (MLCommons, [Route]) {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("routes-\(UUID().uuidString)")
        var logger = Logger(label: "routes-test")
        logger.logLevel = .critical
        let commons = try await MLCommons.open(MLCommonsConfiguration(dataDir: dataDir, engine: NativeInferenceEngine()), logger: logger)
        let forwarder = NodeForwarder(logger: logger)
        var table = MLCommonsRoutes(commons: commons, forwarder: forwarder).table()
        await forwarder.shutdown()  // the table is only inspected, never served
        SecurityRoutes(authenticator: Authenticator(store: SecurityStore(store: commons.store))).add(to: &table)
        return (commons, table.routes)
    }

    @Test func everyRouteHasAnAction() async throws {
        let (commons, routes) = try await Self.routes()
        let missing = routes.filter { $0.declaredAccess == nil && RoutePermissions.action(method: $0.method, pattern: $0.pattern) == nil }
        #expect(missing.isEmpty, "no action for \(missing.map { "\($0.method) \($0.pattern)" })")
        try await commons.close()
    }

    @Test(arguments: [
        ("POST", "/_plugins/_ml/model_groups/_register", "register_model_group"),
        ("PUT", "/_plugins/_ml/model_groups/{id}", "update_model_group"),
        ("GET", "/_plugins/_ml/model_groups/{id}", "model_groups/get"),
        ("POST", "/_plugins/_ml/model_groups/_search", "model_groups/search"),
        ("DELETE", "/_plugins/_ml/model_groups/{id}", "model_groups/delete"),
        ("POST", "/_plugins/_ml/models/_register", "register_model"),
        ("POST", "/_plugins/_ml/models/{model_id}/{version}/_upload", "register_model"),
        ("POST", "/_plugins/_ml/models/_register_meta", "register_model_meta"),
        ("POST", "/_plugins/_ml/models/{id}/upload_chunk/{n}", "upload_model_chunk"),
        ("POST", "/_plugins/_ml/models/{id}/chunk/{n}", "upload_model_chunk"),
        ("GET", "/_plugins/_ml/models/{id}", "models/get"),
        ("GET", "/_plugins/_ml/models/_search", "models/search"),
        ("PUT", "/_plugins/_ml/models/{id}", "models/update"),
        ("DELETE", "/_plugins/_ml/models/{id}", "models/delete"),
        ("POST", "/_plugins/_ml/models/{id}/_deploy", "deploy_model"),
        ("POST", "/_plugins/_ml/models/{id}/_load", "deploy_model"),
        ("POST", "/_plugins/_ml/models/{id}/_undeploy", "undeploy_models"),
        ("POST", "/_plugins/_ml/models/_undeploy", "undeploy_models"),
        ("POST", "/_plugins/_ml/models/{id}/_predict", "predict"),
        ("POST", "/_plugins/_ml/_predict/{algorithm}/{id}", "predict"),
        ("GET", "/_plugins/_ml/tasks/{id}", "tasks/get"),
        ("POST", "/_plugins/_ml/tasks/_search", "tasks/search"),
        ("DELETE", "/_plugins/_ml/tasks/{id}", "tasks/delete"),
        ("POST", "/_plugins/_ml/connectors/_create", "create_connector"),
        ("GET", "/_plugins/_ml/connectors/{id}", "connectors/get"),
        ("GET", "/_plugins/_ml/connectors/_search", "connectors/search"),
        ("PUT", "/_plugins/_ml/connectors/{id}", "connectors/update"),
        ("DELETE", "/_plugins/_ml/connectors/{id}", "connectors/delete"),
        ("POST", "/_plugins/_ml/controllers/{model_id}", "controllers/create"),
        ("GET", "/_plugins/_ml/controllers/{model_id}", "controllers/get"),
        ("PUT", "/_plugins/_ml/controllers/{model_id}", "controllers/update"),
        ("DELETE", "/_plugins/_ml/controllers/{model_id}", "controllers/delete"),
        ("GET", "/_plugins/_ml/{node_id}/stats/{stat}", "stats/nodes"),
        ("GET", "/_plugins/_ml/stats", "stats/nodes"),
        ("GET", "/_plugins/_ml/profile/models/{ids}", "profile/nodes"),
        ("POST", "/v1/embeddings", "predict"),
    ])
    func mlRoutesNeedTheirMLCommonsAction(method: String, pattern: String, action: String) {
        #expect(RoutePermissions.action(method: method, pattern: pattern) == "cluster:admin/opensearch/ml/" + action)
    }

    @Test func coreRoutesNeedOpenSearchCoreActions() {
        #expect(RoutePermissions.action(method: "PUT", pattern: "/_cluster/settings") == "cluster:admin/settings/update")
        #expect(RoutePermissions.action(method: "POST", pattern: "/{index}/_bulk") == "indices:data/write/bulk")
        #expect(RoutePermissions.action(method: "PUT", pattern: "/{index}") == "indices:admin/create")
        #expect(RoutePermissions.action(method: "POST", pattern: "/_plugins/_ml/nothing/here") == nil)
    }
}
