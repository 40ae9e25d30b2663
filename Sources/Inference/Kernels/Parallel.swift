
/// Fork-join over a fixed number of workers: the engine's own threads. OpenBLAS runs single-threaded
/// inside each worker, so its threads never compete with these (or with the server's).
public struct Parallelism: Sendable {
    public let threads: Int

    public init(threads: Int) { self.threads = max(1, threads) }

    public static let serial = Parallelism(threads: 1)

    /// Runs `body(part, parts)` for every part in 0..<parts, spread over the workers, and waits.
    func forEach(parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 || threads == 1 {
            for part in 0..<parts { body(part) }
        } else {
            WorkerPool.shared(threads: threads).run(parts: parts, body)
        }
    }

    /// Splits `0..<count` into one contiguous range per worker (fewer when there is little work)
    /// and runs `body(range, part)` on each, waiting for all.
    func forRanges(_ count: Int, minimumPerPart: Int = 1, _ body: (_ range: Range<Int>, _ part: Int) -> Void) {
        let parts = max(1, min(threads, count / max(minimumPerPart, 1)))
        forEach(parts: parts) { part in
            let lower = count * part / parts, upper = count * (part + 1) / parts
            if lower < upper { body(lower..<upper, part) }
        }
    }
}
