import OrderedJSON

/// An outbound HTTP request with every placeholder filled.
public struct PreparedRequest: Sendable {
    public var method: ConnectorAction.Method
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: String?

    public init(method: ConnectorAction.Method, url: String, headers: [(name: String, value: String)], body: String?) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Fills an action's url, headers and body (§6.4 steps 3-5).
    public init(action: ConnectorAction, credential: [String: String],
                parameters: RemoteParameters) throws(ConnectorError) {
        let values = parameters.templateValues
        let bodyRenderer = TemplateRenderer(values: values, credential: nil, verbatim: parameters.verbatimKeys)
        let textRenderer = TemplateRenderer(values: values, credential: nil, verbatim: [])
        let headerRenderer = TemplateRenderer(values: values, credential: credential, verbatim: [])

        var body: String?
        if let template = action.requestBody {
            let rendered = bodyRenderer.render(template, mode: .jsonBody)
            if !rendered.missingParameters.isEmpty && !parameters.flag("skip_validating_missing_parameters") {
                throw .illegalArgument("Some parameter placeholder not filled in payload: "
                    + rendered.missingParameters.joined(separator: ", "))
            }
            body = rendered.text
        } else if let verbatim = parameters["http_body"] {
            body = verbatim
        }
        if let body, !body.isEmpty, !Self.isJSONOrNDJSON(body) {
            throw .illegalArgument("Invalid payload: \(body)")
        }

        let url = textRenderer.render(action.url, mode: .plainText)
        guard url.missingParameters.isEmpty else {
            throw .illegalArgument("Some parameter placeholder not filled in url: " + url.missingParameters.joined(separator: ", "))
        }
        guard ParsedURL(url.text) != nil else { throw .illegalArgument("Encountered error when trying to create uri from endpoint in ml connector. Please update the endpoint in connection configuration.") }

        var headers: [(name: String, value: String)] = []
        for (name, template) in action.headers {
            let rendered = headerRenderer.render(template.parameterText, mode: .plainText)
            if !rendered.missingParameters.isEmpty || !rendered.missingCredentials.isEmpty {
                throw .illegalArgument("Header '\(name)' contains unresolved placeholder. Required parameter is missing.")
            }
            if rendered.text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                throw .illegalArgument("Header '\(name)' contains a line break or NUL character.")
            }
            headers.append((name, rendered.text))
        }
        if !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/json"))
        }
        self.init(method: action.method, url: url.text, headers: headers, body: body)
    }

    static func isJSONOrNDJSON(_ text: String) -> Bool {
        if JSON.parseOrNil(text) != nil { return true }
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        return lines.count > 1 && lines.allSatisfy { JSON.parseOrNil(String($0)) != nil }
    }
}
