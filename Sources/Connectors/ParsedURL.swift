import Foundation

/// The parts of an absolute http(s) URL the client needs.
struct ParsedURL: Sendable, Equatable {
    let scheme: String
    let host: String
    let port: Int
    /// Path with its query, as sent on the request line.
    let pathAndQuery: String
    let path: String
    let query: String?

    init?(_ text: String) {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              var host = components.host, !host.isEmpty
        else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.scheme = scheme
        self.host = host.lowercased()
        port = components.port ?? (scheme == "https" ? 443 : 80)
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        let query = components.percentEncodedQuery
        self.path = path
        self.query = query
        pathAndQuery = query.map { "\(path)?\($0)" } ?? path
    }

    var isDefaultPort: Bool { port == (scheme == "https" ? 443 : 80) }
}
