import Foundation
import MLCommonsCore
import OrderedJSON
import Storage

/// Every route the server answers, grouped as the API reference groups them.
struct MLCommonsRoutes {
    let commons: MLCommons
    let forwarder: NodeForwarder
    let versionNumber = MLCommons.version
    static let base = "/_plugins/_ml"

    func table() -> RouteTable {
        var table = RouteTable()
        addCluster(&table)
        addNodes(&table)
        addModelGroups(&table)
        addModels(&table)
        addDeployment(&table)
        addTasks(&table)
        addStatsAndProfile(&table)
        addOpenAI(&table)
        addConnectors(&table)
        addControllers(&table)
        addDocuments(&table)
        return table
    }

    // MARK: - Cluster

    private func addCluster(_ table: inout RouteTable) {
        let root: RouteHandler = { [commons, versionNumber] request in
            guard request.method != "HEAD" else { return APIReply(status: 200, body: nil) }
            return .ok([
                "name": .string(commons.node.name), "cluster_name": "mlcommons", "cluster_uuid": .string(commons.clusterUUID),
                "version": [
                    "distribution": "opensearch", "number": .string(versionNumber), "build_type": "native",
                    "build_hash": "mlcommons-swift", "build_date": "2026-11-24T00:00:00Z", "build_snapshot": false,
                    "lucene_version": "10.2.2", "minimum_wire_compatibility_version": "2.19.0",
                    "minimum_index_compatibility_version": "2.0.0",
                ],
                "tagline": "The OpenSearch Project: https://opensearch.org/",
            ])
        }
        table.add(["GET", "HEAD"], "/", root)
        table.add("GET", "/_cluster/settings") { [commons] request in
            .ok(try await commons.settings.render(flat: request.flag("flat_settings"), includeDefaults: request.flag("include_defaults")))
        }
        table.add("PUT", "/_cluster/settings") { [commons] request in
            guard let body = try request.json() else { throw MLError.parse("request body is required") }
            return .ok(try await commons.settings.update(body))
        }
    }

    // MARK: - Model groups

    private func addModelGroups(_ table: inout RouteTable) {
        let groups = commons.groups
        table.add("POST", "\(Self.base)/model_groups/_register") { request in .ok(try await groups.register(try request.json())) }
        table.add("GET", "\(Self.base)/model_groups/{id}") { request in .ok(try await groups.get(request.parameter("id"))) }
        table.add("PUT", "\(Self.base)/model_groups/{id}") { request in
            .ok(try await groups.update(request.parameter("id"), body: try request.json()))
        }
        table.add("DELETE", "\(Self.base)/model_groups/{id}") { request in write(try await groups.delete(request.parameter("id"))) }
        addSearch(&table, "\(Self.base)/model_groups/_search", index: Indices.modelGroup) { [commons] in
            try await commons.search(index: Indices.modelGroup, $0)
        }
    }

    // MARK: - Models

    private func addModels(_ table: inout RouteTable) {
        let commons = commons
        let register: RouteHandler = { request in .ok(try await commons.registerModel(try request.json(), deploy: request.flag("deploy"))) }
        for path in ["models/_register", "models/_upload", "models/{model_id}/{version}/_register", "models/{model_id}/{version}/_upload"] {
            table.add("POST", "\(Self.base)/\(path)", register)
        }
        let registerMeta: RouteHandler = { request in .ok(try await commons.registerModelMeta(try request.json())) }
        table.add("POST", "\(Self.base)/models/_register_meta", registerMeta)
        table.add("POST", "\(Self.base)/models/meta", registerMeta)
        let uploadChunk: RouteHandler = { request in
            .ok(try await commons.uploadChunk(modelID: request.parameter("id"), chunkNumber: request.parameter("n"), bytes: request.body))
        }
        table.add("POST", "\(Self.base)/models/{id}/upload_chunk/{n}", uploadChunk)
        table.add("POST", "\(Self.base)/models/{id}/chunk/{n}", uploadChunk)
        table.add("GET", "\(Self.base)/models/{id}") { request in
            .ok(try await commons.getModel(request.parameter("id"), returnContent: request.flag("return_content")))
        }
        table.add("PUT", "\(Self.base)/models/{id}") { request in
            write(try await commons.updateModel(request.parameter("id"), body: try request.json()))
        }
        table.add("DELETE", "\(Self.base)/models/{id}") { request in write(try await commons.deleteModel(request.parameter("id"))) }
        addSearch(&table, "\(Self.base)/models/_search", index: Indices.model, hiding: ["model_content", "content", "connector.credential"]) {
            try await commons.searchModels($0)
        }
    }

