import Foundation
import OrderedJSON
import ProviderFakes
import Testing
@testable import Connectors

/// The hardening rules of outbound calls (docs/hardening-outbound.md), at the library level.
@Suite(.serialized) struct OutboundRulesTests {
    // MARK: - Host spellings

    @Test(arguments: [
        ("http://API.OpenAI.test:8080/v1", "http://api.openai.test:8080/v1"),
        ("https://api.openai.com./v1/x?y=1#frag", "https://api.openai.com/v1/x?y=1"),
        ("HTTPS://API.OPENAI.COM:443/v1", "https://api.openai.com/v1"),
        ("http://[::FFFF:127.0.0.1]:9/x", "http://[::ffff:127.0.0.1]:9/x"),
        ("http://127.0.0.1:9/x", "http://127.0.0.1:9/x"),
        ("https://textract.us-west-2.amazonaws.com", "https://textract.us-west-2.amazonaws.com"),
    ])
    func urlsAreNormalised(input: String, canonical: String) throws {
        #expect(try ParsedURL.parse(input).canonical == canonical)
    }

    @Test(arguments: [
        "http://2130706433/x", "http://0177.0.0.1/x", "http://127.1/x", "http://0x7f.0.0.1/x", "http://127.0.0.01/x",
        "http://017700000001/x", "http://1.2.3.4.5/x",
        "https://api.openai.com@evil.test/v1", "https://user:pw@api.openai.com/v1",
        "http://a..b/x", "http://[fe80::1%25eth0]/x", "http://ex%61mple.com/x",
        "http://h.test/a/../b", "http://h.test/a/%2e%2E/b", "http://h.test/./b", "ftp://h.test/x",
    ])
    func ambiguousURLsAreRefused(url: String) {
        #expect(throws: ConnectorError.self) { try ParsedURL.parse(url) }
    }

    @Test func thePinHoldsForEverySpellingOfTheHost() async throws {
        // api.openai.test exists only in this resolver: a connection made by the HTTP client's own
        // lookup (the pin missed) cannot reach the provider.
        for host in ["API.OPENAI.TEST", "Api.OpenAI.Test.", "api.openai.test."] {
            let resolver = TableResolver(["api.openai.test": ["127.0.0.1"]])
            try await RemoteCallTests.withProvider({ provider, executor in
                let connector = try RemoteCallTests.openAIConnector(provider, host: host)
                _ = try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
                #expect(provider.requests.count == 1, "\(host)")
                #expect(provider.requests.first?.header("Host") == "api.openai.test:\(provider.port)")
            }, resolver: resolver)
            #expect(resolver.lookups == ["api.openai.test"], "\(host)")
        }
    }

    // MARK: - Trusted endpoints and parameters in URLs

    @Test func defaultPatternsMatchWholeHostNames() throws {
        let policy = EndpointPolicy()
        for url in ["https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke", "https://BEDROCK-RUNTIME.us-east-1.amazonaws.com./model/x",
                    "https://runtime.sagemaker.eu-west-1.amazonaws.com/endpoints/e/invocations", "https://textract.us-west-2.amazonaws.com"] {
            #expect(throws: Never.self) { try policy.checkTrusted(url: url) }
        }
        for url in ["https://bedrock-runtime.attacker.test/x.amazonaws.com/model/x/invoke",
                    "https://bedrock-runtime.attacker.test?.amazonaws.com/", "https://bedrock-runtime.attacker.test#.amazonaws.com/",
                    "https://bedrock-runtime.x.amazonaws.com@attacker.test/", "https://bedrock-runtime.attacker.test:1.amazonaws.com/",
                    "https://runtime.sagemaker.attacker.test/.amazonaws.com/", "https://api.openai.com.attacker.test/v1"] {
            #expect(throws: ConnectorError.self, "\(url)") { try policy.checkTrusted(url: url) }
        }
    }

