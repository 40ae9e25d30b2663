import Foundation
import OrderedJSON

/// A cross-encoder (`TEXT_SIMILARITY`): BERT with the classification head of
/// `BertForSequenceClassification` (pooler `tanh(dense(h[CLS]))`, then a linear layer).
public final class CrossEncoder: NativeModel, @unchecked Sendable {
    public let tokenizer: Tokenizer
    let encoder: TransformerEncoder
    let poolerWeight: [Float], poolerBias: [Float]
    let classifierWeight: [Float], classifierBias: [Float]
    public let labels: Int
    let maxLength: Int

    public var residentBytes: Int { encoder.parameterCount * MemoryLayout<Float>.size }

    init(tokenizer: Tokenizer, encoder: TransformerEncoder, weights: [String: Tensor], maxLength: Int) throws {
        let h = encoder.config.hiddenSize
        func tensor(_ suffix: String) throws -> Tensor {
            guard let match = weights.first(where: { $0.key.hasSuffix(suffix) })?.value else {
                throw WeightError("missing cross-encoder weight *\(suffix)")
            }
            return match
        }
        poolerWeight = try tensor("pooler.dense.weight").values
        poolerBias = try tensor("pooler.dense.bias").values
        let classifier = try tensor("classifier.weight")
        guard classifier.shape.count == 2, classifier.shape[0] > 0, classifier.shape[1] == h, poolerWeight.count == h * h, poolerBias.count == h else {
            throw WeightError("the classifier weight has shape \(classifier.shape), expected [labels, \(h)]")
        }
        classifierWeight = classifier.values
        labels = classifier.shape[0]
        classifierBias = try tensor("classifier.bias").values
        guard classifierBias.count == labels else { throw WeightError("classifier.bias has \(classifierBias.count) values for \(labels) labels") }
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.maxLength = maxLength
    }

    /// The logits of the (query, document) pair, for each document, the pairs run in packed batches.
    public func score(query: String, documents: [String], parallelism: Parallelism = .serial,
                      batchTokens: Int = TextEmbedder.defaultBatchTokens) throws -> [[Float]] {
        let sequences = documents.map { TokenSequence(tokenizer.encode(query, pair: $0, maxLength: maxLength)) }
        return try Batching.run(sequences, tokenBudget: batchTokens) { batch in
            let tokens = try encoder.forward(batch, parallelism: parallelism)
            // The first token of each pair ([CLS] / <s>) goes through the pooler and classifier.
            return tokens.offsets.dropLast().map { first in logits(Array(tokens.values[first * tokens.width..<(first + 1) * tokens.width])) }
        }
    }

    private func logits(_ first: [Float]) -> [Float] {
        let h = encoder.config.hiddenSize
        var pooled = [Float](repeating: 0, count: h)
        var logits = [Float](repeating: 0, count: labels)
        first.withUnsafeBufferPointer { t in
            pooled.withUnsafeMutableBufferPointer { p in
                Kernels.linear(t.baseAddress!, rows: 1, inFeatures: h, weight: poolerWeight, bias: poolerBias, outFeatures: h, into: p.baseAddress!)
                for i in 0..<h { p[i] = tanhf(p[i]) }
                logits.withUnsafeMutableBufferPointer { l in
                    Kernels.linear(p.baseAddress!, rows: 1, inFeatures: h, weight: classifierWeight, bias: classifierBias, outFeatures: labels, into: l.baseAddress!)
                }
            }
        }
        return logits
    }
}
