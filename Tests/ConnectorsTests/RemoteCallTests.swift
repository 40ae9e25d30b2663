import Foundation
import Logging
import OrderedJSON
import ProviderFakes
import Testing
@testable import Connectors

/// Connectors against real loopback providers.
@Suite(.serialized) struct RemoteCallTests {
    static let loopbackPolicy = EndpointPolicy(trustedEndpointsRegex: [#"^http://(127\.0\.0\.1|api\.openai\.test):\d+/.*$"#],
                                               privateIPEnabled: true)

    static func openAIConnector(_ provider: FakeProvider, clientConfig: JSON? = nil, host: String = "127.0.0.1") throws -> ConnectorDefinition {
        var object: JSONObject = [
            "name": "openai", "version": "1", "protocol": "http",
            "parameters": ["model": "text-embedding-ada-002"],
            "credential": ["openAI_key": "sk-TOPSECRET-42"],
            "actions": [["action_type": "predict", "method": "POST",
                         "url": .string("http://\(host):\(provider.port)/v1/embeddings"),
                         "headers": ["Authorization": "Bearer ${credential.openAI_key}"],
                         "request_body": #"{"input": ${parameters.input}, "model": "${parameters.model}"}"#,
                         "pre_process_function": "connector.pre_process.openai.embedding",
                         "post_process_function": "connector.post_process.openai.embedding"]],
        ]
        if let clientConfig { object["client_config"] = clientConfig }
        return try ConnectorDefinition(json: .object(object))
    }

    static func withProvider<T>(_ body: (FakeProvider, ConnectorExecutor) async throws -> T,
                                resolver: any HostResolver = SystemHostResolver(), logger: Logger = Logger(label: "test")) async throws -> T {
        let provider = FakeProvider()
        try await provider.start()
        let client = RemoteHTTPClient(resolver: resolver, logger: logger)
        defer { provider.stop() }
        do {
            let result = try await body(provider, ConnectorExecutor(client: client, endpointPolicy: loopbackPolicy))
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    @Test func openAIEmbeddingsBatchAllDocsInOneCall() async throws {
        try await Self.withProvider { provider, executor in
            let output = try await executor.predict(connector: Self.openAIConnector(provider),
                                                    request: RemotePredictRequest(documents: .textDocs(["hello", "wörld \"q\""])))
            #expect(provider.requests.count == 1)
            #expect(provider.requests[0].header("Authorization") == "Bearer sk-TOPSECRET-42")
            #expect(output.inferenceResults.count == 1 && output.inferenceResults[0].statusCode == 200)
            let tensors = output.inferenceResults[0].output
            #expect(tensors.map(\.name) == ["sentence_embedding", "sentence_embedding"])
            #expect(tensors[1].data == FakeProvider.vector(for: "wörld \"q\"").arrayValue)
            #expect(tensors[0].shape == [3] && tensors[0].dataType == "FLOAT32")
        }
    }

    @Test func chatCompletionWithoutPostProcessBecomesDataAsMap() async throws {
        try await Self.withProvider { provider, executor in
            var connector = try Self.openAIConnector(provider)
            connector.actions[0].url = "http://127.0.0.1:\(provider.port)/v1/chat/completions"
            connector.actions[0].requestBody = #"{"model": "${parameters.model}", "messages": ${parameters.messages}}"#
            connector.actions[0].preProcessFunction = nil
            connector.actions[0].postProcessFunction = nil
            let messages: JSON = [["role": "user", "content": "He said \"${parameters.model}\"\n"]]
            let output = try await executor.predict(connector: connector, request: RemotePredictRequest(parameters: ["messages": messages]))
            let map = try #require(output.inferenceResults.first?.output.first?.dataAsMap)
            #expect(map["choices"]?.arrayValue?.first?["message"]?["content"] == "echo: He said \"${parameters.model}\"\n")
            let filtered = try await executor.predict(connector: connector, request: RemotePredictRequest(
                parameters: ["messages": messages, "response_filter": "$.choices[0].message.content"]))
            #expect(filtered.inferenceResults[0].output[0].dataAsMap == ["response": "echo: He said \"${parameters.model}\"\n"])
        }
    }

    @Test func cohereEmbedAndRerank() async throws {
        try await Self.withProvider { provider, executor in
            let connector = try ConnectorDefinition(json: [
                "name": "cohere", "version": 1, "protocol": "http", "credential": ["cohere_key": "co-secret"],
                "actions": [
                    ["action_type": "predict", "method": "POST", "url": .string("\(provider.baseURL)/v1/embed"),
                     "headers": ["Authorization": "Bearer ${credential.cohere_key}"],
                     "request_body": #"{"texts": ${parameters.texts}, "truncate": "END"}"#,
                     "pre_process_function": "connector.pre_process.cohere.embedding",
                     "post_process_function": "connector.post_process.cohere.embedding"],
                ],
            ])
            let output = try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["a", "bb", "ccc"])))
            #expect(output.inferenceResults[0].output.map { $0.data?.first } == [1.0, 2.0, 3.0])

            var rerank = connector
            rerank.actions[0].url = "\(provider.baseURL)/v1/rerank"
            rerank.actions[0].requestBody = #"{"query": "${parameters.query}", "documents": ${parameters.documents}, "top_n": ${parameters.top_n}}"#
            rerank.actions[0].preProcessFunction = "connector.pre_process.cohere.rerank"
            rerank.actions[0].postProcessFunction = "connector.post_process.cohere.rerank"
            let scores = try await executor.predict(connector: rerank, request: RemotePredictRequest(
                documents: .similarity(query: "q", documents: ["short", "a much longer document", "mid size"])))
            #expect(scores.inferenceResults[0].output.map(\.name) == ["similarity", "similarity", "similarity"])
            #expect(scores.inferenceResults[0].output.map { $0.data?.first } == [0.05, 0.22, 0.08])
        }
    }

