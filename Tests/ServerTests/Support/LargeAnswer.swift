import Foundation
import OrderedJSON

/// An answer larger than the socket buffers, for tests of what a stop does to answers still being
/// written: a 10 MB chunk (the first of two, so nothing checks it as a model), read back base64-encoded.
enum LargeAnswer {
    /// Uploads the chunk; returns the model id and the chunk's bytes.
    static func upload(_ client: TestClient) async throws -> (modelID: String, chunk: [UInt8]) {
        try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
        var generator = SystemRandomNumberGenerator()
        let chunk = (0..<10_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let meta = try await client.expect(200, "POST", "/_plugins/_ml/models/_register_meta", [
            "name": "big", "version": "1", "model_format": "TORCH_SCRIPT", "model_content_hash_value": .string(String(repeating: "ab", count: 32)),
            "model_content_size_in_bytes": .int(Int64(chunk.count) * 2), "total_chunks": 2, "function_name": "SPARSE_TOKENIZE"])
        guard let modelID = meta["model_id"]?.stringValue else { throw TestFailure("no model_id in \(meta.serialized)") }
        let uploaded = try await client.send("POST", "/_plugins/_ml/models/\(modelID)/upload_chunk/0", body: chunk, contentType: "application/octet-stream")
        guard uploaded.status == 200 else { throw TestFailure("upload_chunk answered \(uploaded.status): \(uploaded.text)") }
        return (modelID, chunk)
    }

    /// The request line that asks for the chunk back.
    static func request(_ modelID: String, close: Bool = false) -> String {
        "GET /_plugins/_ml/models/\(modelID)_0?return_content=true HTTP/1.1\r\nHost: x\r\n\(close ? "Connection: close\r\n" : "")\r\n"
    }

    /// A raw HTTP/1.1 answer split at the blank line after its head; nil when it has none.
    static func split(_ response: [UInt8]) -> (head: String, body: [UInt8])? {
        let separator = Array("\r\n\r\n".utf8)
        guard response.count >= separator.count,
              let headEnd = (0...(response.count - separator.count)).first(where: { Array(response[$0..<($0 + separator.count)]) == separator })
        else { return nil }
        return (String(decoding: response[..<headEnd], as: UTF8.self), Array(response[(headEnd + separator.count)...]))
    }

    /// The chunk in a `GET ...?return_content=true` answer body.
    static func content(_ body: [UInt8]) throws -> [UInt8]? {
        try JSON.parse(body)["model_content"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map(Array.init)
    }
}
