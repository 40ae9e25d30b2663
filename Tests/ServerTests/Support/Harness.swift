import Foundation
import OrderedJSON

/// Starts a mirror and a server pointed at it, runs the body, stops both.
func withServer<T>(_ body: (TestClient, ServerProcess, ArtifactMirror) async throws -> T) async throws -> T {
    let mirror = ArtifactMirror()
    try await mirror.start()
    let server = ServerProcess(artifactsURL: mirror.baseURL)
    do {
        try await server.start()
        let client = TestClient(baseURL: server.baseURL)
        // The mirror is on 127.0.0.1, which model downloads refuse by default (OutboundTests proves it).
        try await client.setPersistent([MirrorAccess.setting: true])
        let result = try await body(client, server, mirror)
        await server.stop()
        mirror.stop()
        try? FileManager.default.removeItem(at: server.dataDir)
        return result
    } catch {
        await server.stop()
        mirror.stop()
        print("server log:\n\(server.log())")
        throw error
    }
}

extension TestClient {
    func setPersistent(_ settings: JSONObject) async throws {
        try await expect(200, "PUT", "/_cluster/settings", ["persistent": .object(settings)])
    }

    /// Registers and waits; returns the finished task.
    func registerAndWait(_ body: JSON, query: String = "") async throws -> JSON {
        let reply = try await expect(200, "POST", "/_plugins/_ml/models/_register\(query)", body)
        guard let taskID = reply["task_id"]?.stringValue else { throw TestFailure("no task_id in \(reply.serialized)") }
        return try await waitForTask(taskID)
    }

    func count(_ index: String, _ query: JSON = ["match_all": [:]]) async throws -> Int {
        let reply = try await expect(200, "POST", "/_plugins/_ml/\(index)/_search", ["query": query, "size": 0])
        return Int(reply["hits"]?["total"]?["value"]?.intValue ?? -1)
    }
}

enum MirrorAccess {
    static let setting = "plugins.ml_commons.allow_private_model_url"
}

let miniLMName = "huggingface/sentence-transformers/all-MiniLM-L6-v2"