    @Test func bedrockSignsEachDocAndTheProviderVerifiesWithBotocore() async throws {
        try await Self.withProvider { provider, executor in
            let secret = "bedrock/SECRET+key"
            provider.signatureCheck = Botocore.bedrockSignatureCheck(accessKey: "AKIATEST", secretKey: secret)
            let connector = try ConnectorDefinition(json: [
                "name": "titan", "version": 1, "protocol": "aws_sigv4",
                "parameters": ["region": "us-east-1", "service_name": "bedrock", "model": "amazon.titan-embed-text-v1"],
                "credential": ["access_key": "AKIATEST", "secret_key": .string(secret), "session_token": "tok/en=="],
                "actions": [["action_type": "predict", "method": "POST",
                             "url": .string("\(provider.baseURL)/model/${parameters.model}/invoke"),
                             "headers": ["content-type": "application/json"],
                             "request_body": #"{"inputText": "${parameters.inputText}"}"#,
                             "pre_process_function": "connector.pre_process.bedrock.embedding",
                             "post_process_function": "connector.post_process.bedrock.embedding"]],
            ])
            let output = try await executor.predict(connector: connector,
                                                    request: RemotePredictRequest(documents: .textDocs(["héllo 😀", "second \"doc\""])))
            #expect(provider.requests.count == 2)
            #expect(output.inferenceResults.count == 2)
            #expect(output.inferenceResults.map { $0.output[0].data } == [FakeProvider.vector(for: "héllo 😀").arrayValue,
                                                                        FakeProvider.vector(for: "second \"doc\"").arrayValue])
            #expect(provider.requests[0].header("X-Amz-Security-Token") == "tok/en==")

