import Foundation
import OrderedJSON
import Testing

/// A client that hangs up while its request waits behind a long forward pass: the request is
/// cancelled (status 499 in the log) and never computed (the profile counts only the long one).
@Suite struct HangupTests {
    @Test func requestsOfClientsThatHungUpAreNotComputed() async throws {
        // The scenario needs the short request to reach the server while the long one is computed.
        // A loaded machine can hold the short one back until the long one is done (seen once in CI:
        // it was read 5 s late, after the hang-up); such a run proves nothing and is tried again.
        for attempt in 1...3 {
            if try await Self.hangUpBehindALongRequest() { return }
            print("hang-up scenario \(attempt): the short request was read only after the long one ended; trying again")
        }
        Issue.record("in 3 attempts the short request never reached the server while the long one was computed")
    }

    /// One run of the scenario on a fresh server; false when the interleaving it needs did not happen.
    static func hangUpBehindALongRequest() async throws -> Bool {
        let mirror = ArtifactMirror()
        try await mirror.start()
        defer { mirror.stop() }
        return try await ConnectionTests.withServer(["--log-level", "debug", "--artifacts-url", mirror.baseURL]) { client, server in
            try await client.setPersistent([MirrorAccess.setting: true])
            let modelID = try await ServerBatchingTests.deployBERT(client, mirror)
            let path = "/_plugins/_ml/_predict/text_embedding/\(modelID)"

            // A long request: 200 texts of 80 tokens keep the batcher busy for a second or more.
            let text = JSON.string(Array(repeating: "the quick brown fox jumps over the lazy dog", count: 12).joined(separator: " "))
            let long = Task { try await client.send("POST", path, json: ["text_docs": .array(Array(repeating: text, count: 200)),
                                                                         "target_response": ["sentence_embedding"]]) }
            // Once it is queued (the debug log says so), the batcher's worker takes it at once.
            let deadline = ContinuousClock.now + .seconds(60)
            while !server.log().contains("200 texts queued for a batch") && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(200))
            // A short one that waits behind it, from a client that gives up at once.
            let body = #"{"text_docs": ["hello"]}"#
            let quitter = try RawConnection(port: server.port)
            quitter.send("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            try await Task.sleep(for: .milliseconds(100))
            let longDoneBeforeHangUp = server.log().contains("POST \(path) 200")
            quitter.hangUp()

            let reply = try await long.value
            #expect(reply.status == 200)
            try await Task.sleep(for: .milliseconds(300))
            let log = server.log()
            // The long request ended before the short one was queued: the race the scenario needs was lost.
            if longDoneBeforeHangUp { return false }
            if let longDone = log.range(of: "POST \(path) 200"), let shortQueued = log.range(of: "1 texts queued for a batch"),
               shortQueued.lowerBound > longDone.lowerBound {
                return false
            }
            #expect(log.contains("POST \(path) 499"), "the abandoned request was not cancelled")
            let profile = try await client.expect(200, "GET", "/_plugins/_ml/profile/models/\(modelID)")
            let stats = profile["nodes"]?.objectValue?.entries.first?.value["models"]?[modelID]?["model_inference_stats"]
            #expect(stats?["count"] == 1, "\(profile.serialized)")
            return true
        }
    }
}
