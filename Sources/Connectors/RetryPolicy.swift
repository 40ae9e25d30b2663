/// When and how long to wait before retrying a remote call (`client_config`).
struct RetryPolicy: Sendable {
    let config: ClientConfig

    /// Retry after `attempt` failed tries (1-based) if the budget allows it.
    func allowsRetry(afterAttempt attempt: Int, elapsedMillis: Int) -> Bool {
        let withinTime = elapsedMillis < config.retryTimeoutSeconds * 1000
        if config.maxRetryTimes == -1 { return withinTime }
        return attempt <= config.maxRetryTimes && withinTime
    }

    static func isRetryable(status: Int) -> Bool { status == 429 || status >= 500 }

    /// Delay before retry number `attempt` (1-based).
    func delayMillis(beforeRetry attempt: Int, random: (ClosedRange<Int>) -> Int = { Int.random(in: $0) }) -> Int {
        let base = max(config.retryBackoffMillis, 0)
        let cap = max(config.retryTimeoutSeconds * 1000, base)
        let exponential = min(cap, base << min(attempt - 1, 20))
        switch config.retryBackoffPolicy {
        case .constant: return base
        case .exponentialEqualJitter: return exponential / 2 + random(0...(exponential / 2))
        case .exponentialFullJitter: return random(0...exponential)
        }
    }
}
