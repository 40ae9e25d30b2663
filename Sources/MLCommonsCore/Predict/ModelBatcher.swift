import Foundation
import Inference
import Synchronization

/// The `native.*` settings a batcher works under.
struct BatchLimits: Sendable, Equatable {
    var threads: Int
    var tokenBudget: Int
    var maxQueuedRequests: Int

    /// The longest a batcher waits for clients answered together to send again.
    static let straggleWindow = Duration.milliseconds(10)
}

/// Dynamic batching for one deployed model (text embedding, sparse encoding): requests that arrive
/// while a forward pass runs wait in a bounded queue and go together into the next pass, up to a
/// token budget. Many clients sending one document each then cost about what one client sending
/// them all does. A full queue refuses new requests (429) instead of growing without end.
public final class ModelBatcher<Output: Sendable>: Sendable {
    /// One forward pass over the sequences of several requests: one output per sequence.
    typealias Pass = @Sendable ([TokenSequence], Parallelism) throws -> [Output]

    private let queue: BatchQueue<Output>

    init(name: String, pass: @escaping Pass) {
        queue = BatchQueue(pass: pass)
        let thread = Thread { [queue] in queue.serve() }
        thread.name = "batcher \(name)"
        thread.start()
    }

    /// Stops the worker once the model is dropped (undeployed); requests already queued fail.
    deinit { queue.stop() }

    /// The outputs of `sequences`, computed in a batch with other requests.
    /// A request cancelled while it waits (its client hung up) leaves the queue without being computed.
    func run(_ sequences: [TokenSequence], limits: BatchLimits) async throws -> [Output] {
        try Task.checkCancellation()
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.submit(BatchQueue.Request(sequences: sequences, continuation: continuation, cancelled: cancelled), limits: limits)
            }
        } onCancel: {
            cancelled.set()
        }
    }
}

/// The queue and its worker thread (kept apart from `ModelBatcher` so the thread does not keep
/// the batcher alive).
private final class BatchQueue<Output: Sendable>: Sendable {
    struct Request: Sendable {
        let sequences: [TokenSequence]
        let continuation: CheckedContinuation<[Output], any Error>
        let cancelled: CancellationFlag
        var tokens: Int { sequences.reduce(0) { $0 + $1.ids.count } }
    }

    private struct State {
        var waiting: [Request] = []
        var limits = BatchLimits(threads: 1, tokenBudget: TextEmbedder.defaultBatchTokens, maxQueuedRequests: 1024)
        var stopped = false
        /// Requests accepted and not yet answered, and the most seen at once since the last batch was
        /// taken: how many clients are sending, so the worker knows how many to wait for.
        var inFlight = 0
        var peakInFlight = 0
    }

    private let pass: ModelBatcher<Output>.Pass
    private let state = Mutex(State())
    private let signal = DispatchSemaphore(value: 0)

    init(pass: @escaping ModelBatcher<Output>.Pass) { self.pass = pass }

    func submit(_ request: Request, limits: BatchLimits) {
        let refusal: MLError? = state.withLock { state in
            if state.stopped { return MLError.illegalArgument("Model not ready yet. Please deploy the model first.") }
            guard state.waiting.count < limits.maxQueuedRequests else {
                return MLError.status(429, "Request is throttled: the model's queue holds \(limits.maxQueuedRequests) requests "
                                      + "(plugins.ml_commons.\(MLSettings.maxQueuedRequests))")
            }
            state.limits = limits
            state.waiting.append(request)
            state.inFlight += 1
            state.peakInFlight = max(state.peakInFlight, state.inFlight)
            return nil
        }
        if let refusal { request.continuation.resume(throwing: refusal) } else { signal.signal() }
    }

    func stop() {
        let abandoned = state.withLock { state in
            state.stopped = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for request in abandoned { request.continuation.resume(throwing: MLError.illegalArgument("Model not ready yet. Please deploy the model first.")) }
        signal.signal()
    }

    /// The worker: takes whole requests in arrival order while they fit in the token budget (the
    /// first always goes, however long), runs them in one forward pass and answers each.
    func serve() {
        var clients = 1
        while true {
            signal.wait()
            gatherStragglers(expecting: clients)
            let (batch, dropped, limits, stopped) = state.withLock { state -> ([Request], [Request], BatchLimits, Bool) in
                clients = max(state.peakInFlight, 1)
                state.peakInFlight = state.inFlight
                var taken: [Request] = [], dropped: [Request] = [], tokens = 0
                while let next = state.waiting.first, taken.isEmpty || tokens + next.tokens <= state.limits.tokenBudget {
                    state.waiting.removeFirst()
                    if next.cancelled.isSet { dropped.append(next); continue }
                    taken.append(next)
                    tokens += next.tokens
                }
                return (taken, dropped, state.limits, state.stopped)
            }
            if stopped { return }
            // One signal per request: the ones taken along with the first are consumed here.
            for _ in 1..<max(batch.count + dropped.count, 1) { signal.wait() }
            answered(dropped.count)
            for request in dropped { request.continuation.resume(throwing: CancellationError()) }
            run(batch, parallelism: Parallelism(threads: limits.threads))
        }
    }

    /// Under load, clients answered together send their next requests together, a little apart:
    /// while fewer requests wait than clients were seen sending, wait briefly (at most
    /// `BatchLimits.straggleWindow`) for the rest, so batches stay large instead of splitting in two.
    /// A lone client never waits.
    private func gatherStragglers(expecting expected: Int) {
        let deadline = ContinuousClock.now + BatchLimits.straggleWindow
        while ContinuousClock.now < deadline {
            let (waiting, tokens, budget) = state.withLock { ($0.waiting.count, $0.waiting.reduce(0) { $0 + $1.tokens }, $0.limits.tokenBudget) }
            if waiting >= expected || tokens >= budget { return }
            usleep(100)
        }
    }

    private func answered(_ count: Int) { state.withLock { $0.inFlight -= count } }


    private func run(_ batch: [Request], parallelism: Parallelism) {
        guard !batch.isEmpty else { return }
        do {
            var results = try pass(batch.flatMap(\.sequences), parallelism)[...]
            answered(batch.count)
            for request in batch {
                request.continuation.resume(returning: Array(results.prefix(request.sequences.count)))
                results = results.dropFirst(request.sequences.count)
            }
        } catch {
            // One bad input must not fail its neighbours: each request runs again on its own.
            if batch.count == 1 {
                answered(1)
                batch[0].continuation.resume(throwing: error)
            } else {
                for request in batch { run([request], parallelism: parallelism) }
            }
        }
    }
}

/// Set when the task waiting for a queued request is cancelled.
final class CancellationFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
