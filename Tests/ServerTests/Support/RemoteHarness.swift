import AsyncHTTPClient
import Foundation
import NIOCore
import OrderedJSON
import ProviderFakes

/// A server and a fake provider on loopback; the server trusts loopback URLs and, unless
/// `privateIP` is false, may call private addresses. Every reply the body sees goes through
/// `RecordingClient`, so tests can check that no reply carried a secret.
func withRemoteServer<T>(privateIP: Bool = true,
                         _ body: (RecordingClient, ServerProcess, FakeProvider) async throws -> T) async throws -> T {
    let provider = FakeProvider()
    try await provider.start()
    defer { provider.stop() }
    return try await withServer { client, server, _ in
        try await client.setPersistent([
            "plugins.ml_commons.trusted_connector_endpoints_regex": [#"^http://127\.0\.0\.1:[0-9]+/.*$"#],
            "plugins.ml_commons.connector.private_ip_enabled": .bool(privateIP),
        ])
        return try await body(RecordingClient(client: client), server, provider)
    }
}

/// A test client that keeps every reply body.
final class RecordingClient: @unchecked Sendable {
    let client: TestClient
    private let lock = NSLock()
    private var bodies: [String] = []

    init(client: TestClient) { self.client = client }

    var replies: [String] { lock.withLock { bodies } }

    private func record(_ text: String) { lock.withLock { bodies.append(text) } }

    func send(_ method: String, _ path: String, json: JSON? = nil, user: String? = nil) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: client.baseURL + path)
        request.method = .init(rawValue: method)
        if let json {
            request.body = .bytes(ByteBuffer(bytes: json.serializedBytes))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let user { request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):pw".utf8).base64EncodedString()) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        let reply = HTTPReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                              body: Array(buffer.readableBytesView))
        record(reply.text)
        return reply
    }

    func send(_ method: String, _ path: String, ndjson: String) async throws -> HTTPReply {
        let reply = try await client.send(method, path, body: Array(ndjson.utf8), contentType: "application/x-ndjson")
        record(reply.text)
        return reply
    }

    @discardableResult
    func expect(_ status: Int, _ method: String, _ path: String, _ json: JSON? = nil, user: String? = nil) async throws -> JSON {
        let reply = try await send(method, path, json: json, user: user)
        guard reply.status == status else {
            throw TestFailure("\(method) \(path): expected \(status), got \(reply.status): \(reply.text)")
        }
        return reply.body.isEmpty ? .null : try reply.json
    }

    /// Sends and requires the status and an error reason containing `reason`.
    @discardableResult
    func expectError(_ status: Int, _ method: String, _ path: String, _ json: JSON? = nil, reason: String, user: String? = nil) async throws -> JSON {
        let body = try await expect(status, method, path, json, user: user)
        let got = body["error"]?["reason"]?.stringValue ?? ""
        guard got.contains(reason) else { throw TestFailure("\(method) \(path): reason \(got.debugDescription) lacks \(reason.debugDescription)") }
        return body
    }
}

enum Connectors {
    static let openAISecret = "sk-test-OPENAI-secret-7f3a9c"

    /// The OpenAI embeddings connector of the ML Commons blueprints, pointed at the fake provider.
    static func openAI(_ provider: FakeProvider, key: String = openAISecret) -> JSON {
        [
            "name": "OpenAI embedding connector", "description": "The connector to the OpenAI embedding model", "version": 1,
            "protocol": "http",
            "parameters": ["model": "text-embedding-ada-002", "endpoint": .string(provider.baseURL)],
            "credential": ["openAI_key": .string(key)],
            "actions": [[
                "action_type": "predict", "method": "POST", "url": "${parameters.endpoint}/v1/embeddings",
                "headers": ["Authorization": "Bearer ${credential.openAI_key}"],
                "request_body": #"{ "input": ${parameters.input}, "model": "${parameters.model}" }"#,
                "pre_process_function": "connector.pre_process.openai.embedding",
                "post_process_function": "connector.post_process.openai.embedding",
            ]],
        ]
    }

