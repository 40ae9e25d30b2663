import AsyncHTTPClient
import Foundation
import Logging
import MLCommonsCore
import NIOCore
import NIOHTTP1
import NIOSSL
import OrderedJSON

/// Sends requests on to other nodes of the cluster: a predict this node cannot answer goes to a node
/// that holds the model (`forward`: targets tried in turn, the next one when a node cannot be
/// reached, does not answer in time or no longer holds the model), and the per-node views (stats,
/// profile) ask every node (`ask`). The caller's credentials travel along, so the other node
/// authenticates and authorizes the request itself; a forwarded request is never forwarded again.
final class NodeForwarder: Sendable {
    /// Marks a forwarded request with the node it came from.
    static let forwardedHeader = "x-mlcommons-forwarded-by"
    /// The largest answer relayed (a forwarded answer is read whole before it is sent on).
    static let maxAnswerBytes = 256 << 20

    private let client: HTTPClient
    private let logger: Logger
    private let timeout: TimeAmount

    /// - Parameter peerCAFile: PEM certificates that sign the other nodes' HTTPS certificates
    ///   (`--peer-ca-file`); without it HTTPS publish URLs are checked against the system's roots.
    init(logger: Logger, peerCAFile: String? = nil, connectTimeout: TimeAmount = .seconds(1), timeout: TimeAmount = .seconds(300)) {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: connectTimeout, read: timeout))
        configuration.httpVersion = .http1Only
        if let peerCAFile {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(peerCAFile)
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.logger = logger
        self.timeout = timeout
    }

    func shutdown() async { try? await client.shutdown() }

    /// The first answer of a target, or nil when no target could be reached. A target that no longer
    /// holds the model passes the request on to the next; when none holds it, the last such answer.
    func forward(_ request: APIRequest, to targets: [NodeRecord], from node: String) async -> APIReply? {
        // Nodes heard from within the last few seconds first: a silent one may be dead, not yet counted out.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let ordered = targets.filter { $0.millisSinceHeartbeat(now: now) <= 3_000 } + targets.filter { $0.millisSinceHeartbeat(now: now) > 3_000 }
        var notReady: APIReply?
        for target in ordered {
            do {
                let reply = try await send(request, to: target, from: node)
                // The node let the model go since the placement was read: the next one may hold it.
                let message = reply.body?["error"]?["reason"]?.stringValue ?? reply.body?["error"]?["message"]?.stringValue ?? ""
                if reply.status == 400, message.contains("Model not ready") {
                    notReady = reply
                    continue
                }
                return reply
            } catch {
                logger.warning("forwarding \(request.method) \(request.path) to node \(target.id) (\(target.publishURL)) failed: \(error); trying the next holder")
            }
        }
        return notReady
    }

    /// One node's answer to the same request, within `timeout`; nil when it gave none (logged).
    func ask(_ request: APIRequest, node target: NodeRecord, from node: String, timeout: TimeAmount = .seconds(10)) async -> APIReply? {
        do {
            return try await send(request, to: target, from: node, timeout: timeout)
        } catch {
            logger.warning("asking node \(target.id) (\(target.publishURL)) for \(request.method) \(request.path) failed: \(error)")
            return nil
        }
    }

    private func send(_ request: APIRequest, to target: NodeRecord, from node: String, timeout: TimeAmount? = nil) async throws -> APIReply {
        var outgoing = HTTPClientRequest(url: target.publishURL + request.path + Self.queryString(request.query))
        outgoing.method = HTTPMethod(rawValue: request.method)
        for name in ["authorization", "content-type", "accept"] {
            if let value = request.headers[name] { outgoing.headers.add(name: name, value: value) }
        }
        outgoing.headers.add(name: Self.forwardedHeader, value: node)
        outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        let response = try await client.execute(outgoing, timeout: timeout ?? self.timeout)
        let bytes = try await response.body.collect(upTo: Self.maxAnswerBytes)
        let body = bytes.readableBytes == 0 ? nil : try JSON.parse(Array(bytes.readableBytesView))
        var headers: [(String, String)] = []
        for name in ["www-authenticate", "retry-after"] {
            if let value = response.headers.first(name: name) { headers.append((name, value)) }
        }
        return APIReply(status: Int(response.status.code), body: body, headers: headers)
    }

    static func queryString(_ query: [String: String]) -> String {
        guard !query.isEmpty else { return "" }
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+")
        let parts = query.sorted { $0.key < $1.key }.map { key, value in
            (key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key) + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }
        return "?" + parts.joined(separator: "&")
    }
}
