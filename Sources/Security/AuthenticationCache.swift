import Crypto
import Foundation
import Synchronization

/// Recently verified credentials, so a client sending Basic credentials on every request pays the
/// slow password hash once per `timeToLive`, not per request. Keys are keyed SHA-256 digests of the
/// credentials under a random per-process key: neither passwords nor plain digests of them stay in
/// memory. Any change to users, roles or mappings through this node empties it; changes made on
/// another node sharing the store are seen after at most `timeToLive`.
public final class AuthenticationCache: Sendable {
    public struct Entry: Sendable {
        public let principal: Principal
        /// The principal's roles as they were when it authenticated.
        public let roles: [String: Role]
        let expires: ContinuousClock.Instant
    }

    public let timeToLive: Duration
    let capacity: Int
    private let key = SymmetricKey(size: .bits256)
    /// The entries, and how many times they were emptied: an entry made from a check that began
    /// before the last emptying is not kept (it may describe a user or key that is gone).
    private let entries = Mutex<(byDigest: [Data: Entry], generation: UInt64)>(([:], 0))

    public init(timeToLive: Duration = .seconds(60), capacity: Int = 10_000) {
        self.timeToLive = timeToLive
        self.capacity = max(1, capacity)
    }

    /// The digest a credential is kept under; `kind` keeps a password and an API key apart.
    func digest(_ kind: String, _ parts: [String]) -> Data {
        var message = Data(kind.utf8)
        for part in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") never collide.
            withUnsafeBytes(of: UInt32(part.utf8.count).bigEndian) { message.append(contentsOf: $0) }
            message.append(contentsOf: part.utf8)
        }
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// The entry for a digest, if live; else nil and the generation to pass to `store` after checking
    /// the credential against the store.
    func lookup(_ digest: Data) -> (entry: Entry?, generation: UInt64) {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries.byDigest[digest] else { return (nil, entries.generation) }
            if entry.expires <= now {
                entries.byDigest[digest] = nil
                return (nil, entries.generation)
            }
            return (entry, entries.generation)
        }
    }

    /// Keeps a verified credential, unless the cache was emptied since `generation` (from `lookup`).
    func store(_ digest: Data, principal: Principal, roles: [String: Role], generation: UInt64) {
        let now = ContinuousClock.now
        let entry = Entry(principal: principal, roles: roles, expires: now + timeToLive)
        entries.withLock { entries in
            guard entries.generation == generation else { return }
            if entries.byDigest.count >= capacity {
                entries.byDigest = entries.byDigest.filter { $0.value.expires > now }
                // Still full: drop an arbitrary half; they only cost one more hash each.
                if entries.byDigest.count >= capacity {
                    entries.byDigest = Dictionary(uniqueKeysWithValues: entries.byDigest.prefix(capacity / 2).map { ($0.key, $0.value) })
                }
            }
            entries.byDigest[digest] = entry
        }
    }

    /// Forgets everything: after a change of users, roles, mappings or keys.
    public func invalidateAll() {
        entries.withLock { entries in
            entries.byDigest.removeAll()
            entries.generation &+= 1
        }
    }

    public var count: Int { entries.withLock { $0.byDigest.count } }
}
