import Foundation

/// A BERT-style encoder of any supported family: embeddings, then `layers` blocks of
/// self-attention and feed-forward, each followed by a residual layer norm.
public struct TransformerEncoder: Sendable {
    /// Large weights stay where the file holds them (`Tensor` storage); the small vectors are copied.
    struct Layer: Sendable {
        let query: Tensor, key: Tensor, value: Tensor
        let qkvBias: [Float]  // [3H]: query, key and value biases side by side
        let attentionOut: Tensor, attentionOutBias: [Float]
        let attentionNormGamma: [Float], attentionNormBeta: [Float]
        let intermediate: Tensor, intermediateBias: [Float]
        let output: Tensor, outputBias: [Float]
        let outputNormGamma: [Float], outputNormBeta: [Float]
    }

    public let config: EncoderConfig
    let wordEmbeddings: Tensor
    let positionEmbeddings: Tensor
    let tokenTypeEmbeddings: Tensor?
    let embeddingNormGamma: [Float], embeddingNormBeta: [Float]
    /// MPNet: [buckets × heads], shared by every layer.
    let relativeAttentionBias: [Float]?
    let layers: [Layer]
    let vocabularySize: Int

    /// Builds the encoder from weights named as Hugging Face names them; a common prefix
    /// (`bert.`, `0.auto_model.`, `model.0.auto_model.`, …) before `embeddings.` is found and stripped.
    public init(config: EncoderConfig, weights: [String: Tensor]) throws {
        self.config = config
        guard let wordKey = weights.keys.filter({ $0.hasSuffix("embeddings.word_embeddings.weight") }).min(by: { $0.count < $1.count }),
              let words = weights[wordKey], words.shape.count == 2 else {
            throw WeightError("no embeddings.word_embeddings.weight among the weights: not a \(config.modelType) model")
        }
        let prefix = String(wordKey.dropLast("embeddings.word_embeddings.weight".count))
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
        guard positions > 0 else { throw WeightError("missing weight \(prefix)embeddings.position_embeddings.weight") }
        positionEmbeddings = try weight("embeddings.position_embeddings.weight", [positions, h])
        if config.family.hasTokenTypes {
            let types = weights[prefix + "embeddings.token_type_embeddings.weight"]?.shape.first ?? 0
            tokenTypeEmbeddings = try weight("embeddings.token_type_embeddings.weight", [types, h])
        } else {
            tokenTypeEmbeddings = nil
        }
        embeddingNormGamma = try tensor("embeddings.LayerNorm.weight", [h])
        embeddingNormBeta = try tensor("embeddings.LayerNorm.bias", [h])
        relativeAttentionBias = config.family == .mpnet
            ? try tensor("encoder.relative_attention_bias.weight", [config.relativeBuckets, config.heads]) : nil
        layers = try (0..<config.layers).map { i in
            let n = config.family.layerNames(i)
            return Layer(
                query: try weight(n.query + ".weight", [h, h]), key: try weight(n.key + ".weight", [h, h]), value: try weight(n.value + ".weight", [h, h]),
                qkvBias: try tensor(n.query + ".bias", [h]) + tensor(n.key + ".bias", [h]) + tensor(n.value + ".bias", [h]),
                attentionOut: try weight(n.attentionOut + ".weight", [h, h]), attentionOutBias: try tensor(n.attentionOut + ".bias", [h]),
                attentionNormGamma: try tensor(n.attentionNorm + ".weight", [h]), attentionNormBeta: try tensor(n.attentionNorm + ".bias", [h]),
                intermediate: try weight(n.intermediate + ".weight", [inner, h]), intermediateBias: try tensor(n.intermediate + ".bias", [inner]),
                output: try weight(n.output + ".weight", [h, inner]), outputBias: try tensor(n.output + ".bias", [h]),
                outputNormGamma: try tensor(n.outputNorm + ".weight", [h]), outputNormBeta: try tensor(n.outputNorm + ".bias", [h]))
        }
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

    /// Token embeddings [L × H] of one sequence (every token attends to every token).
    public func forward(ids: [Int32], typeIDs: [Int32]) throws -> [Float] {
        let length = ids.count, h = config.hiddenSize
        guard length > 0 else { throw WeightError("nothing to encode: the text gave no tokens") }
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabularySize }) { throw WeightError("token id \(bad) is outside the vocabulary") }
        let positions = positionIDs(ids)
        let positionRows = positionEmbeddings.count / h
        let word = wordEmbeddings.storage.pointer, position = positionEmbeddings.storage.pointer
        guard (positions.max() ?? 0) < positionRows else {
            throw WeightError("a sequence of \(length) tokens needs more than the model's \(positionRows) positions")
        }
        var hidden = [Float](repeating: 0, count: length * h)
        let typeRows = (tokenTypeEmbeddings?.count ?? 0) / h
        for t in 0..<length {
            let w = word + Int(ids[t]) * h, p = position + positions[t] * h
            for i in 0..<h { hidden[t * h + i] = w[i] + p[i] }
            if let types = tokenTypeEmbeddings?.storage.pointer, typeRows > 0 {
                let type = types + min(Int(typeIDs[t]), typeRows - 1) * h
                for i in 0..<h { hidden[t * h + i] += type[i] }
            }
        }
        hidden.withUnsafeMutableBufferPointer {
            Kernels.layerNorm($0.baseAddress!, rows: length, width: h, gamma: embeddingNormGamma, beta: embeddingNormBeta, epsilon: config.layerNormEpsilon)
        }
        let bias = relativeAttentionBias.map { RelativePositions.bias($0, length: length, heads: config.heads, buckets: config.relativeBuckets) }
        for layer in layers { hidden = block(layer, hidden, length: length, positionBias: bias) }
        return hidden
    }

    private func block(_ layer: Layer, _ input: [Float], length: Int, positionBias: [Float]?) -> [Float] {
        let h = config.hiddenSize, heads = config.heads, d = h / heads, inner = config.intermediateSize
        var qkv = [Float](repeating: 0, count: length * 3 * h)
        var context = [Float](repeating: 0, count: length * h)
        var scores = [Float](repeating: 0, count: length * length)
        var attended = [Float](repeating: 0, count: length * h)
        var intermediate = [Float](repeating: 0, count: length * inner)
        var output = [Float](repeating: 0, count: length * h)
        input.withUnsafeBufferPointer { x in
            qkv.withUnsafeMutableBufferPointer { qkv in
                layer.qkvBias.withUnsafeBufferPointer { bias in
                    for (part, projection) in [layer.query, layer.key, layer.value].enumerated() {
                        Kernels.linear(x.baseAddress!, rows: length, inFeatures: h, weight: projection.storage.pointer, bias: bias.baseAddress! + part * h,
                                       outFeatures: h, into: qkv.baseAddress! + part * h, outputStride: 3 * h)
                    }
                }
                scores.withUnsafeMutableBufferPointer { s in
                    context.withUnsafeMutableBufferPointer { c in
                        let scale = 1 / Float(d).squareRoot()
                        for head in 0..<heads {
                            let q = qkv.baseAddress! + head * d, k = q + h, v = q + 2 * h
                            Kernels.matmulTransposed(q, lda: 3 * h, k, ldb: 3 * h, m: length, n: length, k: d, alpha: scale, into: s.baseAddress!, ldc: length)
                            if let positionBias {
                                positionBias.withUnsafeBufferPointer { Kernels.add($0.baseAddress! + head * length * length, into: s.baseAddress!, count: length * length) }
                            }
                            Kernels.softmax(s.baseAddress!, rows: length, width: length)
                            Kernels.matmul(s.baseAddress!, lda: length, v, ldb: 3 * h, m: length, n: d, k: length, into: c.baseAddress! + head * d, ldc: h)
                        }
                    }
                }
            }
            attended.withUnsafeMutableBufferPointer { a in
                context.withUnsafeBufferPointer { c in
                    layer.attentionOutBias.withUnsafeBufferPointer { bias in
                        Kernels.linear(c.baseAddress!, rows: length, inFeatures: h, weight: layer.attentionOut.storage.pointer, bias: bias.baseAddress!,
                                       outFeatures: h, into: a.baseAddress!)
                    }
                }
                Kernels.add(x.baseAddress!, into: a.baseAddress!, count: length * h)
                Kernels.layerNorm(a.baseAddress!, rows: length, width: h, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, epsilon: config.layerNormEpsilon)
                intermediate.withUnsafeMutableBufferPointer { i in
                    layer.intermediateBias.withUnsafeBufferPointer { bias in
                        Kernels.linear(a.baseAddress!, rows: length, inFeatures: h, weight: layer.intermediate.storage.pointer, bias: bias.baseAddress!,
                                       outFeatures: inner, into: i.baseAddress!)
                    }
                    Kernels.gelu(i.baseAddress!, count: length * inner)
                    output.withUnsafeMutableBufferPointer { o in
                        layer.outputBias.withUnsafeBufferPointer { bias in
                            Kernels.linear(i.baseAddress!, rows: length, inFeatures: inner, weight: layer.output.storage.pointer, bias: bias.baseAddress!,
                                           outFeatures: h, into: o.baseAddress!)
                        }
                        Kernels.add(a.baseAddress!, into: o.baseAddress!, count: length * h)
                        Kernels.layerNorm(o.baseAddress!, rows: length, width: h, gamma: layer.outputNormGamma, beta: layer.outputNormBeta, epsilon: config.layerNormEpsilon)
                    }
                }
            }
        }
        return output
    }

    var parameterCount: Int {
        wordEmbeddings.count + positionEmbeddings.count + (tokenTypeEmbeddings?.count ?? 0) + layers.reduce(0) { total, layer in
            total + 3 * layer.query.count + layer.attentionOut.count + layer.intermediate.count + layer.output.count
        }
    }
}

/// MPNet's relative-position attention bias (T5-style buckets, bidirectional, max distance 128).
enum RelativePositions {
    /// The bucket of `key − query`, computed in float32 as PyTorch does, so boundaries agree.
    static func bucket(_ relative: Int, buckets: Int, maxDistance: Int = 128) -> Int {
        let half = buckets / 2
        var result = 0
        var n = -relative
        if n < 0 { result += half }
        n = abs(n)
        let maxExact = half / 2
        if n < maxExact { return result + n }
        let scaled = logf(Float(n) / Float(maxExact)) / Float(log(Double(maxDistance) / Double(maxExact))) * Float(half - maxExact)
        return result + min(maxExact + Int(scaled), half - 1)
    }

    /// [heads × length × length] biases from the [buckets × heads] table.
    static func bias(_ table: [Float], length: Int, heads: Int, buckets: Int) -> [Float] {
        var result = [Float](repeating: 0, count: heads * length * length)
        for i in 0..<length {
            for j in 0..<length {
                let b = bucket(j - i, buckets: buckets)
                for head in 0..<heads { result[head * length * length + i * length + j] = table[b * heads + head] }
            }
        }
        return result
    }
}
