import Foundation
import Synchronization

/// Turns presented credentials into an authenticated principal with its roles: the login throttle
/// first (a refused attempt costs no hash), then the cache, then the slow check against the store.
public final class Authenticator: Sendable {
    public let store: SecurityStore
    public let cache: AuthenticationCache
    private let throttle: Mutex<LoginThrottle>
    /// At most this many password hashes run at once, so a flood of logins cannot take every core
    /// from the requests already authenticated.
    private let hashing: HashingGate

    public enum Presented: Sendable {
        case basic(user: String, password: String)
        case apiKey(String)
    }

    /// Who a request runs as, and the roles it holds.
    public struct Authenticated: Sendable {
        public let principal: Principal
        public let roles: [String: Role]

        public func permits(_ action: String) -> Bool {
            Authorization.permits(principal, action: action, roles: roles)
        }
    }

    public init(store: SecurityStore, cache: AuthenticationCache = AuthenticationCache(),
                throttle: LoginThrottle = LoginThrottle(clock: { Date().timeIntervalSince1970 }), concurrentHashes: Int = 2) {
        self.store = store
        self.cache = cache
        self.throttle = Mutex(throttle)
        self.hashing = HashingGate(limit: concurrentHashes)
    }

    /// The principal for the credentials, or `SecurityError.unauthorized` (401) / `throttled` (429).
    /// `address` is the client's IP address, for the throttle.
    public func authenticate(_ presented: Presented, address: String) async throws -> Authenticated {
        let (throttleUser, digest) = switch presented {
        case .basic(let user, let password): (user, cache.digest("basic", [user, password]))
        case .apiKey(let key): ("apikey:" + (APIKey.parse(key)?.id ?? "malformed"), cache.digest("apikey", [key]))
        }
        // Credentials already verified skip the throttle: someone guessing at a user's name does not
        // lock that user's own running clients out.
        let (cached, generation) = cache.lookup(digest)
        if let cached { return Authenticated(principal: cached.principal, roles: cached.roles) }
        switch throttle.withLock({ $0.decide(user: throttleUser, address: address) }) {
        case .allowed: break
        case .delayed(let wait), .refused(let wait): throw SecurityError.throttled(retryAfter: Int(wait.rounded(.up)))
        }
        let principal: Principal
        do {
            principal = try await hashing.run { [store] in
                switch presented {
                case .basic(let user, let password): try await store.authenticate(basic: user, password: password)
                case .apiKey(let key): try await store.authenticate(apiKey: key)
                }
            }
        } catch let error as SecurityError where error.status == 401 {
            throttle.withLock { $0.recordFailure(user: throttleUser, address: address) }
            throw error
        }
        throttle.withLock { $0.recordSuccess(user: throttleUser, address: address) }
        let roles = try await store.resolvedRoles(principal)
        cache.store(digest, principal: principal, roles: roles, generation: generation)
        return Authenticated(principal: principal, roles: roles)
    }
}

extension Authenticator {
    /// Runs other password work (a new password's hash, a password change) through the same gate as
    /// logins, so no route can start more slow hashes at once than logins can.
    public func withSlowHashing<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await hashing.run(body)
    }
}

/// A counting gate: at most `limit` bodies run at once; the rest wait their turn in order. The
/// body runs in a detached task, off the caller's executor (the HTTP event loops).
final class HashingGate: Sendable {
    private struct State {
        var running = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = max(1, limit) }

    func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await Task.detached(priority: .userInitiated, operation: body).value
    }

    private func acquire() async {
        await withCheckedContinuation { continuation in
            let admitted = state.withLock { state in
                if state.running < limit {
                    state.running += 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()  // the slot passes to the next waiter
        }
        next?.resume()
    }
}
