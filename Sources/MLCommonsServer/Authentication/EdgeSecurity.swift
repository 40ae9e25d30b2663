import Logging
import OrderedJSON
import Security

/// Security at the HTTP edge, when it is on: who sent the request (401 when no one we know) and
/// whether the route allows them (403), with an audit line for every refusal. Lines name the user,
/// the client's address, the action and the route, never a password, key or header value.
struct EdgeSecurity: Sendable {
    let authenticator: Authenticator
    let audit: Logger

    init(authenticator: Authenticator, logger: Logger) {
        self.authenticator = authenticator
        var audit = logger
        audit[metadataKey: "audit"] = "true"
        self.audit = audit
    }

    /// The caller of a request, from its `Authorization` header.
    func authenticate(authorization: String?, address: String, method: String, path: String) async throws -> Authenticator.Authenticated {
        let presented: Authenticator.Presented
        switch Credentials(authorization: authorization) {
        case .basic(let user, let password): presented = .basic(user: user, password: password)
        case .bearer(let token): presented = .apiKey(token)
        case .none:
            record("AUTHENTICATION_FAILED", user: nil, address: address, method: method, path: path, detail: "no credentials")
            throw SecurityError.unauthorized
        case .malformed(let why):
            record("AUTHENTICATION_FAILED", user: nil, address: address, method: method, path: path, detail: why)
            throw SecurityError.unauthorized
        }
        let claimed: String? = if case .basic(let user, _) = presented { user } else { nil }
        do {
            return try await authenticator.authenticate(presented, address: address)
        } catch let error as SecurityError {
            let detail = error.status == 429 ? "throttled after repeated failures" : claimed == nil ? "unknown or revoked API key" : "wrong user name or password"
            record("AUTHENTICATION_FAILED", user: claimed, address: address, method: method, path: path, detail: detail)
            throw error
        }
    }

    /// Nil when the caller may use the route; else the refusal to answer with.
    func refusal(_ caller: Authenticator.Authenticated, access: RouteAccess, address: String, method: String, path: String) -> APIReply? {
        let principal = caller.principal
        switch access {
        case .anonymous, .authenticated:
            return nil
        case .action(let action):
            if caller.permits(action) { return nil }
            record("MISSING_PRIVILEGES", user: principal.name, address: address, method: method, path: path, detail: "action \(action)")
            return ErrorReplies.reply(for: SecurityError.forbidden(Authorization.deniedMessage(principal, action: action)))
        case .securityAdmin:
            if principal.isAdmin && principal.apiKeyID == nil { return nil }
            record("MISSING_PRIVILEGES", user: principal.name, address: address, method: method, path: path, detail: "security REST API")
            let how = principal.apiKeyID == nil ? "" : " (an API key cannot change security configuration)"
            return SecurityReplies.status(403, "No permission to access REST API: User \(principal.name) with Security roles "
                + "[\(principal.roles.joined(separator: ", "))] does not have any role privileged for admin access\(how)")
        }
    }

    /// One audit line; values are quoted and cut so a hostile user name cannot forge other lines.
    func record(_ category: String, user: String?, address: String, method: String, path: String, detail: String) {
        audit.warning("audit \(category) user=\(Self.quoted(user ?? "<none>")) address=\(address) request=\"\(method) \(Self.quoted(path, quotes: false))\" \(detail)")
    }

    static func quoted(_ text: String, quotes: Bool = true) -> String {
        let cleaned = String(text.prefix(200).unicodeScalars.map { $0.properties.generalCategory == .control || $0 == "\"" ? "?" : Character($0) })
        return quotes ? "\"\(cleaned)\"" : cleaned
    }
}