    /// OpenAI chat completions: one user message from `parameters.<content>`.
    static func chat(_ provider: FakeProvider, key: String = openAISecret, content: String = "prompt", model: String = "gpt-3.5-turbo") -> JSON {
        [
            "name": "OpenAI chat connector", "version": "1", "protocol": "http",
            "parameters": ["model": .string(model)],
            "credential": ["openAI_key": .string(key)],
            "actions": [[
                "action_type": "predict", "method": "POST", "url": .string("\(provider.baseURL)/v1/chat/completions"),
                "headers": ["Authorization": "Bearer ${credential.openAI_key}"],
                "request_body": .string(#"{ "model": "${parameters.model}", "messages": [{"role": "user", "content": "${parameters.\#(content)}"}] }"#),
            ]],
        ]
    }

    static func cohere(_ provider: FakeProvider, key: String) -> JSON {
        [
            "name": "Cohere embed connector", "description": "The connector to the Cohere embed model", "version": 1,
            "protocol": "http",
            "parameters": ["model": "embed-english-v2.0", "truncate": "END"],
            "credential": ["cohere_key": .string(key)],
            "actions": [[
                "action_type": "predict", "method": "POST", "url": .string("\(provider.baseURL)/v1/embed"),
                "headers": ["Authorization": "Bearer ${credential.cohere_key}"],
                "request_body": #"{ "texts": ${parameters.texts}, "truncate": "${parameters.truncate}", "model": "${parameters.model}" }"#,
                "pre_process_function": "connector.pre_process.cohere.embedding",
                "post_process_function": "connector.post_process.cohere.embedding",
            ]],
        ]
    }

    static func bedrock(_ provider: FakeProvider, accessKey: String, secretKey: String, sessionToken: String) -> JSON {
        [
            "name": "Amazon Bedrock Connector: embedding", "description": "The connector to the Bedrock Titan embedding model",
            "version": 1, "protocol": "aws_sigv4",
            "parameters": ["region": "us-east-1", "service_name": "bedrock", "model": "amazon.titan-embed-text-v1"],
            "credential": ["access_key": .string(accessKey), "secret_key": .string(secretKey), "session_token": .string(sessionToken)],
            "actions": [[
                "action_type": "predict", "method": "POST",
                "url": .string("\(provider.baseURL)/model/${parameters.model}/invoke"),
                "headers": ["content-type": "application/json"],
                "request_body": #"{ "inputText": "${parameters.inputText}" }"#,
                "pre_process_function": "connector.pre_process.bedrock.embedding",
                "post_process_function": "connector.post_process.bedrock.embedding",
            ]],
        ]
    }
}

extension RecordingClient {
    func createConnector(_ body: JSON) async throws -> String {
        let reply = try await expect(200, "POST", "/_plugins/_ml/connectors/_create", body)
        guard let id = reply["connector_id"]?.stringValue else { throw TestFailure("no connector_id in \(reply.serialized)") }
        return id
    }

    /// Registers a remote model (synchronous); returns its id after checking the answer's shape.
    func registerRemote(_ body: JSON, query: String = "") async throws -> String {
        let reply = try await expect(200, "POST", "/_plugins/_ml/models/_register\(query)", body)
        guard reply["status"] == "CREATED", reply["task_id"]?.stringValue != nil, let id = reply["model_id"]?.stringValue else {
            throw TestFailure("unexpected register answer \(reply.serialized)")
        }
        return id
    }
}

extension String {
    /// Whether this reply or log line holds `secret` in any spelling a redaction must catch: as
    /// written, JSON-escaped, percent-encoded or base64, or once `\uXXXX`, `\/` and `%XX` escapes
    /// are decoded.
    func containsAnyForm(of secret: String) -> Bool {
        let base64 = Data(secret.utf8).base64EncodedString()
        let forms = [secret, String(JSON.string(secret).serialized.dropFirst().dropLast()), base64,
                     base64.replacingOccurrences(of: "=", with: ""),
                     secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret]
        if forms.contains(where: { contains($0) }) { return true }
        var decoded = replacingOccurrences(of: "\\/", with: "/")
        if let escape = try? NSRegularExpression(pattern: #"\\u([0-9a-fA-F]{4})"#) {
            for match in escape.matches(in: decoded, range: NSRange(decoded.startIndex..., in: decoded)).reversed() {
                guard let range = Range(match.range, in: decoded), let hex = Range(match.range(at: 1), in: decoded),
                      let value = UInt32(decoded[hex], radix: 16), let scalar = Unicode.Scalar(value) else { continue }
                decoded.replaceSubrange(range, with: String(scalar))
            }
        }
        decoded = decoded.replacingOccurrences(of: "\\\"", with: "\"")
        return decoded.contains(secret) || (decoded.removingPercentEncoding ?? decoded).contains(secret)
    }
}
