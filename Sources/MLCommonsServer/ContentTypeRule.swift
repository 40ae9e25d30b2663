/// OpenSearch reads a request body only when its `Content-Type` names a type it parses; a browser
/// page can send `text/plain`, form or multipart bodies to any origin without asking first (no CORS
/// preflight), so refusing those keeps another site from driving this server through a user's browser.
enum ContentTypeRule {
    /// Chunk uploads carry raw bytes; `application/octet-stream` is not a type a page may send unasked.
    static func isAccepted(_ header: String?, path: String) -> Bool {
        guard let header else { return false }
        let mediaType = header.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if mediaType == "application/json" || mediaType == "application/x-ndjson" { return true }
        // `application/vnd.opensearch+json; compatible-with=…` and other JSON vendor types.
        if mediaType.hasPrefix("application/"), mediaType.hasSuffix("+json") { return true }
        return mediaType == "application/octet-stream" && Self.isChunkUpload(path)
    }

    private static func isChunkUpload(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count == 6 && parts[2] == "models" && (parts[4] == "upload_chunk" || parts[4] == "chunk")
    }
}
