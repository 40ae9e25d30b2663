import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrderedJSON

/// How the fake provider answers the next requests.
public enum ProviderBehaviour: Sendable {
    case normal
    case slow(seconds: Double)
    case status(Int, body: String)
    case malformedJSON
    case emptyBody
}

/// One request as the fake provider saw it.
public struct ReceivedRequest: Sendable {
    public let method: String
    public let path: String
    public let headers: [(name: String, value: String)]
    public let body: String

    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
}

/// A real loopback HTTP server speaking the OpenAI, Cohere and Bedrock shapes the connectors
/// tests need. Behaviours are consumed one per request (the last one repeats).
public final class FakeProvider: @unchecked Sendable {
    private let lock = NSLock()
    private var behaviours: [ProviderBehaviour] = [.normal]
    private var received: [ReceivedRequest] = []
    private var task: Task<Void, any Error>?
    public private(set) var port = 0
    /// Checks a Bedrock request's signature; returns an error text when it does not verify.
    public var signatureCheck: (@Sendable (ReceivedRequest) -> String?)?

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var requests: [ReceivedRequest] { lock.withLock { received } }

    public init() {}

    public func behave(_ sequence: ProviderBehaviour...) { lock.withLock { behaviours = sequence } }

    private func nextBehaviour(recording request: ReceivedRequest) -> ProviderBehaviour {
        lock.withLock {
            received.append(request)
            return behaviours.count > 1 ? behaviours.removeFirst() : behaviours[0]
        }
    }

    public func start() async throws {
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { [self] request, _ in
                var request = request
                let buffer = try await request.collectBody(upTo: 10_000_000)
                // HTTPTypes keeps Host as the request's authority, not among the header fields.
                let host = request.head.authority.map { [("Host", $0)] } ?? []
                let seen = ReceivedRequest(method: request.method.rawValue, path: request.uri.path,
                                           headers: host + request.headers.map { ($0.name.canonicalName, $0.value) },
                                           body: String(buffer: buffer))
                return try await answer(seen)
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        task = Task { try await app.run() }
        for await bound in stream {
            port = bound
            break
        }
    }

    public func stop() { task?.cancel() }

    private func answer(_ request: ReceivedRequest) async throws -> Response {
        switch nextBehaviour(recording: request) {
        case .slow(let seconds):
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
        case .status(let code, let body):
            return Self.reply(body, status: code)
        case .malformedJSON:
            return Self.reply(#"{"data": [{"embedding": [0.1, 0.2"#)
        case .emptyBody:
            return Self.reply("")
        case .normal:
            break
        }
        if request.path.hasPrefix("/model/"), let signatureCheck, let problem = signatureCheck(request) {
            return Self.reply(#"{"message":"\#(problem)"}"#, status: 403)
        }
        guard let json = try? JSON.parse(request.body) else { return Self.reply(#"{"error":"bad json"}"#, status: 400) }
        switch request.path {
        case "/v1/embeddings":
            let inputs = json["input"]?.arrayValue ?? []
            let data = inputs.enumerated().map { index, input -> JSON in
                ["object": "embedding", "index": JSON(index), "embedding": Self.vector(for: input.stringValue ?? "")]
            }
            return Self.reply(JSON.object(["object": "list", "data": .array(data), "model": json["model"] ?? .null]).serialized)
        case "/v1/chat/completions":
            let messages = json["messages"]?.arrayValue ?? []
            let last = messages.last?["content"]?.stringValue ?? ""
            let reply: JSON = ["id": "chatcmpl-1", "object": "chat.completion",
                               "choices": [["index": 0, "message": ["role": "assistant", "content": .string("echo: \(last)")]]]]
            return Self.reply(reply.serialized)
        case "/v1/embed":
            let texts = json["texts"]?.arrayValue ?? []
            return Self.reply(JSON.object(["id": "cohere-1", "embeddings": .array(texts.map { Self.vector(for: $0.stringValue ?? "") })]).serialized)
        case "/v1/rerank":
            let docs = json["documents"]?.arrayValue ?? []
            // Best first, as Cohere answers: longer documents score higher here.
            let scored = docs.enumerated().map { ($0.offset, Double($0.element.stringValue?.count ?? 0) / 100) }.sorted { $0.1 > $1.1 }
            return Self.reply(JSON.object(["results": .array(scored.map { ["index": JSON($0.0), "relevance_score": .double($0.1)] })]).serialized)
        default:
            if request.path.hasPrefix("/model/") && request.path.hasSuffix("/invoke") {
                let text = json["inputText"]?.stringValue ?? ""
                return Self.reply(JSON.object(["embedding": Self.vector(for: text), "inputTextTokenCount": JSON(text.count)]).serialized)
            }
            return Self.reply(#"{"error":"not found"}"#, status: 404)
        }
    }

    /// A deterministic 3-number vector derived from the text, so tests can check which doc went where.
    public static func vector(for text: String) -> JSON {
        let scalars = text.unicodeScalars.map { Double($0.value) }
        return [.double(Double(text.count)), .double(scalars.reduce(0, +).truncatingRemainder(dividingBy: 997)), .double(0.5)]
    }

    static func reply(_ body: String, status: Int = 200) -> Response {
        Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// A TCP listener that accepts connections and closes them at once, without answering.
public final class DroppingServer: @unchecked Sendable {
    public private(set) var port = 0
    private var socketDescriptor: Int32 = -1
    private let lock = NSLock()
    private var accepted = 0
    public var acceptedConnections: Int { lock.withLock { accepted } }

    public init() {}

    public func start() throws {
        (socketDescriptor, port) = LoopbackListener.open()
        LoopbackListener.acceptLoop(socketDescriptor) { [self] client in
            lock.withLock { accepted += 1 }
            close(client)
        }
    }

    public func stop() { LoopbackListener.close(socketDescriptor) }
}

/// A TCP listener on 127.0.0.1 with a free port, for the raw-socket fakes.
enum LoopbackListener {
    static func open() -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        listen(descriptor, 32)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Accepts connections on a background thread until the listener closes.
    static func acceptLoop(_ descriptor: Int32, _ handle: @escaping @Sendable (Int32) -> Void) {
        Thread.detachNewThread {
            while true {
                let client = accept(descriptor, nil, nil)
                if client < 0 { return }
                handle(client)
            }
        }
    }

    static func close(_ descriptor: Int32) {
        shutdown(descriptor, Int32(SHUT_RDWR))
        Foundation.close(descriptor)
    }
}
