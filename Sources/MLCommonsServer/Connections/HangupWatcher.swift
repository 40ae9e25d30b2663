import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Watches one connection, for two reasons:
/// - a client that hangs up while its request is computed: the server allows half-closed
///   connections, so a client that goes away shows first as the end of its input, long before a
///   write would fail; the request's task is cancelled and work queued for it is dropped.
/// - answers owed: a request whose body has fully arrived counts in `OwedAnswers` until the last
///   byte of its answer has been taken by the socket. A stop waits for that count to reach zero
///   before closing connections, or a large answer still in the connection's buffers would be cut.
final class HangupWatcher: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private struct State {
        var hungUp = false
        var callbacks: [Int: @Sendable () -> Void] = [:]
        var nextToken = 0
    }
    private let state = Mutex(State())
    private let owed: OwedAnswers
    /// Requests read in full on this connection and not yet answered to the socket (event loop only).
    private var unanswered = 0

    init(owed: OwedAnswers) { self.owed = owed }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            unanswered += 1
            owed.add(1)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data), unanswered > 0 else {
            context.write(data, promise: promise)
            return
        }
        // Answers go out in order on a connection: this end closes the oldest request owed.
        unanswered -= 1
        let written = promise ?? context.eventLoop.makePromise()
        written.futureResult.whenComplete { [owed] _ in owed.add(-1) }
        context.write(data, promise: written)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { hangUp() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        owed.add(-unanswered)  // nobody is left to answer
        unanswered = 0
        hangUp()
        context.fireChannelInactive()
    }

    private func hangUp() {
        let callbacks = state.withLock { state -> [@Sendable () -> Void] in
            state.hungUp = true
            defer { state.callbacks = [:] }
            return Array(state.callbacks.values)
        }
        for callback in callbacks { callback() }
    }

    /// Runs `operation`, cancelling it if the client hangs up before it ends.
    func cancellingOnHangup<Value: Sendable>(_ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = Task { try await operation() }
        let token: Int? = state.withLock { state in
            guard !state.hungUp else { return nil }
            defer { state.nextToken += 1 }
            state.callbacks[state.nextToken] = { task.cancel() }
            return state.nextToken
        }
        if token == nil { task.cancel() }
        defer { if let token { _ = state.withLock { $0.callbacks.removeValue(forKey: token) } } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}

/// Requests read in full and not yet answered to the socket, across all connections.
final class OwedAnswers: Sendable {
    private let count = Mutex(0)
    func add(_ delta: Int) { count.withLock { $0 += delta } }
    var current: Int { count.withLock { $0 } }
}

/// The request context of this server: Hummingbird's, plus the connection, to find its watcher.
struct ServerRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    func hangupWatcher() async -> HangupWatcher? {
        try? await channel.pipeline.handler(type: HangupWatcher.self).get()
    }
}
