import OrderedJSON
import Testing
@testable import Connectors

@Suite struct TemplatingTests {
    static func connector(body: String, headers: JSONObject = [:], parameters: JSONObject = [:],
                          url: String = "https://api.openai.com/v1/chat/completions") throws -> ConnectorDefinition {
        try ConnectorDefinition(json: [
            "name": "c", "version": 1, "protocol": "http", "parameters": .object(parameters),
            "credential": ["openAI_key": "sk-secret-123"],
            "actions": [["action_type": "predict", "method": "POST", "url": .string(url),
                         "headers": .object(headers), "request_body": .string(body)]],
        ])
    }

    static func prepare(_ connector: ConnectorDefinition, _ request: JSONObject) throws -> PreparedRequest {
        try PreparedRequest(action: connector.actions[0], credential: connector.credential,
                            parameters: RemoteParameters(connector: connector, request: request))
    }

    @Test func requestParametersWinOverConnectorParameters() throws {
        let connector = try Self.connector(body: #"{"model": "${parameters.model}", "n": ${parameters.n}}"#,
                                           parameters: ["model": "gpt-3.5", "n": 1])
        let body = try Self.prepare(connector, ["model": "gpt-4"]).body!
        #expect(try JSON.parse(body) == ["model": "gpt-4", "n": 1])
    }

    @Test(arguments: [
        "say \"hi\", \"model\": \"evil",
        "back\\slash \\\" and \\u0022 quote",
        "line1\nline2\r\ttab \u{01} control",
        "${parameters.secret_param} and ${credential.openAI_key}",
        "\"}], \"extra\": {\"x\": \"",
        "emoji 😀 and ünïcode",
    ])
    func hostileTextStaysOneStringValue(text: String) throws {
        let connector = try Self.connector(
            body: #"{"model": "${parameters.model}", "messages": [{"role": "user", "content": "${parameters.prompt}"}]}"#,
            parameters: ["model": "gpt-3.5", "secret_param": "EXPANDED"])
        // User text as the pre-process function hands it over (request parameters may fill their own
        // placeholders: requestParametersNamedByTheActionAreFilledOnceLiterally).
        let body = try PreparedRequest(action: connector.actions[0], credential: connector.credential,
                                       parameters: RemoteParameters(connector: connector, preProcessed: ["prompt": .string(text)])).body!
        let parsed = try JSON.parse(body)
        #expect(parsed["messages"]?.arrayValue?.first?["content"] == .string(text))
        #expect(parsed.objectValue?.keys == ["model", "messages"])
        #expect(!body.contains("EXPANDED") && !body.contains("sk-secret-123"))
    }

