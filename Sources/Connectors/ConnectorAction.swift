import OrderedJSON

/// One entry of a connector's `actions`: how to call the provider for one action type.
public struct ConnectorAction: Sendable, Equatable {
    public enum ActionType: String, Sendable, CaseIterable {
        case predict, execute
        case batchPredict = "batch_predict"
        case cancelBatchPredict = "cancel_batch_predict"
        case batchPredictStatus = "batch_predict_status"

        /// Case-insensitive, as the reference parses it.
        public init?(parsing text: String) { self.init(rawValue: text.lowercased()) }
    }

    public enum Method: String, Sendable, CaseIterable { case POST, GET, PUT, DELETE }

    public var actionType: ActionType
    public var name: String?
    public var method: Method
    public var url: String
    /// Header templates, values as strings, in the order given.
    public var headers: JSONObject
    public var requestBody: String?
    public var preProcessFunction: String?
    public var postProcessFunction: String?
    public var supportsStructuredOutput: Bool

    public init(actionType: ActionType, name: String? = nil, method: Method, url: String, headers: JSONObject = [:],
                requestBody: String? = nil, preProcessFunction: String? = nil, postProcessFunction: String? = nil,
                supportsStructuredOutput: Bool = false) {
        self.actionType = actionType
        self.name = name
        self.method = method
        self.url = url
        self.headers = headers.parameterStrings
        self.requestBody = requestBody
        self.preProcessFunction = preProcessFunction
        self.postProcessFunction = postProcessFunction
        self.supportsStructuredOutput = supportsStructuredOutput
    }

    public init(json: JSON) throws(ConnectorError) {
        guard let object = json.objectValue else { throw .illegalArgument("action must be an object") }
        guard let typeText = object["action_type"]?.stringValue else { throw .illegalArgument("action type can't be null") }
        guard let type = ActionType(parsing: typeText) else {
            throw .illegalArgument("Invalid action type: \(typeText). Valid values: \(ActionType.allCases.map(\.rawValue))")
        }
        guard let url = object["url"]?.stringValue else { throw .illegalArgument("url can't be null") }
        guard let methodText = object["method"]?.stringValue else { throw .illegalArgument("method can't be null") }
        guard let method = Method(rawValue: methodText.uppercased()) else {
            throw .illegalArgument("Unsupported HTTP method: \(methodText)")
        }
        let name = object["name"]?.stringValue
        if let name {
            guard name.count <= 64, !name.isEmpty,
                  name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") })
            else { throw .illegalArgument("Action name must match [A-Za-z0-9_-]{1,64}: \(name)") }
            guard ActionType(parsing: name) == nil else {
                throw .illegalArgument("Action name cannot be the same as an action type: \(name)")
            }
        }
        let body: String?
        switch object["request_body"] {
        case nil, .null?: body = nil
        case .string(let text)?: body = text
        case let other?: body = other.serialized
        }
        self.init(actionType: type, name: name, method: method, url: url, headers: object["headers"]?.objectValue ?? [:],
                  requestBody: body, preProcessFunction: object["pre_process_function"]?.stringValue,
                  postProcessFunction: object["post_process_function"]?.stringValue,
                  supportsStructuredOutput: object["supports_structured_output"]?.boolValue ?? false)
    }

    public var json: JSON {
        var object: JSONObject = ["action_type": .string(actionType.rawValue.uppercased())]
        if let name { object["name"] = .string(name) }
        object["method"] = .string(method.rawValue)
        object["url"] = .string(url)
        if !headers.isEmpty { object["headers"] = .object(headers) }
        if let requestBody { object["request_body"] = .string(requestBody) }
        if let preProcessFunction { object["pre_process_function"] = .string(preProcessFunction) }
        if let postProcessFunction { object["post_process_function"] = .string(postProcessFunction) }
        if supportsStructuredOutput { object["supports_structured_output"] = true }
        return .object(object)
    }
}
