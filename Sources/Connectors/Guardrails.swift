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
            return type == "model" ? .model(try ModelGuardrail(side)) : .localRegex(LocalRegexGuardrail(side))
        }
        input = try check("input_guardrail")
        output = try check("output_guardrail")
    }
}

/// Stop-word indices to percolate against.
public struct StopWordsSource: Sendable, Equatable {
    public var indexName: String
    public var sourceFields: [String]
}

/// `local_regex`: a text is refused if it wholly matches a regex or hits a stop-words query.
public struct LocalRegexGuardrail: Sendable, Equatable {
    public var regex: [String]
    public var stopWords: [StopWordsSource]

    public init(regex: [String] = [], stopWords: [StopWordsSource] = []) {
        self.regex = regex
        self.stopWords = stopWords
    }

    init(_ object: JSONObject) {
        regex = object["regex"]?.arrayValue?.compactMap(\.stringValue) ?? []
        stopWords = (object["stop_words"]?.arrayValue ?? []).compactMap { entry in
            guard let index = entry["index_name"]?.stringValue else { return nil }
            return StopWordsSource(indexName: index, sourceFields: entry["source_fields"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        }
    }
}

/// `model`: another model judges the request's `question`; its answer must match the regex.
public struct ModelGuardrail: Sendable, Equatable {
    public var modelID: String
    public var responseFilter: String?
    public var responseValidationRegex: String

    init(_ object: JSONObject) throws(ConnectorError) {
        guard let model = object["model_id"]?.stringValue else { throw .illegalArgument("Guardrail model_id is required") }
        modelID = model
        responseFilter = object["response_filter"]?.stringValue
        responseValidationRegex = object["response_validation_regex"]?.stringValue ?? ""
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
