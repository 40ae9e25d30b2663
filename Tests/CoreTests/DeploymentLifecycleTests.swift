import Crypto
import Foundation
import Logging
@testable import MLCommonsCore
import OrderedJSON
import Storage
import Testing
import ZIPFoundation

/// An engine for lifecycle tests: it "loads" a model by reading the artifact deploy hands it and
/// remembering its SHA-256, so tests can check what reached the engine. It runs nothing.
final class ArtifactRecordingEngine: InferenceEngine, @unchecked Sendable {
    private let lock = NSLock()
    private var loads: [String: String] = [:]

    struct Loaded: LoadedModel { let residentBytes: Int }

    func load(_ request: ModelLoadRequest) async throws -> any LoadedModel {
        let data = try Data(contentsOf: request.artifact)
        let hash = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        lock.withLock { loads[request.modelID] = hash }
        return Loaded(residentBytes: data.count)
    }

    func loadedHash(_ id: String) -> String? { lock.withLock { loads[id] } }
}

struct CoreHarness {
    let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("core-\(UUID().uuidString)")
    let engine = ArtifactRecordingEngine()

    func open() async throws -> MLCommons {
        var logger = Logger(label: "core-test")
        logger.logLevel = .warning
        return try await MLCommons.open(MLCommonsConfiguration(dataDir: dataDir, engine: engine), logger: logger)
    }

