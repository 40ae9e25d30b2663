import Foundation
import OrderedJSON
import Testing
@testable import Connectors

final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds = 0.0
    var now: Double { lock.withLock { seconds } }
    func advance(_ delta: Double) { lock.withLock { seconds += delta } }
}

@Suite struct RateLimiterTests {
    @Test func parsing() throws {
        #expect(try RateLimit(json: ["limit": "4", "unit": "MINUTES"]) == RateLimit(limit: 4, unit: "MINUTES"))
        #expect(try RateLimit(json: ["limit": 4]) == nil)
        #expect((#expect(throws: ConnectorError.self) { try RateLimit(json: ["limit": "-1", "unit": "SECONDS"]) })?.message
            == "Limit field must be a positive number.")
        #expect(throws: ConnectorError.self) { try RateLimit(json: ["limit": "abc", "unit": "SECONDS"]) }
        #expect(throws: ConnectorError.self) { try RateLimit(json: ["limit": 1, "unit": "minutes"]) }
        // Huge limits are stored as written, not converted to an Int64 (which traps beyond 9.2e18).
        #expect(try RateLimit(limit: 1e30, unit: "SECONDS").json["limit"] == "1e+30")
        #expect(try RateLimit(limit: 9.3e18, unit: "SECONDS").json["limit"]?.stringValue?.contains("e+18") == true)
        #expect(throws: ConnectorError.self) { try RateLimit(json: ["limit": "NaN", "unit": "SECONDS"]) }
        #expect(throws: ConnectorError.self) { try RateLimit(json: ["limit": "inf", "unit": "SECONDS"]) }
        #expect(try RateLimit(limit: 4, unit: "MINUTES").json == ["limit": "4", "unit": "MINUTES"])
    }

    @Test func bucketStartsFullAndRefills() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(clock: { clock.now })
        let limit = try RateLimit(limit: 2, unit: "SECONDS")
        let model = RateLimiter.Key(modelID: "m")
        try await limiter.acquire(model, limit: limit)
        try await limiter.acquire(model, limit: limit)
        let error = await #expect(throws: ConnectorError.self) { try await limiter.acquire(model, limit: limit) }
        #expect(error?.status == 429 && error?.message == "Request is throttled at model level.")
        clock.advance(0.5)
        try await limiter.acquire(model, limit: limit)
        await #expect(throws: ConnectorError.self) { try await limiter.acquire(model, limit: limit) }
        // Users have their own buckets and their own message.
        let user = RateLimiter.Key(modelID: "m", user: "alice")
        let perUser = try RateLimit(limit: 1, unit: "MINUTES")
        try await limiter.acquire(user, limit: perUser)
        let userError = await #expect(throws: ConnectorError.self) { try await limiter.acquire(user, limit: perUser) }
        #expect(userError?.message == "Request is throttled at user level. If you think there's an issue, please contact your cluster admin.")
        try await limiter.acquire(RateLimiter.Key(modelID: "m", user: "bob"), limit: perUser)
        await limiter.reset(modelID: "m")
        try await limiter.acquire(user, limit: perUser)
    }

    @Test func nodeCountSplitsTheLimit() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(eligibleNodeCount: 2, clock: { clock.now })
        let limit = try RateLimit(limit: 4, unit: "SECONDS")
        let key = RateLimiter.Key(modelID: "m")
        try await limiter.acquire(key, limit: limit)
        try await limiter.acquire(key, limit: limit)
        await #expect(throws: ConnectorError.self) { try await limiter.acquire(key, limit: limit) }
    }
}
