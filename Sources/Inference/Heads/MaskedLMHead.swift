import Foundation

/// The masked-language-model head of neural sparse encoders:
/// `logits = LayerNorm(GELU(dense(h))) · Eᵀ + bias`, with E usually tied to the word embeddings.
struct MaskedLMHead: Sendable {
    let transformWeight: [Float], transformBias: [Float]
    let normGamma: [Float], normBeta: [Float]
    let epsilon: Float
    let decoder: Tensor  // [V × H], usually the word embeddings themselves
    let decoderBias: [Float]
    let vocabularySize: Int
    let hidden: Int

    /// Finds the head beside the encoder: BERT's `cls.predictions.*` or DistilBERT's `vocab_*`.
    init(weights: [String: Tensor], config: EncoderConfig) throws {
        guard let wordKey = weights.keys.filter({ $0.hasSuffix("embeddings.word_embeddings.weight") }).min(by: { $0.count < $1.count }),
              let words = weights[wordKey] else { throw WeightError("no word embeddings") }
        let encoderPrefix = String(wordKey.dropLast("embeddings.word_embeddings.weight".count))
        // The head sits beside the encoder: drop its last component (`bert.`, `distilbert.`).
        let parts = encoderPrefix.split(separator: ".", omittingEmptySubsequences: true)
        let root = parts.isEmpty ? "" : parts.dropLast().map { $0 + "." }.joined()
        hidden = config.hiddenSize
        vocabularySize = words.shape[0]
        let names: (dense: String, norm: String, decoder: String, bias: [String])
        if config.family == .distilbert {
            names = ("vocab_transform", "vocab_layer_norm", "vocab_projector", ["vocab_projector.bias"])
        } else {
            names = ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions.decoder",
                     ["cls.predictions.bias", "cls.predictions.decoder.bias"])
        }
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = weights[root + name] else { throw WeightError("missing masked-LM head weight \(root + name)") }
            guard t.shape == shape else { throw WeightError("weight \(root + name) has shape \(t.shape), expected \(shape)") }
            return t.values
        }
        transformWeight = try tensor(names.dense + ".weight", [hidden, hidden])
        transformBias = try tensor(names.dense + ".bias", [hidden])
        normGamma = try tensor(names.norm + ".weight", [hidden])
        normBeta = try tensor(names.norm + ".bias", [hidden])
        epsilon = config.family == .distilbert ? 1e-12 : config.layerNormEpsilon
        decoder = weights[root + names.decoder + ".weight"] ?? words  // tied to the embeddings
        guard decoder.count == vocabularySize * hidden else { throw WeightError("the masked-LM decoder does not match the vocabulary") }
        guard let bias = names.bias.compactMap({ weights[root + $0] }).first, bias.count == vocabularySize else {
            throw WeightError("missing masked-LM head bias \(root + names.bias[0])")
        }
        decoderBias = bias.values
    }

    /// The largest logit of each vocabulary entry over all tokens [L × H] of one sequence.
    func maxLogits(_ tokens: [Float], length: Int) -> [Float] {
        var transformed = [Float](repeating: 0, count: length * hidden)
        var logits = [Float](repeating: 0, count: length * vocabularySize)
        tokens.withUnsafeBufferPointer { t in
            transformed.withUnsafeMutableBufferPointer { x in
                Kernels.linear(t.baseAddress!, rows: length, inFeatures: hidden, weight: transformWeight, bias: transformBias, outFeatures: hidden, into: x.baseAddress!)
                Kernels.gelu(x.baseAddress!, count: length * hidden)
                Kernels.layerNorm(x.baseAddress!, rows: length, width: hidden, gamma: normGamma, beta: normBeta, epsilon: epsilon)
                logits.withUnsafeMutableBufferPointer { l in
                    decoderBias.withUnsafeBufferPointer { bias in
                        Kernels.linear(x.baseAddress!, rows: length, inFeatures: hidden, weight: decoder.storage.pointer, bias: bias.baseAddress!,
                                       outFeatures: vocabularySize, into: l.baseAddress!)
                    }
                }
            }
        }
        var result = Array(logits[0..<vocabularySize])
        for t in 1..<max(length, 1) {
            for v in 0..<vocabularySize { result[v] = max(result[v], logits[t * vocabularySize + v]) }
        }
        return result
    }
}
