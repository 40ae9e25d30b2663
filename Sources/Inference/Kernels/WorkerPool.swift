import Foundation
import Synchronization

/// The engine's own worker threads. A forward pass runs some forty parallel steps one after another;
/// waking a sleeping thread for each costs tens of microseconds (more in a virtual machine), so
/// workers spin briefly between steps before going to sleep, as ONNX Runtime's pool does.
final class WorkerPool: @unchecked Sendable {
    /// One parallel step: `parts` calls of `body`, claimed by whichever thread comes first.
    private final class Step {
        let body: (Int) -> Void
        let parts: Int
        let next = Atomic<Int>(0)
        let finished = Atomic<Int>(0)

        init(body: @escaping (Int) -> Void, parts: Int) {
            self.body = body
            self.parts = parts
        }

        /// Runs parts until none is left.
        func work() {
            while true {
                let part = next.add(1, ordering: .sequentiallyConsistent).oldValue
                guard part < parts else { return }
                body(part)
                finished.add(1, ordering: .sequentiallyConsistent)
            }
        }
    }

    let threads: Int
    private let current = Atomic<Unmanaged<Step>?>(nil)
    /// Counts steps, so a worker knows a new one from the one it last worked on.
    private let generation = Atomic<Int>(0)
    /// Workers that hold the current step and may still touch it.
    private let holders = Atomic<Int>(0)
    private let sleep = NSCondition()
    private var sleepers = 0
    /// One step at a time: callers from several threads take turns.
    private let turn = Mutex(())
    private static let spinsBeforeSleep = 200_000

    init(threads: Int) {
        self.threads = threads
        for index in 1..<max(threads, 1) {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "inference-\(index)"
            thread.start()
        }
    }

    /// Runs `body(part)` for every part in 0..<parts on the caller and the workers, and waits.
    func run(parts: Int, _ body: (Int) -> Void) {
        turn.withLock { _ in
            withoutActuallyEscaping(body) { body in
                let step = Step(body: body, parts: parts)
                let reference = Unmanaged.passRetained(step)
                current.store(reference, ordering: .sequentiallyConsistent)
                generation.add(1, ordering: .sequentiallyConsistent)
                sleep.lock()
                if sleepers > 0 { sleep.broadcast() }
                sleep.unlock()
                step.work()
                while step.finished.load(ordering: .sequentiallyConsistent) < parts {}
                current.store(nil, ordering: .sequentiallyConsistent)
                while holders.load(ordering: .sequentiallyConsistent) > 0 {}
                reference.release()
            }
        }
    }

    private func workerLoop() {
        var seen = 0
        var idle = 0
        while true {
            let latest = generation.load(ordering: .sequentiallyConsistent)
            guard latest != seen else {
                idle += 1
                if idle >= Self.spinsBeforeSleep {
                    waitForStep(after: seen)
                    idle = 0
                }
                continue
            }
            idle = 0
            seen = latest
            guard let step = current.load(ordering: .sequentiallyConsistent) else { continue }
            holders.add(1, ordering: .sequentiallyConsistent)
            // Re-checked after announcing ourselves: the caller clears `current` before it waits for holders.
            if current.load(ordering: .sequentiallyConsistent)?.toOpaque() == step.toOpaque() {
                step.takeUnretainedValue().work()
            }
            holders.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    private func waitForStep(after seen: Int) {
        sleep.lock()
        sleepers += 1
        while generation.load(ordering: .sequentiallyConsistent) == seen { sleep.wait() }
        sleepers -= 1
        sleep.unlock()
    }

    /// One pool per thread count, made on first use and kept for the life of the process.
    static func shared(threads: Int) -> WorkerPool {
        pools.withLock { pools in
            if let pool = pools[threads] { return pool }
            let pool = WorkerPool(threads: threads)
            pools[threads] = pool
            return pool
        }
    }

    private static let pools = Mutex<[Int: WorkerPool]>([:])
}
