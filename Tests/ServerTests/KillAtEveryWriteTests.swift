import Foundation
import OrderedJSON
import Testing

/// Crash consistency, proven by killing: each operation runs against a server armed to SIGKILL itself
/// at its Nth store write (`MLCOMMONS_FAULT_KILL_AT_WRITE`, before or after the commit), for N = 1, 2, …
/// until the operation completes without reaching N. After each run the server restarts on the same
/// data dir and the store's invariants are checked (`StoreInvariants`). Stops between runs are SIGKILLs
/// too: they are quick (a SIGTERM waits for the test client's idle keep-alive connections) and, with
/// nothing running, leave the same store as a clean stop.
@Suite(.serialized) struct KillAtEveryWriteTests {
    /// Drives one operation through every kill point; returns how many runs were killed.
    @discardableResult
    static func killAtEveryWrite(_ server: ServerProcess, _ invariants: StoreInvariants, name: String,
                                 prepare: (TestClient) async throws -> Void,
                                 operation: @escaping @Sendable (TestClient) async throws -> Void) async throws -> Int {
        var kills = 0
        server.environment = [:]
        try await server.start()
        try await prepare(TestClient(baseURL: server.baseURL))
        await server.stop(crash: true)
        for phase in ["before-commit", "after-commit"] {
            for write in 1...40 {
                // After the commit, the server lives on 300 ms without writing, so the client can see what committed.
                server.environment = ["MLCOMMONS_FAULT_KILL_AT_WRITE": String(write), "MLCOMMONS_FAULT_KILL_PHASE": phase,
                                      "MLCOMMONS_FAULT_KILL_DELAY_MS": "300"]
                try await server.start()
                var failure: (any Error)?
                var died = false
                do {
                    died = try await Self.untilDeath(server) { try await operation(TestClient(baseURL: server.baseURL)) }
                } catch {
                    failure = error
                }
                if failure == nil && !died { _ = await server.waitForExit(timeout: .milliseconds(700)) }
                var killed = died || !server.isRunning
                if !killed, failure != nil { killed = await server.waitForExit(timeout: .seconds(10)) != nil }
                if !killed, let failure { throw failure }
                await server.stop(crash: true)
                if killed {
                    kills += 1
                    // A second crash, just after the recovery's first write: recovery must be idempotent.
                    server.environment = ["MLCOMMONS_FAULT_KILL_AT_WRITE": "1", "MLCOMMONS_FAULT_KILL_PHASE": "after-commit"]
                    if (try? await server.start()) != nil { _ = await server.waitForExit(timeout: .milliseconds(300)) }
                    await server.stop(crash: true)
                }

                server.environment = [:]
                try await server.start()
                let client = TestClient(baseURL: server.baseURL)
                try await invariants.check(client, "\(name), \(killed ? "killed at" : "completed before") write \(write) \(phase)")
                try await prepare(client)
                await server.stop(crash: true)
                if !killed { break }
                #expect(write < 40, "\(name) did not complete within 40 writes")
            }
        }
        return kills
    }

