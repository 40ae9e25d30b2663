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
            guard !rendered.overflowed else { throw Self.expansionTooLarge }
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

        let url = textRenderer.render(action.url, mode: .url)
        guard !url.overflowed else { throw Self.expansionTooLarge }
        guard url.missingParameters.isEmpty else {
            throw .illegalArgument("Some parameter placeholder not filled in url: " + url.missingParameters.joined(separator: ", "))
        }
        let parsedURL: ParsedURL
        do {
            parsedURL = try ParsedURL.parse(url.text)
        } catch {
            throw .illegalArgument("Encountered error when trying to create uri from endpoint in ml connector. Please update the endpoint in connection configuration. (\(error.message))")
        }

        var headers: [(name: String, value: String)] = []
        for (name, template) in action.headers {
            let rendered = headerRenderer.render(template.parameterText, mode: .plainText)
            guard !rendered.overflowed else { throw Self.expansionTooLarge }
            if !rendered.missingParameters.isEmpty || !rendered.missingCredentials.isEmpty {
                throw .illegalArgument("Header '\(name)' contains unresolved placeholder. Required parameter is missing.")
            }
            headers.append((name, rendered.text))
        }
        if !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/json"))
        }
        self.init(method: action.method, url: parsedURL.canonical, headers: headers, body: body)
        try checkSendable()
    }

    /// Caps on what goes on the wire, checked before the HTTP client sees the request: a header
    /// built from request parameters can be as long as the request body, and the client traps on
    /// some oversized or malformed heads instead of failing.
    public static let maxHeaderCount = 100
    public static let maxHeaderNameBytes = 256
    public static let maxHeaderValueBytes = 16 << 10
    public static let maxHeaderTotalBytes = 32 << 10

    /// Refuses header names that are not HTTP tokens, oversized headers and URLs.
    public func checkSendable() throws(ConnectorError) {
        guard url.utf8.count <= ParsedURL.maxLength else {
            throw .illegalArgument("The request URL is longer than \(ParsedURL.maxLength) bytes")
        }
        guard headers.count <= Self.maxHeaderCount else {
            throw .illegalArgument("The request has more than \(Self.maxHeaderCount) headers")
        }
        var total = 0
        for (name, value) in headers {
            guard Self.isValidHeaderName(name) else { throw Self.invalidHeaderName(name) }
            guard value.utf8.count <= Self.maxHeaderValueBytes else {
                throw .illegalArgument("Header '\(name)' is longer than \(Self.maxHeaderValueBytes) bytes")
            }
            guard !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw .illegalArgument("Header '\(name)' contains a line break or NUL character.")
            }
            total += name.utf8.count + value.utf8.count + 4
        }
        guard total <= Self.maxHeaderTotalBytes else {
            throw .illegalArgument("The request headers are longer than \(Self.maxHeaderTotalBytes) bytes in total")
        }
    }

    /// An RFC 9110 token of at most `maxHeaderNameBytes` (NIO traps on a non-ASCII header name).
    static func isValidHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= maxHeaderNameBytes && name.utf8.allSatisfy(isTokenByte)
    }

    static func invalidHeaderName(_ name: String) -> ConnectorError {
        .illegalArgument("Header name '\(name.prefix(64))' is not a valid HTTP header name of at most \(maxHeaderNameBytes) bytes")
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    static let expansionTooLarge = ConnectorError.illegalArgument(
        "The connector's templates expand to more than the allowed size; check parameters that refer to each other")

    static func isJSONOrNDJSON(_ text: String) -> Bool {
        if JSON.parseOrNil(text) != nil { return true }
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        return lines.count > 1 && lines.allSatisfy { JSON.parseOrNil(String($0)) != nil }
    }
}
