import Foundation
import OrderedJSON
import ZIPFoundation

/// What the artifact itself cannot say, from the registration's `model_config`.
public struct ModelOptions: Sendable {
    /// The Hugging Face `config.json` of the encoder (`model_config.all_config`).
    public var encoderConfig: JSON?
    public var pooling: PoolingMode?
    public var normalize: Bool?

    public init(encoderConfig: JSON? = nil, pooling: PoolingMode? = nil, normalize: Bool? = nil) {
        self.encoderConfig = encoderConfig
        self.pooling = pooling
        self.normalize = normalize
    }
}

/// Loads OpenSearch model artifacts: a zip holding one TorchScript `.pt` (or `.onnx`) file and
/// `tokenizer.json`.
public enum ArtifactLoader {
    public static func loadTextEmbedder(zip: URL, format: ArtifactFormat, options: ModelOptions) throws -> TextEmbedder {
        let contents: ArtifactContents
        do { contents = try ArtifactLayout.inspect(zip: zip, format: format) } catch let error as ArtifactError {
            throw WeightError(error.message)
        }
        let archive = try Archive(url: zip, accessMode: .read)
        func entry(_ path: String) throws -> Data {
            guard let entry = archive[path] else { throw WeightError("the artifact has no \(path)") }
            var data = Data(capacity: Int(entry.uncompressedSize))
            _ = try archive.extract(entry, skipCRC32: true) { data.append($0) }
            return data
        }
        let tokenizer = try Tokenizer.load(entry(contents.tokenizerFile))
        guard let modelFile = contents.modelFile else { throw WeightError("the artifact has no model file") }
        if format == .onnx { return try loadONNX(entry(modelFile), tokenizer: tokenizer, options: options) }
        let module = try TorchScriptReader.read(entry(modelFile))
        guard module.weights.keys.contains(where: { $0.hasSuffix("embeddings.word_embeddings.weight") }) else {
            let roots = Set(module.classes.values.map { $0.split(separator: ".").last.map(String.init) ?? $0 }).sorted().prefix(12)
            throw WeightError("the TorchScript model is not an encoder the engine knows (modules found: \(roots.joined(separator: ", ")))")
        }
        guard let configJSON = options.encoderConfig else {
            throw WeightError("model_config.all_config (the model's Hugging Face config.json) is needed to load a TorchScript model: the file does not record the number of attention heads")
        }
        let config = try EncoderConfig(json: configJSON)
        let encoder = try TransformerEncoder(config: config, weights: module.weights)
        // DJL truncates at tokenizer.json's max_length, never above the model's positions.
        let maxLength = min(tokenizer.truncationLength ?? 512, config.maxPositions)
        // A traced sentence-transformers model says itself whether it normalizes (a Normalize module);
        // a plain Hugging Face trace does not, and model_config decides.
        let isSentenceTransformer = module.hasModule(endingWith: ".Pooling")
        let normalize = isSentenceTransformer ? module.hasModule(endingWith: ".Normalize") : (options.normalize ?? false)
        return TextEmbedder(tokenizer: tokenizer, encoder: encoder, pooling: options.pooling ?? .mean,
                            normalize: normalize, maxLength: maxLength)
    }

    /// ONNX: the artifact decides pooling and normalization when the graph does them itself
    /// (new-style exports with a `sentence_embedding` output); otherwise `model_config` does.
    static func loadONNX(_ data: Data, tokenizer: Tokenizer, options: ModelOptions) throws -> TextEmbedder {
        let graph = try ONNXEncoderGraph(ONNXReader.read(data, directory: nil))
        let config = try graph.config(given: options.encoderConfig)
        let encoder = try TransformerEncoder(config: config, weights: graph.weights)
        let maxLength = min(tokenizer.truncationLength ?? 512, config.maxPositions)
        return TextEmbedder(tokenizer: tokenizer, encoder: encoder, pooling: graph.poolingInGraph ?? options.pooling ?? .mean,
                            normalize: graph.poolingInGraph != nil ? graph.normalizedInGraph : (options.normalize ?? false),
                            maxLength: maxLength)
    }
}
