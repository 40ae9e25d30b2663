import Foundation
import Logging
@testable import MLCommonsCore
import OrderedJSON
import Storage
import Testing

/// An engine whose loads wait until the test lets them finish, so the test can act mid-load.
final class GatedEngine: InferenceEngine, @unchecked Sendable {
    private let lock = NSLock()
    private var open = false
    private var waiting = 0

    struct Loaded: LoadedModel { let residentBytes: Int }

    func load(_ request: ModelLoadRequest) async throws -> any LoadedModel {
        lock.withLock { waiting += 1 }
        while !lock.withLock({ open }) { try await Task.sleep(for: .milliseconds(5)) }
        return Loaded(residentBytes: 1024)
    }

    var loading: Bool { lock.withLock { waiting > 0 } }
    func release() { lock.withLock { open = true } }
}

@Suite struct DeployRaceTests {
    /// A registered model whose deploy is waiting inside the engine's load.
    static func deployMidLoad() async throws -> (CoreHarness, GatedEngine, MLCommons, String, JSON) {
        let harness = CoreHarness()
        let engine = GatedEngine()
        var logger = Logger(label: "core-test")
        logger.logLevel = .critical
        let commons = try await MLCommons.open(MLCommonsConfiguration(dataDir: harness.dataDir, engine: engine), logger: logger)
        let (id, _) = try await harness.registerModel(commons)
        let reply = try await commons.deployModel(id, body: nil)
        for _ in 0..<400 where !engine.loading { try await Task.sleep(for: .milliseconds(5)) }
        return (harness, engine, commons, id, reply)
    }

    @Test func aSecondDeployDuringTheLoadJoinsTheFirst() async throws {
        let (harness, engine, commons, id, reply) = try await Self.deployMidLoad()
        let firstTask = try #require(reply["task_id"]?.stringValue)
        // Even with one deploy slot, which the first deploy holds.
        _ = try await commons.settings.update(["persistent": ["plugins.ml_commons.max_deploy_model_tasks_per_node": 1]])
        let again = try await commons.deployModel(id, body: nil)
        #expect(again["task_id"]?.stringValue == firstTask)
        #expect(again["status"] == "RUNNING")
        #expect(again["task_type"] == "DEPLOY_MODEL")
        engine.release()
        #expect(try await harness.waitForTask(commons, firstTask)["state"] == "COMPLETED")
        let deployTasks = try await commons.store.all(index: Indices.task).filter { $0.source["task_type"] == "DEPLOY_MODEL" }
        #expect(deployTasks.map(\.id) == [firstTask])
        // Once loaded, a deploy is a new (at once completed) task again.
        let later = try await commons.deployModel(id, body: nil)
        #expect(later["task_id"]?.stringValue != firstTask)
        #expect(try await harness.waitForTask(commons, later["task_id"]!.stringValue!)["state"] == "COMPLETED")
        try await commons.close()
    }

    @Test func anUndeployAndDeleteDuringTheLoadLeaveNothingLoaded() async throws {
        let (harness, engine, commons, id, reply) = try await Self.deployMidLoad()
        #expect(engine.loading)

        _ = try await commons.undeployModel(id, body: nil)
        #expect(try await commons.deleteModel(id).outcome == .deleted)
        engine.release()
        let task = try await harness.waitForTask(commons, reply["task_id"]!.stringValue!)
        #expect(task["state"] == "FAILED")
        #expect(task["error"]?.stringValue?.contains("while it was loading") == true, "\(task.serialized)")
        #expect(await commons.deployment.isDeployed(id) == false)
        #expect(try await commons.store.all(index: Indices.model).isEmpty)
        #expect(try await commons.store.all(index: Indices.deployAttempts).isEmpty)
        try await commons.close()
    }

    @Test func anUndeployDuringTheLoadWins() async throws {
        let (harness, engine, commons, id, reply) = try await Self.deployMidLoad()
        _ = try await commons.undeployModel(id, body: nil)
        engine.release()
        let task = try await harness.waitForTask(commons, reply["task_id"]!.stringValue!)
        #expect(task["state"] == "FAILED")
        #expect(await commons.deployment.isDeployed(id) == false)
        #expect(try await commons.getModel(id, returnContent: false)["model_state"] == "UNDEPLOYED")
        try await commons.close()
    }

    @Test func aSecondOpenOfTheDataDirIsRefusedUntilTheFirstCloses() async throws {
        let harness = CoreHarness()
        let first = try await harness.open()
        await #expect(throws: MLError.self) { _ = try await harness.open() }
        try await first.close()
        try await harness.open().close()
    }
}
