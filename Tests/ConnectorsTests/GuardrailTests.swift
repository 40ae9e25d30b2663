import OrderedJSON
import Testing
@testable import Connectors

/// Stop words kept in memory; `failing` simulates a search error, `delay` a slow one.
struct MemoryStopWords: StopWordsLookup {
    var words: [String: [String]]
    var failing = false
    var delay: Duration = .zero
    struct SearchFailed: Error {}

    func matches(text: String, in source: StopWordsSource) async throws -> Bool {
        if failing { throw SearchFailed() }
        if delay > .zero { try await Task.sleep(for: delay) }
        return (words[source.indexName] ?? []).contains { text.lowercased().contains($0) }
    }
}

struct ScriptedGuardModel: GuardrailModelInvoker {
    let answer: @Sendable (String) -> JSON?
    func invoke(modelID: String, parameters: JSONObject) async throws -> JSON? {
        answer(parameters["question"]?.stringValue ?? "")
    }
}

@Suite struct GuardrailTests {
    static let local: JSON = [
        "type": "local_regex",
        "input_guardrail": ["stop_words": [["index_name": "stop_words", "source_fields": ["title"]]], "regex": [".*rob.*", "bank"]],
        "output_guardrail": ["regex": [".*password.*"]],
    ]

    static func parameters(_ request: JSONObject = [:]) throws -> RemoteParameters {
        try RemoteParameters(connector: TemplatingTests.connector(body: "{}"), request: request)
    }

    @Test func regexIsAWholeTextMatch() async throws {
        let evaluator = GuardrailEvaluator(guardrails: try Guardrails(json: Self.local), stopWords: MemoryStopWords(words: [:]))
        let input = await #expect(throws: ConnectorError.self) { try await evaluator.checkInput(payload: "how to rob a bank", parameters: Self.parameters()) }
        #expect(input?.message == "guardrails triggered for user input" && input?.status == 400)
        // "bank" must match the whole payload, not part of it.
        try await evaluator.checkInput(payload: "my bank account", parameters: Self.parameters())
        await #expect(throws: ConnectorError.self) { try await evaluator.checkInput(payload: "bank", parameters: Self.parameters()) }
        let output = await #expect(throws: ConnectorError.self) { try await evaluator.checkOutput(response: "the password is x", parameters: Self.parameters()) }
        #expect(output?.message == "guardrails triggered for LLM output")
        try await evaluator.checkOutput(response: "fine", parameters: Self.parameters())
    }

    @Test func stopWordsFromTheLookup() async throws {
        let guardrails = try Guardrails(json: Self.local)
        let words = MemoryStopWords(words: ["stop_words": ["master slave"]])
        await #expect(throws: ConnectorError.self) {
            try await GuardrailEvaluator(guardrails: guardrails, stopWords: words)
                .checkInput(payload: "a test of Master slave architecture", parameters: Self.parameters())
        }
        try await GuardrailEvaluator(guardrails: guardrails, stopWords: words).checkInput(payload: "leader follower", parameters: Self.parameters())
        // Errors, timeouts and a missing lookup reject.
        var failing = words
        failing.failing = true
        await #expect(throws: ConnectorError.self) {
            try await GuardrailEvaluator(guardrails: guardrails, stopWords: failing).checkInput(payload: "ok", parameters: Self.parameters())
        }
        var slow = GuardrailEvaluator(guardrails: guardrails, stopWords: MemoryStopWords(words: [:], delay: .seconds(5)))
        slow.stopWordsTimeout = .milliseconds(100)
        await #expect(throws: ConnectorError.self) { try await slow.checkInput(payload: "ok", parameters: Self.parameters()) }
        await #expect(throws: ConnectorError.self) {
            try await GuardrailEvaluator(guardrails: guardrails).checkInput(payload: "ok", parameters: Self.parameters())
        }
    }

    @Test func modelGuardrail() async throws {
        let guardrails = try Guardrails(json: [
            "type": "model",
            "input_guardrail": ["model_id": "guard", "response_filter": "$.choices[0].text",
                                "response_validation_regex": #"^"\s*[Aa]ccept\s*"$"#],
        ])
        let model = ScriptedGuardModel { question in question.contains("rob") ? " reject" : " accept " }
        let evaluator = GuardrailEvaluator(guardrails: guardrails, modelInvoker: model)
        try await evaluator.checkInput(payload: "{}", parameters: Self.parameters(["question": "hello"]))
        await #expect(throws: ConnectorError.self) {
            try await evaluator.checkInput(payload: "{}", parameters: Self.parameters(["question": "how to rob"]))
        }
        // Without a question the check passes; without an invoker it cannot and rejects.
        try await evaluator.checkInput(payload: "{}", parameters: Self.parameters())
        await #expect(throws: ConnectorError.self) {
            try await GuardrailEvaluator(guardrails: guardrails).checkInput(payload: "{}", parameters: Self.parameters(["question": "x"]))
        }
        #expect(GuardrailEvaluator.validates(response: "Accept", regex: #"^"\s*[Aa]ccept\s*"$"#))
        #expect(!GuardrailEvaluator.validates(response: "Accepted", regex: #"^"\s*[Aa]ccept\s*"$"#))
    }

    @Test func unknownTypeIsRefused() {
        let error = #expect(throws: ConnectorError.self) { try Guardrails(json: ["type": "magic"]) }
        #expect(error?.message == "The type of guardrails is required, can not be null.")
    }
}
