import Foundation

/// A BERT-style encoder of any supported family: embeddings, then `layers` blocks of
/// self-attention and feed-forward, each followed by a residual layer norm.
public struct TransformerEncoder: Sendable {
    /// The four products' weights are packed once here for `Kernels.packedLinear`; the query, key
    /// and value projections are stacked into one [3H × H] weight so one product computes all three.
    struct Layer: Sendable {
        let qkv: PackedWeight, qkvBias: FloatBuffer  // [3H × H] and [3H]: query, key and value stacked
        let attentionOut: PackedWeight, attentionOutBias: FloatBuffer
        let attentionNormGamma: FloatBuffer, attentionNormBeta: FloatBuffer
        let intermediate: PackedWeight, intermediateBias: FloatBuffer
        let output: PackedWeight, outputBias: FloatBuffer
        let outputNormGamma: FloatBuffer, outputNormBeta: FloatBuffer
    }

    public let config: EncoderConfig
    let wordEmbeddings: Tensor
    let positionEmbeddings: Tensor
    let tokenTypeEmbeddings: Tensor?
    let embeddingNormGamma: FloatBuffer, embeddingNormBeta: FloatBuffer
    /// MPNet: [buckets × heads], shared by every layer.
    let relativeAttentionBias: [Float]?
    let layers: [Layer]
    let vocabularySize: Int
    /// Activation memory kept between forward passes.
    let workspaces = WorkspaceCache()

    /// Builds the encoder from weights named as Hugging Face names them; a common prefix
    /// (`bert.`, `0.auto_model.`, `model.0.auto_model.`, …) before `embeddings.` is found and stripped.
    public init(config: EncoderConfig, weights: [String: Tensor]) throws {
        self.config = config
        let (prefix, words) = try Self.checkWeights(config: config, weights: weights)
        let h = config.hiddenSize, inner = config.intermediateSize
        func weight(_ name: String, _ shape: [Int]) throws -> Tensor {
            guard let t = weights[prefix + name] else { throw WeightError("missing weight \(prefix + name) for a \(config.modelType) model") }
            guard t.shape == shape else { throw WeightError("weight \(prefix + name) has shape \(t.shape), expected \(shape)") }
            return t
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] { try weight(name, shape).values }
        vocabularySize = words.shape[0]
        wordEmbeddings = try weight("embeddings.word_embeddings.weight", [vocabularySize, h])
        let positions = weights[prefix + "embeddings.position_embeddings.weight"]?.shape.first ?? 0
        positionEmbeddings = try weight("embeddings.position_embeddings.weight", [positions, h])
        if config.family.hasTokenTypes {
            let types = weights[prefix + "embeddings.token_type_embeddings.weight"]?.shape.first ?? 0
            tokenTypeEmbeddings = try weight("embeddings.token_type_embeddings.weight", [types, h])
        } else {
            tokenTypeEmbeddings = nil
        }
        embeddingNormGamma = FloatBuffer(copying: try tensor("embeddings.LayerNorm.weight", [h]))
        embeddingNormBeta = FloatBuffer(copying: try tensor("embeddings.LayerNorm.bias", [h]))
        relativeAttentionBias = config.family == .mpnet
            ? try tensor("encoder.relative_attention_bias.weight", [config.relativeBuckets, config.heads]) : nil
        func vector(_ name: String, _ count: Int) throws -> FloatBuffer { FloatBuffer(copying: try tensor(name, [count])) }
        func packed(_ name: String, _ out: Int, _ inFeatures: Int) throws -> PackedWeight {
            PackedWeight(try weight(name, [out, inFeatures]).storage, outFeatures: out, inFeatures: inFeatures)
        }
        layers = try (0..<config.layers).map { i in
            let n = config.family.layerNames(i)
            let projections = try [n.query, n.key, n.value].map { try weight($0 + ".weight", [h, h]) }
            return Layer(
                qkv: PackedWeight(stacking: projections.map(\.storage), inFeatures: h),
                qkvBias: FloatBuffer(copying: try tensor(n.query + ".bias", [h]) + tensor(n.key + ".bias", [h]) + tensor(n.value + ".bias", [h])),
                attentionOut: try packed(n.attentionOut + ".weight", h, h), attentionOutBias: try vector(n.attentionOut + ".bias", h),
                attentionNormGamma: try vector(n.attentionNorm + ".weight", h), attentionNormBeta: try vector(n.attentionNorm + ".bias", h),
                intermediate: try packed(n.intermediate + ".weight", inner, h), intermediateBias: try vector(n.intermediate + ".bias", inner),
                output: try packed(n.output + ".weight", h, inner), outputBias: try vector(n.output + ".bias", h),
                outputNormGamma: try vector(n.outputNorm + ".weight", h), outputNormBeta: try vector(n.outputNorm + ".bias", h))
        }
    }

