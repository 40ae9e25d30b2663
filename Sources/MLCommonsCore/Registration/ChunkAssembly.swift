import Crypto
import Foundation
import Storage

/// A chunk-uploaded model's zip, written back into one file from its chunks, hashed on the way.
enum ChunkAssembly {
    struct MissingChunk: Error {
        let number: Int
    }

    /// Writes chunks `0..<total` of the model to `file`; the last comes from `lastChunk` when given
    /// (the upload that brings it is not stored yet). Returns the SHA-256 of what was written.
    /// Throws `MissingChunk` for a chunk not in the store, and removes the file on any failure.
    static func write(modelID: String, total: Int, lastChunk: [UInt8]? = nil, to file: URL, store: any DocumentStore) async throws -> String {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let output = try FileHandle(forWritingTo: file)
        var hasher = SHA256()
        do {
            for number in 0..<total {
                let stored = number == total - 1 && lastChunk != nil
                    ? lastChunk : try await store.attachment(index: Indices.model, id: ModelDocument.chunkID(modelID, number))
                guard let bytes = stored else { throw MissingChunk(number: number) }
                hasher.update(data: bytes)
                try output.write(contentsOf: bytes)
            }
            try output.close()
        } catch {
            try? output.close()
            try? FileManager.default.removeItem(at: file)
            throw error
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
