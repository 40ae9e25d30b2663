import OrderedJSON
import Testing
@testable import Connectors

@Suite struct ConnectorDefinitionTests {
    static let valid: JSONObject = [
        "name": "OpenAI", "description": "d", "version": 1, "protocol": "http",
        "parameters": ["endpoint": "api.openai.com", "max_tokens": 7],
        "credential": ["openAI_key": "sk-1"],
        "client_config": ["max_retry_times": 3, "retry_backoff_policy": "exponential_full_jitter"],
        "actions": [["action_type": "PREDICT", "method": "post", "url": "https://${parameters.endpoint}/v1/embeddings",
                     "headers": ["Authorization": "Bearer ${credential.openAI_key}"], "request_body": "{}",
                     "post_process_function": "connector.post_process.openai.embedding"]],
    ]

    static func parse(_ change: (inout JSONObject) -> Void) throws -> ConnectorDefinition {
        var object = valid
        change(&object)
        return try ConnectorDefinition(json: .object(object))
    }

    @Test func parsesAndNormalizes() throws {
        let connector = try Self.parse { _ in }
        #expect(connector.version == "1")
        #expect(connector.parameters["max_tokens"] == "7")
        #expect(connector.actions[0].actionType == .predict && connector.actions[0].method == .POST)
        #expect(connector.clientConfig?.maxRetryTimes == 3 && connector.clientConfig?.readTimeoutSeconds == 30)
        #expect(connector.clientConfig?.retryBackoffPolicy == .exponentialFullJitter)
        let json = connector.json()
        #expect(json["credential"] == nil)
        #expect(json["actions"]?.arrayValue?.first?["action_type"] == "PREDICT")
        #expect(json["client_config"]?["max_connection"] == 30)
        #expect(try ConnectorDefinition(json: connector.json(credential: connector.credential)) == connector)
    }

    @Test(arguments: [
        ("name", "Connector name is null"), ("version", "Connector version is null"),
        ("protocol", "Connector protocol is null"), ("credential", "Connector credential is null or empty list"),
        ("actions", "No actions configured for this connector"),
    ])
    func requiredFields(key: String, message: String) {
        let error = #expect(throws: ConnectorError.self) { try Self.parse { $0[key] = nil } }
        #expect(error?.message == message && error?.status == 400 && error?.type == "illegal_argument_exception")
    }

    @Test func protocolAndActionValidation() {
        let badProtocol = #expect(throws: ConnectorError.self) { try Self.parse { $0["protocol"] = "grpc" } }
        #expect(badProtocol?.message == "Unsupported connector protocol. Please use one of [aws_sigv4, http, mcp_sse, mcp_streamable_http]")
        for (key, message) in [("action_type", "action type can't be null"), ("url", "url can't be null"), ("method", "method can't be null")] {
            let error = #expect(throws: ConnectorError.self) {
                try Self.parse { object in
                    var action = object["actions"]!.arrayValue![0].objectValue!
                    action[key] = nil
                    object["actions"] = [.object(action)]
                }
            }
            #expect(error?.message == message)
        }
    }

    @Test(arguments: ["Authorization", "x-api-key", "Host", "X-Forwarded-For", "cookie"])
    func sensitiveHeadersRefuseParameters(header: String) {
        let error = #expect(throws: ConnectorError.self) {
            try Self.parse { object in
                var action = object["actions"]!.arrayValue![0].objectValue!
                action["headers"] = [header: "${parameters.key}"]
                object["actions"] = [.object(action)]
            }
        }
        #expect(error?.message == "Header '\(header)' cannot use ${parameters.*} placeholders for security reasons. Use ${credential.*} instead.")
    }

    @Test func awsConnectorsNeedKeysRegionAndService() throws {
        func aws(_ credential: JSON, _ parameters: JSON) throws -> ConnectorDefinition {
            try Self.parse { $0["protocol"] = "aws_sigv4"; $0["credential"] = credential; $0["parameters"] = parameters }
        }
        #expect((#expect(throws: ConnectorError.self) { try aws(["access_key": "a"], ["region": "r", "service_name": "s"]) })?.message == "Missing credential")
        #expect((#expect(throws: ConnectorError.self) { try aws(["access_key": "a", "secret_key": "s"], ["service_name": "s"]) })?.message == "Missing region")
        #expect((#expect(throws: ConnectorError.self) { try aws(["access_key": "a", "secret_key": "s"], ["region": "r"]) })?.message == "Missing service name")
        #expect(throws: Never.self) { try aws(["access_key": "a", "secret_key": "s", "region": "r"], ["service_name": "bedrock"]) }
    }

    @Test func trustedEndpointCheckUsesConnectorParameters() throws {
        let policy = EndpointPolicy()
        #expect(throws: Never.self) { try policy.checkTrusted(connector: Self.parse { _ in }) }
        let untrusted = try Self.parse { $0["parameters"] = ["endpoint": "evil.example.com"] }
        let error = #expect(throws: ConnectorError.self) { try policy.checkTrusted(connector: untrusted) }
        #expect(error?.message.hasPrefix("Connector URL is not matching the trusted connector endpoint regex") == true)
        #expect(throws: ConnectorError.self) { try EndpointPolicy(trustedEndpointsRegex: []).checkTrusted(url: "https://api.openai.com/x") }
    }

    @Test func actionLookupByTypeOrName() throws {
        let connector = try Self.parse { object in
            var named = object["actions"]!.arrayValue![0].objectValue!
            named["name"] = "custom_embed"
            object["actions"] = [object["actions"]!.arrayValue![0], .object(named)]
        }
        #expect(connector.action(named: "predict")?.name == nil)
        #expect(connector.action(named: "custom_embed")?.name == "custom_embed")
        #expect((#expect(throws: ConnectorError.self) { try Self.parse { object in
            var named = object["actions"]!.arrayValue![0].objectValue!
            named["name"] = "predict"
            object["actions"] = [.object(named)]
        } }) != nil)
    }
}
