import Foundation
import OrderedJSON

/// `rate_limiter` / `user_rate_limiter` entries (§7.1/§7.2): `limit` requests per `unit`.
public struct RateLimit: Sendable, Equatable {
    public static let units: [String: Double] = [
        "NANOSECONDS": 1e-9, "MICROSECONDS": 1e-6, "MILLISECONDS": 1e-3, "SECONDS": 1,
        "MINUTES": 60, "HOURS": 3600, "DAYS": 86400,
    ]

    public var limit: Double
    public var unit: String

    public init(limit: Double, unit: String) throws(ConnectorError) {
        guard limit > 0, limit.isFinite else { throw .parse("Limit field must be a positive number.") }
        guard Self.units[unit] != nil else {
            throw .parse("Unit field must be one of \(Self.units.keys.sorted()), case-sensitive.")
        }
        self.limit = limit
        self.unit = unit
    }

    /// Parses `{"limit": "4", "unit": "MINUTES"}`; nil unless both are set (the limiter is off).
    public init?(json: JSON) throws(ConnectorError) {
        guard let object = json.objectValue, let limitValue = object["limit"], !limitValue.isNull,
              let unit = object["unit"]?.stringValue else { return nil }
        guard let limit = limitValue.doubleValue else { throw .parse("Limit field must be a positive number.") }
        try self.init(limit: limit, unit: unit)
    }

    public var json: JSON {
        // Whole numbers print without ".0"; only those Int64 can hold (1e30 would trap the conversion).
        let text = limit.rounded() == limit && limit < 9e18 ? String(Int64(limit)) : String(limit)
        return ["limit": .string(text), "unit": .string(unit)]
    }

    var secondsPerUnit: Double { Self.units[unit]! }
}

/// Token buckets keyed by model and user: refill `limit / unit / nodes` per second, capacity
/// `max(limit / nodes, 1)`, starting full, one token per request.
public actor RateLimiter {
    public struct Key: Hashable, Sendable {
        public let modelID: String
        /// nil for the model-level limiter.
        public let user: String?
        public init(modelID: String, user: String? = nil) {
            self.modelID = modelID
            self.user = user
        }
    }

    private struct Bucket {
        var limit: RateLimit
        var tokens: Double
        var updated: Double
    }

    private var buckets: [Key: Bucket] = [:]
    private let eligibleNodes: Double
    private let now: @Sendable () -> Double

    public init(eligibleNodeCount: Int = 1,
                clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        eligibleNodes = Double(max(eligibleNodeCount, 1))
        now = clock
    }

    /// Takes a token or throws 429 with the reference's model- or user-level message.
    public func acquire(_ key: Key, limit: RateLimit) throws(ConnectorError) {
        let time = now()
        let capacity = max(limit.limit / eligibleNodes, 1)
        let rate = limit.limit / eligibleNodes / limit.secondsPerUnit
        var bucket = buckets[key].flatMap { $0.limit == limit ? $0 : nil }
            ?? Bucket(limit: limit, tokens: capacity, updated: time)
        bucket.tokens = min(capacity, bucket.tokens + max(0, time - bucket.updated) * rate)
        bucket.updated = time
        guard bucket.tokens >= 1 else {
            buckets[key] = bucket
            throw key.user == nil
                ? .status(429, "Request is throttled at model level.")
                : .status(429, "Request is throttled at user level. If you think there's an issue, please contact your cluster admin.")
        }
        bucket.tokens -= 1
        buckets[key] = bucket
    }

    /// Forgets a model's buckets (undeploy, limit removed).
    public func reset(modelID: String) {
        buckets = buckets.filter { $0.key.modelID != modelID }
    }
}
