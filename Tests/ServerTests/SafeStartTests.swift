import Foundation
import OrderedJSON
import Testing

/// Start-up guards and the crash-loop guard, on the real binary.
@Suite struct SafeStartTests {
    static func waitForState(_ client: TestClient, _ id: String, _ wanted: String, timeout: Duration = .seconds(30)) async throws -> JSON {
        let deadline = ContinuousClock.now + timeout
        var model = JSON.null
        while ContinuousClock.now < deadline {
            model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(id)")
            if model["model_state"]?.stringValue == wanted { return model }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("model \(id) did not become \(wanted): \(model.serialized)")
    }

    static func registerTinyBERT(_ client: TestClient, _ mirror: ArtifactMirror) async throws -> String {
        try DeployTests.publishTinyBERT(mirror)
        let task = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"])
        return try #require(task["model_id"]?.stringValue, "\(task.serialized)")
    }

    /// Starts a server that may die during start-up or soon after; true if it died within `window`.
    static func startAndSeeIfItDies(_ server: ServerProcess, window: Duration = .seconds(5)) async -> Bool {
        do { try await server.start() } catch { return true }
        return await server.waitForExit(timeout: window) != nil
    }

    @Test func aModelThatCrashesTheServerAtLoadIsRedeployedOnlyUpToTheLimit() async throws {
        try await withServer { client, server, mirror in
            let id = try await Self.registerTinyBERT(client, mirror)
            try await client.setPersistent(["plugins.ml_commons.model_auto_redeploy.lifetime_retry_times": 2])
            await server.stop()

            // The user's deploy crashes the server; then every start redeploys it, until the limit.
            server.environment = ["MLCOMMONS_FAULT_CRASH_AT_LOAD": id]
            try await server.start()
            let reply = try? await TestClient(baseURL: server.baseURL).send("POST", "/_plugins/_ml/models/\(id)/_deploy")
            #expect(reply == nil || reply?.status == 200)
            #expect(await server.waitForExit(timeout: .seconds(30)) != nil, "the fault hook did not crash the load")
            var deaths = 1
            for _ in 0..<5 {
                if await Self.startAndSeeIfItDies(server) { deaths += 1 } else { break }
            }
            #expect(deaths == 3, "1 deploy + 2 redeploys (lifetime_retry_times = 2) should crash, got \(deaths)")
            #expect(server.isRunning)
            let after = TestClient(baseURL: server.baseURL)
            let model = try await Self.waitForState(after, id, "DEPLOY_FAILED")
            #expect(model["auto_redeploy_retry_times"] == 2)
            let tasks = try await after.search("tasks", ["query": ["term": ["model_id": .string(id)]], "size": 100,
                                                         "sort": [["create_time": ["order": "desc"]]]])
            let last = try #require(tasks.first?["_source"])
            #expect(last["state"] == "FAILED")
            #expect(last["error"]?.stringValue?.contains("crashed the server") == true, "\(last.serialized)")
            #expect(last["error"]?.stringValue?.contains("lifetime_retry_times") == true)

            // Without the fault, the model is not redeployed by itself; an explicit deploy works.
            server.environment = [:]
            try await server.restart()
            let fixed = TestClient(baseURL: server.baseURL)
            #expect(try await fixed.expect(200, "GET", "/_plugins/_ml/models/\(id)")["model_state"] == "DEPLOY_FAILED")
            let deploy = try await fixed.waitForTask(try #require(try await fixed.expect(200, "POST", "/_plugins/_ml/models/\(id)/_deploy")["task_id"]?.stringValue))
            #expect(deploy["state"] == "COMPLETED", "\(deploy.serialized)")
            #expect(try await Self.waitForState(fixed, id, "DEPLOYED")["auto_redeploy_retry_times"] == nil)
        }
    }

    @Test func aRedeployThatFailedForWantOfMemoryIsRetriedAtTheNextStart() async throws {
        try await withServer { client, server, mirror in
            let id = try await Self.registerTinyBERT(client, mirror)
            let task = try await client.waitForTask(try #require(try await client.expect(200, "POST", "/_plugins/_ml/models/\(id)/_deploy")["task_id"]?.stringValue))
            #expect(task["state"] == "COMPLETED")
            // The budget shrinks while the server is down: the redeploy at start is refused.
            try await client.setPersistent(["plugins.ml_commons.max_model_memory_bytes": 1024])
            try await server.restart()
            var after = TestClient(baseURL: server.baseURL)
            _ = try await Self.waitForState(after, id, "DEPLOY_FAILED")
            // Resources are back: the next start deploys it again, though it is DEPLOY_FAILED.
            try await after.setPersistent(["plugins.ml_commons.max_model_memory_bytes": 0])
            try await server.restart()
            after = TestClient(baseURL: server.baseURL)
            _ = try await Self.waitForState(after, id, "DEPLOYED")

            // A model the user undeployed while it waited for resources is not deployed again.
            try await after.setPersistent(["plugins.ml_commons.max_model_memory_bytes": 1024])
            try await server.restart()
            after = TestClient(baseURL: server.baseURL)
            _ = try await Self.waitForState(after, id, "DEPLOY_FAILED")
            try await after.expect(200, "POST", "/_plugins/_ml/models/\(id)/_undeploy")
            try await after.setPersistent(["plugins.ml_commons.max_model_memory_bytes": 0])
            let deployTasks: JSON = ["bool": ["filter": [["term": ["model_id": .string(id)]], ["term": ["task_type": "DEPLOY_MODEL"]]]]]
            let before = try await after.count("tasks", deployTasks)
            try await server.restart()
            after = TestClient(baseURL: server.baseURL)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await after.count("tasks", deployTasks) == before)
            #expect(try await after.expect(200, "GET", "/_plugins/_ml/models/\(id)")["model_state"] == "UNDEPLOYED")
        }
    }

    @Test func aSecondProcessOnTheSameDataDirIsRefused() async throws {
        try await withServer { client, server, _ in
            let second = ServerProcess(dataDir: server.dataDir)
            await #expect(throws: TestFailure.self) { try await second.start() }
            #expect(server.log().contains("is in use by another mlcommons process"), "\(server.log().suffix(2000))")
            let status = try await client.send("POST", "/_plugins/_ml/models/_search", json: ["query": ["match_all": [:]]]).status
            #expect(status == 200)
        }
    }

    @Test func dataFilesArePrivate() async throws {
        try await withServer { client, server, _ in
            try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "modes"])
            let manager = FileManager.default
            #expect((try manager.attributesOfItem(atPath: server.dataDir.path)[.posixPermissions] as? Int) == 0o700)
            let files = try #require(manager.enumerator(at: server.dataDir, includingPropertiesForKeys: nil)).compactMap { $0 as? URL }
            #expect(files.contains { $0.lastPathComponent == "mlcommons.sqlite-wal" })
            for file in files {
                let attributes = try manager.attributesOfItem(atPath: file.path)
                let mode = try #require(attributes[.posixPermissions] as? Int)
                let wanted = attributes[.type] as? FileAttributeType == .typeDirectory ? 0o700 : 0o600
                #expect(mode == wanted, "\(file.path) has mode \(String(mode, radix: 8))")
            }
        }
    }

