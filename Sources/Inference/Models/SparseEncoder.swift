import Foundation
import OrderedJSON

/// One term of a sparse vector: the vocabulary string (as ML Commons decodes a single id), its id and weight.
public struct SparseTerm: Sendable, Equatable {
    public let token: String
    public let id: Int32
    public let weight: Float
}

/// A neural sparse encoder (SPLADE-style, OpenSearch's `NeuralSparseModel`): the largest logit of
/// each vocabulary entry over the tokens, `log(1 + relu(·))` (applied twice for the "l0" variant),
/// special tokens zeroed, then pruned below `pruneRatio × max`.
public final class SparseEncoder: NativeModel, @unchecked Sendable {
    public let tokenizer: Tokenizer
    let encoder: TransformerEncoder
    let head: MaskedLMHead
    public let doubleLog: Bool
    public let pruneRatio: Float
    let maxLength: Int

    public var residentBytes: Int { encoder.parameterCount * MemoryLayout<Float>.size }

    init(tokenizer: Tokenizer, encoder: TransformerEncoder, head: MaskedLMHead, doubleLog: Bool, pruneRatio: Float, maxLength: Int) {
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.head = head
        self.doubleLog = doubleLog
        self.pruneRatio = pruneRatio
        self.maxLength = maxLength
    }

    /// Non-zero terms of each text, in vocabulary order. Texts run in length-sorted packed batches
    /// of at most `batchTokens` tokens; each text's terms do not depend on the batching.
    public func encode(_ texts: [String], parallelism: Parallelism = .serial,
                       batchTokens: Int = TextEmbedder.defaultBatchTokens) throws -> [[SparseTerm]] {
        try Batching.run(tokenize(texts), tokenBudget: batchTokens) { try encode($0, parallelism: parallelism) }
    }

    /// Token ids of each text, truncated to the model's longest input.
    public func tokenize(_ texts: [String]) -> [TokenSequence] {
        texts.map { TokenSequence(tokenizer.encode($0, maxLength: maxLength)) }
    }

    /// Terms of already tokenized sequences, in one forward pass.
    public func encode(_ sequences: [TokenSequence], parallelism: Parallelism = .serial) throws -> [[SparseTerm]] {
        let tokens = try encoder.forward(sequences, parallelism: parallelism)
        return (0..<tokens.count).map { terms(head.maxLogits(tokens.tokens(of: $0), length: tokens.length(of: $0))) }
    }

    /// `log(1 + relu(·))` (twice for "l0"), special tokens zeroed, pruned, decoded.
    private func terms(_ logits: [Float]) -> [SparseTerm] {
        var values = logits.map { logf(1 + max($0, 0)) }
        if doubleLog { values = values.map { logf(1 + $0) } }
        for id in tokenizer.specialTokenIDs where Int(id) < values.count { values[Int(id)] = 0 }
        let threshold = (values.max() ?? 0) * pruneRatio
        return values.enumerated().compactMap { index, weight in
            guard weight > 0, pruneRatio == 0 || weight > threshold, let token = tokenizer.decodeSingle(Int32(index)), !token.isEmpty else { return nil }
            return SparseTerm(token: token, id: Int32(index), weight: weight)
        }
    }
}
