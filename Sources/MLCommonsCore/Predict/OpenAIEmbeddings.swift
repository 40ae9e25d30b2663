import Foundation
import Inference
import OrderedJSON
import Security
import Storage

/// `POST /v1/embeddings`, the OpenAI embeddings API, on the text-embedding models deployed here:
/// `model` is a model id or a model name.
struct OpenAIEmbeddings: Sendable {
    let context: CoreContext
    let deployed: DeployedModels

    func embed(_ body: JSON?) async throws -> JSON {
        guard let body = body?.objectValue else { throw MLError.illegalArgument("the request body must be a JSON object") }
        guard let name = body["model"]?.stringValue, !name.isEmpty else { throw MLError.illegalArgument("you must provide a model parameter") }
        let texts: [String]
        switch body["input"] {
        case .string(let text)?: texts = [text]
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.stringValue != nil }): texts = items.compactMap(\.stringValue)
        case .array(let items)? where !items.isEmpty:
            throw MLError.illegalArgument("input must be a string or an array of strings (token arrays are not supported)")
        default: throw MLError.illegalArgument("input must be a non-empty string or array of strings")
        }
        let settings = try await context.settings.current()
        try InputLimits(settings).check(texts: texts, field: "input")
        let format = body["encoding_format"]?.stringValue ?? "float"
        guard format == "float" || format == "base64" else { throw MLError.illegalArgument("encoding_format must be float or base64") }
        let model = try await resolve(name)
        var data: [JSON] = []
        var tokens = 0
        for (index, text) in texts.enumerated() {
            let detailed = try model.encodeDetailed(text)
            tokens += detailed.ids.count
            let vector = detailed.embedding
            let embedding: JSON = format == "base64"
                ? .string(Data(vector.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }).base64EncodedString())
                : .array(vector.map(ModelTensor.number))
            data.append(["object": "embedding", "index": .int(Int64(index)), "embedding": embedding])
        }
        return ["object": "list", "data": .array(data), "model": .string(name),
                "usage": ["prompt_tokens": .int(Int64(tokens)), "total_tokens": .int(Int64(tokens))]]
    }

    /// A deployed text-embedding model by id, else the first deployed one with that name that the
    /// caller may predict with (access control as predict's: §8).
    private func resolve(_ name: String) async throws -> TextEmbedder {
        if let loaded = await deployed.model(name), let model = loaded.native as? TextEmbedder {
            try await context.access.checkModel(name, .predict)
            return model
        }
        let user = try await context.access.modelUser()
        let candidates = try await context.store.all(index: Indices.model, query: .and(.term("name.keyword", .string(name)), .not(ModelDocument.isChunk)))
        var refused = false
        for candidate in candidates.sorted(by: { $0.id < $1.id }) {
            guard let loaded = await deployed.model(candidate.id), let model = loaded.native as? TextEmbedder else { continue }
            if let user, try await !context.access.mayUse(candidate.source, user: user) {
                refused = true
                continue
            }
            return model
        }
        if refused { throw ModelGroupAccess.denied(.predict) }
        throw MLError.status(404, "The model `\(name)` does not exist or is not a deployed text embedding model")
    }
}