    @Test func aDamagedStoreRefusesToStartAndSaysHowToRecover() async throws {
        try await withServer { client, server, _ in
            for index in 0..<20 {
                try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": .string("group-\(index)"),
                                                                                               "description": .string(String(repeating: "x", count: 2000))])
            }
            await server.stop()  // a clean stop checkpoints the WAL into the main file
            let file = server.dataDir.appendingPathComponent("mlcommons.sqlite")
            let handle = try FileHandle(forWritingTo: file)
            try handle.seek(toOffset: 4096)
            try handle.write(contentsOf: Data(repeating: 0xA5, count: 8192))
            try handle.close()
            await #expect(throws: TestFailure.self) { try await server.start() }
            #expect(await server.waitForExit(timeout: .seconds(5)).map { $0 != 0 } == true)
            let log = server.log()
            #expect(log.contains("The store \(file.path) is damaged"), "\(log.suffix(2000))")
            #expect(log.contains(".recover"))

            // Not a database at all.
            try Data("this is not a database, just text".utf8 + Array(repeating: 0, count: 100)).write(to: file)
            try? FileManager.default.removeItem(at: server.dataDir.appendingPathComponent("mlcommons.sqlite-wal"))
            await #expect(throws: TestFailure.self) { try await server.start() }
            #expect(server.log().components(separatedBy: "is damaged").count == 3)
        }
    }

    /// A file-size limit (`prlimit --fsize`) stands for a full disk: writes fail with EFBIG.
    @Test func aWriteThatDoesNotFitAnswers507AndLeavesTheStoreIntact() async throws {
        let prlimit = "/usr/bin/prlimit"
        guard FileManager.default.isExecutableFile(atPath: prlimit) else { return }
        try await withServer { client, server, _ in
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            let created = try await client.expect(200, "POST", "/_plugins/_ml/models/_register_meta", [
                "name": "too-big", "model_format": "TORCH_SCRIPT", "model_content_hash_value": "ab", "total_chunks": 2,
                "model_config": Fixtures.miniLMConfig,
            ])
            let id = try #require(created["model_id"]?.stringValue)
            await server.stop(crash: true)
            server.launcher = [prlimit, "--fsize=3000000"]
            try await server.start()
            var limited = TestClient(baseURL: server.baseURL)
            let refused = try await limited.send("POST", "/_plugins/_ml/models/\(id)/upload_chunk/0", body: Array(Fixtures.filler(4_000_000, seed: 3)),
                                                 contentType: "application/octet-stream")
            #expect(refused.status == 507, "\(refused.text)")
            #expect(try refused.json["error"]?["reason"]?.stringValue?.contains("not enough disk space") == true, "\(refused.text)")
            #expect(server.isRunning)
            // What fits still goes through, and nothing of the refused write is left.
            let small = try await limited.send("POST", "/_plugins/_ml/models/\(id)/upload_chunk/0", body: [1, 2, 3],
                                               contentType: "application/octet-stream")
            #expect(small.status == 200, "\(small.text)")
            await server.stop(crash: true)
            server.launcher = []
            try await server.start()
            limited = TestClient(baseURL: server.baseURL)
            #expect(try await limited.expect(200, "GET", "/_plugins/_ml/models/\(id)")["model_state"] == "REGISTERING")
            let chunk = try await limited.expect(200, "GET", "/_plugins/_ml/models/\(id)_0?return_content=true")
            #expect(chunk["model_content"] == "AQID")
        }
    }
}
