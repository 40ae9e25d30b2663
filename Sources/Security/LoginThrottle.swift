/// Slows down, then refuses for a while, repeated failed logins per user name and per client address,
/// without touching other users or addresses. A value type over an injected clock (seconds), so the
/// caller keeps it under its own lock and tests drive time. Memory is bounded by `maximumTracked`.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable {
        /// Failures heard without delay.
        public var freeFailures = 3
        /// The delay after the first failure beyond the free ones; it doubles per failure up to `maximumDelay`.
        public var baseDelay = 1.0
        public var maximumDelay = 30.0
        /// From this many failures on, every attempt is refused for `lockout` seconds.
        public var lockoutFailures = 10
        public var lockout = 300.0
        /// Failures older than this (after the last one) are forgotten.
        public var window = 900.0
        public var maximumTracked = 10_000
        public init() {}
    }

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Not before this many seconds from now.
        case delayed(Double)
        case refused(retryAfter: Double)
    }

    struct Entry: Sendable {
        var failures: Int
        var lastFailure: Double
        var notBefore: Double
    }

    public let policy: Policy
    private let now: @Sendable () -> Double
    private(set) var entries: [String: Entry] = [:]

    public init(policy: Policy = Policy(), clock now: @escaping @Sendable () -> Double) {
        self.policy = policy
        self.now = now
    }

    public var trackedCount: Int { entries.count }

    /// Whether an attempt for this user from this address may be checked now (the stricter of the two).
    public func decide(user: String, address: String) -> Decision {
        let time = now()
        var worst = Decision.allowed
        for key in [Self.key(user: user), Self.key(address: address)] {
            guard let entry = live(entries[key], at: time), entry.notBefore > time else { continue }
            let wait = entry.notBefore - time
            let decision: Decision = entry.failures >= policy.lockoutFailures ? .refused(retryAfter: wait) : .delayed(wait)
            worst = Self.stricter(worst, decision)
        }
        return worst
    }

    public mutating func recordFailure(user: String, address: String) {
        let time = now()
        for key in [Self.key(user: user), Self.key(address: address)] {
            var entry = live(entries[key], at: time) ?? Entry(failures: 0, lastFailure: time, notBefore: time)
            entry.failures += 1
            entry.lastFailure = time
            entry.notBefore = time + wait(after: entry.failures)
            if entries[key] == nil { makeRoom(at: time) }
            entries[key] = entry
        }
    }

    /// A good login clears the user's record; the address keeps its record (one good account must not
    /// launder guesses at others from the same address).
    public mutating func recordSuccess(user: String, address: String) {
        entries[Self.key(user: user)] = nil
    }

    func wait(after failures: Int) -> Double {
        if failures >= policy.lockoutFailures { return policy.lockout }
        let beyond = failures - policy.freeFailures
        guard beyond > 0 else { return 0 }
        return min(policy.maximumDelay, policy.baseDelay * Double(1 << min(beyond - 1, 20)))
    }

    private func live(_ entry: Entry?, at time: Double) -> Entry? {
        guard let entry, time - entry.lastFailure <= policy.window || entry.notBefore > time else { return nil }
        return entry
    }

    /// At the cap: forget expired entries, then the oldest eighth (locked-out entries last), so the
    /// cost of eviction stays amortised low however many addresses an attacker uses.
    private mutating func makeRoom(at time: Double) {
        guard entries.count >= policy.maximumTracked else { return }
        entries = entries.filter { live($0.value, at: time) != nil }
        guard entries.count >= policy.maximumTracked else { return }
        let ordered = entries.sorted { a, b in
            let aLocked = a.value.notBefore > time && a.value.failures >= policy.lockoutFailures
            let bLocked = b.value.notBefore > time && b.value.failures >= policy.lockoutFailures
            return aLocked != bLocked ? !aLocked : a.value.lastFailure < b.value.lastFailure
        }
        for (key, _) in ordered.prefix(max(1, policy.maximumTracked / 8)) { entries[key] = nil }
    }

    static func key(user: String) -> String { "u:" + String(user.prefix(Validation.maximumNameLength)) }
    static func key(address: String) -> String { "a:" + String(address.prefix(64)) }

    static func stricter(_ a: Decision, _ b: Decision) -> Decision {
        switch (a, b) {
        case (.refused(let x), .refused(let y)): .refused(retryAfter: max(x, y))
        case (.refused, _): a
        case (_, .refused): b
        case (.delayed(let x), .delayed(let y)): .delayed(max(x, y))
        case (.delayed, _): a
        default: b
        }
    }
}
