import Foundation
import OrderedJSON
import Testing

/// Connections that misbehave (a head sent a byte at a time, a body that stalls) are closed on their
/// timeouts, and a stop (SIGTERM) answers what is in flight in full and still exits when a client stalls.
@Suite struct ConnectionTests {
    static func withServer<T>(_ options: [String], _ body: (TestClient, ServerProcess) async throws -> T) async throws -> T {
        let server = ServerProcess(extraArguments: options)
        try await server.start()
        defer { try? FileManager.default.removeItem(at: server.dataDir) }
        do {
            let result = try await body(TestClient(baseURL: server.baseURL), server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            print("server log:\n\(server.log())")
            throw error
        }
    }

    @Test func slowHeadAndStalledBodyAreCut() async throws {
        try await Self.withServer(["--idle-timeout", "4", "--body-timeout", "2"]) { client, server in
            // Half a request head, then nothing: closed after the idle timeout (generous bounds: CI machines are loaded).
            let slowHead = try RawConnection(port: server.port)
            slowHead.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            #expect(await slowHead.readUntilClosed(timeout: .seconds(40)) != nil)

            // A body that trickles in (each byte inside the idle timeout) is cut by the body timeout with a 408.
            let trickle = try RawConnection(port: server.port)
            trickle.send("POST /_plugins/_ml/model_groups/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            let answer = Task { await trickle.readUntilClosed(timeout: .seconds(40)) }
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(250))
                trickle.send(" ")
            }
            let received = try #require(await answer.value, "the stalled body was not cut")
            #expect(String(decoding: received, as: UTF8.self).hasPrefix("HTTP/1.1 408"))

            // The server still answers everyone else.
            try await client.expect(200, "GET", "/")
        }
    }

    @Test func stopAnswersInFlightInFullAndIgnoresStalledClients() async throws {
        // The drain waits only for answers owed, so a generous timeout costs nothing when all goes
        // well, and a loaded machine that needs seconds to write 13 MB does not cut the answer.
        try await Self.withServer(["--shutdown-timeout", "20"]) { client, server in
            let (modelID, chunk) = try await LargeAnswer.upload(client)

            // A client stalled mid-body, and a client that asked for the chunk and is not reading yet.
            let stalled = try RawConnection(port: server.port)
            stalled.send("POST /_plugins/_ml/models/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"q")
            let reader = try RawConnection(port: server.port)
            reader.send(LargeAnswer.request(modelID))
            try await Task.sleep(for: .milliseconds(800))

            kill(server.processID, SIGTERM)
            let response = try #require(await reader.readUntilClosed(timeout: .seconds(30)), "the answer never ended")
            let (head, body) = try #require(LargeAnswer.split(response), "no HTTP head in \(response.count) bytes")
            #expect(head.hasPrefix("HTTP/1.1 200"))
            let length = try #require(head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) })
            #expect(body.count == length, "answer cut at \(body.count) of \(length) bytes")
            #expect(try LargeAnswer.content(body) == chunk)

            // The stalled client does not hold the stop for ever.
            let deadline = ContinuousClock.now + .seconds(40)
            while server.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!server.isRunning, "the server did not exit with a stalled client")
            _ = client
        }
    }
}
