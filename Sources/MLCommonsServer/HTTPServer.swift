import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import MLCommonsCore
import NIOCore
import OrderedJSON
import Security
import ServiceLifecycle

/// How long connections may take: idle between requests or inside a request's head (a slow-header
/// client), sending a body, and how long a stop waits for requests in flight.
public struct ConnectionLimits: Sendable {
    public var idleTimeout: Duration
    public var bodyTimeout: Duration
    public var shutdownTimeout: Duration

    public init(idleTimeout: Duration = .seconds(60), bodyTimeout: Duration = .seconds(120), shutdownTimeout: Duration = .seconds(30)) {
        self.idleTimeout = idleTimeout
        self.bodyTimeout = bodyTimeout
        self.shutdownTimeout = shutdownTimeout
    }
}

struct BodyTimedOut: Error {
    let timeout: Duration
}

/// The HTTP front: turns Hummingbird requests into `APIRequest`s, resolves routes, renders errors
/// and logs one line per request.
struct MLCommonsResponder: HTTPResponder {
    typealias Context = ServerRequestContext
    let table: RouteTable
    let logger: Logger
    let limits: ConnectionLimits
    /// Nil while security is off: no user, every request served.
    let security: EdgeSecurity?
    /// Chunk uploads are 10 MB; other bodies are small. Larger requests get a 413.
    static let maxBodyBytes = 64 << 20

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let method = request.method.rawValue
        let path = request.uri.path
        var reply: APIReply
        var pretty = false
        do {
            let query = Self.queryParameters(request.uri)
            pretty = query["pretty"].map { $0.isEmpty || $0 == "true" } ?? false
            reply = try await answer(request, query: query, context: context)
        } catch let timedOut as BodyTimedOut {
            reply = ErrorReplies.body(status: 408, type: "timeout_exception", reason: "the request body did not arrive within \(timedOut.timeout)")
            reply.headers.append(("Connection", "close"))
        } catch is CancellationError {
            reply = ErrorReplies.body(status: 499, type: "task_cancelled_exception", reason: "the client closed the connection before the answer was ready")
        } catch {
            reply = ErrorReplies.reply(for: error)
            if reply.status >= 500 { logger.error("\(method) \(path) failed: \(error)") }
        }
        let elapsed = started.duration(to: .now)
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("\(method) \(path) \(reply.status) \(String(format: "%.1f", millis))ms")
        return Self.response(reply, pretty: pretty, head: method == "HEAD")
    }

    /// Resolves the route, checks the caller when security is on (before the body is read: a caller
    /// we do not know sends nothing we hold), and runs the handler as that caller.
    private func answer(_ request: Request, query: [String: String], context: Context) async throws -> APIReply {
        let method = request.method.rawValue
        let path = request.uri.path
        let resolution = table.resolve(method: method, path: path)
        var caller: Authenticator.Authenticated?
        if let security {
            // Unknown paths need credentials too: an anonymous client learns nothing of the routes.
            let access = if case .found(let route, _) = resolution { route.access } else { RouteAccess.authenticated }
            if access != .anonymous {
                let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
                let authenticated = try await security.authenticate(authorization: request.headers[.authorization], address: address,
                                                                    method: method, path: path)
                if let refusal = security.refusal(authenticated, access: access, address: address, method: method, path: path) {
                    return refusal
                }
                caller = authenticated
            }
        }
        switch resolution {
        case .notFound:
            return ErrorReplies.noHandler(method: method, uri: request.uri.string)
        case .wrongMethod(let allowed):
            return ErrorReplies.wrongMethod(method: method, uri: request.uri.string, allowed: allowed)
        case .found(let route, let parameters):
            let body = try await Self.collectBody(request, timeout: limits.bodyTimeout)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            if body.readableBytes > 0, !ContentTypeRule.isAccepted(request.headers[.contentType], path: path) {
                return ErrorReplies.unsupportedContentType(request.headers[.contentType])
            }
            let principal = caller?.principal
            var apiRequest = APIRequest(method: method, path: path, parameters: parameters, query: query,
                                        body: Array(body.readableBytesView), headers: headers)
            apiRequest.principal = principal
            let run: @Sendable () async throws -> APIReply = { [apiRequest] in
                try await Caller.$principal.withValue(principal) { try await route.handler(apiRequest) }
            }
            // A client that hangs up cancels its request: queued work for it is dropped, not computed.
            if let watcher = await context.hangupWatcher() { return try await watcher.cancellingOnHangup(run) }
            return try await run()
        }
    }

    /// The whole body, at most `maxBodyBytes` (413) within `timeout` (408): a client trickling its
    /// body cannot hold a connection and its buffer for ever.
    static func collectBody(_ request: Request, timeout: Duration) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var request = request
                do {
                    return try await request.collectBody(upTo: maxBodyBytes)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    throw MLError(status: 413, type: "content_too_long_exception", reason: "request body is larger than \(maxBodyBytes) bytes")
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let body = first else {
                throw BodyTimedOut(timeout: timeout)
            }
            return body
        }
    }

    static func queryParameters(_ uri: URI) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in uri.queryParameters {
            let name = String(key).removingPercentEncoding ?? String(key)
            result[name] = String(value).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(value)
        }
        return result
    }

    static func response(_ reply: APIReply, pretty: Bool, head: Bool) -> Response {
        var headers = HTTPFields()
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        if let text = reply.text, !head {
            headers[.contentType] = "text/plain; charset=UTF-8"
            return Response(status: .init(code: reply.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        guard let body = reply.body, !head else {
            return Response(status: .init(code: reply.status), headers: headers, body: ResponseBody())
        }
        headers[.contentType] = "application/json; charset=UTF-8"
        var text = pretty ? body.prettySerialized : body.serialized
        if pretty { text += "\n" }
        return Response(status: .init(code: reply.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Runs the server until it is told to stop (SIGINT / SIGTERM): on a stop it answers the requests in
/// flight in full (up to `limits.shutdownTimeout`), then closes connections, then returns.
public enum MLCommonsHTTPServer {
    /// - Parameters:
    ///   - tls: serve HTTPS with this certificate and key; nil serves plain HTTP.
    ///   - security: authenticates and authorizes every request; nil serves everyone (security off).
    ///   - onListening: called with the bound port (useful with port 0).
    ///   - publishURL: where other nodes reach this one; by default this server's scheme, host and bound port.
    ///   - peerCAFile: the CA of the other nodes' HTTPS certificates, for requests forwarded to them.
    public static func run(commons: MLCommons, host: String, port: Int, tls: ServerTLS? = nil, security: Authenticator? = nil,
                           limits: ConnectionLimits = ConnectionLimits(), publishURL: String? = nil, peerCAFile: String? = nil,
                           logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let forwarder = NodeForwarder(logger: logger, peerCAFile: peerCAFile)
        var table = MLCommonsRoutes(commons: commons, forwarder: forwarder).table()
        if let security { SecurityRoutes(authenticator: security).add(to: &table) }
        let owed = OwedAnswers()
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [HangupWatcher(owed: owed)], idleTimeout: .init(limits.idleTimeout),
                                               httpDecoderConfiguration: .init(maxHeaderFieldSize: 32 << 10, maxHeaderListSize: 64 << 10,
                                                                               maxHeaderFieldCount: 200))
        let app = Application(
            responder: MLCommonsResponder(table: table, logger: logger, limits: limits,
                                          security: security.map { EdgeSecurity(authenticator: $0, logger: logger) }),
            // TLS sits first in each connection's pipeline: the HTTP codec, the watcher and the idle
            // timer after it see decrypted requests, as over plain HTTP.
            server: try tls.map { try .tls(.http1(configuration: http1), tlsConfiguration: $0.configuration) } ?? .http1(configuration: http1),
            configuration: .init(address: .hostname(host, port: port), serverName: "mlcommons"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.info("mlcommons listening on \(tls == nil ? "http" : "https")://\(host):\(bound) (node \(commons.node.id), security \(security == nil ? "off" : "on"))")
                onListening(bound)
                let url = publishURL ?? "\(tls == nil ? "http" : "https")://\(PublishAddress.host(forListening: host)):\(bound)"
                await commons.startCluster(publishURL: url)
            },
            logger: logger)
        // Services stop in reverse order: the drain first, then the server.
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: app),
                       .init(service: RequestDrain(owed: owed, timeout: limits.shutdownTimeout, logger: logger),
                             successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A connection stalled inside a request would hold the server's own graceful close: bound it.
        configuration.maximumGracefulShutdownDuration = limits.shutdownTimeout + .seconds(5)
        configuration.maximumCancellationDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch {
            await forwarder.shutdown()
            throw error
        }
        await forwarder.shutdown()
    }
}
