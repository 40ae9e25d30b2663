import OrderedJSON

/// A model's `interface` (§7.4): JSON Schemas for the predict input and output.
public struct ModelInterface: Sendable, Equatable {
    public var input: JSON?
    public var output: JSON?

    public init(input: JSON? = nil, output: JSON? = nil) {
        self.input = input
        self.output = output
    }

    /// Keeps only `input` and `output`; schemas may be objects or JSON text; `{}` or "" turns a side off.
    public init(json: JSON) throws(ConnectorError) {
        guard let object = json.objectValue else { throw .illegalArgument("interface must be an object") }
        func side(_ key: String) throws(ConnectorError) -> JSON? {
            guard let value = object[key], !value.isNull else { return nil }
            let schema: JSON
            if case .string(let text) = value {
                if text.trimmingCharacters(in: .whitespaces).isEmpty { return nil }
                guard let parsed = JSON.parseOrNil(text) else { throw .illegalArgument("The \(key) schema in interface is not valid JSON") }
                schema = parsed
            } else {
                schema = value
            }
            // (A ternary would turn `nil` into JSON `null` here, JSON being nil-literal convertible.)
            if schema.objectValue?.isEmpty == true { return nil }
            return schema
        }
        input = try side("input")
        output = try side("output")
    }

    /// The stored form: schemas as JSON strings, as the reference keeps them.
    public var json: JSON {
        var object: JSONObject = [:]
        if let input { object["input"] = .string(input.serialized) }
        if let output { object["output"] = .string(output.serialized) }
        return .object(object)
    }

    /// What the reference validates for a remote predict: `{"algorithm":"REMOTE","parameters":…}`.
    /// Parameter strings are turned back into numbers, booleans, arrays or objects where the
    /// schema types them so.
    public func validateRemoteInput(parameters: JSONObject, actionType: String = "predict") throws(ConnectorError) {
        guard let input else { return }
        let propertySchemas = input["properties"]?["parameters"]?["properties"]?.objectValue ?? [:]
        var typed: JSONObject = [:]
        for (key, value) in parameters {
            typed[key] = Self.restoreType(value, schema: propertySchemas[key])
        }
        let instance: JSON = ["algorithm": "REMOTE", "parameters": .object(typed), "action_type": .string(actionType.uppercased())]
        try validate(instance, schema: input, side: "input")
    }

    /// For `text_docs` predictions: `{"algorithm": <function>, "text_docs": […]}`.
    public func validateTextDocsInput(_ docs: [String], functionName: String = "TEXT_EMBEDDING") throws(ConnectorError) {
        guard let input else { return }
        try validate(["algorithm": .string(functionName), "text_docs": JSON(docs)], schema: input, side: "input")
    }

    /// Validates the whole `{"inference_results": …}` response.
    public func validateOutput(_ output: ModelTensorOutput) throws(ConnectorError) {
        guard let schema = self.output else { return }
        try validate(output.json, schema: schema, side: "output")
    }

    private func validate(_ instance: JSON, schema: JSON, side: String) throws(ConnectorError) {
        let errors = JSONSchemaValidator(schema: schema).errors(for: instance)
        guard !errors.isEmpty else { return }
        throw .illegalArgument("Error validating \(side) schema, if you think this is expected, please update your '\(side)' "
            + "field in the 'interface' field for this model: Validation failed: [\(errors.joined(separator: ", "))] "
            + "for instance: \(instance.serialized) with schema: \(schema.serialized)")
    }

    static func restoreType(_ value: JSON, schema: JSON?) -> JSON {
        guard case .string(let text) = value, let schema else { return value }
        let types = schema["type"]?.arrayValue?.compactMap(\.stringValue) ?? schema["type"]?.stringValue.map { [$0] } ?? []
        guard !types.isEmpty, !types.contains("string"), let parsed = JSON.parseOrNil(text) else { return value }
        return parsed
    }
}
