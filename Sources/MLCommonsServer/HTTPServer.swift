import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import MLCommonsCore
import NIOCore
import OrderedJSON

/// The HTTP front: turns Hummingbird requests into `APIRequest`s, resolves routes, renders errors
/// and logs one line per request.
struct MLCommonsResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let table: RouteTable
    let logger: Logger
    /// Chunk uploads are 10 MB; other bodies are small. Larger requests get a 413.
    static let maxBodyBytes = 64 << 20

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let method = request.method.rawValue
        let path = request.uri.path
        var reply: APIReply
        var pretty = false
        do {
            var request = request
            let query = Self.queryParameters(request.uri)
            pretty = query["pretty"].map { $0.isEmpty || $0 == "true" } ?? false
            switch table.resolve(method: method, path: path) {
            case .notFound:
                reply = ErrorReplies.noHandler(method: method, uri: request.uri.string)
            case .wrongMethod(let allowed):
                reply = ErrorReplies.wrongMethod(method: method, uri: request.uri.string, allowed: allowed)
            case .found(let route, let parameters):
                let body: ByteBuffer
                do {
                    body = try await request.collectBody(upTo: Self.maxBodyBytes)
                } catch {
                    throw MLError(status: 413, type: "content_too_long_exception", reason: "request body is larger than \(Self.maxBodyBytes) bytes")
                }
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let apiRequest = APIRequest(method: method, path: path, parameters: parameters, query: query,
                                            body: Array(body.readableBytesView), headers: headers)
                reply = try await route.handler(apiRequest)
            }
        } catch {
            reply = ErrorReplies.reply(for: error)
            if reply.status >= 500 { logger.error("\(method) \(path) failed: \(error)") }
        }
        let elapsed = started.duration(to: .now)
        let millis = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("\(method) \(path) \(reply.status) \(String(format: "%.1f", millis))ms")
        return Self.response(reply, pretty: pretty, head: method == "HEAD")
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
        guard let body = reply.body, !head else {
            return Response(status: .init(code: reply.status), headers: headers, body: ResponseBody())
        }
        headers[.contentType] = "application/json; charset=UTF-8"
        var text = pretty ? body.prettySerialized : body.serialized
        if pretty { text += "\n" }
        return Response(status: .init(code: reply.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Runs the server until it is told to stop (SIGINT / SIGTERM).
public enum MLCommonsHTTPServer {
    /// - Parameter onListening: called with the bound port (useful with port 0).
    public static func run(commons: MLCommons, host: String, port: Int, logger: Logger,
                           onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let table = MLCommonsRoutes(commons: commons).table()
        let app = Application(
            responder: MLCommonsResponder(table: table, logger: logger),
            configuration: .init(address: .hostname(host, port: port), serverName: "mlcommons"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                logger.info("mlcommons listening on http://\(host):\(bound) (node \(commons.node.id))")
                onListening(bound)
            },
            logger: logger)
        try await app.runService()
    }
}
