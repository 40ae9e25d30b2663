import OrderedJSON

/// Interfaces attached at register when the request has none (§7.4), chosen by the connector's
/// `parameters.service_name` and `parameters.model`. The schemas here are written for this
/// library from the providers' request shapes.
public enum PresetInterfaces {
    static let embeddingOutput: JSON = [
        "type": "object",
        "properties": ["inference_results": [
            "type": "array",
            "items": ["type": "object", "properties": ["output": [
                "type": "array",
                "items": ["type": "object", "required": ["name", "data"], "properties": [
                    "name": ["type": "string"], "data_type": ["type": "string"],
                    "shape": ["type": "array", "items": ["type": "integer"]],
                    "data": ["type": "array", "items": ["type": "number"]],
                ]],
            ], "status_code": ["type": "integer"]]],
        ]],
        "required": ["inference_results"],
    ]

    static func parametersInput(_ properties: JSONObject, required: [String]) -> JSON {
        [
            "type": "object",
            "properties": ["parameters": ["type": "object", "properties": .object(properties), "required": JSON(required)]],
            "required": ["parameters"],
        ]
    }

    static let textGenerationOutput: JSON = [
        "type": "object",
        "properties": ["inference_results": ["type": "array", "items": ["type": "object", "properties": [
            "output": ["type": "array", "items": ["type": "object", "required": ["name", "dataAsMap"],
                                                  "properties": ["name": ["type": "string"], "dataAsMap": ["type": "object"]]]],
            "status_code": ["type": "integer"],
        ]]]],
        "required": ["inference_results"],
    ]

    /// Bedrock model id (or service operation) → interface.
    public static let byModel: [String: ModelInterface] = {
        let titanText = ModelInterface(input: parametersInput(["inputText": ["type": "string"]], required: ["inputText"]),
                                       output: embeddingOutput)
        let titanImage = ModelInterface(input: parametersInput(["inputText": ["type": "string"], "inputImage": ["type": "string"]],
                                                               required: []), output: embeddingOutput)
        let cohere = ModelInterface(input: parametersInput(["texts": ["type": "array", "items": ["type": "string"]]], required: ["texts"]),
                                    output: embeddingOutput)
        let claude = ModelInterface(input: parametersInput(["inputs": ["type": "string"]], required: ["inputs"]),
                                    output: textGenerationOutput)
        let ai21 = ModelInterface(input: parametersInput(["prompt": ["type": "string"]], required: ["prompt"]),
                                  output: textGenerationOutput)
        let comprehend = ModelInterface(input: parametersInput(["Text": ["type": "string"]], required: ["Text"]),
                                        output: textGenerationOutput)
        let textract = ModelInterface(input: parametersInput(["bytes": ["type": "string"]], required: ["bytes"]),
                                      output: textGenerationOutput)
        return [
            "amazon.titan-embed-text-v1": titanText, "amazon.titan-embed-image-v1": titanImage,
            "cohere.embed-english-v3": cohere, "cohere.embed-multilingual-v3": cohere,
            "anthropic.claude-v2": claude, "anthropic.claude-3-sonnet-20240229-v1:0": claude, "ai21.j2-mid-v1": ai21,
            "DetectDominantLanguage": comprehend, "DetectDocumentText": textract,
        ]
    }()

    /// The preset for a connector, if its parameters name a known Bedrock model, Comprehend or
    /// Textract operation. Embedding models without a post-process function answer raw maps, so
    /// they get the text-generation ("raw") output shape.
    public static func interface(for connector: ConnectorDefinition) -> ModelInterface? {
        let service = connector.parameters.text("service_name")
        let key: String?
        switch service {
        case "bedrock": key = connector.parameters.text("model")
        case "comprehend": key = connector.parameters.text("api_name") ?? "DetectDominantLanguage"
        case "textract": key = connector.parameters.text("api_name") ?? "DetectDocumentText"
        default: key = nil
        }
        guard let key, var preset = byModel[key] else { return nil }
        if preset.output == embeddingOutput && connector.action(named: "predict")?.postProcessFunction == nil {
            preset.output = textGenerationOutput
        }
        return preset
    }
}
