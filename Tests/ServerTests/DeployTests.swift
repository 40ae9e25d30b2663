import Foundation
import OrderedJSON
import Testing

/// Deploys a real traced TorchScript model (the small random-weight BERT fixture of the engine tests,
/// published on the mirror under a catalog name).
@Suite struct DeployTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("InferenceTests/Fixtures/architectures/bert")

    /// Publishes the fixture on the mirror under a catalog name, with its own config.json.
    static func publishTinyBERT(_ mirror: ArtifactMirror) throws {
        let zip = try Data(contentsOf: fixtures.appendingPathComponent("bert-torch_script.zip"))
        let config = try JSON.parse(Data(contentsOf: fixtures.appendingPathComponent("config.json")))
        try mirror.publishPretrained(name: miniLMName, version: "1.0.1", format: "TORCH_SCRIPT", zip: zip, modelConfig: config["model_config"])
    }

    @Test func deployLoadsTheModelAndUndeployReleasesIt() async throws {
        try await withServer { client, server, mirror in
            try Self.publishTinyBERT(mirror)
            let task = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"], query: "?deploy=true")
            let modelID = try #require(task["model_id"]?.stringValue)
            var model = JSON.null
            for _ in 0..<400 {
                model = try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")
                if model["model_state"] != "DEPLOYING" && model["model_state"] != "REGISTERED" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(model["model_state"] == "DEPLOYED", "\(model.serialized)\n\(server.log())")
            #expect(model["current_worker_node_count"] == 1)
            #expect(model["last_deployed_time"]?.intValue != nil)
            let nodeID = try #require(model["planning_worker_nodes"]?.arrayValue?.first?.stringValue)

            let profile = try await client.expect(200, "GET", "/_plugins/_ml/profile/models/")
            #expect(profile["nodes"]?[nodeID]?["models"]?[modelID]?["model_state"] == "DEPLOYED")
            #expect(profile["nodes"]?[nodeID]?["models"]?[modelID]?["memory_size_estimation_cpu"]?.intValue ?? 0 > 0)
            #expect(try await client.expect(200, "GET", "/_plugins/_ml/stats/ml_deployed_model_count")["nodes"]?[nodeID]?["ml_deployed_model_count"] == 1)

            let refused = try await client.send("DELETE", "/_plugins/_ml/models/\(modelID)")
            #expect(refused.status == 400)
            #expect(try refused.json["error"]?["reason"] == "Model cannot be deleted in deploying or deployed state. Try undeploy model first then delete")

            // A restart loads it again.
            try await server.restart()
            let after = TestClient(baseURL: server.baseURL)
            for _ in 0..<400 {
                model = try await after.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")
                if model["model_state"] == "DEPLOYED" { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(model["model_state"] == "DEPLOYED")

            let undeployed = try await after.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_undeploy")
            #expect(undeployed == .object([nodeID: ["stats": .object([modelID: "undeployed"])]]))
            #expect(try await after.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] == "UNDEPLOYED")
            #expect(try await after.expect(200, "DELETE", "/_plugins/_ml/models/\(modelID)")["result"] == "deleted")
        }
    }
}
