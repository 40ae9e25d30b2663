import Foundation

/// Where connectors may send requests (§6.2): URLs must fully match a trusted regex, and hosts
/// that resolve to private, loopback or link-local addresses are refused unless allowed.
public struct EndpointPolicy: Sendable {
    public static let defaultTrustedEndpointsRegex = [
        #"^https://runtime\.sagemaker\..*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://api\.sagemaker\..*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://api\.openai\.com/.*$"#,
        #"^https://api\.cohere\.ai/.*$"#,
        #"^https://api\.deepseek\.com/.*$"#,
        #"^https://generativelanguage\.googleapis\.com/.*$"#,
        #"^https://bedrock-runtime\..*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://bedrock-agent-runtime\..*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://bedrock\..*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://textract\..*[a-z0-9-]\.amazonaws\.com$"#,
        #"^https://comprehend\..*[a-z0-9-]\.amazonaws\.com$"#,
        #"^https://rekognition(-fips)?\..*[a-z0-9-]\.amazonaws\.com$"#,
    ]

    /// `plugins.ml_commons.trusted_connector_endpoints_regex`.
    public var trustedEndpointsRegex: [String]
    /// `plugins.ml_commons.connector.private_ip_enabled`.
    public var privateIPEnabled: Bool
    /// `plugins.ml_commons.trusted_connector_private_endpoints_regex`.
    public var trustedPrivateEndpointsRegex: [String]

    public init(trustedEndpointsRegex: [String] = EndpointPolicy.defaultTrustedEndpointsRegex,
                privateIPEnabled: Bool = false, trustedPrivateEndpointsRegex: [String] = []) {
        self.trustedEndpointsRegex = trustedEndpointsRegex
        self.privateIPEnabled = privateIPEnabled
        self.trustedPrivateEndpointsRegex = trustedPrivateEndpointsRegex
    }

    /// The URL must fully match one trusted pattern.
    public func checkTrusted(url: String) throws(ConnectorError) {
        guard !trustedEndpointsRegex.isEmpty else {
            throw .illegalArgument("Trusted connector endpoints regex is not configured. Please set "
                + "plugins.ml_commons.trusted_connector_endpoints_regex.")
        }
        guard trustedEndpointsRegex.contains(where: { FullMatchRegex.matches($0, url) }) else {
            throw .illegalArgument("Connector URL is not matching the trusted connector endpoint regex, URL is: \(url)")
        }
    }

    /// At create/update time: each action URL with the connector's own parameters filled in.
    public func checkTrusted(connector: ConnectorDefinition) throws(ConnectorError) {
        let renderer = TemplateRenderer(values: RemoteParameters(connector: connector).templateValues,
                                        credential: nil, verbatim: [])
        for action in connector.actions {
            try checkTrusted(url: renderer.render(action.url, mode: .plainText).text)
        }
    }

    /// Resolves the URL's host once and returns the address to connect to, refusing private
    /// ones unless allowed.
    public func resolve(url: String, resolver: any HostResolver) async throws(ConnectorError) -> IPAddress {
        guard let parsed = ParsedURL(url) else { throw .illegalArgument("Invalid URL: \(url)") }
        let addresses: [IPAddress]
        do {
            if let literal = IPAddress(parsed.host) {
                addresses = [literal]
            } else {
                addresses = try await resolver.resolve(host: parsed.host, port: parsed.port)
            }
        } catch {
            throw .illegalArgument("Remote inference host name can't be resolved: \(parsed.host)")
        }
        guard let first = addresses.first else {
            throw .illegalArgument("Remote inference host name can't be resolved: \(parsed.host)")
        }
        let privateAllowed = privateIPEnabled || trustedPrivateEndpointsRegex.contains { FullMatchRegex.matches($0, url) }
        if !privateAllowed && addresses.contains(where: \.isPrivateOrLocal) {
            throw .illegalArgument("Remote inference host name has private ip address: \(parsed.host)")
        }
        return first
    }
}

/// Java `Matcher.matches()` semantics: the whole text must match. An invalid pattern matches nothing.
enum FullMatchRegex {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: "\\A(?:\(pattern))\\z") else { return false }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
