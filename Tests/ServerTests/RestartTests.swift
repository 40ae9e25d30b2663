import Foundation
import OrderedJSON
import Testing

@Suite struct RestartTests {
    @Test func registeredStateSurvivesAndInterruptedWorkIsFailedAndRolledBack() async throws {
        try await withServer { client, server, mirror in
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true])
            let ids = try await ModelAPITests.registerModels(client, mirror, count: 1)
            let group = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "kept"])

            // A registration whose download never finishes, then a crash.
            let zip = try Fixtures.torchScriptZip(seed: 42)
            try mirror.put("slow.zip", zip)
            mirror.stalledPaths.insert("/slow.zip")
            let register = try await client.expect(200, "POST", "/_plugins/_ml/models/_register",
                                                   CustomModelTests.urlBody(mirror.url("slow.zip"), hash: Fixtures.sha256(zip), name: "interrupted"))
            let taskID = try #require(register["task_id"]?.stringValue)
            for _ in 0..<500 where !mirror.requestedPaths.contains("/slow.zip") {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(mirror.requestedPaths.contains("/slow.zip"))
            #expect(try await client.expect(200, "GET", "/_plugins/_ml/tasks/\(taskID)")["state"] == "CREATED")
            try await server.restart(crash: true)
            let after = TestClient(baseURL: server.baseURL)

            let task = try await after.expect(200, "GET", "/_plugins/_ml/tasks/\(taskID)")
            #expect(task["state"] == "FAILED")
            #expect(task["error"]?.stringValue?.contains("restarted") == true)
            let model = try await after.expect(200, "GET", "/_plugins/_ml/models/\(ids[0])")
            #expect(model["model_state"] == "REGISTERED")
            #expect(try await after.expect(200, "GET", "/_plugins/_ml/model_groups/\(group["model_group_id"]!.stringValue!)")["name"] == "kept")
            #expect(try await after.count("models", ["term": ["name.keyword": "interrupted"]]) == 0)
            #expect(try await after.count("model_groups", ["term": ["name.keyword": "interrupted"]]) == 0)
            // The node keeps its id across restarts.
            #expect(task["worker_node"] == (try await after.expect(200, "GET", "/_plugins/_ml/tasks/\(taskID)"))["worker_node"])
            let settings = try await after.expect(200, "GET", "/_cluster/settings?flat_settings=true")
            #expect(settings["persistent"]?["plugins.ml_commons.allow_registering_model_via_url"] == "true")
        }
    }
}
