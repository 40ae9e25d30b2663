import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// A provider's answer.
public struct RemoteResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: String
    /// Tries made, including retries.
    public var attempts: Int
}

/// Sends connector requests: each call resolves the host once, checks the address against the
/// endpoint policy, and connects to exactly that address (the URL's name is kept for the Host
/// header and TLS SNI), so a name that re-resolves elsewhere (DNS rebinding) cannot bypass the
/// check. Redirects are never followed. Retries 429, 5xx and failed connections per `client_config`.
public final class RemoteHTTPClient: Sendable {
    private let pool: PinnedClientPool
    private let resolver: any HostResolver
    private let logger: Logger
    /// Largest answer read (`plugins.ml_commons.max_json_size`).
    public let maxResponseBytes: Int

    public init(eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
                resolver: any HostResolver = SystemHostResolver(), logger: Logger = Logger(label: "connectors.remote"),
                maxResponseBytes: Int = 100_000_000) {
        pool = PinnedClientPool(eventLoopGroup: eventLoopGroup)
        self.resolver = resolver
        self.logger = logger
        self.maxResponseBytes = maxResponseBytes
    }

    /// Shuts down every pooled connection; call once when the server stops.
    public func shutdown() async { await pool.shutdown() }

    /// Sends the request. Errors carry no credential: messages pass through `redactor`.
    public func send(_ request: PreparedRequest, config: ClientConfig = ClientConfig(), policy: EndpointPolicy,
                     redactor: CredentialRedactor) async throws(ConnectorError) -> RemoteResponse {
        do {
            return try await sendUnredacted(request, config: config, policy: policy)
        } catch {
            throw redactor.redact(error)
        }
    }

    private func sendUnredacted(_ request: PreparedRequest, config: ClientConfig,
                                policy: EndpointPolicy) async throws(ConnectorError) -> RemoteResponse {
        try request.checkSendable()
        // The final URL (after every substitution) is checked here, at call time, and the client
        // gets its canonical spelling: the pin below is keyed by exactly that host name.
        let url = try policy.checkTrusted(url: request.url)
        let address = try await policy.resolve(url: url.canonical, resolver: resolver)
        let retry = RetryPolicy(config: config)
        let start = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            let outcome = await attemptOnce(request, url: url, address: address, config: config)
            let elapsed = start.duration(to: .now)
            let elapsedMillis = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            let retryable: Bool
            switch outcome {
            case .success(let response):
                guard RetryPolicy.isRetryable(status: response.status) else {
                    return try Self.accept(response, attempts: attempt)
                }
                retryable = true
                if !retry.allowsRetry(afterAttempt: attempt, elapsedMillis: elapsedMillis) {
                    return try Self.accept(response, attempts: attempt)
                }
            case .failure(let failure):
                retryable = failure.isRetryable
                if !retryable || !retry.allowsRetry(afterAttempt: attempt, elapsedMillis: elapsedMillis) {
                    throw failure.error(host: url.host, config: config)
                }
            }
            let delay = retry.delayMillis(beforeRetry: attempt)
            logger.info("Retrying remote call", metadata: [
                "host": "\(url.host)", "attempt": "\(attempt)", "delay_ms": "\(delay)", "retryable": "\(retryable)",
            ])
            try? await Task.sleep(for: .milliseconds(delay))
        }
    }

    /// A provider status ≥ 300 becomes an error with that status (§5.9); an empty 2xx is a 502.
    private static func accept(_ response: RemoteResponse, attempts: Int) throws(ConnectorError) -> RemoteResponse {
        guard (200..<300).contains(response.status) else {
            throw .status(response.status, "Error from remote service: \(response.body)")
        }
        guard !response.body.isEmpty else { throw .status(502, "Remote service returned empty response body") }
        var accepted = response
        accepted.attempts = attempts
        return accepted
    }

    private enum Failure: Error {
        case connection(String)
        case timeout
        case other(String)

        var isRetryable: Bool { if case .connection = self { return true } else { return false } }

        func error(host: String, config: ClientConfig) -> ConnectorError {
            switch self {
            case .connection(let reason): return .status(502, "Failed to connect to remote service \(host): \(reason)")
            case .timeout: return .status(504, "Remote service \(host) did not answer within \(config.readTimeoutSeconds) seconds")
            case .other(let reason): return .mlException("Remote service call to \(host) failed: \(reason)")
            }
        }
    }

    private func attemptOnce(_ request: PreparedRequest, url: ParsedURL, address: IPAddress,
                             config: ClientConfig) async -> Result<RemoteResponse, Failure> {
        var outbound = HTTPClientRequest(url: url.canonical)
        outbound.method = .init(rawValue: request.method.rawValue)
        for header in request.headers { outbound.headers.add(name: header.name, value: header.value) }
        if let body = request.body, !body.isEmpty { outbound.body = .bytes(ByteBuffer(string: body)) }
        let lease = await pool.lease(host: url.host, address: address, config: config)
        defer { Task { await pool.release(lease) } }
        do {
            let timeout = TimeAmount.seconds(Int64(config.connectionTimeoutSeconds + config.readTimeoutSeconds))
            let response = try await lease.client.execute(outbound, timeout: timeout, logger: nil)
            let body = try await response.body.collect(upTo: maxResponseBytes)
            return .success(RemoteResponse(status: Int(response.status.code),
                                           headers: response.headers.map { ($0.name, $0.value) },
                                           body: String(buffer: body), attempts: 1))
        } catch let error as HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded: return .failure(.timeout)
            case .connectTimeout, .remoteConnectionClosed, .tlsHandshakeTimeout, .getConnectionFromPoolTimeout:
                return .failure(.connection(error.description))
            default: return .failure(.other(error.description))
            }
        } catch let error as NIOTooManyBytesError {
            return .failure(.other("response larger than \(maxResponseBytes) bytes: \(error)"))
        } catch {
            // Socket-level failures (refused, reset) come from NIO as `IOError`/`NIOConnectionError`.
            return .failure(.connection(String(describing: error)))
        }
    }
}
