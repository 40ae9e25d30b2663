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

    public init(json: JSON) throws(ConnectorError) {
        guard let object = json.objectValue else { throw .illegalArgument("client_config must be an object") }
        func int(_ key: String, _ fallback: Int) throws(ConnectorError) -> Int {
            guard let value = object[key], !value.isNull else { return fallback }
            guard let number = value.intValue else { throw .illegalArgument("\(key) must be a number") }
            return Int(number)
        }
        maxConnection = try int("max_connection", maxConnection)
        connectionTimeoutSeconds = try int("connection_timeout", connectionTimeoutSeconds)
        readTimeoutSeconds = try int("read_timeout", readTimeoutSeconds)
        retryBackoffMillis = try int("retry_backoff_millis", retryBackoffMillis)
        retryTimeoutSeconds = try int("retry_timeout_seconds", retryTimeoutSeconds)
        maxRetryTimes = try int("max_retry_times", maxRetryTimes)
        if let policy = object["retry_backoff_policy"]?.stringValue {
            guard let parsed = BackoffPolicy(rawValue: policy.lowercased()) else {
                throw .illegalArgument("Unsupported retry backoff policy: \(policy)")
            }
            retryBackoffPolicy = parsed
        }
        skipSSLVerification = object["skip_ssl_verification"]?.boolValue ?? false
        guard maxConnection > 0 else { throw .illegalArgument("max_connection must be positive") }
        guard connectionTimeoutSeconds >= 0, readTimeoutSeconds >= 0, retryBackoffMillis >= 0, retryTimeoutSeconds >= 0,
              maxRetryTimes >= -1
        else { throw .illegalArgument("client_config values must not be negative (max_retry_times may be -1)") }
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
