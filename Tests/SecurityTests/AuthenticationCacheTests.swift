import Foundation
@testable import Security
import Testing

/// The credential cache: live entries, expiry, and no entry kept from a check that began before an
/// emptying (it may describe a user deleted or a key revoked meanwhile).
@Suite struct AuthenticationCacheTests {
    let alice = Principal(name: "alice", roles: ["ml_full_access"])

    @Test func aVerifiedCredentialIsKeptUntilEmptied() {
        let cache = AuthenticationCache()
        let digest = cache.digest("basic", ["alice", "pw"])
        let (missing, generation) = cache.lookup(digest)
        #expect(missing == nil)
        cache.store(digest, principal: alice, roles: [:], generation: generation)
        #expect(cache.lookup(digest).entry?.principal == alice)
        // Length-prefixed parts: another split of the same characters is another credential.
        #expect(cache.lookup(cache.digest("basic", ["alic", "epw"])).entry == nil)
        cache.invalidateAll()
        #expect(cache.lookup(digest).entry == nil)
    }

    @Test func aCheckThatStartedBeforeAnEmptyingIsNotKept() {
        let cache = AuthenticationCache()
        let digest = cache.digest("apikey", ["mlk_x"])
        let (_, generation) = cache.lookup(digest)
        cache.invalidateAll()  // e.g. the key was revoked while its check ran
        cache.store(digest, principal: alice, roles: [:], generation: generation)
        #expect(cache.lookup(digest).entry == nil)
        #expect(cache.count == 0)
    }

    @Test func entriesExpire() async throws {
        let cache = AuthenticationCache(timeToLive: .milliseconds(50))
        let digest = cache.digest("basic", ["alice", "pw"])
        cache.store(digest, principal: alice, roles: [:], generation: cache.lookup(digest).generation)
        #expect(cache.lookup(digest).entry != nil)
        try await Task.sleep(for: .milliseconds(120))
        #expect(cache.lookup(digest).entry == nil)
    }
}
