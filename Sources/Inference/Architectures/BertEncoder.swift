import Foundation
import OrderedJSON

/// The shape of a BERT-family encoder, from the Hugging Face `config.json`.
public struct EncoderConfig: Sendable {
    public let hiddenSize: Int
    public let heads: Int
    public let layers: Int
    public let intermediateSize: Int
    public let maxPositions: Int
    public let layerNormEpsilon: Float
    public let modelType: String

    public init(json: JSON) throws {
        func int(_ key: String) throws -> Int {
            guard let value = json[key]?.intValue else { throw WeightError("config.json has no \(key)") }
            return Int(value)
        }
        hiddenSize = try int("hidden_size")
        heads = try int("num_attention_heads")
        layers = try int("num_hidden_layers")
        intermediateSize = try int("intermediate_size")
        maxPositions = Int(json["max_position_embeddings"]?.intValue ?? 512)
        layerNormEpsilon = Float(json["layer_norm_eps"]?.doubleValue ?? 1e-12)
        modelType = json["model_type"]?.stringValue ?? "bert"
        let activation = json["hidden_act"]?.stringValue ?? "gelu"
        guard activation == "gelu" else { throw WeightError("hidden_act \(activation) is not supported; only the exact erf GELU (\"gelu\")") }
        guard hiddenSize % heads == 0 else { throw WeightError("hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(heads)") }
    }
}

/// A BERT encoder (BERT, MiniLM, multilingual MiniLM): embeddings, then `layers` blocks of
/// self-attention and feed-forward, each followed by a residual layer norm.
public struct BertEncoder: Sendable {
    struct Layer: Sendable {
        let qkvWeight: [Float]  // [3H × H]: query, key and value projections stacked
        let qkvBias: [Float]
        let attentionOutWeight: [Float], attentionOutBias: [Float]
        let attentionNormGamma: [Float], attentionNormBeta: [Float]
        let intermediateWeight: [Float], intermediateBias: [Float]
        let outputWeight: [Float], outputBias: [Float]
        let outputNormGamma: [Float], outputNormBeta: [Float]
    }

    public let config: EncoderConfig
    let wordEmbeddings: [Float]
    let positionEmbeddings: [Float]
    let tokenTypeEmbeddings: [Float]
    let embeddingNormGamma: [Float], embeddingNormBeta: [Float]
    let layers: [Layer]
    let vocabularySize: Int

