import Foundation

/// Where connectors may send requests (§6.2): URLs must fully match a trusted regex, and hosts
/// that resolve to private, loopback or link-local addresses are refused unless allowed.
public struct EndpointPolicy: Sendable {
    /// The reference's defaults with every `.*` inside a host name narrowed to host characters:
    /// `.*` also matches `/`, so `https://bedrock-runtime.attacker.test/x.amazonaws.com/` passed.
    public static let defaultTrustedEndpointsRegex = [
        #"^https://runtime\.sagemaker\.[a-z0-9.-]*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://api\.sagemaker\.[a-z0-9.-]*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://api\.openai\.com/.*$"#,
        #"^https://api\.cohere\.ai/.*$"#,
        #"^https://api\.deepseek\.com/.*$"#,
        #"^https://generativelanguage\.googleapis\.com/.*$"#,
        #"^https://bedrock-runtime\.[a-z0-9.-]*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://bedrock-agent-runtime\.[a-z0-9.-]*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://bedrock\.[a-z0-9.-]*[a-z0-9-]\.amazonaws\.com/.*$"#,
        #"^https://textract\.[a-z0-9.-]*[a-z0-9-]\.amazonaws\.com$"#,
        #"^https://comprehend\.[a-z0-9.-]*[a-z0-9-]\.amazonaws\.com$"#,
        #"^https://rekognition(-fips)?\.[a-z0-9.-]*[a-z0-9-]\.amazonaws\.com$"#,
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

    /// The URL, parsed and normalised (`ParsedURL`), must fully match one trusted pattern. The
    /// pattern sees the rebuilt URL, so user info, fragments, upper case and trailing dots in the
    /// host cannot make a different host look trusted.
    @discardableResult
    public func checkTrusted(url: String) throws(ConnectorError) -> ParsedURL {
        guard !trustedEndpointsRegex.isEmpty else {
            throw .illegalArgument("Trusted connector endpoints regex is not configured. Please set "
                + "plugins.ml_commons.trusted_connector_endpoints_regex.")
        }
        let parsed: ParsedURL
        do {
            parsed = try ParsedURL.parse(url)
        } catch {
            throw .illegalArgument("Connector URL is not matching the trusted connector endpoint regex, URL is: \(url) (\(error.message))")
        }
        guard trustedEndpointsRegex.contains(where: { FullMatchRegex.matches($0, parsed.canonical) }) else {
            throw .illegalArgument("Connector URL is not matching the trusted connector endpoint regex, URL is: \(url)")
        }
        return parsed
    }

    /// At create/update time: each action URL with the connector's own parameters filled in.
    public func checkTrusted(connector: ConnectorDefinition) throws(ConnectorError) {
        for url in Self.renderedURLs(of: connector) { try checkTrusted(url: url) }
    }

    /// Each action's URL with the connector's own parameters filled in. Placeholders only a
    /// predict request fills stand as `x` (a URL cannot contain `${…}`); the final URL is checked
    /// again at call time.
    public static func renderedURLs(of connector: ConnectorDefinition) -> [String] {
        let renderer = TemplateRenderer(values: RemoteParameters(connector: connector).templateValues,
                                        credential: nil, verbatim: [])
        return connector.actions.map { action in
            var text = renderer.render(action.url, mode: .url).text
            while let start = text.range(of: "${"), let end = text[start.upperBound...].firstIndex(of: "}") {
                text.replaceSubrange(start.lowerBound...end, with: "x")
            }
            return text
        }
    }

    /// Resolves the URL's host once and returns the address to connect to, refusing private
    /// ones unless allowed.
    public func resolve(url: String, resolver: any HostResolver) async throws(ConnectorError) -> IPAddress {
        let parsed = try ParsedURL.parse(url)
        let privateAllowed = privateIPEnabled
            || trustedPrivateEndpointsRegex.contains { FullMatchRegex.matches($0, parsed.canonical) }
        do {
            return try await AddressCheck.address(of: parsed, resolver: resolver) { privateAllowed || !$0.isPrivateOrLocal }
        } catch {
            switch error {
            case .unresolvable: throw .illegalArgument("Remote inference host name can't be resolved: \(parsed.host)")
            case .privateAddress: throw .illegalArgument("Remote inference host name has private ip address: \(parsed.host)")
            }
        }
    }
}

/// The one address check of every outbound call (connectors and model downloads): the host is
/// resolved once, every address it has must be public unless private ones are allowed, and the
/// caller connects to the returned address only (`PinnedHTTPClient`), so a name that resolves
/// elsewhere a moment later (DNS rebinding) gains nothing.
public enum AddressCheck {
    public enum Failure: Error { case unresolvable, privateAddress }

    /// `allowed` decides each address (normally: public, or private ones allowed by a setting).
    public static func address(of url: ParsedURL, resolver: any HostResolver,
                               allowed: (IPAddress) -> Bool) async throws(Failure) -> IPAddress {
        let addresses: [IPAddress]
        if let literal = IPAddress(url.host) {
            addresses = [literal]
        } else {
            do {
                addresses = try await resolver.resolve(host: url.host, port: url.port)
            } catch {
                throw .unresolvable
            }
        }
        guard let first = addresses.first else { throw .unresolvable }
        guard addresses.allSatisfy(allowed) else { throw .privateAddress }
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
