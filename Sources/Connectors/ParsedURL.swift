import Foundation

/// The parts of an absolute http(s) URL the client needs, with the host in the one spelling the
/// checks and the connection both use (see `HostName`). `canonical` is what gets matched against
/// the trusted patterns and what is handed to the HTTP client, so the DNS pin (keyed by host)
/// always applies.
public struct ParsedURL: Sendable, Equatable {
    public let scheme: String
    /// Lower-case name without a trailing dot, dotted-quad IPv4, or IPv6 without brackets.
    public let host: String
    public let port: Int
    /// Path with its query, as sent on the request line.
    public let pathAndQuery: String
    public let path: String
    public let query: String?
    /// The URL had no path at all (`https://host`), which trusted patterns may require.
    let hasEmptyPath: Bool

    /// Longest URL sent anywhere (request line limits of common servers are 8-16 KiB).
    public static let maxLength = 16 << 10

    public init?(_ text: String) {
        guard let parsed = try? Self.parse(text) else { return nil }
        self = parsed
    }

    private init(scheme: String, host: String, port: Int, path: String, query: String?, hasEmptyPath: Bool) {
        self.hasEmptyPath = hasEmptyPath
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        pathAndQuery = query.map { "\(path)?\($0)" } ?? path
    }

    /// Parses and normalises, or says why the URL cannot be used.
    public static func parse(_ text: String) throws(ConnectorError) -> ParsedURL {
        guard text.utf8.count <= maxLength else { throw .illegalArgument("URL is longer than \(maxLength) bytes") }
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let rawHost = components.percentEncodedHost, !rawHost.isEmpty
        else { throw .illegalArgument("Invalid URL: \(text)") }
        // `user@host` is how `https://trusted.example@evil.example/` fools a reader; nobody needs it here.
        guard components.percentEncodedUser == nil, components.percentEncodedPassword == nil else {
            throw .illegalArgument("URL must not contain user information: \(text)")
        }
        let host = try HostName.normalise(rawHost)
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65_535).contains(port) else { throw .illegalArgument("Invalid port in URL: \(text)") }
        let hasEmptyPath = components.percentEncodedPath.isEmpty
        let path = hasEmptyPath ? "/" : components.percentEncodedPath
        guard path.hasPrefix("/") else { throw .illegalArgument("Invalid URL: \(text)") }
        // Also after decoding `%2F`/`%5C`: servers that decode them before resolving dot segments exist.
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            let decoded = segment.removingPercentEncoding ?? String(segment)
            if decoded.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "/" || $0 == "\\" })
                .contains(where: { $0 == "." || $0 == ".." }) {
                throw .illegalArgument("URL path must not contain '.' or '..' segments: \(text)")
            }
        }
        return ParsedURL(scheme: scheme, host: host, port: port, path: path, query: components.percentEncodedQuery,
                         hasEmptyPath: hasEmptyPath)
    }

    public var isDefaultPort: Bool { port == (scheme == "https" ? 443 : 80) }

    /// `host[:port]` as it goes in a URL or a `Host` header.
    public var authority: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return isDefaultPort ? bracketed : "\(bracketed):\(port)"
    }

    /// Scheme, host and port: who receives the request.
    public var origin: String { "\(scheme)://\(authority)" }

    /// The URL rebuilt from its parts (no user info, no fragment, normalised host).
    public var canonical: String {
        hasEmptyPath ? origin + (query.map { "?\($0)" } ?? "") : origin + pathAndQuery
    }

    /// `reference` (a redirect's `Location`) resolved against this URL.
    public func resolving(_ reference: String) throws(ConnectorError) -> ParsedURL {
        guard let base = URL(string: canonical), let target = URL(string: reference, relativeTo: base)?.absoluteString else {
            throw .illegalArgument("Invalid redirect location")
        }
        return try Self.parse(target)
    }
}

/// Host names in the one form the OS resolves them to, or refused: a check keyed by one spelling
/// (`API.OPENAI.COM`, `api.openai.com.`, `2130706433`, `0177.0.0.1`, `127.1`) must not be passed by
/// another spelling of the same address.
public enum HostName {
    public static func normalise(_ raw: String) throws(ConnectorError) -> String {
        var host = raw
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { throw .illegalArgument("Invalid IPv6 address in URL: \(raw)") }
            host = String(host.dropFirst().dropLast())
        }
        if host.contains(":") {
            // Zone ids (`fe80::1%25eth0`) pick an interface; not a remote address.
            guard !host.contains("%"), let address = IPAddress(host), !address.isIPv4 else {
                throw .illegalArgument("Invalid IPv6 address in URL: \(raw)")
            }
            return address.description
        }
        host = host.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard !host.isEmpty, host.utf8.count <= 253,
              labels.allSatisfy({ label in
                  (1...63).contains(label.utf8.count)
                      && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
              })
        else { throw .illegalArgument("Invalid host name in URL: \(raw)") }
        // A name whose last label is a number is an IPv4 address to the resolver (in decimal,
        // octal or hex, with 1-4 parts): only the plain dotted-quad spelling is accepted.
        if let last = labels.last, last.allSatisfy({ $0.isNumber }) || (last.hasPrefix("0x") && last.dropFirst(2).allSatisfy(\.isHexDigit)) {
            guard labels.count == 4, labels.allSatisfy(isCanonicalOctet) else {
                throw .illegalArgument("Host \(raw) is an IPv4 address in an unusual form: write it as four decimal numbers (a.b.c.d)")
            }
        }
        return host
    }

    private static func isCanonicalOctet(_ label: Substring) -> Bool {
        guard label.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(label), value <= 255 else { return false }
        return label == "0" || !label.hasPrefix("0")
    }
}
