import AsyncHTTPClient
import Foundation
import NIOCore
import OrderedJSON

/// A reply from the server under test.
struct HTTPReply: Sendable {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    var json: JSON {
        get throws { try JSON.parse(body) }
    }

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

/// HTTP over loopback, as a client sees the server (HTTPS with a client that trusts its CA).
struct TestClient: Sendable {
    let baseURL: String
    var http: HTTPClient = .shared
    /// Sent with every request (credentials).
    var headers: [(String, String)] = []

    /// The same client, sending HTTP Basic credentials.
    func signedIn(_ user: String, _ password: String) -> TestClient {
        var client = self
        client.headers = [("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())]
        return client
    }

    /// The same client, sending an API key as a bearer token.
    func withKey(_ key: String) -> TestClient {
        var client = self
        client.headers = [("Authorization", "Bearer " + key)]
        return client
    }

    /// - Parameter timeout: how long the answer may take (a debug-built engine on a loaded machine is slow).
    func send(_ method: String, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
              timeout: Duration = .seconds(60)) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: contentType)
        }
        let response = try await http.execute(request, timeout: .seconds(timeout.components.seconds))
        let buffer = try await response.body.collect(upTo: 256 << 20)
        return HTTPReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                         body: Array(buffer.readableBytesView))
    }

    func send(_ method: String, _ path: String, json: JSON) async throws -> HTTPReply {
        try await send(method, path, body: json.serializedBytes)
    }

    func send(_ method: String, _ path: String, text: String) async throws -> HTTPReply {
        try await send(method, path, body: Array(text.utf8))
    }

    /// Sends and requires the status; returns the JSON body.
    @discardableResult
    func expect(_ status: Int, _ method: String, _ path: String, _ json: JSON? = nil, timeout: Duration = .seconds(60)) async throws -> JSON {
        let reply = try await send(method, path, body: json?.serializedBytes, timeout: timeout)
        guard reply.status == status else {
            throw TestFailure("\(method) \(path): expected \(status), got \(reply.status): \(reply.text)")
        }
        return reply.body.isEmpty ? .null : try reply.json
    }

    /// Polls a task until it leaves CREATED / RUNNING.
    func waitForTask(_ taskID: String, timeout: Duration = .seconds(60)) async throws -> JSON {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let task = try await expect(200, "GET", "/_plugins/_ml/tasks/\(taskID)")
            if let state = task["state"]?.stringValue, state != "CREATED", state != "RUNNING" { return task }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("task \(taskID) did not finish within \(timeout)")
    }

    func search(_ index: String, _ body: JSON) async throws -> [JSON] {
        let reply = try await expect(200, "POST", "/_plugins/_ml/\(index)/_search", body)
        return reply["hits"]?["hits"]?.arrayValue ?? []
    }
}
