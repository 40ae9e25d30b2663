/// A refusal of the security module, with the HTTP status and OpenSearch error type the REST layer
/// should answer with. The reason never contains a password, hash or key secret.
public struct SecurityError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let type: String
    public let reason: String
    /// Seconds a throttled client should wait (sent as `Retry-After`).
    public var retryAfter: Int?

    public init(status: Int, type: String, reason: String) {
        self.status = status
        self.type = type
        self.reason = reason
    }

    public var description: String { reason }

    public static func badRequest(_ reason: String) -> SecurityError {
        SecurityError(status: 400, type: "illegal_argument_exception", reason: reason)
    }

    public static func notFound(_ reason: String) -> SecurityError {
        SecurityError(status: 404, type: "status_exception", reason: reason)
    }

    /// Missing or wrong credentials; the REST layer adds `WWW-Authenticate`.
    public static let unauthorized = SecurityError(status: 401, type: "security_exception", reason: "Unauthorized")

    public static func forbidden(_ reason: String) -> SecurityError {
        SecurityError(status: 403, type: "security_exception", reason: reason)
    }

    /// Too many failed logins for a user or an address; `retryAfter` seconds until the next attempt is heard.
    public static func throttled(retryAfter: Int) -> SecurityError {
        var error = SecurityError(status: 429, type: "security_exception",
                                  reason: "Too many failed login attempts; try again in \(retryAfter) seconds")
        error.retryAfter = retryAfter
        return error
    }

    /// Built-in roles (and anything else marked reserved) cannot be changed, as the security plugin answers.
    public static func reserved(_ name: String) -> SecurityError {
        forbidden("Resource '\(name)' is reserved.")
    }
}
