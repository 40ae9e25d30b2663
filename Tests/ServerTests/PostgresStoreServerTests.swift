import Foundation
import OrderedJSON
import Testing
import TestSupport

/// The real binary on a real PostgreSQL (`--store postgres://…`): what one node writes, a restarted
/// node and a second node with an empty data dir read back; the password stays out of the log.
@Suite struct PostgresStoreServerTests {
    @Test func groupsModelsAndChunksLiveInPostgreSQL() async throws {
        let url = try await PostgresTestServer.shared.newDatabaseURL()
        let password = "pw-\(UUID().uuidString)"  // trust authentication: never needed, and never to be printed
        let server = ServerProcess(extraArguments: ["--store", url])
        server.environment["MLCOMMONS_STORE_PASSWORD"] = password
        let second = ServerProcess(extraArguments: [])
        second.environment["MLCOMMONS_STORE"] = url
        do {
            try await server.start()
            let client = TestClient(baseURL: server.baseURL)
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            let group = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "shared group"])
            let groupID = try #require(group["model_group_id"]?.stringValue)

            let zip = try Fixtures.torchScriptZip(modelBytes: 30_000)
            let parts = stride(from: 0, to: zip.count, by: 12_000).map { zip.subdata(in: $0..<min($0 + 12_000, zip.count)) }
            let meta: JSON = ["name": "chunked", "version": "1.0.1", "model_format": "TORCH_SCRIPT", "model_group_id": .string(groupID),
                              "model_content_hash_value": .string(Fixtures.sha256(zip)), "model_content_size_in_bytes": .int(Int64(zip.count)),
                              "total_chunks": .int(Int64(parts.count)), "model_config": Fixtures.miniLMConfig]
            let modelID = try #require(try await client.expect(200, "POST", "/_plugins/_ml/models/_register_meta", meta)["model_id"]?.stringValue)
            for (number, part) in parts.enumerated() {
                let reply = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/upload_chunk/\(number)", body: Array(part),
                                                  contentType: "application/octet-stream")
                #expect(reply.status == 200)
            }
            #expect(try await client.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] == "REGISTERED")

            try await server.restart()
            let after = TestClient(baseURL: server.baseURL)
            #expect(try await after.expect(200, "GET", "/_plugins/_ml/model_groups/\(groupID)")["name"] == "shared group")
            #expect(try await after.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["model_state"] == "REGISTERED")
            #expect(!FileManager.default.fileExists(atPath: server.dataDir.appendingPathComponent("mlcommons.sqlite").path))

            // A second node with an empty data dir sees the same documents and chunks.
            try await second.start()
            let other = TestClient(baseURL: second.baseURL)
            #expect(try await other.expect(200, "GET", "/_plugins/_ml/models/\(modelID)")["name"] == "chunked")
            let clash = try await other.send("POST", "/_plugins/_ml/model_groups/_register", json: ["name": "shared group"])
            #expect(clash.status == 400)
            // Deploy on that node rebuilds the file from the chunks in PostgreSQL and checks its hash: the
            // engine then reads the (deliberately mismatched) model, so the content arrived whole.
            let task = try await other.waitForTask(try #require(
                try await other.expect(200, "POST", "/_plugins/_ml/models/\(modelID)/_deploy")["task_id"]?.stringValue))
            #expect(task["error"]?.stringValue?.contains("model_config.embedding_dimension is 384 but the model produces 16-dimensional embeddings") == true,
                    "\(task.serialized)")

            await server.stop()
            await second.stop()
            #expect(!server.log().contains(password))
            #expect(server.log().contains("postgres://mlcommons:***@127.0.0.1"))  // named, password masked
        } catch {
            await server.stop()
            await second.stop()
            print("server log:\n\(server.log())\nsecond:\n\(second.log())")
            throw error
        }
        try? FileManager.default.removeItem(at: server.dataDir)
        try? FileManager.default.removeItem(at: second.dataDir)
    }
}
