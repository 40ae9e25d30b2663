import OrderedJSON

/// A model's `guardrails` (§7.3), parsed.
public struct Guardrails: Sendable, Equatable {
    public enum Check: Sendable, Equatable {
        case localRegex(LocalRegexGuardrail)
        case model(ModelGuardrail)
    }

    public var type: String
    public var input: Check?
    public var output: Check?

    public init(json: JSON) throws(ConnectorError) {
        guard let object = json.objectValue else { throw .illegalArgument("guardrails must be an object") }
        type = object["type"]?.stringValue ?? "local_regex"
        guard type == "local_regex" || type == "model" else {
            throw .illegalArgument("The type of guardrails is required, can not be null.")
        }
        func check(_ key: String) throws(ConnectorError) -> Check? {
            guard let side = object[key]?.objectValue else { return nil }
            return type == "model" ? .model(try ModelGuardrail(side)) : .localRegex(try LocalRegexGuardrail(side))
        }
        input = try check("input_guardrail")
        output = try check("output_guardrail")
    }

    /// The models a `model` guardrail calls (to refuse cycles at register and update time).
    public var guardModelIDs: [String] {
        [input, output].compactMap { check in
            if case .model(let model)? = check { return model.modelID }
            return nil
        }
    }

    /// Patterns run on the linear-time engine (`LinearRegex`); these bound their number and work.
    public static let maxRegexes = 32
    public static let maxStopWordSources = 16

    static func compile(_ pattern: String, field: String) throws(ConnectorError) -> LinearRegex {
        do {
            return try LinearRegex(pattern)
        } catch {
            throw .illegalArgument("Invalid \(field) \(String(reflecting: String(pattern.prefix(100)))): \(error.description)")
        }
    }
}

/// Stop-word indices to percolate against.
public struct StopWordsSource: Sendable, Equatable {
    public var indexName: String
    public var sourceFields: [String]
}

/// `local_regex`: a text is refused if it wholly matches a regex or hits a stop-words query.
public struct LocalRegexGuardrail: Sendable, Equatable {
    public private(set) var regex: [String]
    public var stopWords: [StopWordsSource]
    let compiled: [LinearRegex]

    public init(regex: [String] = [], stopWords: [StopWordsSource] = []) throws(ConnectorError) {
        guard regex.count <= Guardrails.maxRegexes else {
            throw .illegalArgument("A guardrail may have at most \(Guardrails.maxRegexes) regex patterns; this one has \(regex.count)")
        }
        guard stopWords.count <= Guardrails.maxStopWordSources else {
            throw .illegalArgument("A guardrail may have at most \(Guardrails.maxStopWordSources) stop_words entries; this one has \(stopWords.count)")
        }
        self.regex = regex
        self.stopWords = stopWords
        var compiled: [LinearRegex] = []
        for pattern in regex { compiled.append(try Guardrails.compile(pattern, field: "guardrail regex")) }
        self.compiled = compiled
    }

    init(_ object: JSONObject) throws(ConnectorError) {
        let stopWords: [StopWordsSource] = (object["stop_words"]?.arrayValue ?? []).compactMap { entry in
            guard let index = entry["index_name"]?.stringValue else { return nil }
            return StopWordsSource(indexName: index, sourceFields: entry["source_fields"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        try self.init(regex: object["regex"]?.arrayValue?.compactMap(\.stringValue) ?? [], stopWords: stopWords)
    }
}

/// `model`: another model judges the request's `question`; its answer must match the regex.
public struct ModelGuardrail: Sendable, Equatable {
    public var modelID: String
    public var responseFilter: String?
    public var responseValidationRegex: String
    let compiled: LinearRegex

    init(_ object: JSONObject) throws(ConnectorError) {
        guard let model = object["model_id"]?.stringValue else { throw .illegalArgument("Guardrail model_id is required") }
        modelID = model
        responseFilter = object["response_filter"]?.stringValue
        responseValidationRegex = object["response_validation_regex"]?.stringValue ?? ""
        compiled = try Guardrails.compile(responseValidationRegex, field: "response_validation_regex")
    }
}

/// Answers whether text matches a stop-words index: the server backs this with its document
/// store (percolating `{<field>: text}` for each source field).
public protocol StopWordsLookup: Sendable {
    func matches(text: String, in source: StopWordsSource) async throws -> Bool
}

/// Runs the guard model; returns its `dataAsMap.response` value.
public protocol GuardrailModelInvoker: Sendable {
    func invoke(modelID: String, parameters: JSONObject) async throws -> JSON?
}