    static func bedrock(url: String = "https://bedrock-runtime.${parameters.region}.amazonaws.com/model/${parameters.model}/invoke") throws -> ConnectorDefinition {
        try ConnectorDefinition(json: [
            "name": "titan", "version": 1, "protocol": "aws_sigv4",
            "parameters": ["region": "us-east-1", "service_name": "bedrock", "model": "amazon.titan-embed-text-v1"],
            "credential": ["access_key": "AKIATEST", "secret_key": "s3cr3t-KEY-value"],
            "actions": [["action_type": "predict", "method": "POST", "url": .string(url),
                         "request_body": #"{"inputText": "${parameters.inputText}"}"#]],
        ])
    }

    @Test func requestParametersCannotMoveTheHostOrClimbThePath() throws {
        let connector = try Self.bedrock()
        let action = try #require(connector.action(named: "predict"))
        func url(_ request: JSONObject) throws(ConnectorError) -> String {
            let parameters = RemoteParameters(connector: connector, request: request.merging(["inputText": "x"]))
            return try PreparedRequest(action: action, credential: connector.credential, parameters: parameters).url
        }
        #expect(try url([:]) == "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v1/invoke")
        // `/` is encoded, leaving an invalid host: refused before any trust check.
        #expect(throws: ConnectorError.self) { try url(["region": "attacker.test/a"]) }
        #expect(throws: ConnectorError.self) { try url(["region": "x@attacker.test"]) }
        // A value that is itself a dot segment is refused; encoded dots and slashes stay inside one segment.
        #expect(throws: ConnectorError.self) { try url(["model": ".."]) }
        #expect(throws: ConnectorError.self) { try url(["model": "../../admin"]) }
        #expect(try url(["model": "a/b"]).hasSuffix("/model/a%2Fb/invoke"))
        #expect(try url(["model": "%2e%2e"]).hasSuffix("/model/%252e%252e/invoke"))
        #expect(try url(["model": "anthropic.claude-v2:1"]).hasSuffix("/model/anthropic.claude-v2%3A1/invoke"))
        // A region that keeps the host a host name still has to pass the trusted patterns at call time.
        let moved = try url(["region": "attacker"])
        #expect(moved == "https://bedrock-runtime.attacker.amazonaws.com/model/amazon.titan-embed-text-v1/invoke")
        let policy = EndpointPolicy()
        #expect(throws: Never.self) { try policy.checkTrusted(url: moved) }
        #expect(throws: ConnectorError.self) { try policy.checkTrusted(url: "https://bedrock-runtime.attacker.test%2Fa.amazonaws.com/") }
    }

    @Test func placeholdersFilledAtPredictTimePassTheCreateTimeCheck() throws {
        var connector = try Self.bedrock(url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/${parameters.deployment}/invoke")
        #expect(throws: Never.self) { try EndpointPolicy().checkTrusted(connector: connector) }
        connector.actions[0].url = "https://${parameters.host}/model/x/invoke"
        #expect(throws: ConnectorError.self) { try EndpointPolicy().checkTrusted(connector: connector) }
    }

    @Test func theFinalURLIsCheckedAtCallTime() async throws {
        try await RemoteCallTests.withProvider { provider, executor in
            var connector = try RemoteCallTests.openAIConnector(provider)
            connector.actions[0].url = "http://127.0.0.1:${parameters.port}/v1/embeddings"
            connector.parameters["port"] = .string(String(provider.port))
            _ = try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            // The request's port value is encoded whole; `1@evil.test` cannot become user info.
            await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: connector, request: RemotePredictRequest(
                    parameters: ["port": "1@evil.test:80"], documents: .textDocs(["x"])))
            }
            #expect(provider.requests.count == 1)
        }
    }

    // MARK: - Sizes and numbers

    @Test func oversizedHeadersAreRefusedBeforeTheClientSeesThem() async throws {
        try await RemoteCallTests.withProvider { provider, executor in
            var connector = try RemoteCallTests.openAIConnector(provider)
            connector.actions[0].headers["X-Trace"] = "${parameters.trace}"
            for (value, reason) in [(String(repeating: "a", count: 64 << 10), "longer than 16384 bytes"),
                                    (String(repeating: "a", count: 15 << 10), nil)] {
                let attempt = { () async throws(ConnectorError) in
                    _ = try await executor.predict(connector: connector, request: RemotePredictRequest(
                        parameters: ["trace": .string(value)], documents: .textDocs(["x"])))
                }
                if let reason {
                    let error = await #expect(throws: ConnectorError.self) { try await attempt() }
                    #expect(error?.status == 400 && error?.message.contains(reason) == true)
                } else {
                    try await attempt()
                }
            }
            #expect(provider.requests.count == 1)
            var many = connector
            for number in 0..<3 { many.actions[0].headers["X-Big-\(number)"] = "${parameters.trace}" }
            let total = await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: many, request: RemotePredictRequest(
                    parameters: ["trace": .string(String(repeating: "b", count: 12 << 10))], documents: .textDocs(["x"])))
            }
            #expect(total?.message.contains("in total") == true)
            #expect(provider.requests.count == 1)
        }
    }

    @Test(arguments: [
        ("connection_timeout", JSON.int(Int64.max)), ("read_timeout", JSON.int(-1)), ("read_timeout", JSON.double(1e30)),
        ("connection_timeout", JSON.string("NaN")), ("max_connection", JSON.int(1_000_000_000)), ("max_connection", JSON.int(0)),
        ("max_retry_times", JSON.int(Int64.max)), ("retry_backoff_millis", JSON.double(9.2e18)), ("retry_timeout_seconds", JSON.double(1.5)),
        ("max_retry_times", JSON.int(-2)),
    ])
    func clientConfigNumbersAreRangeChecked(key: String, value: JSON) {
        let error = #expect(throws: ConnectorError.self) { try ClientConfig(json: .object([key: value])) }
        #expect(error?.status == 400 && error?.message.hasPrefix(key) == true)
    }

    @Test func clientConfigLimitsAreUsable() throws {
        let config = try ClientConfig(json: ["connection_timeout": 86_400, "read_timeout": 86_400, "max_connection": 1000,
                                             "max_retry_times": -1, "retry_backoff_millis": 600_000, "retry_timeout_seconds": 86_400])
        #expect(config.readTimeoutSeconds == 86_400 && config.maxRetryTimes == -1)
        #expect(RetryPolicy(config: config).delayMillis(beforeRetry: 1000) >= 0)
    }

    @Test func connectorDefinitionsAreBounded() throws {
        let action: JSON = ["action_type": "predict", "method": "POST", "url": "https://api.openai.com/v1/x"]
        var base: JSONObject = ["name": "n", "version": 1, "protocol": "http", "credential": ["k": "v"], "actions": [action]]
        #expect(throws: Never.self) { try ConnectorDefinition(json: .object(base)) }
        var tooManyActions = base
        tooManyActions["actions"] = .array((0..<33).map { number in
            var object = action.objectValue!
            object["name"] = .string("a\(number)")
            return .object(object)
        })
        #expect(throws: ConnectorError.self) { try ConnectorDefinition(json: .object(tooManyActions)) }
        var badHeader = base
        badHeader["actions"] = [["action_type": "predict", "method": "POST", "url": "https://api.openai.com/v1/x", "headers": ["X-Ünï": "v"]]]
        #expect(throws: ConnectorError.self) { try ConnectorDefinition(json: .object(badHeader)) }
        base["parameters"] = .object(JSONObject((0..<257).map { (key: "p\($0)", value: JSON.string("v")) }))
        #expect(throws: ConnectorError.self) { try ConnectorDefinition(json: .object(base)) }
        base["parameters"] = ["big": .string(String(repeating: "x", count: (1 << 20) + 1))]
        #expect(throws: ConnectorError.self) { try ConnectorDefinition(json: .object(base)) }
    }

    @Test func parametersThatReferToEachOtherCannotExplode() throws {
        // p0 refers to p1 sixteen times, p1 to p2, … : 16^8 copies within the nesting limit.
        var parameters: JSONObject = ["input": "x"]
        for level in 0..<8 { parameters["p\(level)"] = .string(String(repeating: "${parameters.p\(level + 1)}", count: 16)) }
        parameters["p8"] = .string(String(repeating: "z", count: 100))
        let connector = try ConnectorDefinition(json: [
            "name": "n", "version": 1, "protocol": "http", "credential": ["k": "v"], "parameters": .object(parameters),
            "actions": [["action_type": "predict", "method": "POST", "url": "https://api.openai.com/v1/x",
                         "request_body": #"{"prompt": "${parameters.p0}"}"#]],
        ])
        let start = ContinuousClock.now
        let error = #expect(throws: ConnectorError.self) {
            try PreparedRequest(action: connector.actions[0], credential: [:], parameters: RemoteParameters(connector: connector))
        }
        #expect(error?.message.contains("expand to more than the allowed size") == true)
        #expect(start.duration(to: .now) < .seconds(20))
    }
}

extension JSONObject {
    func merging(_ other: JSONObject) -> JSONObject {
        var merged = self
        for (key, value) in other { merged[key] = value }
        return merged
    }
}
