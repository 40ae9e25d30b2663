import Testing
@testable import Connectors

/// Resolves names from a fixed table and counts lookups.
final class TableResolver: HostResolver, @unchecked Sendable {
    let table: [String: [String]]
    private(set) var lookups: [String] = []
    init(_ table: [String: [String]]) { self.table = table }

    func resolve(host: String, port: Int) async throws -> [IPAddress] {
        lookups.append(host)
        guard let addresses = table[host] else { throw SystemHostResolver.LookupFailed(host: host, code: -2) }
        return addresses.compactMap(IPAddress.init)
    }
}

@Suite struct EndpointPolicyTests {
    @Test(arguments: [
        "127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "0.0.0.0",
        "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
        "100.64.0.1",
    ])
    func privateAddresses(address: String) throws {
        #expect(try #require(IPAddress(address)).isPrivateOrLocal)
    }

    @Test(arguments: ["8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "1.1.1.1"])
    func publicAddresses(address: String) throws {
        #expect(try !#require(IPAddress(address)).isPrivateOrLocal)
    }

    @Test func defaultTrustedEndpoints() throws {
        let policy = EndpointPolicy()
        for url in ["https://api.openai.com/v1/embeddings", "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke",
                    "https://api.cohere.ai/v1/embed", "https://textract.us-west-2.amazonaws.com"] {
            #expect(throws: Never.self) { try policy.checkTrusted(url: url) }
        }
        for url in ["http://api.openai.com/v1/embeddings", "https://api.openai.com.evil.io/v1", "https://evil.io/https://api.openai.com/",
                    "https://textract.us-west-2.amazonaws.com/extra"] {
            #expect(throws: ConnectorError.self) { try policy.checkTrusted(url: url) }
        }
    }

    @Test func privateResolutionIsRefusedUnlessAllowed() async throws {
        let resolver = TableResolver(["rebind.example": ["93.184.216.34", "127.0.0.1"], "public.example": ["93.184.216.34"]])
        let policy = EndpointPolicy(trustedEndpointsRegex: [".*"])
        await #expect(throws: ConnectorError.self) { try await policy.resolve(url: "http://127.0.0.1:9/x", resolver: resolver) }
        let error = await #expect(throws: ConnectorError.self) { try await policy.resolve(url: "http://rebind.example/x", resolver: resolver) }
        #expect(error?.message == "Remote inference host name has private ip address: rebind.example")
        #expect(try await policy.resolve(url: "https://public.example/x", resolver: resolver).description == "93.184.216.34")
        let allowed = EndpointPolicy(trustedEndpointsRegex: [".*"], privateIPEnabled: true)
        #expect(try await allowed.resolve(url: "http://127.0.0.1:9/x", resolver: resolver).description == "127.0.0.1")
        let privateTrusted = EndpointPolicy(trustedEndpointsRegex: [".*"], trustedPrivateEndpointsRegex: [#"^http://127\.0\.0\.1:9/.*$"#])
        #expect(try await privateTrusted.resolve(url: "http://127.0.0.1:9/x", resolver: resolver).description == "127.0.0.1")
    }

    @Test func localhostResolvesPrivateAndIsRefused() async {
        let error = await #expect(throws: ConnectorError.self) {
            try await EndpointPolicy(trustedEndpointsRegex: [".*"]).resolve(url: "http://localhost:9200/x", resolver: SystemHostResolver())
        }
        #expect(error?.message == "Remote inference host name has private ip address: localhost")
    }
}
