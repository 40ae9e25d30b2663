import OrderedJSON

/// Applies a model's guardrails to payloads and answers; plug it into `ConnectorExecutor`.
public struct GuardrailEvaluator: PayloadGuard {
    public static let inputMessage = "guardrails triggered for user input"
    public static let outputMessage = "guardrails triggered for LLM output"

    public let guardrails: Guardrails
    public let stopWords: (any StopWordsLookup)?
    public let modelInvoker: (any GuardrailModelInvoker)?
    public var stopWordsTimeout: Duration = .seconds(5)
    public var modelTimeout: Duration = .seconds(60)

    public init(guardrails: Guardrails, stopWords: (any StopWordsLookup)? = nil,
                modelInvoker: (any GuardrailModelInvoker)? = nil) {
        self.guardrails = guardrails
        self.stopWords = stopWords
        self.modelInvoker = modelInvoker
    }

    public func checkInput(payload: String, parameters: RemoteParameters) async throws(ConnectorError) {
        guard let check = guardrails.input else { return }
        if await !passes(check, text: payload, question: parameters["question"]) { throw .illegalArgument(Self.inputMessage) }
    }

    public func checkOutput(response: String, parameters: RemoteParameters) async throws(ConnectorError) {
        guard let check = guardrails.output else { return }
        if await !passes(check, text: response, question: parameters["question"]) { throw .illegalArgument(Self.outputMessage) }
    }

    /// True when the text is acceptable. Lookup errors and timeouts count as violations.
    public func passes(_ check: Guardrails.Check, text: String, question: String?) async -> Bool {
        switch check {
        case .localRegex(let local):
            // A match, or a text too long to decide within the budget, refuses.
            if local.compiled.contains(where: { $0.wholeMatch(text) != false }) { return false }
            guard !local.stopWords.isEmpty else { return true }
            guard let stopWords else { return false }
            for source in local.stopWords {
                let hit = await withTimeout(stopWordsTimeout) { try await stopWords.matches(text: text, in: source) }
                if hit != false { return false }
            }
            return true
        case .model(let model):
            guard let question else { return true }
            guard let modelInvoker else { return false }
            var request: JSONObject = ["question": .string(question)]
            if let filter = model.responseFilter { request["response_filter"] = .string(filter) }
            let parameters = request
            let answer = await withTimeout(modelTimeout) { try await modelInvoker.invoke(modelID: model.modelID, parameters: parameters) }
            guard let answer, let response = answer else { return false }
            return model.compiled.wholeMatch(response.serialized) == true
        }
    }

    /// The guard model's answer, JSON-encoded, must wholly match `response_validation_regex`.
    public static func validates(response: JSON, regex: String) -> Bool {
        (try? LinearRegex(regex))?.wholeMatch(response.serialized) == true
    }
}

/// The operation's result, or nil if it threw or did not finish in time.
func withTimeout<T: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { try? await operation() }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
