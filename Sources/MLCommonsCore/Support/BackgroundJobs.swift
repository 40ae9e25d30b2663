import Foundation

/// Work that outlives the request that started it (register and deploy tasks). A stop cancels it
/// and waits for it, within a bound, before the store closes, so no job writes to a closed store;
/// what a job could not finish is recovered at the next start.
final class BackgroundJobs: Sendable {
    private let running = LockedDictionary<UUID, Task<Void, Never>>()

    func start(_ operation: @escaping @Sendable () async -> Void) {
        let id = UUID()
        // The task removes itself when done; registering under the lock first keeps it from racing its own removal.
        running.withLock { jobs in
            jobs[id] = Task { [running] in
                await operation()
                _ = running.withLock { $0.removeValue(forKey: id) }
            }
        }
    }

    var count: Int { running.withLock { $0.count } }

    /// Cancels every job and waits until they end, at most `timeout`; true if all ended.
    func stop(timeout: Duration) async -> Bool {
        for task in running.withLock({ Array($0.values) }) { task.cancel() }
        let deadline = ContinuousClock.now + timeout
        while count > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}

/// A dictionary behind a lock, for state shared between tasks without an actor hop.
final class LockedDictionary<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private var storage: [Key: Value] = [:]
    private let lock = NSLock()

    func withLock<T>(_ body: (inout [Key: Value]) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&storage)
    }
}
