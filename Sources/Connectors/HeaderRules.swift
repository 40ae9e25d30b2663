import OrderedJSON

/// Which header templates may take `${parameters.*}` (§6.6): request parameters are caller
/// controlled, so identity and routing headers may only be filled from credentials.
enum HeaderRules {
    static let credentialOnlyHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token", "x-auth-header",
        "x-forwarded-for", "x-real-ip", "x-client-ip", "cf-connecting-ip", "true-client-ip", "x-originating-ip",
        "host", "x-forwarded-host", "x-forwarded-server", "forwarded",
    ]

    static func validate(_ headers: JSONObject, protocol: ConnectorProtocol) throws(ConnectorError) {
        for (name, value) in headers {
            guard value.parameterText.contains("${parameters.") else { continue }
            if `protocol`.isMCP || credentialOnlyHeaders.contains(name.lowercased()) {
                throw .illegalArgument(
                    "Header '\(name)' cannot use ${parameters.*} placeholders for security reasons. Use ${credential.*} instead.")
            }
        }
    }
}
