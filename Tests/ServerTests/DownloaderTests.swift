import Connectors
import Foundation
import Logging
@testable import MLCommonsCore
import ProviderFakes
import Testing

/// The artifact downloader on its own, against real loopback servers: cancellation, the address
/// rule applied to every redirect hop, and the DNS pin for any spelling of the host.
/// Serialized: `cancelAll` would cancel the other tests' downloads (they share a scratch directory).
@Suite(.serialized) struct DownloaderTests {
    static let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("downloads-\(UUID().uuidString)")

    static func downloader() -> ArtifactDownloader { ArtifactDownloader(scratchDir: scratch, logger: Logger(label: "downloader-test")) }

    static func loopbackPolicy() -> DownloadPolicy {
        var policy = DownloadPolicy()
        policy.allowPrivateAddresses = true
        return policy
    }

    struct Table: HostResolver {
        let table: [String: String]
        func resolve(host: String, port: Int) async throws -> [IPAddress] {
            guard let address = table[host].flatMap(IPAddress.init) else { throw URLError(.cannotFindHost) }
            return [address]
        }
    }

    @Test func cancellingTheTaskOrStoppingEndsADownloadAtOnce() async throws {
        let tarpit = SlowServer()
        tarpit.script("/", .trickle(total: 1000, interval: .milliseconds(200)))
        try tarpit.start()
        defer { tarpit.stop() }
        let url = "http://127.0.0.1:\(tarpit.port)/m.zip"
        for viaStop in [false, true] {
            let download = Task { try await Self.downloader().download(url, policy: Self.loopbackPolicy()) }
            for _ in 0..<500 where tarpit.openConnections == 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(tarpit.openConnections == 1)
            let start = ContinuousClock.now
            if viaStop { ActiveDownloads.shared.cancelAll(owner: Self.scratch) } else { download.cancel() }
            let error = await #expect(throws: MLError.self) { try await download.value }
            #expect(error?.reason.contains("cancelled") == true, "\(error?.reason ?? "")")
            // Left alone the trickle takes over 3 minutes; the bound is loose because in-process
            // suites running beside this one (SQLite, model loads) can keep the cooperative pool busy.
            #expect(start.duration(to: .now) < .seconds(90))
            for _ in 0..<500 where tarpit.openConnections > 0 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(tarpit.openConnections == 0)
        }
        #expect(ActiveDownloads.shared.count(owner: Self.scratch) == 0)
    }

    @Test func everyRedirectHopPassesTheAddressRule() async throws {
        let server = SlowServer()
        try server.start()
        defer { server.stop() }
        server.script("/file", .body(Array("zip bytes".utf8)))
        server.script("/elsewhere", .redirect(status: 302, location: "http://127.0.0.2:\(server.port)/file"))
        server.script("/same", .redirect(status: 302, location: "/file"))
        var policy = Self.loopbackPolicy()
        // Only 127.0.0.1 counts as allowed here: 127.0.0.2 plays an internal host.
        policy.isAllowed = { $0.description == "127.0.0.1" }
        let followed = try await Self.downloader().download("http://127.0.0.1:\(server.port)/same", policy: policy)
        #expect(followed.size == 9)
        let error = await #expect(throws: MLError.self) {
            try await Self.downloader().download("http://127.0.0.1:\(server.port)/elsewhere", policy: policy)
        }
        #expect(error?.reason.contains("host 127.0.0.2 has a private, loopback or link-local address") == true, "\(error?.reason ?? "")")
        #expect(server.requestedPaths == ["/same", "/file", "/elsewhere"])
    }

    @Test func thePinHoldsForAnySpellingOfTheHost() async throws {
        let server = SlowServer()
        server.script("/file", .body(Array("abc".utf8)))
        try server.start()
        defer { server.stop() }
        var policy = Self.loopbackPolicy()
        // mirror.test exists only in this table: the connection must use the checked address.
        policy.resolver = Table(table: ["mirror.test": "127.0.0.1"])
        for host in ["mirror.test", "MIRROR.TEST", "Mirror.Test."] {
            let artifact = try await Self.downloader().download("http://\(host):\(server.port)/file", policy: policy)
            #expect(artifact.size == 3, "\(host)")
        }
    }
}
