import AsyncHTTPClient
import Foundation
import NIOSSL

/// A throw-away CA and a server certificate for 127.0.0.1 / localhost that it signed, made by
/// `scripts/make-test-cert` (Debian's openssl) in a fresh directory.
struct TestCertificates {
    let directory: URL

    var caFile: String { directory.appendingPathComponent("ca.pem").path }
    var certificateFile: String { directory.appendingPathComponent("server.pem").path }
    var keyFile: String { directory.appendingPathComponent("server.key").path }
    /// The `serve` options that serve HTTPS with these files.
    var serveArguments: [String] { ["--tls-cert", certificateFile, "--tls-key", keyFile] }

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Makes a CA and certificate in `directory` (a new temporary one by default).
    static func make(in directory: URL? = nil) throws -> TestCertificates {
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("mlcommons-tls-\(UUID().uuidString)")
        let script = repository.appendingPathComponent("scripts/make-test-cert").path
        let output = try run(["/bin/bash", script, directory.path, "2"])
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("server.key").path) else {
            throw TestFailure("make-test-cert made no key: \(output)")
        }
        return TestCertificates(directory: directory)
    }

    /// Runs a command to its end; its output, or a failure with it.
    @discardableResult
    static func run(_ command: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let pipe = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("\(command.joined(separator: " ")) failed: \(output)") }
        return output
    }

    /// An HTTP client that trusts this CA only (not the system's roots); shut it down after use.
    func trustingClient() throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        tls.certificateVerification = .fullVerification
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// A TLS connection by `openssl s_client` that trusts the test CA: a raw client (half a head, an
/// answer not read yet) as `RawConnection` is over plain TCP. Its output is read only when asked.
final class OpenSSLConnection: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(port: Int, certificates: TestCertificates) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", certificates.caFile,
                             "-verify_return_error", "-quiet", "-no_ign_eof"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func send(_ text: String) { try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8)) }

    /// Everything the server sent, once it closed the connection; nil if it is still open after `timeout`.
    func readUntilClosed(timeout: Duration) async -> [UInt8]? {
        let reader = Task.detached { [output] in Array(output.fileHandleForReading.readDataToEndOfFile()) }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        guard !process.isRunning else {
            process.terminate()
            _ = await reader.value
            return nil
        }
        return await reader.value
    }

    deinit { if process.isRunning { process.terminate() } }
}
