import AsyncHTTPClient
import Foundation
import MLCommonsServer
import OrderedJSON
import Testing

/// HTTPS with a certificate made at test time, the start-up checks of the TLS files, and the rule
/// that the server listens on loopback only unless told `--insecure`.
@Suite struct TLSTests {
    /// The server on HTTPS with fresh certificates, and a client that trusts only their CA.
    static func withTLSServer<T>(_ options: [String] = [], environment: [String: String] = [:],
                                 _ body: (TestClient, ServerProcess, TestCertificates) async throws -> T) async throws -> T {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = ServerProcess(extraArguments: certificates.serveArguments + options)
        server.environment = environment
        let http = try certificates.trustingClient()
        let outcome: Result<T, any Error>
        do {
            try await server.start()
            outcome = .success(try await body(TestClient(baseURL: server.baseURL, http: http), server, certificates))
            await server.stop()
            try? FileManager.default.removeItem(at: server.dataDir)
        } catch {
            await server.stop()
            print("server log:\n\(server.log())")
            outcome = .failure(error)
        }
        try? await http.shutdown()
        return try outcome.get()
    }

    /// Starts the binary with `options`, expecting it to refuse: its exit status and what it said.
    static func refusedStart(_ options: [String]) async throws -> (status: Int32, log: String) {
        let server = ServerProcess(extraArguments: options)
        defer { try? FileManager.default.removeItem(at: server.dataDir) }
        do {
            try await server.start()
        } catch {
            let status = await server.waitForExit(timeout: .seconds(10))
            return (status ?? 0, server.log())
        }
        await server.stop()
        throw TestFailure("the server started with \(options)")
    }