    /// Runs the operation until it ends or the server dies (then the operation is cancelled: a client
    /// waiting on a dead server would retry its connection until its timeout); true if the server died.
    static func untilDeath(_ server: ServerProcess, _ operation: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await operation()
                return false
            }
            group.addTask {
                while server.isRunning { try await Task.sleep(for: .milliseconds(20)) }
                return true
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    static func withKillableServer(_ body: (ServerProcess, ArtifactMirror, StoreInvariants) async throws -> Void) async throws {
        let mirror = ArtifactMirror()
        try await mirror.start()
        let server = ServerProcess(artifactsURL: mirror.baseURL)
        do {
            // The mirror is on loopback: allowed once, in the persistent settings every later start reads.
            try await server.start()
            try await TestClient(baseURL: server.baseURL).setPersistent([MirrorAccess.setting: true])
            await server.stop()
            try await body(server, mirror, StoreInvariants())
            await server.stop()
            mirror.stop()
            try? FileManager.default.removeItem(at: server.dataDir)
        } catch {
            await server.stop()
            mirror.stop()
            print("server log:\n\(server.log().suffix(20_000))")
            throw error
        }
    }

    @discardableResult
    static func expectCompleted(_ client: TestClient, _ reply: JSON, _ invariants: StoreInvariants? = nil) async throws -> JSON {
        guard let taskID = reply["task_id"]?.stringValue else { throw TestFailure("no task id in \(reply.serialized)") }
        let task = try await client.waitForTask(taskID, timeout: .seconds(30))
        guard task["state"] == "COMPLETED", let model = task["model_id"]?.stringValue else { throw TestFailure("task ended \(task.serialized)") }
        invariants?.sawCompleted(task: taskID, model: model)
        return task
    }

    @Test func registerPretrainedAndChunkedUploadSurviveAKillAtEveryWrite() async throws {
        try await Self.withKillableServer { server, mirror, invariants in
            try DeployTests.publishTinyBERT(mirror)
            let pretrained: JSON = ["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"]
            let kills = try await Self.killAtEveryWrite(server, invariants, name: "pretrained register", prepare: { _ in }) { client in
                try await Self.expectCompleted(client, try await client.expect(200, "POST", "/_plugins/_ml/models/_register", pretrained), invariants)
            }
            #expect(kills >= 6)  // task, claim + journal + meta, chunk, registered + completed: before and after each commit

            let zip = try Data(contentsOf: DeployTests.fixtures.appendingPathComponent("bert-torch_script.zip"))
            let parts = stride(from: 0, to: zip.count, by: 100_000).map { zip.subdata(in: $0..<min($0 + 100_000, zip.count)) }
            let serial = Counter()
            let uploads = try await Self.killAtEveryWrite(server, invariants, name: "chunked upload", prepare: { client in
                try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            }) { client in
                let meta: JSON = ["name": .string("uploaded-\(serial.next())"), "model_format": "TORCH_SCRIPT",
                                  "model_content_hash_value": .string(Fixtures.sha256(zip)), "model_content_size_in_bytes": .int(Int64(zip.count)),
                                  "total_chunks": .int(Int64(parts.count)), "model_config": Fixtures.miniLMConfig]
                let created = try await client.expect(200, "POST", "/_plugins/_ml/models/_register_meta", meta)
                let modelID = try #require(created["model_id"]?.stringValue)
                for (number, part) in parts.enumerated() {
                    let reply = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/upload_chunk/\(number)", body: Array(part),
                                                      contentType: "application/octet-stream")
                    guard reply.status == 200 else { throw TestFailure("chunk \(number): \(reply.status) \(reply.text)") }
                }
                guard try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] == "REGISTERED" else {
                    throw TestFailure("model \(modelID) not REGISTERED after its last chunk")
                }
                invariants.sawRegistered(model: modelID)
            }
            #expect(uploads >= 2 * parts.count)
        }
    }

    @Test func deletesAndDeploySurviveAKillAtEveryWrite() async throws {
        try await Self.withKillableServer { server, mirror, invariants in
            try DeployTests.publishTinyBERT(mirror)
            let zip = try Data(contentsOf: DeployTests.fixtures.appendingPathComponent("bert-torch_script.zip"))
            let parts = stride(from: 0, to: zip.count, by: 100_000).map { zip.subdata(in: $0..<min($0 + 100_000, zip.count)) }
            let doomed = Box()

            // DELETE /models/<id> of a model with three chunks, in a group the test made.
            try await Self.killAtEveryWrite(server, invariants, name: "delete model", prepare: { client in
                if let id = doomed.value, try await client.send("GET", "/_plugins/_ml/models/\(id)").status == 200 { return }
                if let id = doomed.value { invariants.deletedModels.insert(id) }
                try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
                let group = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": .string("holder-\(UUID().uuidString)")])
                let groupID = try #require(group["model_group_id"]?.stringValue)
                invariants.userGroups.insert(groupID)
                let meta: JSON = ["name": "doomed", "model_format": "TORCH_SCRIPT", "model_group_id": .string(groupID),
                                  "model_content_hash_value": .string(Fixtures.sha256(zip)), "model_content_size_in_bytes": .int(Int64(zip.count)),
                                  "total_chunks": .int(Int64(parts.count)), "model_config": Fixtures.miniLMConfig]
                let id = try #require(try await client.expect(200, "POST", "/_plugins/_ml/models/_register_meta", meta)["model_id"]?.stringValue)
                for (number, part) in parts.enumerated() {
                    _ = try await client.send("POST", "/_plugins/_ml/models/\(id)/upload_chunk/\(number)", body: Array(part), contentType: "application/octet-stream")
                }
                doomed.value = id
            }) { client in
                guard let id = doomed.value else { throw TestFailure("no model to delete") }
                try await client.expect(200, "DELETE", "/_plugins/_ml/models/\(id)")
                invariants.sawDeleted(path: "/_plugins/_ml/models/\(id)")
            }

            // DELETE /model_groups/<id> of an empty group.
            let emptyGroup = Box()
            try await Self.killAtEveryWrite(server, invariants, name: "delete group", prepare: { client in
                if let id = emptyGroup.value, try await client.send("GET", "/_plugins/_ml/model_groups/\(id)").status == 200 { return }
                let group = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": .string("empty-\(UUID().uuidString)")])
                emptyGroup.value = try #require(group["model_group_id"]?.stringValue)
                invariants.userGroups.insert(emptyGroup.value!)
            }) { client in
                try await client.expect(200, "DELETE", "/_plugins/_ml/model_groups/\(emptyGroup.value!)")
                invariants.sawDeleted(path: "/_plugins/_ml/model_groups/\(emptyGroup.value!)")
            }

            // PUT /models/<id> moving a model to a new group: the group's version and the model, at once.
            let mover = Box(), target = Box()
            try await Self.killAtEveryWrite(server, invariants, name: "move model", prepare: { client in
                func newGroup(_ prefix: String) async throws -> String {
                    let group = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": .string("\(prefix)-\(UUID().uuidString)")])
                    let id = try #require(group["model_group_id"]?.stringValue)
                    invariants.userGroups.insert(id)
                    return id
                }
                if mover.value == nil {
                    let home = try await newGroup("home")
                    let meta: JSON = ["name": "mover", "model_format": "TORCH_SCRIPT", "model_group_id": .string(home),
                                      "model_content_hash_value": .string(Fixtures.sha256(zip)), "model_content_size_in_bytes": .int(Int64(zip.count)),
                                      "total_chunks": 1, "model_config": Fixtures.miniLMConfig]
                    mover.value = try #require(try await client.expect(200, "POST", "/_plugins/_ml/models/_register_meta", meta)["model_id"]?.stringValue)
                }
                if let previous = target.value { invariants.strictGroups.remove(previous) }  // the model leaves it next
                target.value = try await newGroup("target")
                invariants.strictGroups.insert(target.value!)
            }) { client in
                try await client.expect(200, "PUT", "/_plugins/_ml/models/\(mover.value!)", ["model_group_id": .string(target.value!)])
            }

            // Deploy of a real (tiny) model: each restart starts from an UNDEPLOYED model.
            let deployed = Box()
            try await Self.killAtEveryWrite(server, invariants, name: "deploy", prepare: { client in
                if deployed.value == nil {
                    let task = try await Self.expectCompleted(client, try await client.expect(200, "POST", "/_plugins/_ml/models/_register",
                        ["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"]))
                    deployed.value = task["model_id"]?.stringValue
                }
                try await client.expect(200, "POST", "/_plugins/_ml/models/\(deployed.value!)/_undeploy")
            }) { client in
                let id = deployed.value!
                try await Self.expectCompleted(client, try await client.expect(200, "POST", "/_plugins/_ml/models/\(id)/_deploy"), invariants)
                guard try await client.expect(200, "GET", "/_plugins/_ml/models/\(id)")["model_state"] == "DEPLOYED" else {
                    throw TestFailure("model \(id) not DEPLOYED after its deploy task completed")
                }
            }
        }
    }
}

final class Box: @unchecked Sendable {
    var value: String?
}

final class Counter: @unchecked Sendable {
    private var count = 0
    func next() -> Int {
        count += 1
        return count
    }
}
