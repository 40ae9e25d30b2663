import OrderedJSON
import Testing
@testable import Connectors

@Suite struct InterfaceTests {
    static func errors(_ schema: JSON, _ value: JSON) -> [String] { JSONSchemaValidator(schema: schema).errors(for: value) }

    @Test func keywords() {
        #expect(Self.errors(["type": "string"], 1) == ["$: integer found, string expected"])
        #expect(Self.errors(["type": ["string", "null"]], nil).isEmpty)
        #expect(Self.errors(["type": "integer"], 2.0).isEmpty)
        #expect(Self.errors(["type": "object", "required": ["a"]], [:]) == ["$: required property 'a' not found"])
        #expect(Self.errors(["enum": ["a", "b"]], "c") == ["$: does not have a value in the enumeration [a, b]"])
        #expect(Self.errors(["pattern": "^a+$"], "ab") == ["$: does not match the regex pattern ^a+$"])
        #expect(Self.errors(["pattern": "b"], "abc").isEmpty)
        #expect(Self.errors(["pattern": "^a+$"], "aa\n").isEmpty)
        #expect(Self.errors(["pattern": #"(\w)\1"#], "aa") == [#"$: the regex pattern (\w)\1 is not supported"#])
        // Patterns run in linear time (ICU backtracks exponentially here).
        let start = ContinuousClock.now
        #expect(Self.errors(["pattern": "^(a+)+$"], .string(String(repeating: "a", count: 20_000) + "!")).count == 1)
        #expect(start.duration(to: .now) < .seconds(60))  // loose: a starved test process; exponential matching would take ages
        #expect(Self.errors(["minimum": 1], 0) == ["$: must have a minimum value of 1"])
        #expect(Self.errors(["maximum": 1.5], 2) == ["$: must have a maximum value of 1.5"])
        #expect(Self.errors(["exclusiveMinimum": 1], 1) == ["$: must have an exclusive minimum value of 1"])
        #expect(Self.errors(["exclusiveMaximum": 1], 1) == ["$: must have an exclusive maximum value of 1"])
        #expect(Self.errors(["minLength": 2], "é") == ["$: must be at least 2 characters long"])
        #expect(Self.errors(["maxLength": 1], "ab") == ["$: must be at most 1 characters long"])
        #expect(Self.errors(["minItems": 1], []) == ["$: must have at least 1 items but found 0"])
        #expect(Self.errors(["maxItems": 1], [1, 2]) == ["$: must have at most 1 items but found 2"])
        #expect(Self.errors(["items": ["type": "number"]], [1, "x"]) == ["$[1]: string found, number expected"])
        #expect(Self.errors(["properties": ["a": ["type": "string"]], "additionalProperties": false], ["a": "x", "b": 1])
            == ["$: property 'b' is not defined in the schema and the schema does not allow additional properties"])
        #expect(Self.errors(["additionalProperties": ["type": "integer"]], ["b": "x"]) == ["$.b: string found, integer expected"])
        #expect(Self.errors(["const": "x"], "y") == ["$: must be the constant value 'x'"])
        #expect(Self.errors(false, 1) == ["$: schema for this location is false"])
    }

    @Test func references() {
        let schema: JSON = [
            "definitions": ["name": ["type": "string"]], "$defs": ["age": ["type": "integer", "minimum": 0]],
            "properties": ["name": ["$ref": "#/definitions/name"], "age": ["$ref": "#/$defs/age"], "x": ["$ref": "#/nowhere"]],
        ]
        #expect(Self.errors(schema, ["name": "n", "age": 3]).isEmpty)
        #expect(Self.errors(schema, ["name": 1, "age": -1, "x": 1])
            == ["$.name: integer found, string expected", "$.age: must have a minimum value of 0", "$.x: cannot resolve reference #/nowhere"])
    }

    @Test func remoteInputValidationRestoresTypes() throws {
        let interface = try ModelInterface(json: ["input": .string(#"{"type":"object","properties":{"parameters":{"type":"object","properties":{"max_tokens":{"type":"integer","maximum":100},"prompt":{"type":"string"}},"required":["prompt"]}}}"#)])
        try interface.validateRemoteInput(parameters: ["prompt": "hi", "max_tokens": "7"])
        let tooMany = #expect(throws: ConnectorError.self) { try interface.validateRemoteInput(parameters: ["prompt": "hi", "max_tokens": "700"]) }
        #expect(tooMany?.message.hasPrefix("Error validating input schema, if you think this is expected, please update your 'input' field in the 'interface' field for this model: Validation failed: [$.parameters.max_tokens: must have a maximum value of 100]") == true)
        #expect(tooMany?.status == 400)
        #expect(throws: ConnectorError.self) { try interface.validateRemoteInput(parameters: ["max_tokens": "1"]) }
        let disabled = try ModelInterface(json: ["input": "", "output": .object([:]), "extra": 1])
        #expect(disabled.input == nil && disabled.output == nil)
        #expect(disabled.json == .object([:]))
    }

    @Test func outputValidationAndPresets() throws {
        let connector = try ConnectorDefinition(json: [
            "name": "titan", "version": 1, "protocol": "aws_sigv4",
            "parameters": ["region": "us-east-1", "service_name": "bedrock", "model": "amazon.titan-embed-text-v1"],
            "credential": ["access_key": "a", "secret_key": "s"],
            "actions": [["action_type": "predict", "method": "POST", "url": "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke",
                         "request_body": "{}", "post_process_function": "connector.post_process.bedrock.embedding"]],
        ])
        let preset = try #require(PresetInterfaces.interface(for: connector))
        try preset.validateRemoteInput(parameters: ["inputText": "hello"])
        #expect(throws: ConnectorError.self) { try preset.validateRemoteInput(parameters: [:]) }
        let good = ModelTensorOutput(inferenceResults: [ModelTensors(output: [ModelTensor(name: "sentence_embedding", dataType: "FLOAT32", shape: [2], data: [0.1, 0.2])], statusCode: 200)])
        try preset.validateOutput(good)
        let raw = ModelTensorOutput(inferenceResults: [ModelTensors(output: [ModelTensor(name: "response", dataAsMap: ["x": 1])])])
        let error = #expect(throws: ConnectorError.self) { try preset.validateOutput(raw) }
        #expect(error?.message.hasPrefix("Error validating output schema") == true)
        var noPostProcess = connector
        noPostProcess.actions[0].postProcessFunction = nil
        try #require(PresetInterfaces.interface(for: noPostProcess)).validateOutput(raw)
        var unknown = connector
        unknown.parameters["model"] = "some-other-model"
        #expect(PresetInterfaces.interface(for: unknown) == nil)
    }
}
