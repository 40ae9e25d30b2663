import OrderedJSON

public enum ConnectorProtocol: String, Sendable, CaseIterable {
    case http
    case awsSigV4 = "aws_sigv4"
    case mcpSSE = "mcp_sse"
    case mcpStreamableHTTP = "mcp_streamable_http"

    var isMCP: Bool { self == .mcpSSE || self == .mcpStreamableHTTP }
}

/// A connector as §6.1 describes it, parsed and validated. Parameters and headers hold strings
/// (non-string JSON values are kept as their compact JSON text, as the reference stores them).
public struct ConnectorDefinition: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var version: String
    public var `protocol`: ConnectorProtocol
    public var parameters: JSONObject
    /// Plain-text credential values (decrypt before building the definition for a call).
    public var credential: [String: String]
    public var actions: [ConnectorAction]
    public var clientConfig: ClientConfig?

    public init(name: String, description: String? = nil, version: String, protocol: ConnectorProtocol,
                parameters: JSONObject = [:], credential: [String: String], actions: [ConnectorAction],
                clientConfig: ClientConfig? = nil) throws(ConnectorError) {
        self.name = name
        self.description = description
        self.version = version
        self.protocol = `protocol`
        self.parameters = parameters.parameterStrings
        self.credential = credential
        self.actions = actions
        self.clientConfig = clientConfig
        try validate()
    }

    /// Parses the create body (§6.1/§6.2). Keys the library does not model (access control,
    /// `connector_id`, `dry_run`) are left to the caller.
    public init(json: JSON) throws(ConnectorError) {
        guard let object = json.objectValue else { throw .illegalArgument("Connector must be a JSON object") }
        guard let name = object["name"], !name.isNull else { throw .illegalArgument("Connector name is null") }
        guard let version = object["version"], !version.isNull else { throw .illegalArgument("Connector version is null") }
        guard let protocolText = object["protocol"]?.stringValue else { throw .illegalArgument("Connector protocol is null") }
        guard let parsedProtocol = ConnectorProtocol(rawValue: protocolText) else {
            throw .illegalArgument("Unsupported connector protocol. Please use one of \(Self.protocolList)")
        }
        var credential: [String: String] = [:]
        for (key, value) in object["credential"]?.objectValue ?? [:] { credential[key] = value.parameterText }
        var actions: [ConnectorAction] = []
        for action in object["actions"]?.arrayValue ?? [] { actions.append(try ConnectorAction(json: action)) }
        let clientConfig: ClientConfig? = try object["client_config"].flatMap { json throws(ConnectorError) in
            json.isNull ? nil : try ClientConfig(json: json)
        }
        try self.init(name: name.parameterText, description: object["description"]?.stringValue,
                      version: version.parameterText, protocol: parsedProtocol,
                      parameters: object["parameters"]?.objectValue ?? [:], credential: credential,
                      actions: actions, clientConfig: clientConfig)
    }

    static var protocolList: String {
        "[" + ConnectorProtocol.allCases.map(\.rawValue).sorted().joined(separator: ", ") + "]"
    }

    func validate() throws(ConnectorError) {
        if !`protocol`.isMCP && credential.isEmpty { throw .illegalArgument("Connector credential is null or empty list") }
        if actions.isEmpty && !`protocol`.isMCP { throw .illegalArgument("No actions configured for this connector") }
        try ConnectorLimits.check(self)
        for action in actions { try HeaderRules.validate(action.headers, protocol: `protocol`) }
        if `protocol` == .awsSigV4 { _ = try AWSCredentials(connector: self) }
    }

    /// The action to run: by `action_type`, or by a custom action `name`.
    public func action(named nameOrType: String) -> ConnectorAction? {
        if let type = ConnectorAction.ActionType(parsing: nameOrType) {
            return actions.first { $0.actionType == type && $0.name == nil } ?? actions.first { $0.actionType == type }
        }
        return actions.first { $0.name == nameOrType }
    }

    /// The connector JSON. Credentials are only written when asked for (storage, encrypted);
    /// responses use the default, which leaves them out.
    public func json(credential storedCredential: [String: String]? = nil) -> JSON {
        var object: JSONObject = ["name": .string(name), "version": .string(version)]
        if let description { object["description"] = .string(description) }
        object["protocol"] = .string(`protocol`.rawValue)
        object["parameters"] = .object(parameters)
        if let storedCredential {
            object["credential"] = .object(JSONObject(storedCredential.sorted { $0.key < $1.key }
                .map { (key: $0.key, value: JSON.string($0.value)) }))
        }
        object["actions"] = .array(actions.map(\.json))
        if let clientConfig { object["client_config"] = clientConfig.json }
        return .object(object)
    }
}
