import COpenBLAS
import Foundation
import OrderedJSON

/// A dense sentence-embedding model: tokenizer, encoder, pooling and optional normalization.
public final class TextEmbedder: NativeModel, @unchecked Sendable {
    public let tokenizer: Tokenizer
    public let encoder: TransformerEncoder
    public let pooling: PoolingMode
    public let normalize: Bool
    /// Longest input in tokens, special tokens included.
    public let maxLength: Int
    /// A Dense head after pooling (distiluse).
    let dense: DenseLayer?

    public var dimension: Int { dense?.outFeatures ?? encoder.config.hiddenSize }
    public var residentBytes: Int { encoder.parameterCount * MemoryLayout<Float>.size }

    init(tokenizer: Tokenizer, encoder: TransformerEncoder, pooling: PoolingMode, normalize: Bool, maxLength: Int, dense: DenseLayer? = nil) {
        self.dense = dense
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.pooling = pooling
        self.normalize = normalize
        self.maxLength = maxLength
    }

    /// Loads a Hugging Face / sentence-transformers folder: `config.json`, `model.safetensors`,
    /// `tokenizer.json`, and when present `modules.json` with its Pooling and Normalize modules.
    /// `pooling` and `normalize` override what the folder says.
    public static func load(folder: URL, pooling: PoolingMode? = nil, normalize: Bool? = nil) throws -> TextEmbedder {
        func json(_ name: String) throws -> JSON? {
            let url = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            return try JSON.parse(Data(contentsOf: url))
        }
        guard let configJSON = try json("config.json") else { throw WeightError("\(folder.path) has no config.json") }
        let config = try EncoderConfig(json: configJSON)
        let tokenizerURL = folder.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else { throw WeightError("\(folder.path) has no tokenizer.json") }
        let tokenizer = try Tokenizer.load(contentsOf: tokenizerURL)
        let weightsURL = folder.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else { throw WeightError("\(folder.path) has no model.safetensors") }
        let encoder = try TransformerEncoder(config: config, weights: Safetensors.read(weightsURL))
        try encoder.check(tokenizer)

        let modules = try json("modules.json")?.arrayValue ?? []
        var folderPooling: PoolingMode?
        var folderNormalize = false
        var dense: DenseLayer?
        for module in modules {
            let type = module["type"]?.stringValue ?? ""
            if type.hasSuffix(".Pooling"), let path = module["path"]?.stringValue {
                folderPooling = try json(path + "/config.json").flatMap(Self.poolingMode)
            }
            if type.hasSuffix(".Normalize") { folderNormalize = true }
            if type.hasSuffix(".Dense"), let path = module["path"]?.stringValue {
                dense = try Self.denseModule(folder.appendingPathComponent(path), config: json(path + "/config.json")).checked(inputWidth: config.hiddenSize)
            }
        }
        let sentenceConfig = try json("sentence_bert_config.json")
        let maxSequence = sentenceConfig?["max_seq_length"]?.intValue ?? Int64(tokenizer.truncationLength ?? config.maxPositions)
        guard maxSequence >= 1 else { throw WeightError("sentence_bert_config.json max_seq_length is \(maxSequence); it must be positive") }
        let maxLength = Int(min(maxSequence, Int64(config.maxPositions)))
        return TextEmbedder(tokenizer: tokenizer, encoder: encoder, pooling: pooling ?? folderPooling ?? .mean,
                            normalize: normalize ?? folderNormalize, maxLength: maxLength, dense: dense)
    }

    /// A Dense module folder: `config.json` and its weights (`model.safetensors` or `pytorch_model.bin`).
    static func denseModule(_ folder: URL, config: JSON?) throws -> DenseLayer {
        let safetensors = folder.appendingPathComponent("model.safetensors"), checkpoint = folder.appendingPathComponent("pytorch_model.bin")
        let weights: [String: Tensor]
        if FileManager.default.fileExists(atPath: safetensors.path) {
            weights = try Safetensors.read(safetensors)
        } else if FileManager.default.fileExists(atPath: checkpoint.path) {
            weights = try TorchScriptReader.read(Data(contentsOf: checkpoint)).weights
        } else {
            throw WeightError("the Dense module in \(folder.lastPathComponent) has no weights")
        }
        guard let weight = weights["linear.weight"] else { throw WeightError("the Dense module has no linear.weight") }
        return try DenseLayer(weight: weight, bias: weights["linear.bias"], activation: config?["activation_function"]?.stringValue ?? "Identity")
    }

