import Logging
import ServiceLifecycle

/// The first service to stop on SIGTERM / SIGINT: it waits (up to `timeout`) until every request
/// read in full has been answered to its socket, then returns, and the service group goes on to close
/// the HTTP server. A request still sending its body does not count: a client stalled mid-body must
/// not hold the stop.
struct RequestDrain: Service {
    let owed: OwedAnswers
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        // Returns once a stop is asked for (throws only on cancellation).
        try await gracefulShutdown()
        logger.notice("stopping: answering \(owed.current) request(s) in flight first (at most \(timeout))")
        let deadline = ContinuousClock.now + timeout
        while owed.current > 0 {
            if ContinuousClock.now >= deadline {
                logger.warning("stopping with \(owed.current) request(s) not fully answered after \(timeout)")
                return
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
