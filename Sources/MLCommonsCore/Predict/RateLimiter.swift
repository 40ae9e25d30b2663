import Foundation
import OrderedJSON

/// The model-level `rate_limiter` (`{"limit": "4", "unit": "MINUTES"}`): a token bucket per model
/// on this node holding up to `limit` requests, refilled at `limit` per `unit`.
actor ModelRateLimiter {
    private struct Bucket {
        let configuration: String
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private var buckets: [String: Bucket] = [:]

    static func seconds(_ unit: String) -> Double? {
        switch unit.uppercased() {
        case "NANOSECONDS": return 1e-9
        case "MICROSECONDS": return 1e-6
        case "MILLISECONDS": return 1e-3
        case "SECONDS": return 1
        case "MINUTES": return 60
        case "HOURS": return 3600
        case "DAYS": return 86_400
        default: return nil
        }
    }

    /// Takes one request from the model's bucket; false when it is empty. Models without a
    /// complete rate limiter are not limited.
    func admit(modelID: String, rateLimiter: JSON?) -> Bool {
        guard let limit = rateLimiter?["limit"]?.doubleValue, limit > 0,
              let unit = rateLimiter?["unit"]?.stringValue, let period = Self.seconds(unit) else { return true }
        let configuration = "\(limit)/\(unit)"
        let now = ContinuousClock.now
        var bucket = buckets[modelID].flatMap { $0.configuration == configuration ? $0 : nil }
            ?? Bucket(configuration: configuration, tokens: limit, updated: now)
        let elapsed = bucket.updated.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.tokens = min(limit, bucket.tokens + seconds * limit / period)
        bucket.updated = now
        guard bucket.tokens >= 1 else {
            buckets[modelID] = bucket
            return false
        }
        bucket.tokens -= 1
        buckets[modelID] = bucket
        return true
    }
}
