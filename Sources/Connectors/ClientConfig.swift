import OrderedJSON

/// `client_config` of a connector: connection pool size, timeouts (seconds) and retry policy.
/// Missing keys take the reference's defaults.
public struct ClientConfig: Sendable, Hashable {
    public enum BackoffPolicy: String, Sendable, Hashable {
        case constant
        case exponentialEqualJitter = "exponential_equal_jitter"
        case exponentialFullJitter = "exponential_full_jitter"
    }

    public var maxConnection = 30
    public var connectionTimeoutSeconds = 30
    public var readTimeoutSeconds = 30
    public var retryBackoffMillis = 200
    public var retryTimeoutSeconds = 30
    /// 0 = no retry; -1 = retry until `retryTimeoutSeconds` has passed.
    public var maxRetryTimes = 0
    public var retryBackoffPolicy = BackoffPolicy.constant
    public var skipSSLVerification = false

    public init() {}

    /// Allowed values (seconds for timeouts): wide enough for any real use, small enough that
    /// every sum and product the client forms stays far from overflow.
    public static let maxConnectionRange = 1...1_000
    public static let timeoutRange = 0...86_400
    public static let backoffMillisRange = 0...600_000
    public static let retryTimesRange = -1...1_000

    public init(json: JSON) throws(ConnectorError) {
        guard let object = json.objectValue else { throw .illegalArgument("client_config must be an object") }
        // Ranges are checked before any conversion: a timeout of Int64.max, 1e30 or NaN would trap
        // later in duration arithmetic and take the whole server down.
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(ConnectorError) -> Int {
            guard let value = object[key], !value.isNull else { return fallback }
            guard let number = value.intValue else { throw .illegalArgument("\(key) must be an integer, got \(value.serialized.prefix(64))") }
            guard number >= Int64(range.lowerBound), number <= Int64(range.upperBound) else {
                throw .illegalArgument("\(key) must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
            }
            return Int(number)
        }
        maxConnection = try int("max_connection", maxConnection, Self.maxConnectionRange)
        connectionTimeoutSeconds = try int("connection_timeout", connectionTimeoutSeconds, Self.timeoutRange)
        readTimeoutSeconds = try int("read_timeout", readTimeoutSeconds, Self.timeoutRange)
        retryBackoffMillis = try int("retry_backoff_millis", retryBackoffMillis, Self.backoffMillisRange)
        retryTimeoutSeconds = try int("retry_timeout_seconds", retryTimeoutSeconds, Self.timeoutRange)
        maxRetryTimes = try int("max_retry_times", maxRetryTimes, Self.retryTimesRange)
        if let policy = object["retry_backoff_policy"]?.stringValue {
            guard let parsed = BackoffPolicy(rawValue: policy.lowercased()) else {
                throw .illegalArgument("Unsupported retry backoff policy: \(policy)")
            }
            retryBackoffPolicy = parsed
        }
        skipSSLVerification = object["skip_ssl_verification"]?.boolValue ?? false
    }

    public var json: JSON {
        [
            "max_connection": JSON(maxConnection), "connection_timeout": JSON(connectionTimeoutSeconds),
            "read_timeout": JSON(readTimeoutSeconds), "retry_backoff_millis": JSON(retryBackoffMillis),
            "retry_timeout_seconds": JSON(retryTimeoutSeconds), "max_retry_times": JSON(maxRetryTimes),
            "retry_backoff_policy": .string(retryBackoffPolicy.rawValue),
            "skip_ssl_verification": .bool(skipSSLVerification),
        ]
    }
}
