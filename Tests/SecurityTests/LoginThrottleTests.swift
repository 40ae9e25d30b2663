import Foundation
@testable import Security
import Synchronization
import Testing

/// A clock the test moves by hand.
final class FakeClock: Sendable {
    private let time = Mutex(1_000.0)
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
    var reading: @Sendable () -> Double { { [self] in now } }
}

@Suite struct LoginThrottleTests {
    @Test func failuresSlowDownThenRefuseThenExpire() {
        let clock = FakeClock()
        var throttle = LoginThrottle(clock: clock.reading)
        for _ in 0..<3 { throttle.recordFailure(user: "alice", address: "10.0.0.1") }
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .allowed)

        throttle.recordFailure(user: "alice", address: "10.0.0.1")  // 4th: 1 s
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .delayed(1))
        clock.advance(1)
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .allowed)
        throttle.recordFailure(user: "alice", address: "10.0.0.1")  // 5th: 2 s
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .delayed(2))

        for _ in 6...10 { throttle.recordFailure(user: "alice", address: "10.0.0.1") }
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .refused(retryAfter: 300))
        clock.advance(299)
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .refused(retryAfter: 1))
        clock.advance(1)
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .allowed)
        // Still counted: the next failure in the window locks out again at once.
        throttle.recordFailure(user: "alice", address: "10.0.0.1")
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .refused(retryAfter: 300))
        // After the window of quiet, everything is forgotten.
        clock.advance(300 + 901)
        throttle.recordFailure(user: "alice", address: "10.0.0.1")
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .allowed)
    }

    @Test func otherUsersAndAddressesAreNotAffected() {
        let clock = FakeClock()
        var throttle = LoginThrottle(clock: clock.reading)
        for _ in 0..<10 { throttle.recordFailure(user: "alice", address: "10.0.0.1") }
        #expect(throttle.decide(user: "alice", address: "10.0.0.9") == .refused(retryAfter: 300))  // the user
        #expect(throttle.decide(user: "bob", address: "10.0.0.1") == .refused(retryAfter: 300))    // the address
        #expect(throttle.decide(user: "bob", address: "10.0.0.2") == .allowed)
        // Guessing many users from one address is caught by the address.
        for index in 0..<10 { throttle.recordFailure(user: "user\(index)", address: "192.168.1.1") }
        #expect(throttle.decide(user: "carol", address: "192.168.1.1") == .refused(retryAfter: 300))
        #expect(throttle.decide(user: "carol", address: "192.168.1.2") == .allowed)
    }

    @Test func aGoodLoginClearsTheUserButNotTheAddress() {
        let clock = FakeClock()
        var throttle = LoginThrottle(clock: clock.reading)
        for _ in 0..<5 { throttle.recordFailure(user: "alice", address: "10.0.0.1") }
        throttle.recordSuccess(user: "alice", address: "10.0.0.1")
        #expect(throttle.decide(user: "alice", address: "10.0.0.7") == .allowed)
        #expect(throttle.decide(user: "alice", address: "10.0.0.1") == .delayed(2))
    }

    @Test func memoryIsBoundedAndLockedEntriesAreKeptLongest() {
        let clock = FakeClock()
        var policy = LoginThrottle.Policy()
        policy.maximumTracked = 100
        var throttle = LoginThrottle(policy: policy, clock: clock.reading)
        for _ in 0..<10 { throttle.recordFailure(user: "victim", address: "10.0.0.1") }
        for index in 0..<5_000 {
            clock.advance(0.01)
            throttle.recordFailure(user: "u\(index)", address: "a\(index)")
            #expect(throttle.trackedCount <= 100)
        }
        #expect(throttle.decide(user: "victim", address: "elsewhere") != .allowed)
    }
}