    private func addDeployment(_ table: inout RouteTable) {
        let commons = commons
        let deploy: RouteHandler = { request in .ok(try await commons.deployModel(request.parameter("id"), body: try request.json())) }
        let undeploy: RouteHandler = { request in .ok(try await commons.undeployModel(request.parameter("id"), body: try request.json())) }
        let undeployMany: RouteHandler = { request in .ok(try await commons.undeployModels(body: try request.json())) }
        for verb in ["_deploy", "_load"] { table.add("POST", "\(Self.base)/models/{id}/\(verb)", deploy) }
        table.add("POST", "\(Self.base)/models/{id}/_predict", forwarding({ $0.parameter("id") }) { request in
            .ok(try await commons.predict(modelID: request.parameter("id"), algorithm: nil, body: try request.json(), user: request.user))
        })
        table.add("POST", "\(Self.base)/_predict/{algorithm}/{id}", forwarding({ $0.parameter("id") }) { request in
            .ok(try await commons.predict(modelID: request.parameter("id"), algorithm: request.parameter("algorithm"), body: try request.json(),
                                          user: request.user))
        })
        for verb in ["_undeploy", "_unload"] {
            table.add("POST", "\(Self.base)/models/{id}/\(verb)", undeploy)
            table.add("POST", "\(Self.base)/models/\(verb)", undeployMany)
        }
    }

    // MARK: - Tasks

    private func addTasks(_ table: inout RouteTable) {
        let tasks = commons.tasks
        table.add("GET", "\(Self.base)/tasks/{id}") { request in .ok(try await tasks.get(request.parameter("id"))) }
        table.add("DELETE", "\(Self.base)/tasks/{id}") { request in write(try await tasks.delete(request.parameter("id"))) }
        addSearch(&table, "\(Self.base)/tasks/_search", index: Indices.task) { [commons] in try await commons.search(index: Indices.task, $0) }
    }

    // MARK: - Stats and profile

    private func addStatsAndProfile(_ table: inout RouteTable) {
        let commons = commons
        let stats: RouteHandler = { request in
            .ok(try await commons.stats(nodeIDs: list(request.parameters["node_id"]), statNames: list(request.parameters["stat"])))
        }
        for path in ["stats", "stats/{stat}", "{node_id}/stats", "{node_id}/stats/{stat}"] {
            table.add("GET", "\(Self.base)/\(path)", fannedOut(.stats, stats))
        }
        let profile: RouteHandler = { request in
            let body = try request.json()
            let kind = request.path.split(separator: "/").dropFirst(3).first.map(String.init)  // models | tasks | nil
            let ids = list(request.parameters["ids"])
            let modelIDs = kind == "models" ? ids : nil
            let taskIDs = kind == "tasks" ? ids : nil
            return .ok(try await commons.profile(
                modelIDs: modelIDs ?? body?["model_ids"]?.arrayValue?.compactMap(\.stringValue),
                taskIDs: taskIDs ?? body?["task_ids"]?.arrayValue?.compactMap(\.stringValue),
                nodeIDs: body?["node_ids"]?.arrayValue?.compactMap(\.stringValue),
                includeModels: kind != "tasks" || body?["return_all_models"]?.boolValue == true,
                includeTasks: kind != "models" || body?["return_all_tasks"]?.boolValue == true,
                modelView: request.query["view"] == "model"))
        }
        for path in ["profile", "profile/models", "profile/models/{ids}", "profile/tasks", "profile/tasks/{ids}"] {
            table.add("GET", "\(Self.base)/\(path)", fannedOut(.profile, profile))
        }
    }

    // MARK: - OpenAI-compatible embeddings

    /// `POST /v1/embeddings`, answering errors in OpenAI's shape so OpenAI clients report them.
    private func addOpenAI(_ table: inout RouteTable) {
        let commons = commons
        table.add("POST", "/v1/embeddings", forwarding({ try? $0.json()?["model"]?.stringValue }) { request in
            do {
                return .ok(try await commons.openAIEmbeddings(try request.json()))
            } catch let error as MLError {
                return APIReply(status: error.status, body: ["error": ["message": .string(error.reason),
                    "type": .string(error.status == 404 ? "not_found_error" : "invalid_request_error"), "param": nil, "code": nil]])
            } catch let error as JSONParseError {
                return APIReply(status: 400, body: ["error": ["message": .string(error.description), "type": "invalid_request_error", "param": nil, "code": nil]])
            }
        })
    }

    // MARK: - Helpers

    /// `GET|POST <path>` with a search body; an empty body searches everything. `hiding` names
    /// fields no hit ever shows, whatever `_source` asks for.
    func addSearch(_ table: inout RouteTable, _ path: String, index: String, hiding: [String] = [],
                   _ run: @escaping @Sendable (SearchRequest) async throws -> SearchHits) {
        table.add(["GET", "POST"], path) { request in
            let started = Date()
            var search = try SearchRequest.parse(try request.json() ?? .object([:]))
            search.source = search.source.excluding(hiding)
            let hits = try await run(search)
            let took = Int(Date().timeIntervalSince(started) * 1000)
            return .ok(SearchReplies.render(hits, index: index, request: search, tookMillis: took))
        }
    }
}

/// A comma-separated path parameter as a list.
func list(_ value: String?) -> [String]? {
    value.map { $0.split(separator: ",").map(String.init) }
}

/// A write response (`DocWriteResponse`) with its own status: 404 for `not_found`.
func write(_ result: WriteResult) -> APIReply {
    APIReply(status: result.outcome == .notFound ? 404 : 200, body: result.json)
}