    @Test func httpsAnswersAClientThatTrustsTheCA() async throws {
        try await Self.withTLSServer { client, server, _ in
            #expect(server.baseURL.hasPrefix("https://"))
            let root = try await client.expect(200, "GET", "/")
            #expect(root["tagline"]?.stringValue == "The OpenSearch Project: https://opensearch.org/")
            let group = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "over-tls"])
            let groupID = try #require(group["model_group_id"]?.stringValue)
            let hits = try await client.search("model_groups", ["query": ["match_all": [:]]])
            #expect(hits.map { $0["_id"]?.stringValue } == [groupID])
            #expect(server.log().contains("listening on https://127.0.0.1:\(server.port)"))
        }
    }

    @Test func clientsThatDoNotTrustTheCAOrSpeakPlainHTTPFail() async throws {
        try await Self.withTLSServer { _, server, certificates in
            // HTTPClient.shared trusts the system's roots, not the test CA: the handshake fails. (The client
            // retries a failed connection until the deadline, hence a short one.)
            let untrusted = await #expect(throws: (any Error).self) {
                _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: server.baseURL + "/"), timeout: .seconds(5))
            }
            #expect(String(reflecting: untrusted).contains("CERTIFICATE_VERIFY_FAILED"), "\(String(reflecting: untrusted))")
            // Plain HTTP to the HTTPS port gets no HTTP answer.
            let plain = await #expect(throws: (any Error).self) {
                _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/"), timeout: .seconds(5))
            }
            #expect(plain as? HTTPClientError == .remoteConnectionClosed, "\(String(reflecting: plain))")
            // A raw plain request: the server answers no HTTP and closes.
            let raw = try RawConnection(port: server.port)
            raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            let received = try #require(await raw.readUntilClosed(timeout: .seconds(20)), "the connection stayed open")
            #expect(!String(decoding: received, as: UTF8.self).contains("HTTP/1.1"))
            // A client that offers only TLS 1.1 (its own security level lowered to allow it) is refused; TLS 1.2 is accepted.
            let sClient = ["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(server.port)", "-CAfile", certificates.caFile,
                           "-verify_return_error", "-brief", "-cipher", "DEFAULT:@SECLEVEL=0"]
            #expect(throws: (any Error).self) { try TestCertificates.run(sClient + ["-tls1_1"]) }
            #expect(try TestCertificates.run(sClient + ["-tls1_2"]).contains("Protocol version: TLSv1.2"))
            // The server is still there for a client that does trust it.
            let trusting = try certificates.trustingClient()
            let reply = try? await TestClient(baseURL: server.baseURL, http: trusting).send("GET", "/")
            try? await trusting.shutdown()
            #expect(reply?.status == 200)
        }
    }

    /// The idle and body timeouts sit after TLS decryption.
    @Test func connectionTimeoutsHoldUnderTLS() async throws {
        try await Self.withTLSServer(["--idle-timeout", "3", "--body-timeout", "2"]) { client, server, certificates in
            // A connection that never starts its handshake, and one that sends half a head: both closed.
            let silent = try RawConnection(port: server.port)
            #expect(await silent.readUntilClosed(timeout: .seconds(40)) != nil, "a connection without a handshake stayed open")
            let slowHead = try OpenSSLConnection(port: server.port, certificates: certificates)
            slowHead.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            #expect(await slowHead.readUntilClosed(timeout: .seconds(40)) != nil, "half a head kept the connection open")

            // A body that stalls: 408.
            let stalled = try OpenSSLConnection(port: server.port, certificates: certificates)
            stalled.send("POST /_plugins/_ml/model_groups/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            let cut = try #require(await stalled.readUntilClosed(timeout: .seconds(40)), "the stalled body was not cut")
            #expect(String(decoding: cut, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
            try await client.expect(200, "GET", "/")
        }
    }

    /// The SIGTERM drain counts answers owed on TLS connections too. (The idle timeout stays at its
    /// default: it starts when the answer's last part is queued, and would cut a client not reading.)
    @Test func stopAnswersInFlightInFullUnderTLS() async throws {
        try await Self.withTLSServer(["--shutdown-timeout", "20"]) { client, server, certificates in

            // An answer larger than the socket buffers, asked for by a client not reading yet, then a stop:
            // the answer arrives in full before the server exits.
            let (modelID, chunk) = try await LargeAnswer.upload(client)
            let reader = try OpenSSLConnection(port: server.port, certificates: certificates)
            reader.send(LargeAnswer.request(modelID, close: true))
            try await Task.sleep(for: .milliseconds(1500))
            kill(server.processID, SIGTERM)
            // Not reading for longer than swift-nio-ssl's own close waits (5 s) to flush: only the drain keeps the answer.
            try await Task.sleep(for: .seconds(7))
            let response = try #require(await reader.readUntilClosed(timeout: .seconds(40)), "the answer never ended")
            let (head, body) = try #require(LargeAnswer.split(response), "no HTTP head in \(response.count) bytes")
            #expect(head.hasPrefix("HTTP/1.1 200"))
            #expect(try LargeAnswer.content(body) == chunk)
            #expect(await server.waitForExit(timeout: .seconds(40)) == 0)
        }
    }

    @Test func badTLSFilesRefuseToStartNamingTheFile() async throws {
        let good = try TestCertificates.make()
        let other = try TestCertificates.make()
        defer { good.remove(); other.remove() }
        let key = try String(contentsOfFile: other.keyFile, encoding: .utf8)
        let keyBody = key.split(separator: "\n").dropFirst().first.map(String.init) ?? key

        // The key of another certificate.
        let mismatched = try await Self.refusedStart(["--tls-cert", good.certificateFile, "--tls-key", other.keyFile])
        #expect(mismatched.status != 0)
        #expect(mismatched.log.contains("TLS key file \(other.keyFile) does not match the first certificate in \(good.certificateFile)"), "\(mismatched.log)")
        #expect(!mismatched.log.contains(keyBody) && !mismatched.log.contains("PRIVATE KEY"))

        // Missing, not PEM, a key given as the certificate, an encrypted key.
        let missing = good.directory.appendingPathComponent("absent.pem").path
        let notPEM = good.directory.appendingPathComponent("junk.pem")
        try Data("not a certificate\n".utf8).write(to: notPEM)
        let encrypted = good.directory.appendingPathComponent("encrypted.key").path
        try TestCertificates.run(["/usr/bin/openssl", "pkey", "-in", good.keyFile, "-aes256", "-passout", "pass:secret", "-out", encrypted])
        let empty = good.directory.appendingPathComponent("empty.pem")
        try Data().write(to: empty)
        let huge = good.directory.appendingPathComponent("huge.pem")
        try Data(repeating: 0x41, count: 2 << 20).write(to: huge)
        let cases: [([String], String)] = [
            (["--tls-cert", good.directory.path, "--tls-key", good.keyFile], "TLS certificate file \(good.directory.path) is not a regular file"),
            (["--tls-cert", empty.path, "--tls-key", good.keyFile], "TLS certificate file \(empty.path) is empty"),
            (["--tls-cert", good.certificateFile, "--tls-key", huge.path], "TLS key file \(huge.path) is more than a PEM key file can be"),
            (["--tls-cert", missing, "--tls-key", good.keyFile], "TLS certificate file \(missing) cannot be read"),
            (["--tls-cert", good.certificateFile, "--tls-key", missing], "TLS key file \(missing) cannot be read"),
            (["--tls-cert", notPEM.path, "--tls-key", good.keyFile], "TLS certificate file \(notPEM.path) "),
            (["--tls-cert", good.keyFile, "--tls-key", good.keyFile], "TLS certificate file \(good.keyFile) "),
            (["--tls-cert", good.certificateFile, "--tls-key", good.certificateFile], "TLS key file \(good.certificateFile) is not a PEM private key"),
            (["--tls-cert", good.certificateFile, "--tls-key", encrypted], "TLS key file \(encrypted) is encrypted"),
            (["--tls-cert", good.certificateFile], "--tls-cert needs --tls-key"),
            (["--tls-key", good.keyFile], "--tls-key needs --tls-cert"),
        ]
        for (options, message) in cases {
            let refused = try await Self.refusedStart(options)
            #expect(refused.status != 0, "\(options)")
            #expect(refused.log.contains(message), "\(options): \(refused.log)")
            #expect(!refused.log.contains("PRIVATE KEY"), "\(options)")
        }
    }

    @Test func nonLoopbackHostNeedsInsecure() async throws {
        let refused = try await Self.refusedStart(["--host", "0.0.0.0"])
        #expect(refused.status != 0)
        #expect(refused.log.contains("refusing to listen on 0.0.0.0 without --security: anyone who reaches the port could do everything; "
            + "turn security on (--security, env MLCOMMONS_SECURITY=true), bind to 127.0.0.1, "
            + "or pass --insecure to accept that anyone who reaches the port can do everything"), "\(refused.log)")

        let server = ServerProcess(extraArguments: ["--host", "0.0.0.0", "--insecure"])
        defer { try? FileManager.default.removeItem(at: server.dataDir) }
        try await server.start()
        try await TestClient(baseURL: server.baseURL).expect(200, "GET", "/")
        #expect(server.log().contains("listening on http://0.0.0.0:"))
        await server.stop()

        // The environment says the same as the flag; a value that is not a boolean is refused.
        let byEnvironment = ServerProcess(extraArguments: ["--host", "0.0.0.0"])
        defer { try? FileManager.default.removeItem(at: byEnvironment.dataDir) }
        byEnvironment.environment = ["MLCOMMONS_INSECURE": "true"]
        try await byEnvironment.start()
        try await TestClient(baseURL: byEnvironment.baseURL).expect(200, "GET", "/")
        await byEnvironment.stop()
        byEnvironment.environment = ["MLCOMMONS_INSECURE": "yes please"]
        await #expect(throws: (any Error).self) { try await byEnvironment.start() }
        #expect(byEnvironment.log().contains("MLCOMMONS_INSECURE must be true or false"))
    }

    @Test func loopbackIsOnlyLiteralLoopback() {
        for host in ["127.0.0.1", "127.255.3.4", "::1", "0:0:0:0:0:0:0:1", "localhost", "LocalHost"] {
            #expect(LoopbackRule.isLoopback(host), "\(host)")
        }
        for host in ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "126.255.255.255", "192.168.1.1", "::ffff:127.0.0.1", "::2",
                     "example.com", "127.0.0.1.nip.io", "localhost.example.com", "", "127.1", " 127.0.0.1"] {
            #expect(!LoopbackRule.isLoopback(host), "\(host)")
        }
    }
}
