import AsyncHTTPClient
import Connectors
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
///
/// HTTP downloads go through `DownloadPolicy`: each hop's host is resolved once and checked like a
/// connector's (no private, loopback or link-local address unless allowed), the connection goes to
/// that address only, redirects are followed here (at most 5, each one checked again, never from
/// https to http), and connect, idle and total timeouts apply. Cancelling the calling task stops
/// the download. Errors name the URL and an HTTP status at most: nothing about the content (hash,
/// size) of a file the caller may not be able to read.
struct ArtifactDownloader: Sendable {
    let scratchDir: URL
    let logger: Logger

    func download(_ urlText: String, policy: DownloadPolicy) async throws -> DownloadedArtifact {
        guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased() else {
            throw MLError.illegalArgument("Invalid model URL: \(urlText)")
        }
        try FileManager.default.createDirectory(at: scratchDir, withIntermediateDirectories: true)
        let target = scratchDir.appendingPathComponent("download-\(UUID().uuidString).zip")
        _ = FileManager.default.createFile(atPath: target.path, contents: nil)
        let logger = self.logger
        do {
            let (size, sha256) = try await ActiveDownloads.shared.run(policy.totalTimeout, url: urlText, owner: scratchDir) {
                let output = try FileHandle(forWritingTo: target)
                defer { try? output.close() }
                var sink = DownloadSink(output: output, url: urlText, maxBytes: policy.maxBytes, logger: logger)
                switch scheme {
                case "http", "https":
                    try await Self.streamHTTP(urlText, policy: policy, into: &sink)
                case "file":
                    guard policy.allowFileURLs else {
                        throw MLError.illegalArgument("To register a model from a file:// URL, enable plugins.ml_commons.allow_registering_model_via_local_file")
                    }
                    try Self.streamFile(url, into: &sink)
                default:
                    throw MLError.illegalArgument("Unsupported URL scheme '\(scheme)': use http, https or file")
                }
                sink.logDone()
                return (sink.received, sink.digest())
            }
            return DownloadedArtifact(file: target, size: size, sha256: sha256)
        } catch {
            try? FileManager.default.removeItem(at: target)
            throw error
        }
    }

    /// A small document (a `config.json`), held in memory.
    func fetch(_ urlText: String, maxBytes: Int64 = 8 << 20, policy: DownloadPolicy) async throws -> [UInt8] {
        var small = policy
        small.maxBytes = min(policy.maxBytes, maxBytes)
        let artifact = try await download(urlText, policy: small)
        defer { try? FileManager.default.removeItem(at: artifact.file) }
        return Array(try Data(contentsOf: artifact.file))
    }