    /// A model zip on disk, registered through a file:// URL; returns the model id and the zip's hash.
    /// `extra` fields (a `model_group_id`, access fields) are added to the register body.
    func registerModel(_ commons: MLCommons, seed: UInt8 = 1, extra: JSONObject = [:]) async throws -> (String, String) {
        _ = try await commons.settings.update(["persistent": [
            "plugins.ml_commons.allow_registering_model_via_url": true,
            "plugins.ml_commons.allow_registering_model_via_local_file": true,
        ]])
        let archive = try Archive(data: Data(), accessMode: .create)
        for (name, content) in [("model.pt", Data(repeating: seed, count: 2048)), ("tokenizer.json", Data("{}".utf8))] {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(content.count), compressionMethod: .none) { position, size in
                content.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        let zip = archive.data!
        let file = dataDir.deletingLastPathComponent().appendingPathComponent("core-model-\(UUID().uuidString).zip")
        try zip.write(to: file)
        let hash = SHA256.hash(data: zip).map { String(format: "%02x", $0) }.joined()
        var body: JSONObject = [
            "name": .string("m\(seed)"), "model_format": "TORCH_SCRIPT", "url": .string(file.absoluteString),
            "model_content_hash_value": .string(hash),
            "model_config": ["model_type": "bert", "embedding_dimension": 8, "framework_type": "sentence_transformers"],
        ]
        for (key, value) in extra { body[key] = value }
        let reply = try await commons.registerModel(.object(body), deploy: false)
        let task = try await waitForTask(commons, reply["task_id"]!.stringValue!)
        return (try #require(task["model_id"]?.stringValue), hash)
    }

    func waitForTask(_ commons: MLCommons, _ id: String) async throws -> JSON {
        for _ in 0..<400 {
            let task = try await commons.tasks.get(id)
            if let state = task["state"]?.stringValue, state != "CREATED", state != "RUNNING" { return task }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw CoreTestFailure("task \(id) did not finish")
    }

    func deploy(_ commons: MLCommons, _ id: String) async throws -> JSON {
        let reply = try await commons.deployModel(id, body: nil)
        return try await waitForTask(commons, reply["task_id"]!.stringValue!)
    }
}

struct CoreTestFailure: Error { let message: String; init(_ message: String) { self.message = message } }

@Suite struct DeploymentLifecycleTests {
    @Test func deployUndeployDeleteAndRedeployAfterRestart() async throws {
        let harness = CoreHarness()
        var commons = try await harness.open()
        let (id, hash) = try await harness.registerModel(commons)

        let task = try await harness.deploy(commons, id)
        #expect(task["state"] == "COMPLETED")
        #expect(harness.engine.loadedHash(id) == hash)
        var model = try await commons.getModel(id, returnContent: false)
        #expect(model["model_state"] == "DEPLOYED")
        #expect(model["planning_worker_nodes"] == [.string(commons.node.id)])
        #expect(model["current_worker_node_count"] == 1)
        #expect(model["deploy_to_all_nodes"] == true)
        #expect(model["last_deployed_time"]?.intValue != nil)

        // Deleting a deployed model is refused.
        await #expect(throws: MLError.self) { try await commons.deleteModel(id) }

        // Restart: the model is loaded again through a new deploy task.
        try await commons.close()
        commons = try await harness.open()
        let redeploys = try await commons.search(index: Indices.task, {
            var request = SearchRequest(query: .and(.term("task_type", "DEPLOY_MODEL"), .term("model_id", .string(id))))
            request.sort = [SortField(field: "create_time", descending: true)]
            return request
        }())
        #expect(redeploys.total == 2)
        let redeploy = try await harness.waitForTask(commons, redeploys.hits[0].document.id)
        #expect(redeploy["state"] == "COMPLETED")
        model = try await commons.getModel(id, returnContent: false)
        #expect(model["model_state"] == "DEPLOYED")
        #expect(model["auto_redeploy_retry_times"] == nil)

        let undeployed = try await commons.undeployModel(id, body: nil)
        #expect(undeployed == .object([commons.node.id: ["stats": .object([id: "undeployed"])]]))
        model = try await commons.getModel(id, returnContent: false)
        #expect(model["model_state"] == "UNDEPLOYED")
        #expect(model["planning_worker_nodes"] == nil)
        #expect(model["current_worker_node_count"] == 0)
        #expect(try await commons.deleteModel(id).outcome == .deleted)
        try await commons.close()
    }

    @Test func maxModelsPerNodeAndAutoRedeploySwitch() async throws {
        let harness = CoreHarness()
        var commons = try await harness.open()
        let (first, _) = try await harness.registerModel(commons, seed: 1)
        let (second, _) = try await harness.registerModel(commons, seed: 2)
        _ = try await commons.settings.update(["persistent": ["plugins.ml_commons.max_model_on_node": 1]])
        #expect(try await harness.deploy(commons, first)["state"] == "COMPLETED")
        let refused = try await harness.deploy(commons, second)
        #expect(refused["state"] == "FAILED")
        #expect(refused["error"]?.stringValue?.contains("Exceed max local model per node limit") == true)
        #expect(try await commons.getModel(second, returnContent: false)["model_state"] == "DEPLOY_FAILED")

        _ = try await commons.settings.update(["persistent": ["plugins.ml_commons.model_auto_redeploy.enable": false]])
        try await commons.close()
        commons = try await harness.open()
        #expect(try await commons.getModel(first, returnContent: false)["model_state"] == "UNDEPLOYED")
        try await commons.close()
    }

    @Test func remoteModelsDoNotCountAgainstTheLocalModelLimit() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        do { try await remoteThenLocalDeploys(harness, commons) } catch { Issue.record(error) }
        try await commons.close()
    }

    private func remoteThenLocalDeploys(_ harness: CoreHarness, _ commons: MLCommons) async throws {
        _ = try await commons.settings.update(["persistent": [
            "plugins.ml_commons.max_model_on_node": 2, "plugins.ml_commons.trusted_connector_endpoints_regex": ["^https://remote\\.test/.*$"],
        ]])
        let connector: JSON = [
            "name": "c", "protocol": "http", "version": 1, "parameters": ["endpoint": "remote.test"], "credential": ["key": "k"],
            "actions": [["action_type": "predict", "method": "POST", "url": "https://remote.test/v1", "request_body": "{}"]],
        ]
        for index in 0..<3 {
            let reply = try await commons.registerModel(["name": .string("remote\(index)"), "function_name": "remote", "connector": connector], deploy: true)
            let id = try #require(reply["model_id"]?.stringValue)
            #expect(try await commons.getModel(id, returnContent: false)["model_state"] == "DEPLOYED")
        }
        let (first, _) = try await harness.registerModel(commons, seed: 1)
        let (second, _) = try await harness.registerModel(commons, seed: 2)
        let (third, _) = try await harness.registerModel(commons, seed: 3)
        #expect(try await harness.deploy(commons, first)["state"] == "COMPLETED")
        #expect(try await harness.deploy(commons, second)["state"] == "COMPLETED")
        let refused = try await harness.deploy(commons, third)
        #expect(refused["error"]?.stringValue?.contains("Exceed max local model per node limit") == true)
    }

    @Test func aRegistrationInterruptedAfterWritingIsRolledBackOnStart() async throws {
        let harness = CoreHarness()
        var commons = try await harness.open()
        let store = commons.store
        // What a registration leaves when the process dies between its writes: a group created for
        // it, a REGISTERING model with one chunk, its RUNNING task and its journal entry.
        let groupID = try await commons.groups.register(["name": "half-done"])["model_group_id"]!.stringValue!
        try await store.put(index: Indices.modelGroup, id: groupID, source: [
            "name": "half-done", "latest_version": 1, "access": "public", "created_time": 1, "last_updated_time": 1,
        ])
        let taskID = "interrupted-task"
        try await store.put(index: Indices.task, id: taskID, source: [
            "task_type": "REGISTER_MODEL", "function_name": "TEXT_EMBEDDING", "state": "RUNNING",
            "worker_node": [.string(commons.node.id)], "create_time": 1, "last_update_time": 1, "is_async": true,
        ])
        try await store.put(index: Indices.model, id: "half", source: ["name": "half-done", "model_group_id": .string(groupID), "model_state": "REGISTERING"])
        try await store.put(index: Indices.model, id: "half_0", source: ["model_id": "half", "chunk_number": 0], attachment: [1, 2, 3], condition: .always)
        try await store.put(index: Indices.registrationJournal, id: taskID, source: [
            "task_id": .string(taskID), "model_id": "half", "model_group_id": .string(groupID), "model_version": 1, "group_created": true,
        ])
        try await commons.close()

        commons = try await harness.open()
        #expect(try await commons.store.get(index: Indices.model, id: "half") == nil)
        #expect(try await commons.store.get(index: Indices.model, id: "half_0") == nil)
        #expect(try await commons.store.get(index: Indices.modelGroup, id: groupID) == nil)
        #expect(try await commons.store.all(index: Indices.registrationJournal).isEmpty)
        let task = try await commons.tasks.get(taskID)
        #expect(task["state"] == "FAILED")
        #expect(task["error"]?.stringValue?.contains("interrupted") == true)
        try await commons.close()
    }
}

@Suite struct ProfileTests {
    @Test func profileShowsDeployedModelsInNodeAndModelViews() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        let (id, _) = try await harness.registerModel(commons)
        #expect(try await harness.deploy(commons, id)["state"] == "COMPLETED")
        let node = commons.node.id
        let profile = try await commons.profile(modelIDs: nil, taskIDs: nil, nodeIDs: nil, includeModels: true, includeTasks: true, modelView: false)
        let entry = try #require(profile["nodes"]?[node]?["models"]?[id])
        #expect(entry["model_state"] == "DEPLOYED")
        #expect(entry["worker_nodes"] == [.string(node)])
        #expect(entry["memory_size_estimation_cpu"]?.intValue ?? 0 > 0)
        let modelView = try await commons.profile(modelIDs: [id], taskIDs: nil, nodeIDs: nil, includeModels: true, includeTasks: false, modelView: true)
        #expect(modelView["models"]?[id]?["nodes"]?[node]?["model_state"] == "DEPLOYED")
        let otherNode = try await commons.profile(modelIDs: nil, taskIDs: nil, nodeIDs: ["elsewhere"], includeModels: true, includeTasks: true, modelView: false)
        #expect(otherNode == [:])
        let stats = try await commons.stats(nodeIDs: nil, statNames: ["ml_deployed_model_count"])
        #expect(stats["nodes"]?[node]?["ml_deployed_model_count"] == 1)
        try await commons.close()
    }
}