    @Test func hostileTextInAJSONPositionBecomesAString() throws {
        let connector = try Self.connector(body: #"{"input": ${parameters.input}, "model": "m"}"#)
        let injected = #"1, "model": "evil""#
        let body = try Self.prepare(connector, ["input": .string(injected)]).body!
        #expect(try JSON.parse(body) == ["input": .string(injected), "model": "m"])
    }

    @Test func arraysAndObjectsAreInsertedAsJSON() throws {
        let connector = try Self.connector(body: #"{"messages": ${parameters.messages}, "meta": ${parameters.meta}}"#)
        let messages: JSON = [["role": "user", "content": "a \"quoted\" word"]]
        let body = try Self.prepare(connector, ["messages": messages, "meta": ["k": 1]]).body!
        #expect(try JSON.parse(body) == ["messages": messages, "meta": ["k": 1]])
    }

    @Test func aStringHoldingJSONFillsAValuePosition() throws {
        let connector = try Self.connector(body: #"{"messages": ${parameters.messages}}"#)
        let body = try Self.prepare(connector, ["messages": #"[{"role":"user","content":"hi"}]"#]).body!
        #expect(try JSON.parse(body)["messages"]?.arrayValue?.count == 1)
    }

    @Test func toStringInsertsEscapedJSONText() throws {
        let connector = try Self.connector(body: #"{"text": "${parameters.messages.toString()}"}"#)
        let body = try Self.prepare(connector, ["messages": [["content": "x\"y"]]]).body!
        #expect(try JSON.parse(body)["text"] == .string(#"[{"content":"x\"y"}]"#))
    }

    @Test func defaultsAndNullDefault() throws {
        let connector = try Self.connector(body: #"{"a": "${parameters.a:-fallback}", "b": "${parameters.b:-null}", "c": "${parameters.c:-null}"}"#)
        let body = try Self.prepare(connector, ["c": "given"]).body!
        #expect(try JSON.parse(body) == ["a": "fallback", "b": nil, "c": "given"])
    }

    @Test func connectorPromptTemplatesAreExpandedButUserTextIsNot() throws {
        let connector = try Self.connector(body: #"{"prompt": "${parameters.prompt}"}"#,
                                           parameters: ["prompt": "Human: ${parameters.question}\n\nAssistant:"])
        let question = "what is ${parameters.prompt}? \"quoted\""
        let body = try Self.prepare(connector, ["question": .string(question)]).body!
        #expect(try JSON.parse(body)["prompt"] == .string("Human: \(question)\n\nAssistant:"))
    }

    @Test func requestParametersNamedByTheActionAreFilledOnceLiterally() throws {
        // The body of OpenSearch's guardrails example: the prompt the request sends names the question.
        let connector = try Self.connector(body: #"{"prompt": "${parameters.prompt}", "n": ${parameters.n}}"#,
                                           parameters: ["n": 1, "endpoint": "api.openai.com"])
        let question = "what is ${parameters.prompt} and ${credential.openAI_key}? \"quoted\""
        let body = try Self.prepare(connector, [
            "prompt": "\n\nHuman:${parameters.question} (${parameters.endpoint}, ${parameters.nothing})\n\nAssistant:",
            "question": .string(question),
        ]).body!
        // Filled once: the question goes in as typed, credentials never, an unknown name stays text.
        #expect(try JSON.parse(body)["prompt"] == .string("\n\nHuman:\(question) (api.openai.com, ${parameters.nothing})\n\nAssistant:"))
        #expect(!body.contains("sk-secret"))
        // In a header the request's value brings no credential either.
        let header = try Self.connector(body: "{}", headers: ["X-Note": "${parameters.note}"])
        let prepared = try Self.prepare(header, ["note": "${credential.openAI_key}"])
        #expect(prepared.header("X-Note") == "${credential.openAI_key}")
        // Pre-processed documents are data wherever they go.
        let docs = try PreparedRequest(action: connector.actions[0], credential: connector.credential,
                                       parameters: RemoteParameters(connector: connector, preProcessed: ["prompt": "${parameters.n}"]))
        #expect(try JSON.parse(docs.body!)["prompt"] == "${parameters.n}")
    }

    @Test func missingParametersAreNamed() throws {
        let connector = try Self.connector(body: #"{"a": "${parameters.a}", "b": ${parameters.b}}"#)
        let error = #expect(throws: ConnectorError.self) { try Self.prepare(connector, [:]) }
        #expect(error?.status == 400)
        #expect(error?.message == "Some parameter placeholder not filled in payload: a, b")
        // A `${parameters.x}` typed by the user is data, not an unfilled placeholder.
        #expect(throws: Never.self) { try Self.prepare(connector, ["a": "${parameters.zzz}", "b": 1]) }
        #expect(throws: Never.self) { try Self.prepare(connector, ["skip_validating_missing_parameters": "true", "b": 1]) }
    }

    @Test func invalidPayloadIsRejected() throws {
        let connector = try Self.connector(body: #"{"a": ${parameters.a}"#)
        let error = #expect(throws: ConnectorError.self) { try Self.prepare(connector, ["a": 1]) }
        #expect(error?.message == #"Invalid payload: {"a": 1"#)
    }

    @Test func credentialsFillHeadersButNotBodies() throws {
        let connector = try Self.connector(body: #"{"key": "${credential.openAI_key}"}"#,
                                           headers: ["Authorization": "Bearer ${credential.openAI_key}", "X-Model": "${parameters.model}"],
                                           parameters: ["model": "m1"])
        let request = try Self.prepare(connector, [:])
        #expect(request.header("Authorization") == "Bearer sk-secret-123")
        #expect(request.header("X-Model") == "m1")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.body == #"{"key": "${credential.openAI_key}"}"#)
    }

    @Test func headerWithMissingParameterOrLineBreakIsRefused() throws {
        let connector = try Self.connector(body: "{}", headers: ["X-Trace": "${parameters.trace}"])
        let missing = #expect(throws: ConnectorError.self) { try Self.prepare(connector, [:]) }
        #expect(missing?.message == "Header 'X-Trace' contains unresolved placeholder. Required parameter is missing.")
        #expect(throws: ConnectorError.self) { try Self.prepare(connector, ["trace": "a\r\nX-Evil: 1"]) }
    }

    @Test func urlParametersAreFilled() throws {
        let connector = try Self.connector(body: "{}", parameters: ["endpoint": "api.openai.com"],
                                           url: "https://${parameters.endpoint}/v1/x")
        #expect(try Self.prepare(connector, [:]).url == "https://api.openai.com/v1/x")
    }

    @Test func httpBodyIsUsedWithoutARequestBody() throws {
        var connector = try Self.connector(body: "{}")
        connector.actions[0].requestBody = nil
        #expect(try Self.prepare(connector, ["http_body": #"{"raw": true}"#]).body == #"{"raw": true}"#)
        #expect(throws: ConnectorError.self) { try Self.prepare(connector, ["http_body": "not json"]) }
    }

    @Test func noEscapeParamsCountOnlyFromTheConnector() throws {
        let body = #"{"messages": [${parameters.items}]}"#
        let fromConnector = try Self.connector(body: body, parameters: ["no_escape_params": "items"])
        let items = #"{"a":1},{"b":2}"#
        #expect(try JSON.parse(Self.prepare(fromConnector, ["items": .string(items)]).body!)["messages"]?.arrayValue?.count == 2)
        let fromRequest = try Self.connector(body: body)
        let parsed = try JSON.parse(Self.prepare(fromRequest, ["items": .string(items), "no_escape_params": "items"]).body!)
        #expect(parsed["messages"] == [.string(items)])
    }
}
