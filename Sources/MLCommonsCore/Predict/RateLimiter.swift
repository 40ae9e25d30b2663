import Connectors
import Foundation
import OrderedJSON

/// The model-level `rate_limiter` (`{"limit": "4", "unit": "MINUTES"}`) of local models: the
/// connectors' token buckets (`Connectors.RateLimiter`, the one implementation remote models and
/// controllers use too), keyed by model on this node.
struct ModelRateLimiter: Sendable {
    let limiter = RateLimiter()

    /// Takes one request from the model's bucket; false when it is empty. Models without a
    /// complete rate limiter are not limited.
    func admit(modelID: String, rateLimiter: JSON?) async -> Bool {
        guard let limit = try? RemotePrediction.rateLimit(rateLimiter) else { return true }
        do {
            try await limiter.acquire(.init(modelID: modelID), limit: limit)
            return true
        } catch {
            return false
        }
    }
}
