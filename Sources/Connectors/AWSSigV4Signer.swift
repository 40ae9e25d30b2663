import Crypto
import Foundation

/// AWS Signature Version 4 for a request with an in-memory body, as botocore's `SigV4Auth`
/// computes it: every header except hop-by-hop and tracing ones is signed, plus `host` and
/// `x-amz-date` (and `x-amz-security-token` with temporary credentials).
public struct AWSSigV4Signer: Sendable {
    public let credentials: AWSCredentials

    public init(credentials: AWSCredentials) { self.credentials = credentials }

    static let unsignedHeaders: Set<String> = [
        "authorization", "baggage", "connection", "expect", "keep-alive", "proxy-authenticate", "proxy-authorization",
        "te", "traceparent", "tracestate", "trailer", "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
    ]

    /// The request with `Host`, `X-Amz-Date`, `X-Amz-Security-Token` and `Authorization` set.
    public func sign(_ request: PreparedRequest, date: Date = Date()) throws(ConnectorError) -> PreparedRequest {
        guard let url = ParsedURL(request.url) else { throw .illegalArgument("Invalid URL for SigV4 signing") }
        let timestamp = Self.timestamp(date)
        let day = String(timestamp.prefix(8))
        let dropped: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token", "host", "date"]
        var headers = request.headers.filter { !dropped.contains($0.name.lowercased()) }
        let hostValue = url.host.contains(":") ? "[\(url.host)]" : url.host
        headers.insert(("Host", url.isDefaultPort ? hostValue : "\(hostValue):\(url.port)"), at: 0)
        headers.append(("X-Amz-Date", timestamp))
        if let token = credentials.sessionToken { headers.append(("X-Amz-Security-Token", token)) }

        var signed: [String: [String]] = [:]
        for header in headers where !Self.unsignedHeaders.contains(header.name.lowercased()) {
            signed[header.name.lowercased(), default: []].append(header.value.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
        let names = signed.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(signed[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let payloadHash = Self.hex(SHA256.hash(data: Array((request.body ?? "").utf8)))
        let canonicalRequest = [
            request.method.rawValue, Self.canonicalPath(url.path), Self.canonicalQuery(url.query),
            canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")

        let scope = "\(day)/\(credentials.region)/\(credentials.serviceName)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", timestamp, scope,
                            Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretKey)".utf8))
        for part in [day, credentials.region, credentials.serviceName, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        headers.append(("Authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKey)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"))
        return PreparedRequest(method: request.method, url: request.url, headers: headers, body: request.body)
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// The path with dot segments removed, then every byte but unreserved ones and `/`
    /// percent-encoded (existing escapes are encoded again, as for all services but S3).
    static func canonicalPath(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            if segment == "." { continue }
            if segment == ".." { if !segments.isEmpty { segments.removeLast() }; continue }
            segments.append(segment)
        }
        let normalized = "/" + segments.joined(separator: "/")
        return percentEncode(normalized, keeping: "/")
    }

    /// Query pairs as sent, sorted by name then value.
    static func canonicalQuery(_ query: String?) -> String {
        guard let query, !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func percentEncode(_ text: String, keeping extra: Character) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)))
                || "-_.~".unicodeScalars.contains(scalar) || Character(scalar) == extra {
                out.unicodeScalars.append(scalar)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
