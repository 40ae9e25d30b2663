/// What an `aws_sigv4` connector signs with (§6.1). Region and service name may sit in the
/// parameters (request values included) or in the credential.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKey: String
    public var secretKey: String
    public var sessionToken: String?
    public var region: String
    public var serviceName: String

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil, region: String, serviceName: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
        self.region = region
        self.serviceName = serviceName
    }

    init(credential: [String: String], parameter: (String) -> String?) throws(ConnectorError) {
        guard let access = credential["access_key"], !access.isEmpty, let secret = credential["secret_key"], !secret.isEmpty else {
            throw .illegalArgument("Missing credential")
        }
        guard let region = parameter("region") ?? credential["region"], !region.isEmpty else {
            throw .illegalArgument("Missing region")
        }
        guard let service = parameter("service_name") ?? credential["service_name"], !service.isEmpty else {
            throw .illegalArgument("Missing service name")
        }
        let token = credential["session_token"].flatMap { $0.isEmpty ? nil : $0 }
        self.init(accessKey: access, secretKey: secret, sessionToken: token, region: region, serviceName: service)
    }

    init(connector: ConnectorDefinition) throws(ConnectorError) {
        try self.init(credential: connector.credential, parameter: { connector.parameters.text($0) })
    }
}
