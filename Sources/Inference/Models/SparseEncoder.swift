import Foundation
import OrderedJSON

/// One term of a sparse vector: the vocabulary string (as ML Commons decodes a single id), its id and weight.
public struct SparseTerm: Sendable, Equatable {
    public let token: String
    public let id: Int32
    public let weight: Float
}

/// A neural sparse encoder (SPLADE-style, OpenSearch's `NeuralSparseModel`): the largest logit of
/// each vocabulary entry over the tokens, then what the traced wrapper does with them
/// (`SparseWrapper`: `log(1 + relu(·))`, twice for "l0", special tokens zeroed, pruning below `ratio × max`).
public final class SparseEncoder: NativeModel, @unchecked Sendable {
    public let tokenizer: Tokenizer
    let encoder: TransformerEncoder
    let head: MaskedLMHead
    let wrapper: SparseWrapper
    let maxLength: Int

    /// Logarithms of the activation (2 for "l0") and the prune ratio, as read from the wrapper.
    public var logarithms: Int { wrapper.logarithms }
    public var pruneRatio: Float { wrapper.pruneRatio }

    public var residentBytes: Int { encoder.parameterCount * MemoryLayout<Float>.size }

    init(tokenizer: Tokenizer, encoder: TransformerEncoder, head: MaskedLMHead, wrapper: SparseWrapper, maxLength: Int) {
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.head = head
        self.wrapper = wrapper
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

    /// The wrapper's output, its positive entries decoded (special tokens have no term).
    private func terms(_ logits: [Float]) -> [SparseTerm] {
        wrapper.run(logits).enumerated().compactMap { index, weight in
            guard weight > 0, let token = tokenizer.decodeSingle(Int32(index)), !token.isEmpty else { return nil }
            return SparseTerm(token: token, id: Int32(index), weight: weight)
        }
    }
}
