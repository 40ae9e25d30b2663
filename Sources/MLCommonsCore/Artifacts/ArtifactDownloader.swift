import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore

/// A downloaded artifact on local disk, with what was measured while it streamed in.
struct DownloadedArtifact: Sendable {
    let file: URL
    let size: Int64
    let sha256: String
}

/// Streams model artifacts from `http(s)://` or `file://` to disk, hashing as it goes, logging
/// progress and refusing anything larger than the limit.
struct ArtifactDownloader: Sendable {
    let scratchDir: URL
    let logger: Logger

    /// Connect and idle-read timeouts keep an unreachable site from holding a task forever.
    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 10, allowCycles: false),
            timeout: .init(connect: .seconds(20), read: .seconds(120))))

    func download(_ urlText: String, maxBytes: Int64, allowFileURLs: Bool) async throws -> DownloadedArtifact {
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased() else {
            throw MLError.illegalArgument("Invalid model URL: \(urlText)")
        }
        try FileManager.default.createDirectory(at: scratchDir, withIntermediateDirectories: true)
        let target = scratchDir.appendingPathComponent("download-\(UUID().uuidString).zip")
        _ = FileManager.default.createFile(atPath: target.path, contents: nil)
        let output = try FileHandle(forWritingTo: target)
        var sink = DownloadSink(output: output, url: urlText, maxBytes: maxBytes, logger: logger)
        do {
            switch scheme {
            case "http", "https":
                try await streamHTTP(urlText, into: &sink)
            case "file":
                guard allowFileURLs else {
                    throw MLError.illegalArgument("To register a model from a file:// URL, enable plugins.ml_commons.allow_registering_model_via_local_file")
                }
                try streamFile(url, into: &sink)
            default:
                throw MLError.illegalArgument("Unsupported URL scheme '\(scheme)': use http, https or file")
            }
            try output.close()
        } catch {
            try? output.close()
            try? FileManager.default.removeItem(at: target)
            throw error
        }
        sink.logDone()
        return DownloadedArtifact(file: target, size: sink.received, sha256: sink.digest())
    }

    /// A small document (a `config.json`), held in memory.
    func fetch(_ urlText: String, maxBytes: Int = 8 << 20, allowFileURLs: Bool) async throws -> [UInt8] {
        let artifact = try await download(urlText, maxBytes: Int64(maxBytes), allowFileURLs: allowFileURLs)
        defer { try? FileManager.default.removeItem(at: artifact.file) }
        return Array(try Data(contentsOf: artifact.file))
    }

    private func streamHTTP(_ url: String, into sink: inout DownloadSink) async throws {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "mlcommons-swift")
        let response: HTTPClientResponse
        do {
            response = try await Self.client.execute(request, timeout: .hours(6))
        } catch {
            throw MLError.generic("Failed to download \(url): \(error)")
        }
        guard response.status == .ok else {
            throw MLError.generic("Failed to download \(url): HTTP \(response.status.code) \(response.status.reasonPhrase)")
        }
        if let length = response.headers.first(name: "content-length").flatMap(Int64.init) {
            try sink.expect(length)
        }
        for try await buffer in response.body {
            try sink.append(buffer.readableBytesView)
        }
    }

    private func streamFile(_ url: URL, into sink: inout DownloadSink) throws {
        guard let input = FileHandle(forReadingAtPath: url.path) else {
            throw MLError.illegalArgument("Cannot read model file \(url.path)")
        }
        defer { try? input.close() }
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber {
            try sink.expect(size.int64Value)
        }
        while let data = try input.read(upToCount: 1 << 20), !data.isEmpty {
            try sink.append(data)
        }
    }
}

/// Where streamed bytes go: the file, the hash, the size check and the progress log.
private struct DownloadSink {
    let output: FileHandle
    let url: String
    let maxBytes: Int64
    let logger: Logger
    var hasher = SHA256()
    var received: Int64 = 0
    var expected: Int64?
    var nextReport: Int64 = 0
    let started = Date()

    init(output: FileHandle, url: String, maxBytes: Int64, logger: Logger) {
        self.output = output
        self.url = url
        self.maxBytes = maxBytes
        self.logger = logger
    }

    mutating func expect(_ length: Int64) throws {
        expected = length
        try checkLimit(length)
        logger.info("downloading \(url) (\(length) bytes)")
    }

    mutating func append(_ bytes: some DataProtocol) throws {
        received += Int64(bytes.count)
        try checkLimit(received)
        hasher.update(data: bytes)
        try output.write(contentsOf: bytes)
        reportProgress()
    }

    private func checkLimit(_ size: Int64) throws {
        if size > maxBytes {
            throw MLError.illegalArgument("Model file size exceeds the limit of \(maxBytes) bytes: \(size) (\(url))")
        }
    }

    private mutating func reportProgress() {
        guard received >= nextReport else { return }
        if let expected, expected > 0 {
            let percent = received * 100 / expected
            logger.info("downloaded \(percent)% of \(url) (\(received)/\(expected) bytes)")
            nextReport = min(expected, received + max(expected / 10, 1))
        } else {
            logger.info("downloaded \(received) bytes of \(url)")
            nextReport = received + 50 << 20
        }
    }

    func logDone() {
        let seconds = Date().timeIntervalSince(started)
        logger.info("download of \(url) finished: \(received) bytes in \(String(format: "%.1f", seconds)) s")
    }

    func digest() -> String { hasher.finalize().map { String(format: "%02x", $0) }.joined() }
}
