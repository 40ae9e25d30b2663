/// A failure the server turns into an OpenSearch error body: `status` is the HTTP status, `type`
/// the snake_case exception name OpenSearch would print, `message` the reason text.
public struct ConnectorError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let type: String
    public let message: String

    public init(status: Int, type: String, message: String) {
        self.status = status
        self.type = type
        self.message = message
    }

    public var description: String { "\(type) (\(status)): \(message)" }

    /// 400 `illegal_argument_exception`, the reference's usual validation failure.
    public static func illegalArgument(_ message: String) -> ConnectorError {
        ConnectorError(status: 400, type: "illegal_argument_exception", message: message)
    }

    /// `status_exception` with an explicit status (OpenSearchStatusException).
    public static func status(_ status: Int, _ message: String) -> ConnectorError {
        ConnectorError(status: status, type: "status_exception", message: message)
    }

    /// 500 `m_l_exception`.
    public static func mlException(_ message: String) -> ConnectorError {
        ConnectorError(status: 500, type: "m_l_exception", message: message)
    }

    /// 400 `parse_exception`.
    public static func parse(_ message: String) -> ConnectorError {
        ConnectorError(status: 400, type: "parse_exception", message: message)
    }
}
