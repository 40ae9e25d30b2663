import Foundation
import OrderedJSON
import Testing
import ProviderFakes
import TestSupport

/// Three real `serve` nodes on one real PostgreSQL: they list each other, deploy to chosen nodes or
/// to all, answer predicts on any node, and heal when one is killed.
@Suite struct ClusterNodesTests {
    static func waitFor(_ what: String, timeout: Duration = .seconds(60), _ check: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await check() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("timed out waiting for: \(what)")
    }

    static func liveNames(_ client: TestClient) async throws -> [String] {
        let reply = try await client.send("GET", "/_cat/nodes?format=json&h=name,id")
        return (try JSON.parse(reply.body).arrayValue ?? []).compactMap { $0["name"]?.stringValue }.sorted()
    }

    static func model(_ client: TestClient, _ id: String) async throws -> JSON {
        try await client.expect(200, "GET", "/_plugins/_ml/models/\(id)")
    }

    static func planned(_ model: JSON) -> Set<String> {
        Set(model["planning_worker_nodes"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// Starts `count` nodes sharing a new database (`--node-timeout 5`), with a mirror; runs the body;
    /// stops them, printing their logs when the body failed.
    static func withCluster(_ count: Int, arguments: [String] = [], environment: [String: String] = [:],
                            _ body: ([ServerProcess], ArtifactMirror) async throws -> Void) async throws {
        let url = try await PostgresTestServer.shared.newDatabaseURL()
        let mirror = ArtifactMirror()
        try await mirror.start()
        let nodes = (0..<count).map { i in
            let node = ServerProcess(artifactsURL: mirror.baseURL,
                                     extraArguments: ["--store", url, "--node-name", "node-\(i)", "--node-timeout", "5"] + arguments)
            node.environment = environment
            return node
        }
        defer {
            mirror.stop()
            for node in nodes { try? FileManager.default.removeItem(at: node.dataDir) }
        }
        do {
            for node in nodes { try await node.start() }
            try await body(nodes, mirror)
            for node in nodes { await node.stop() }
        } catch {
            for (i, node) in nodes.enumerated() {
                await node.stop()
                print("node-\(i) log:\n\(node.log().suffix(6000))")
            }
            throw error
        }
    }

    @Test func threeNodesShareDeployPredictAndHealWhenOneDies() async throws {
        try await Self.withCluster(3) { nodes, mirror in
            let clients = nodes.map { TestClient(baseURL: $0.baseURL) }
            try await Self.waitFor("three live nodes") { try await Self.liveNames(clients[0]) == ["node-0", "node-1", "node-2"] }
            let info = try await clients[1].expect(200, "GET", "/_nodes")
            #expect(info["_nodes"]?["total"] == 3)
            var ids: [String: String] = [:]
            for (id, node) in info["nodes"]?.objectValue ?? [:] { ids[node["name"]?.stringValue ?? ""] = id }
            let (id0, id1, id2) = (try #require(ids["node-0"]), try #require(ids["node-1"]), try #require(ids["node-2"]))
            #expect(info["nodes"]?[id2]?["http"]?["publish_address"]?.stringValue == "127.0.0.1:\(nodes[2].port)")
            let uuids = Set(try await clients.asyncMap { try await $0.expect(200, "GET", "/")["cluster_uuid"]?.stringValue ?? "" })
            #expect(uuids.count == 1 && !uuids.contains(""), "\(uuids)")

            // Settings set on one node hold on all: the mirror is on loopback; custom plans allowed.
            try await clients[0].setPersistent([MirrorAccess.setting: true, "plugins.ml_commons.allow_custom_deployment_plan": true])
            try DeployTests.publishTinyBERT(mirror)
            let registered = try await clients[1].registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"])
            let modelID = try #require(registered["model_id"]?.stringValue, "\(registered.serialized)")

            // Deploy to two named nodes, asked on the third.
            let deploy = try await clients[2].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy", ["node_ids": [.string(id0), .string(id1)]])
            let task = try await clients[2].waitForTask(try #require(deploy["task_id"]?.stringValue), timeout: .seconds(120))
            #expect(task["state"] == "COMPLETED", "\(task.serialized)")
            #expect(Set(task["worker_node"]?.arrayValue?.compactMap(\.stringValue) ?? []) == [id0, id1])
            var model = try await Self.model(clients[2], modelID)
            #expect(model["model_state"] == "DEPLOYED" && model["current_worker_node_count"] == 2 && model["planning_worker_node_count"] == 2,
                    "\(model.serialized)")
            #expect(Self.planned(model) == [id0, id1])

            // node_ids that are not a list of ids are refused (read as absent they would mean every node).
            for bad: JSON in ["x", [1], ["a": 1]] {
                for verb in ["_deploy", "_undeploy"] {
                    #expect(try await clients[0].send("POST", "/_plugins/_ml/models/\(modelID)/\(verb)", json: ["node_ids": bad]).status == 400)
                }
            }
            #expect(Self.planned(try await Self.model(clients[0], modelID)) == [id0, id1])

            // Predict on the node that does not hold it: forwarded, same vector.
            let input: JSON = ["text_docs": ["a node that does not hold the model answers too"]]
            let direct = try await clients[0].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", input)
            for _ in 0..<4 {
                let forwarded = try await clients[2].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", input)
                #expect(forwarded == direct)
            }
            let openAI = try await clients[2].expect(200, "POST", "/v1/embeddings", ["model": .string(modelID), "input": "hello"])
            #expect(openAI["data"]?[0]?["embedding"]?.arrayValue?.isEmpty == false, "\(openAI.serialized)")

            // kill -9 node 1: counted out; its share is redeployed on node 2 (auto-redeploy is on by default).
            await nodes[1].stop(crash: true)
            try await Self.waitFor("node-1 counted out") { try await Self.liveNames(clients[0]) == ["node-0", "node-2"] }
            try await Self.waitFor("the model back on two nodes", timeout: .seconds(120)) {
                model = try await Self.model(clients[0], modelID)
                return model["model_state"] == "DEPLOYED" && model["current_worker_node_count"] == 2 && Self.planned(model) == [id0, id2]
            }
            #expect(model["auto_redeploy_retry_times"] == nil, "\(model.serialized)")  // reset by the successful redeploy
            #expect(try await clients[2].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", input) == direct)

            // Node 1 restarts with its id: live again, with nothing planned for it.
            try await nodes[1].start()
            let restarted = TestClient(baseURL: nodes[1].baseURL)
            try await Self.waitFor("node-1 back") { try await Self.liveNames(clients[0]) == ["node-0", "node-1", "node-2"] }
            #expect(try await restarted.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", input) == direct)  // forwarded

            // Undeploy from node 0 only, then deploy to all: every node ends up holding it.
            let undeploy = try await restarted.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_undeploy", ["node_ids": [.string(id0)]])
            #expect(undeploy[id0]?["stats"]?[modelID] == "undeployed", "\(undeploy.serialized)")
            model = try await Self.model(restarted, modelID)
            #expect(Self.planned(model) == [id2] && model["model_state"] == "DEPLOYED", "\(model.serialized)")
            let all = try await restarted.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy")
            let allTask = try await restarted.waitForTask(try #require(all["task_id"]?.stringValue), timeout: .seconds(120))
            #expect(allTask["state"] == "COMPLETED", "\(allTask.serialized)")
            model = try await Self.model(restarted, modelID)
            #expect(model["current_worker_node_count"] == 3 && model["deploy_to_all_nodes"] == true && Self.planned(model) == [id0, id1, id2],
                    "\(model.serialized)")

            // Stats and profile answer for every node, asked on any.
            let stats = try await clients[2].expect(200, "GET", "/_plugins/_ml/stats")
            #expect(Set(stats["nodes"]?.objectValue?.keys.map { $0 } ?? []) == [id0, id1, id2], "\(stats.serialized)")
            #expect(stats["nodes"]?[id1]?["ml_deployed_model_count"] == 1)
            let profile = try await clients[0].expect(200, "GET", "/_plugins/_ml/profile/models")
            #expect(Set(profile["nodes"]?.objectValue?.keys.map { $0 } ?? []) == [id0, id1, id2], "\(profile.serialized)")
            #expect(profile["nodes"]?[id2]?["models"]?[modelID]?["worker_nodes"]?.arrayValue?.count == 3)
            let byModel = try await restarted.expect(200, "GET", "/_plugins/_ml/profile/models/\(modelID)?view=model")
            #expect(Set(byModel["models"]?[modelID]?["nodes"]?.objectValue?.keys.map { $0 } ?? []) == [id0, id1, id2], "\(byModel.serialized)")
            let oneNode = try await clients[0].expect(200, "GET", "/_plugins/_ml/\(id1)/stats")
            #expect(Set(oneNode["nodes"]?.objectValue?.keys.map { $0 } ?? []) == [id1], "\(oneNode.serialized)")

            // Undeploy everywhere, asked on one node: every node lets it go.
            let everywhere = try await clients[0].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_undeploy")
            #expect(Set(everywhere.objectValue?.keys.map { $0 } ?? []) == [id0, id1, id2], "\(everywhere.serialized)")
            #expect(try await Self.model(clients[2], modelID)["model_state"] == "UNDEPLOYED")
            try await Self.waitFor("every node dropped the model") {
                let reply = try await clients[2].send("POST", "/_plugins/_ml/models/\(modelID)/_predict", json: input)
                return reply.status == 400
            }

            // One group name registered on three nodes at once: one group.
            let outcomes = try await withThrowingTaskGroup(of: Int.self) { group in
                for client in [clients[0], restarted, clients[2]] {
                    group.addTask { try await client.send("POST", "/_plugins/_ml/model_groups/_register", json: ["name": "one name"]).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(outcomes.sorted() == [200, 400, 400], "\(outcomes)")
        }
    }

    /// Without auto-redeploy a dead node's models are counted down, its lone tasks fail, its
    /// registrations roll back; the node takes its share back when it returns.
    @Test func aKilledNodesTasksFailAndItsModelsCountDown() async throws {
        let tarpit = SlowServer()
        tarpit.script("/", .trickle(total: 1_000_000, interval: .milliseconds(500)))
        try tarpit.start()
        defer { tarpit.stop() }
        try await Self.withCluster(2) { nodes, mirror in
            let clients = nodes.map { TestClient(baseURL: $0.baseURL) }
            try await Self.waitFor("two live nodes") { try await Self.liveNames(clients[0]) == ["node-0", "node-1"] }
            try await clients[0].setPersistent([MirrorAccess.setting: true, "plugins.ml_commons.model_auto_redeploy.enable": false,
                                                "plugins.ml_commons.allow_registering_model_via_url": true])
            let text = try await clients[1].send("GET", "/_cat/nodes?v&h=name,node.roles")
            #expect(String(decoding: text.body, as: UTF8.self).contains("node-1 ml"), "\(String(decoding: text.body, as: UTF8.self))")
            try DeployTests.publishTinyBERT(mirror)
            let registered = try await clients[0].registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"])
            let modelID = try #require(registered["model_id"]?.stringValue)
            let deploy = try await clients[0].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy")
            #expect(try await clients[0].waitForTask(try #require(deploy["task_id"]?.stringValue), timeout: .seconds(120))["state"] == "COMPLETED")
            #expect(try await Self.model(clients[0], modelID)["current_worker_node_count"] == 2)

            // Node 1 is downloading a model (a tarpit trickles it) when it is killed.
            let slow = try await clients[1].expect(200, "POST", "/_plugins/_ml/models/_register",
                                                   CustomModelTests.urlBody("http://127.0.0.1:\(tarpit.port)/m.zip", hash: "ab", name: "slow one"))
            let slowTask = try #require(slow["task_id"]?.stringValue)
            try await Self.waitFor("the download running") { tarpit.openConnections > 0 }
            await nodes[1].stop(crash: true)
            try await Self.waitFor("node-1 counted out") { try await Self.liveNames(clients[0]) == ["node-0"] }
            try await Self.waitFor("the model counted down") {
                let model = try await Self.model(clients[0], modelID)
                return model["model_state"] == "PARTIALLY_DEPLOYED" && model["current_worker_node_count"] == 1
            }
            let failed = try await clients[0].waitForTask(slowTask, timeout: .seconds(30))
            #expect(failed["state"] == "FAILED" && failed["error"]?.stringValue?.contains("counted out of the cluster") == true, "\(failed.serialized)")
            #expect(try await clients[0].count("models", ["term": ["name.keyword": "slow one"]]) == 0)  // rolled back
            #expect(try await clients[0].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", ["text_docs": ["still served"]])["inference_results"] != nil)

            // Back with its id, auto-redeploy on again: it takes its share back (the model follows every node).
            try await clients[0].setPersistent(["plugins.ml_commons.model_auto_redeploy.enable": true])
            try await nodes[1].start()
            try await Self.waitFor("the model on both nodes again", timeout: .seconds(120)) {
                let model = try await Self.model(clients[0], modelID)
                return model["model_state"] == "DEPLOYED" && model["current_worker_node_count"] == 2
            }
        }
    }

    /// With security and HTTPS on, a forwarded predict and the per-node views carry the caller's
    /// credentials: the node asked checks them at its edge, the holding node checks them again; the
    /// nodes reach each other over HTTPS, trusting the CA of `--peer-ca-file`.
    @Test func forwardedRequestsKeepTheCallersCredentials() async throws {
        let password = "Kestrel-41-Orbit"
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let http = try certificates.trustingClient()
        do {
            try await Self.withCluster(2, arguments: ["--security", "--peer-ca-file", certificates.caFile] + certificates.serveArguments,
                                       environment: ["MLCOMMONS_INITIAL_ADMIN_PASSWORD": password]) { nodes, mirror in
                let admins = nodes.map { TestClient(baseURL: $0.baseURL, http: http).signedIn("admin", password) }
                try await Self.waitFor("two live nodes") { try await Self.liveNames(admins[1]) == ["node-0", "node-1"] }
                let id0 = try #require(try await admins[0].expect(200, "GET", "/_nodes/_local")["nodes"]?.objectValue?.keys.first)
                try await admins[0].setPersistent([MirrorAccess.setting: true, "plugins.ml_commons.allow_custom_deployment_plan": true])
                try DeployTests.publishTinyBERT(mirror)
                let registered = try await admins[0].registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"])
                let modelID = try #require(registered["model_id"]?.stringValue)
                let deploy = try await admins[0].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy", ["node_ids": [.string(id0)]])
                #expect(try await admins[0].waitForTask(try #require(deploy["task_id"]?.stringValue), timeout: .seconds(120))["state"] == "COMPLETED")

                // A user who may read but not predict: refused at node 1's edge, before any forwarding.
                try await admins[0].expect(201, "PUT", "/_plugins/_security/api/internalusers/reader", ["password": "Quartz-77-Meadow"])
                try await admins[0].expect(201, "PUT", "/_plugins/_security/api/rolesmapping/ml_readonly_access", ["users": ["reader"]])
                let reader = TestClient(baseURL: nodes[1].baseURL, http: http).signedIn("reader", "Quartz-77-Meadow")
                let input: JSON = ["text_docs": ["who may ask"]]
                #expect(try await reader.send("POST", "/_plugins/_ml/models/\(modelID)/_predict", json: input).status == 403)
                #expect(try await TestClient(baseURL: nodes[1].baseURL, http: http).send("POST", "/_plugins/_ml/models/\(modelID)/_predict", json: input).status == 401)
                let direct = try await admins[0].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", input)
                #expect(try await admins[1].expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_predict", input) == direct)
                let stats = try await admins[1].expect(200, "GET", "/_plugins/_ml/stats")
                #expect(stats["nodes"]?.objectValue?.count == 2, "\(stats.serialized)")
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
    }
}

extension Array where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
