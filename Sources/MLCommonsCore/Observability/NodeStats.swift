/// Counters of this node since it started (ML Commons does not persist them either).
actor NodeStats {
    struct Counts: Sendable {
        var requests = 0
        var failures = 0
    }

    private(set) var total = Counts()
    private(set) var byAlgorithm: [String: [String: Counts]] = [:]
    private(set) var byModel: [String: [String: Counts]] = [:]
    private(set) var circuitBreakerTrips = 0

    /// Counts one ML request (`register`, `deploy`, `undeploy`, `predict`, …) and whether it failed.
    func record(action: String, function: String?, modelID: String?, failed: Bool) {
        total.requests += 1
        if failed { total.failures += 1 }
        if let function { Self.bump(&byAlgorithm[function.lowercased(), default: [:]][action, default: Counts()], failed) }
        if let modelID { Self.bump(&byModel[modelID, default: [:]][action, default: Counts()], failed) }
    }

    func recordCircuitBreakerTrip() { circuitBreakerTrips += 1 }

    private static func bump(_ counts: inout Counts, _ failed: Bool) {
        counts.requests += 1
        if failed { counts.failures += 1 }
    }
}