    /// Proves every weight the encoder will read present with the shape `config` requires, before
    /// anything is copied or packed (the kernels trust these shapes); returns the weights' name
    /// prefix and the word embeddings.
    @discardableResult
    static func checkWeights(config: EncoderConfig, weights: [String: Tensor]) throws -> (prefix: String, words: Tensor) {
        guard let wordKey = weights.keys.filter({ $0.hasSuffix("embeddings.word_embeddings.weight") }).min(by: { $0.count < $1.count }),
              let words = weights[wordKey], words.shape.count == 2, words.shape[0] > 0 else {
            throw WeightError("no embeddings.word_embeddings.weight among the weights: not a \(config.modelType) model")
        }
        let prefix = String(wordKey.dropLast("embeddings.word_embeddings.weight".count))
        let h = config.hiddenSize, inner = config.intermediateSize
        func rows(_ name: String) -> Int { weights[prefix + name]?.shape.first ?? 0 }
        var required: [(String, [Int])] = [
            ("embeddings.word_embeddings.weight", [words.shape[0], h]), ("embeddings.position_embeddings.weight", [rows("embeddings.position_embeddings.weight"), h]),
            ("embeddings.LayerNorm.weight", [h]), ("embeddings.LayerNorm.bias", [h]),
        ]
        if config.family.hasTokenTypes { required.append(("embeddings.token_type_embeddings.weight", [rows("embeddings.token_type_embeddings.weight"), h])) }
        if config.family == .mpnet { required.append(("encoder.relative_attention_bias.weight", [config.relativeBuckets, config.heads])) }
        for i in 0..<config.layers {
            let n = config.family.layerNames(i)
            for (name, out, inFeatures) in [(n.query, h, h), (n.key, h, h), (n.value, h, h), (n.attentionOut, h, h), (n.intermediate, inner, h), (n.output, h, inner)] {
                required += [(name + ".weight", [out, inFeatures]), (name + ".bias", [out])]
            }
            for norm in [n.attentionNorm, n.outputNorm] { required += [(norm + ".weight", [h]), (norm + ".bias", [h])] }
        }
        for (name, shape) in required {
            guard let t = weights[prefix + name] else { throw WeightError("missing weight \(prefix + name) for a \(config.modelType) model") }
            guard t.shape == shape, shape.first != 0 else { throw WeightError("weight \(prefix + name) has shape \(t.shape), expected \(shape)") }
        }
        return (prefix, words)
    }

    /// Positions: 0, 1, 2… or, for families that offset them, counted after the padding index
    /// with padding tokens kept at the padding index (Hugging Face's `create_position_ids_from_input_ids`).
    func positionIDs(_ ids: [Int32]) -> [Int] {
        guard config.family.offsetsPositions else { return Array(0..<ids.count) }
        var seen = 0
        return ids.map { id in
            if id == config.paddingID { return Int(config.paddingID) }
            seen += 1
            return seen + Int(config.paddingID)
        }
    }

    /// Refuses a tokenizer whose special or added tokens have no row in the word embeddings
    /// (other ids are checked as each sequence is encoded).
    func check(_ tokenizer: Tokenizer) throws { try Self.check(tokenizer, vocabularySize: vocabularySize) }

    static func check(_ tokenizer: Tokenizer, vocabularySize: Int) throws {
        if let bad = tokenizer.fixedIDs.first(where: { Int($0) >= vocabularySize }) {
            throw WeightError("tokenizer.json has token id \(bad), beyond the model's vocabulary of \(vocabularySize) embeddings")
        }
    }

    var parameterCount: Int {
        wordEmbeddings.count + positionEmbeddings.count + (tokenTypeEmbeddings?.count ?? 0) + layers.reduce(0) { total, layer in
            total + [layer.qkv, layer.attentionOut, layer.intermediate, layer.output].reduce(0) { $0 + $1.outFeatures * $1.inFeatures }
        }
    }
}