    /// Builds the encoder from weights named as Hugging Face names them; a common prefix
    /// (`bert.`, `0.auto_model.`, …) before `embeddings.` is found and stripped.
    public init(config: EncoderConfig, weights: [String: Tensor]) throws {
        self.config = config
        guard let wordKey = weights.keys.filter({ $0.hasSuffix("embeddings.word_embeddings.weight") }).min(by: { $0.count < $1.count }) else {
            throw WeightError("no embeddings.word_embeddings.weight among the weights: not a BERT-family model")
        }
        let prefix = String(wordKey.dropLast("embeddings.word_embeddings.weight".count))
        let h = config.hiddenSize
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = weights[prefix + name] else { throw WeightError("missing weight \(prefix + name)") }
            guard t.shape == shape else { throw WeightError("weight \(prefix + name) has shape \(t.shape), expected \(shape)") }
            return t.values
        }
        guard let words = weights[wordKey] else { throw WeightError("missing \(wordKey)") }
        vocabularySize = words.shape.first ?? 0
        wordEmbeddings = try tensor("embeddings.word_embeddings.weight", [vocabularySize, h])
        positionEmbeddings = try tensor("embeddings.position_embeddings.weight", [config.maxPositions, h])
        let typeCount = weights[prefix + "embeddings.token_type_embeddings.weight"]?.shape.first ?? 0
        tokenTypeEmbeddings = try tensor("embeddings.token_type_embeddings.weight", [typeCount, h])
        embeddingNormGamma = try tensor("embeddings.LayerNorm.weight", [h])
        embeddingNormBeta = try tensor("embeddings.LayerNorm.bias", [h])
        layers = try (0..<config.layers).map { i in
            let p = "encoder.layer.\(i)."
            return Layer(
                qkvWeight: try tensor(p + "attention.self.query.weight", [h, h]) + tensor(p + "attention.self.key.weight", [h, h])
                    + tensor(p + "attention.self.value.weight", [h, h]),
                qkvBias: try tensor(p + "attention.self.query.bias", [h]) + tensor(p + "attention.self.key.bias", [h])
                    + tensor(p + "attention.self.value.bias", [h]),
                attentionOutWeight: try tensor(p + "attention.output.dense.weight", [h, h]),
                attentionOutBias: try tensor(p + "attention.output.dense.bias", [h]),
                attentionNormGamma: try tensor(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBeta: try tensor(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: try tensor(p + "intermediate.dense.weight", [config.intermediateSize, h]),
                intermediateBias: try tensor(p + "intermediate.dense.bias", [config.intermediateSize]),
                outputWeight: try tensor(p + "output.dense.weight", [h, config.intermediateSize]),
                outputBias: try tensor(p + "output.dense.bias", [h]),
                outputNormGamma: try tensor(p + "output.LayerNorm.weight", [h]),
                outputNormBeta: try tensor(p + "output.LayerNorm.bias", [h]))
        }
    }

    /// Token embeddings [L × H] of one sequence (every token attends to every token).
    public func forward(ids: [Int32], typeIDs: [Int32]) throws -> [Float] {
        let length = ids.count, h = config.hiddenSize
        guard length <= config.maxPositions else { throw WeightError("sequence of \(length) tokens exceeds \(config.maxPositions) positions") }
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabularySize }) { throw WeightError("token id \(bad) is outside the vocabulary") }
        var hidden = [Float](repeating: 0, count: length * h)
        let typeRows = tokenTypeEmbeddings.count / h
        for t in 0..<length {
            let word = Int(ids[t]) * h, position = t * h, type = min(Int(typeIDs[t]), typeRows - 1) * h
            for i in 0..<h { hidden[t * h + i] = wordEmbeddings[word + i] + positionEmbeddings[position + i] + tokenTypeEmbeddings[type + i] }
        }
        hidden.withUnsafeMutableBufferPointer {
            Kernels.layerNorm($0.baseAddress!, rows: length, width: h, gamma: embeddingNormGamma, beta: embeddingNormBeta, epsilon: config.layerNormEpsilon)
        }
        for layer in layers { hidden = block(layer, hidden, length: length) }
        return hidden
    }

    private func block(_ layer: Layer, _ input: [Float], length: Int) -> [Float] {
        let h = config.hiddenSize, heads = config.heads, d = h / heads, inner = config.intermediateSize
        var qkv = [Float](repeating: 0, count: length * 3 * h)
        var context = [Float](repeating: 0, count: length * h)
        var scores = [Float](repeating: 0, count: length * length)
        var attended = [Float](repeating: 0, count: length * h)
        var intermediate = [Float](repeating: 0, count: length * inner)
        var output = [Float](repeating: 0, count: length * h)
        input.withUnsafeBufferPointer { x in
            qkv.withUnsafeMutableBufferPointer { qkv in
                Kernels.linear(x.baseAddress!, rows: length, inFeatures: h, weight: layer.qkvWeight, bias: layer.qkvBias, outFeatures: 3 * h, into: qkv.baseAddress!)
                scores.withUnsafeMutableBufferPointer { s in
                    context.withUnsafeMutableBufferPointer { c in
                        let scale = 1 / Float(d).squareRoot()
                        for head in 0..<heads {
                            let q = qkv.baseAddress! + head * d, k = q + h, v = q + 2 * h
                            Kernels.matmulTransposed(q, lda: 3 * h, k, ldb: 3 * h, m: length, n: length, k: d, alpha: scale, into: s.baseAddress!, ldc: length)
                            Kernels.softmax(s.baseAddress!, rows: length, width: length)
                            Kernels.matmul(s.baseAddress!, lda: length, v, ldb: 3 * h, m: length, n: d, k: length, into: c.baseAddress! + head * d, ldc: h)
                        }
                    }
                }
            }
            attended.withUnsafeMutableBufferPointer { a in
                context.withUnsafeBufferPointer { c in
                    Kernels.linear(c.baseAddress!, rows: length, inFeatures: h, weight: layer.attentionOutWeight, bias: layer.attentionOutBias, outFeatures: h, into: a.baseAddress!)
                }
                Kernels.add(x.baseAddress!, into: a.baseAddress!, count: length * h)
                Kernels.layerNorm(a.baseAddress!, rows: length, width: h, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, epsilon: config.layerNormEpsilon)
                intermediate.withUnsafeMutableBufferPointer { i in
                    Kernels.linear(a.baseAddress!, rows: length, inFeatures: h, weight: layer.intermediateWeight, bias: layer.intermediateBias, outFeatures: inner, into: i.baseAddress!)
                    Kernels.gelu(i.baseAddress!, count: length * inner)
                    output.withUnsafeMutableBufferPointer { o in
                        Kernels.linear(i.baseAddress!, rows: length, inFeatures: inner, weight: layer.outputWeight, bias: layer.outputBias, outFeatures: h, into: o.baseAddress!)
                        Kernels.add(a.baseAddress!, into: o.baseAddress!, count: length * h)
                        Kernels.layerNorm(o.baseAddress!, rows: length, width: h, gamma: layer.outputNormGamma, beta: layer.outputNormBeta, epsilon: config.layerNormEpsilon)
                    }
                }
            }
        }
        return output
    }
}
