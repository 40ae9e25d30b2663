import OrderedJSON

/// Predict latencies per model over the last `monitoring_request_count` requests, for the profile API.
actor LatencyMonitor {
    private var inference: [String: [Double]] = [:]
    private var requests: [String: [Double]] = [:]

    func record(modelID: String, inferenceMillis: Double, requestMillis: Double, window: Int) {
        func append(_ value: Double, to series: inout [Double]) {
            series.append(value)
            if series.count > max(window, 1) { series.removeFirst(series.count - max(window, 1)) }
        }
        append(inferenceMillis, to: &inference[modelID, default: []])
        append(requestMillis, to: &requests[modelID, default: []])
    }

    func forget(_ modelID: String) {
        inference[modelID] = nil
        requests[modelID] = nil
    }

    /// `{"count", "max", "min", "average", "p50", "p90", "p99"}`, or nil before the first request.
    func summaries(of modelID: String) -> (inference: JSON, request: JSON)? {
        guard let inferred = inference[modelID], let requested = requests[modelID], !inferred.isEmpty else { return nil }
        return (Self.summary(inferred), Self.summary(requested))
    }

    static func summary(_ values: [Double]) -> JSON {
        let sorted = values.sorted()
        func percentile(_ p: Double) -> Double {
            // Linear interpolation between closest ranks, as ML Commons' stats do.
            let rank = p / 100 * Double(sorted.count - 1)
            let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
            return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
        }
        func rounded(_ value: Double) -> JSON { .double((value * 100).rounded() / 100) }
        return [
            "count": .int(Int64(sorted.count)), "max": rounded(sorted.last!), "min": rounded(sorted.first!),
            "average": rounded(sorted.reduce(0, +) / Double(sorted.count)),
            "p50": rounded(percentile(50)), "p90": rounded(percentile(90)), "p99": rounded(percentile(99)),
        ]
    }
}
