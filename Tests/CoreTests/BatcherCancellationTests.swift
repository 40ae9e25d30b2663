import Foundation
import Inference
@testable import MLCommonsCore
import Testing

/// A request whose task is cancelled while it waits for a batch (its client hung up) is dropped
/// before the forward pass, not computed for nobody.
@Suite struct BatcherCancellationTests {
    /// A pass that records what it was given and holds the first call until released.
    final class GatedPass: @unchecked Sendable {
        private let lock = NSLock()
        private var calls: [[Int32]] = []
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)

        func run(_ sequences: [TokenSequence]) -> [Int] {
            lock.lock()
            calls.append(sequences.map { $0.ids[0] })
            let first = calls.count == 1
            lock.unlock()
            if first {
                started.signal()
                release.wait()
            }
            return sequences.map { Int($0.ids[0]) }
        }

        var seen: [[Int32]] { lock.lock(); defer { lock.unlock() }; return calls }
    }

    static func sequence(_ id: Int32) -> [TokenSequence] { [TokenSequence(ids: [id], typeIDs: [0])] }

    @Test func cancelledWaitersAreNotComputed() async throws {
        let gate = GatedPass()
        let batcher = ModelBatcher<Int>(name: "test") { sequences, _ in gate.run(sequences) }
        let limits = BatchLimits(threads: 1, tokenBudget: 64, maxQueuedRequests: 16)
        let first = Task { try await batcher.run(Self.sequence(1), limits: limits) }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { gate.started.wait(); continuation.resume() }
        }
        // While the first pass runs: one waiter that will be cancelled, one that will not.
        let abandoned = Task { try await batcher.run(Self.sequence(2), limits: limits) }
        let kept = Task { try await batcher.run(Self.sequence(3), limits: limits) }
        try await Task.sleep(for: .milliseconds(100))
        abandoned.cancel()
        try await Task.sleep(for: .milliseconds(50))
        gate.release.signal()

        #expect(try await first.value == [1])
        #expect(try await kept.value == [3])
        await #expect(throws: CancellationError.self) { try await abandoned.value }
        #expect(gate.seen == [[1], [3]])
        // Already cancelled before submitting: refused at once.
        let late = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await batcher.run(Self.sequence(4), limits: limits)
        }
        await #expect(throws: CancellationError.self) { try await late.value }
        #expect(gate.seen == [[1], [3]])
    }
}
