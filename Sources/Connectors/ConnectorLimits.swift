import OrderedJSON

/// Bounds on a connector definition: its author is as untrusted as any caller, and everything in
/// it is stored, decrypted, rendered and sent on every predict call.
public enum ConnectorLimits {
    public static let maxActions = 32
    public static let maxParameters = 256
    public static let maxParameterNameBytes = 256
    public static let maxParameterValueBytes = 1 << 20
    public static let maxCredentials = 32
    public static let maxCredentialValueBytes = 16 << 10
    public static let maxHeaders = 64
    public static let maxRequestBodyBytes = 1 << 20
    public static let maxFunctionNameBytes = 64 << 10

    static func check(_ connector: ConnectorDefinition) throws(ConnectorError) {
        try bound(connector.actions.count, maxActions, "actions")
        try bound(connector.parameters.count, maxParameters, "parameters")
        for (key, value) in connector.parameters {
            try bound(key.utf8.count, maxParameterNameBytes, "bytes in parameter name '\(key.prefix(64))'")
            try bound(value.parameterText.utf8.count, maxParameterValueBytes, "bytes in parameter '\(key.prefix(64))'")
        }
        try bound(connector.credential.count, maxCredentials, "credential entries")
        for (key, value) in connector.credential {
            try bound(key.utf8.count, maxParameterNameBytes, "bytes in a credential name")
            try bound(value.utf8.count, maxCredentialValueBytes, "bytes in credential '\(key.prefix(64))'")
        }
        for action in connector.actions {
            try bound(action.url.utf8.count, ParsedURL.maxLength, "bytes in an action url")
            try bound(action.headers.count, maxHeaders, "headers in an action")
            for (name, value) in action.headers {
                guard PreparedRequest.isValidHeaderName(name) else { throw PreparedRequest.invalidHeaderName(name) }
                try bound(value.parameterText.utf8.count, PreparedRequest.maxHeaderValueBytes, "bytes in header '\(name.prefix(64))'")
            }
            try bound(action.requestBody?.utf8.count ?? 0, maxRequestBodyBytes, "bytes in a request_body")
            try bound(action.preProcessFunction?.utf8.count ?? 0, maxFunctionNameBytes, "bytes in pre_process_function")
            try bound(action.postProcessFunction?.utf8.count ?? 0, maxFunctionNameBytes, "bytes in post_process_function")
        }
    }

    private static func bound(_ value: Int, _ limit: Int, _ what: String) throws(ConnectorError) {
        guard value <= limit else { throw .illegalArgument("A connector may have at most \(limit) \(what); this one has \(value)") }
    }
}