    /// The operation's result, or a "did not finish" error once `limit` has passed (the operation
    /// is cancelled then). Cancelling the caller cancels the operation.
    static func withTimeLimit<T: Sendable>(_ limit: Duration, url: String,
                                           _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            do {
                guard let first = try await group.next(), let value = first else {
                    throw MLError.generic("Failed to download \(url): it did not finish within \(limit.components.seconds) seconds "
                        + "(plugins.ml_commons.model_download.total_timeout_seconds)")
                }
                return value
            } catch is CancellationError {
                throw MLError.generic("Failed to download \(url): the download was cancelled")
            }
        }
    }

    private static func streamHTTP(_ original: String, policy: DownloadPolicy, into sink: inout DownloadSink) async throws {
        var current: ParsedURL
        do {
            current = try ParsedURL.parse(original)
        } catch {
            throw MLError.illegalArgument("Invalid model URL: \(error.message)")
        }
        for _ in 0...DownloadPolicy.maxRedirects {
            let address = try await policy.address(for: current, original: original)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: PinnedHTTPClient.configuration(
                host: current.host, address: address, connectTimeout: policy.connectTimeout.timeAmount,
                readTimeout: policy.idleTimeout.timeAmount))
            let next: ParsedURL?
            do {
                next = try await fetchOnce(current, original: original, client: client, policy: policy, into: &sink)
                try? await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
            guard let next else { return }
            current = next
        }
        throw MLError.generic("Failed to download \(original): more than \(DownloadPolicy.maxRedirects) redirects")
    }

    /// One request: streams a 200 into the sink and returns nil, or returns where a redirect points.
    private static func fetchOnce(_ url: ParsedURL, original: String, client: HTTPClient, policy: DownloadPolicy,
                                  into sink: inout DownloadSink) async throws -> ParsedURL? {
        var request = HTTPClientRequest(url: url.canonical)
        request.headers.add(name: "User-Agent", value: "mlcommons-swift")
        do {
            let response = try await client.execute(request, timeout: policy.totalTimeout.timeAmount)
            switch response.status.code {
            case 200:
                if let length = response.headers.first(name: "content-length").flatMap(Int64.init) { try sink.expect(length) }
                for try await buffer in response.body {
                    try sink.append(buffer.readableBytesView)
                }
                return nil
            case 301, 302, 303, 307, 308:
                guard let location = response.headers.first(name: "location"),
                      let next = try? url.resolving(location) else {
                    throw MLError.generic("Failed to download \(original): HTTP \(response.status.code) without a usable Location")
                }
                if url.scheme == "https" && next.scheme == "http" {
                    throw MLError.generic("Failed to download \(original): refusing a redirect from https to http")
                }
                return next
            default:
                throw MLError.generic("Failed to download \(original): HTTP \(response.status.code)")
            }
        } catch let error as MLError {
            throw error
        } catch let error as HTTPClientError where error == .readTimeout {
            throw MLError.generic("Failed to download \(original): no data received for \(policy.idleTimeout.components.seconds) seconds "
                + "(plugins.ml_commons.model_download.idle_timeout_seconds)")
        } catch let error as HTTPClientError where error == .connectTimeout {
            throw MLError.generic("Failed to download \(original): could not connect within \(policy.connectTimeout.components.seconds) seconds")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            // Connection-level details (which address refused, TLS internals) stay in the server log.
            sink.logger.info("download of \(original) failed: \(error)")
            throw MLError.generic("Failed to download \(original): the connection failed")
        }
    }

    private static func streamFile(_ url: URL, into sink: inout DownloadSink) throws {
        guard let input = FileHandle(forReadingAtPath: url.path) else {
            throw MLError.illegalArgument("Cannot read model file \(url.path)")
        }
        defer { try? input.close() }
        if let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber {
            try sink.expect(size.int64Value)
        }
        while let data = try input.read(upToCount: 1 << 20), !data.isEmpty {
            try Task.checkCancellation()
            try sink.append(data)
        }
    }
}

/// The downloads in flight, so a stopping server can cancel them (`MLCommons.close`) instead of
/// waiting for a slow site. Keyed by the scratch directory, which is the data dir's: several
/// servers in one process (tests) stop only their own.
final class ActiveDownloads: @unchecked Sendable {
    static let shared = ActiveDownloads()
    private let lock = NSLock()
    private var cancellers: [UUID: (owner: URL, cancel: @Sendable () -> Void)] = [:]

    /// Runs the download under the time limit, cancellable by the caller's task and by `cancelAll`.
    func run<T: Sendable>(_ limit: Duration, url: String, owner: URL,
                          _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let work = Task { try await ArtifactDownloader.withTimeLimit(limit, url: url, operation) }
        let id = UUID()
        lock.withLock { cancellers[id] = (owner.standardizedFileURL, { work.cancel() }) }
        defer { _ = lock.withLock { cancellers.removeValue(forKey: id) } }
        return try await withTaskCancellationHandler { try await work.value } onCancel: { work.cancel() }
    }

    func count(owner: URL) -> Int { lock.withLock { cancellers.values.filter { $0.owner == owner.standardizedFileURL }.count } }

    func cancelAll(owner: URL) {
        let owner = owner.standardizedFileURL
        for entry in lock.withLock({ Array(cancellers.values) }) where entry.owner == owner { entry.cancel() }
    }
}

extension Duration {
    /// As NIO's `TimeAmount` (settings bound durations far below overflow).
    var timeAmount: TimeAmount {
        .nanoseconds(components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000)
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
            throw MLError.illegalArgument("Model file size exceeds the limit of \(maxBytes) bytes (plugins.ml_commons.max_model_download_bytes): \(url)")
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
