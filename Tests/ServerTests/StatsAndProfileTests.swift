import Foundation
import OrderedJSON
import Testing

@Suite struct StatsAndProfileTests {
    @Test func statsCountModelsAndRequests() async throws {
        try await withServer { client, _, mirror in
            let empty = try await client.expect(200, "GET", "/_plugins/_ml/stats")
            #expect(empty["ml_model_index_status"] == "non-existent")
            #expect(empty["ml_model_count"] == 0)
            let ids = try await ModelAPITests.registerModels(client, mirror, count: 2)
            let deploy = try await client.expect(200, "POST", "/_plugins/_ml/models/\(ids[0])/_deploy")
            _ = try await client.waitForTask(deploy["task_id"]!.stringValue!)

            let stats = try await client.expect(200, "GET", "/_plugins/_ml/stats/")
            #expect(stats["ml_model_index_status"] == "green")
            #expect(stats["ml_model_count"] == 2)  // chunk documents are not models
            let (nodeID, node) = try #require(stats["nodes"]?.objectValue?.entries.first.map { ($0.key, $0.value) })
            #expect(node["ml_request_count"] == 3)
            #expect(node["ml_failure_count"] == 0)
            #expect(node["ml_deployed_model_count"] == 0)
            #expect(node["algorithms"]?["text_embedding"]?["register"]?["ml_action_request_count"] == 2)
            #expect(node["models"]?[ids[0]]?["deploy"]?["ml_action_request_count"] == 1)

            let one = try await client.expect(200, "GET", "/_plugins/_ml/stats/ml_model_count")
            #expect(one == ["ml_model_count": 2])
            let perNode = try await client.expect(200, "GET", "/_plugins/_ml/\(nodeID)/stats/ml_request_count,ml_task_index_status")
            #expect(perNode["ml_task_index_status"] == "green")
            #expect(perNode["nodes"]?[nodeID]?.objectValue?.keys == ["ml_request_count"])
            let unknown = try await client.send("GET", "/_plugins/_ml/stats/no_such_stat")
            #expect(unknown.status == 400)
        }
    }

    @Test func profileOfNothingIsEmpty() async throws {
        try await withServer { client, _, _ in
            let everything = try await client.expect(200, "GET", "/_plugins/_ml/profile")
            #expect(everything == JSON.object([:]))
            let unknownModel = try await client.expect(200, "GET", "/_plugins/_ml/profile/models/unknown")
            #expect(unknownModel == JSON.object([:]))
            let tasks = try await client.expect(200, "GET", "/_plugins/_ml/profile/tasks")
            #expect(tasks == JSON.object([:]))
        }
    }
}
