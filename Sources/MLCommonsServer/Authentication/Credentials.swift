import Foundation

/// What a request's `Authorization` header claims, read defensively: HTTP Basic (`user:password`,
/// base64) or a bearer token (API keys, OpenAI-style clients). Checking the claim is the `Security`
/// module's job; this only takes the header apart.
enum Credentials: Equatable, Sendable {
    case none
    case basic(user: String, password: String)
    case bearer(String)
    /// A header that is present but unusable; the reason names the problem, never the header's content.
    case malformed(String)

    /// Longest user name or password taken: the security plugin's own limits are far below this.
    static let maxPartLength = 1024
    /// Longest bearer token taken.
    static let maxTokenLength = 4096

    init(authorization header: String?) {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else {
            self = .none
            return
        }
        let scheme = header.prefix { $0 != " " }.lowercased()
        let value = header.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
        switch scheme {
        case "basic": self = Self.basic(value)
        // `ApiKey` is how OpenSearch's own API keys are sent; OpenAI-style clients send `Bearer`.
        case "bearer", "apikey":
            guard !value.isEmpty, value.utf8.count <= Self.maxTokenLength, value.unicodeScalars.allSatisfy(Self.isTokenCharacter) else {
                self = .malformed("the bearer token is empty, too long or holds characters a token cannot")
                return
            }
            self = .bearer(value)
        default:
            self = .malformed("unsupported authorization scheme; use Basic or Bearer")
        }
    }

    private static func basic(_ encoded: String) -> Credentials {
        // Base64 of at most two parts of maxPartLength bytes and a colon.
        guard encoded.utf8.count <= (2 * maxPartLength + 1) * 4 / 3 + 4,
              let decoded = Data(base64Encoded: encoded), let text = String(data: decoded, encoding: .utf8) else {
            return .malformed("the Basic credentials are not base64 of UTF-8 text")
        }
        guard let colon = text.firstIndex(of: ":") else { return .malformed("the Basic credentials have no ':' between user and password") }
        let user = String(text[..<colon])
        let password = String(text[text.index(after: colon)...])
        guard !user.isEmpty, user.utf8.count <= maxPartLength, password.utf8.count <= maxPartLength,
              !user.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return .malformed("the Basic credentials have an empty, too long or control-character user name, or a too long password")
        }
        return .basic(user: user, password: password)
    }

    /// RFC 6750 `b64token` characters.
    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "-", ".", "_", "~", "+", "/", "=": true
        default: false
        }
    }

    /// The user a request names (before anyone checked the password): what controllers key their
    /// per-user limits on while security is off.
    var claimedUser: String? {
        if case .basic(let user, _) = self { return user }
        return nil
    }
}