            var wrongKey = connector
            wrongKey.credential["secret_key"] = "not-the-key"
            let error = await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: wrongKey, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(error?.status == 403)
            #expect(error?.message.contains("signature mismatch") == true)
            #expect(error?.message.contains("not-the-key") == false)
        }
    }

    @Test func retriesOn429And500ThenSucceeds() async throws {
        try await Self.withProvider { provider, executor in
            provider.behave(.status(429, body: #"{"error":"slow down"}"#), .status(503, body: "busy"), .normal)
            let connector = try Self.openAIConnector(provider, clientConfig: ["max_retry_times": 3, "retry_backoff_millis": 10,
                                                                               "retry_backoff_policy": "exponential_equal_jitter"])
            let output = try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            #expect(provider.requests.count == 3)
            #expect(output.inferenceResults[0].output.count == 1)
        }
    }

    @Test func providerErrorKeepsItsStatusAfterRetriesAndHidesTheKey() async throws {
        try await Self.withProvider { provider, executor in
            provider.behave(.status(500, body: #"{"error":"bad key sk-TOPSECRET-42"}"#))
            let connector = try Self.openAIConnector(provider, clientConfig: ["max_retry_times": 2, "retry_backoff_millis": 5])
            let error = await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(provider.requests.count == 3)
            #expect(error?.status == 500 && error?.type == "status_exception")
            #expect(error?.message == #"Error from remote service: {"error":"bad key ******"}"#)
        }
    }

    @Test func noRetryByDefaultAndClientErrorsAreNotRetried() async throws {
        try await Self.withProvider { provider, executor in
            provider.behave(.status(429, body: "limited"))
            let error = await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: Self.openAIConnector(provider), request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(error?.status == 429 && provider.requests.count == 1)
            provider.behave(.status(401, body: "nope"))
            let retrying = try Self.openAIConnector(provider, clientConfig: ["max_retry_times": 3, "retry_backoff_millis": 5])
            await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: retrying, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(provider.requests.count == 2)
        }
    }

    @Test func readTimeout() async throws {
        try await Self.withProvider { provider, executor in
            // The provider answers far later than the 1 s read timeout; the bound below leaves room for a loaded machine.
            provider.behave(.slow(seconds: 30))
            let connector = try Self.openAIConnector(provider, clientConfig: ["read_timeout": 1, "connection_timeout": 1])
            let start = ContinuousClock.now
            let error = await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(error?.status == 504)
            #expect(start.duration(to: .now) < .seconds(15))
        }
    }

    @Test func malformedAndEmptyAnswers() async throws {
        try await Self.withProvider { provider, executor in
            provider.behave(.malformedJSON)
            let connector = try Self.openAIConnector(provider)
            let malformed = await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(malformed?.status == 500 && malformed?.message == "Fail to execute PREDICT in aws connector")
            provider.behave(.emptyBody)
            let empty = await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(empty?.status == 502 && empty?.message == "Remote service returned empty response body")
        }
    }

    @Test func droppedConnectionsAreRetriedThenReported() async throws {
        let dropping = DroppingServer()
        try dropping.start()
        defer { dropping.stop() }
        let logs = LogCapture()
        try await Self.withProvider({ provider, executor in
            var connector = try Self.openAIConnector(provider, clientConfig: ["max_retry_times": 2, "retry_backoff_millis": 5])
            connector.actions[0].url = "http://127.0.0.1:\(dropping.port)/v1/embeddings"
            let error = await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(error?.status == 502)
            #expect(dropping.acceptedConnections >= 3)
            #expect(error?.message.contains("sk-TOPSECRET-42") == false)
        }, logger: logs.logger)
        #expect(logs.text.contains("Retrying remote call"))
        #expect(!logs.text.contains("sk-TOPSECRET-42"))
    }

    @Test func connectsToTheCheckedAddressKeepingTheHostName() async throws {
        let resolver = TableResolver(["api.openai.test": ["127.0.0.1"]])
        try await Self.withProvider({ provider, executor in
            let connector = try Self.openAIConnector(provider, host: "api.openai.test")
            _ = try await executor.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            #expect(provider.requests.first?.header("Host") == "api.openai.test:\(provider.port)")
            #expect(resolver.lookups == ["api.openai.test"])
        }, resolver: resolver)
    }

    @Test func untrustedAndPrivateEndpointsAreRefusedBeforeAnyRequest() async throws {
        try await Self.withProvider { provider, executor in
            let connector = try Self.openAIConnector(provider)
            var strict = executor
            strict.endpointPolicy = EndpointPolicy()
            let untrusted = await #expect(throws: ConnectorError.self) {
                try await strict.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(untrusted?.message.hasPrefix("Connector URL is not matching the trusted connector endpoint regex") == true)
            strict.endpointPolicy = EndpointPolicy(trustedEndpointsRegex: Self.loopbackPolicy.trustedEndpointsRegex)
            let privateIP = await #expect(throws: ConnectorError.self) {
                try await strict.predict(connector: connector, request: RemotePredictRequest(documents: .textDocs(["x"])))
            }
            #expect(privateIP?.message == "Remote inference host name has private ip address: 127.0.0.1")
            #expect(provider.requests.isEmpty)
            // A request parameter cannot move the URL somewhere untrusted either.
            var templated = connector
            templated.actions[0].url = "http://${parameters.host}/v1/embeddings"
            templated.parameters["host"] = .string("127.0.0.1:\(provider.port)")
            _ = try await executor.predict(connector: templated, request: RemotePredictRequest(documents: .textDocs(["x"])))
            await #expect(throws: ConnectorError.self) {
                try await executor.predict(connector: templated, request: RemotePredictRequest(
                    parameters: ["host": "evil.example.com"], documents: .textDocs(["x"])))
            }
        }
    }
}

/// Collects log lines in memory.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var text: String { lock.withLock { lines.joined(separator: "\n") } }

    var logger: Logger {
        Logger(label: "capture") { _ in CaptureHandler(capture: self) }
    }

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    struct CaptureHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            capture.append("\(event.level) \(event.message) \(event.metadata ?? [:]) \(metadata) \(event.error.map { "\($0)" } ?? "")")
        }
    }
}