    /// sentence-transformers' Pooling config: the first mode flag that is on.
    static func poolingMode(_ config: JSON) -> PoolingMode? {
        let flags: [(String, PoolingMode)] = [
            ("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max), ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLen),
            ("pooling_mode_weightedmean_tokens", .weightedMean), ("pooling_mode_mean_tokens", .mean),
        ]
        return flags.first { config[$0.0]?.boolValue == true }?.1
    }

    /// One embedding per text. Texts are sorted by length and run in batches of at most
    /// `batchTokens` tokens; results do not depend on the batching (attention stays within a text).
    public func embed(_ texts: [String], parallelism: Parallelism = .serial, batchTokens: Int = TextEmbedder.defaultBatchTokens) throws -> [[Float]] {
        try Batching.run(tokenize(texts, parallelism: parallelism), tokenBudget: batchTokens) { try embed($0, parallelism: parallelism) }
    }

    /// Tokens a forward pass may hold at once: bounds the activations' memory (about 15 KB per token for MiniLM).
    public static let defaultBatchTokens = 2048

    /// Token ids of each text, truncated to the model's longest input.
    public func tokenize(_ texts: [String], parallelism: Parallelism = .serial) -> [TokenSequence] {
        var sequences = [TokenSequence](repeating: TokenSequence(ids: [], typeIDs: []), count: texts.count)
        sequences.withUnsafeMutableBufferPointer { output in
            nonisolated(unsafe) let output = output
            parallelism.forRanges(texts.count, minimumPerPart: 8) { range, _ in
                for index in range {
                    output[index] = TokenSequence(tokenizer.encode(texts[index], maxLength: maxLength))
                }
            }
        }
        return sequences
    }

    /// Embeddings of already tokenized sequences, in one forward pass.
    public func embed(_ sequences: [TokenSequence], parallelism: Parallelism = .serial) throws -> [[Float]] {
        try encodeDetailed(sequences, parallelism: parallelism).map(\.embedding)
    }

    /// Token and sentence embeddings of already tokenized sequences, in one forward pass.
    public func encodeDetailed(_ sequences: [TokenSequence], parallelism: Parallelism = .serial) throws -> [Detailed] {
        let tokens = try encoder.forward(sequences, parallelism: parallelism)
        return sequences.indices.map { index in
            let values = tokens.tokens(of: index)
            return Detailed(ids: sequences[index].ids, tokenEmbeddings: values, embedding: sentenceEmbedding(values, length: tokens.length(of: index)))
        }
    }

    private func sentenceEmbedding(_ tokens: [Float], length: Int) -> [Float] {
        var pooled = pooling.pool(tokens, length: length, width: encoder.config.hiddenSize)
        if let dense { pooled = dense.apply(pooled) }
        return normalize ? VectorMath.normalized(pooled) : pooled
    }

    /// What a traced sentence-transformers model returns for one text: its token ids, the token
    /// embeddings [tokens × hidden] and the sentence embedding.
    public struct Detailed: Sendable {
        public let ids: [Int32]
        public let tokenEmbeddings: [Float]
        public let embedding: [Float]
    }

    public func encodeDetailed(_ text: String) throws -> Detailed {
        let encoding = tokenizer.encode(text, maxLength: maxLength)
        let tokens = try encoder.forward(ids: encoding.ids, typeIDs: encoding.typeIDs)
        return Detailed(ids: encoding.ids, tokenEmbeddings: tokens, embedding: sentenceEmbedding(tokens, length: encoding.ids.count))
    }
}
