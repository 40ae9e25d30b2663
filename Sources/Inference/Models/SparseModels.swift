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

    /// Non-zero terms of each text, in vocabulary order.
    public func encode(_ texts: [String]) throws -> [[SparseTerm]] {
        let specials = tokenizer.specialTokenIDs
        return try texts.map { text in
            let encoding = tokenizer.encode(text, maxLength: maxLength)
            let tokens = try encoder.forward(ids: encoding.ids, typeIDs: encoding.typeIDs)
            var values = head.maxLogits(tokens, length: encoding.ids.count).map { logf(1 + max($0, 0)) }
            if doubleLog { values = values.map { logf(1 + $0) } }
            for id in specials where Int(id) < values.count { values[Int(id)] = 0 }
            let threshold = (values.max() ?? 0) * pruneRatio
            return values.enumerated().compactMap { index, weight in
                guard weight > 0, pruneRatio == 0 || weight > threshold, let token = tokenizer.decodeSingle(Int32(index)), !token.isEmpty else { return nil }
                return SparseTerm(token: token, id: Int32(index), weight: weight)
            }
        }
    }
}

/// OpenSearch's sparse tokenizer (`SPARSE_TOKENIZE`): the distinct tokens of a text, each weighted
/// by `idf.json` (1.0 when absent), special tokens left out.
public final class SparseTokenizer: NativeModel, @unchecked Sendable {
    public let tokenizer: Tokenizer
    let idf: [String: Float]

    public var residentBytes: Int { idf.count * 64 }

    init(tokenizer: Tokenizer, idf: [String: Float]) {
        self.tokenizer = tokenizer
        self.idf = idf
    }

    public func encode(_ texts: [String]) -> [[SparseTerm]] {
        texts.map { text in
            var seen = Set<Int32>()
            return tokenizer.encode(text).ids.compactMap { id in
                guard seen.insert(id).inserted, let token = tokenizer.decodeSingle(id), !token.isEmpty else { return nil }
                return SparseTerm(token: token, id: id, weight: idf[token] ?? 1)
            }
        }
    }

    static func parseIDF(_ data: Data) throws -> [String: Float] {
        guard case .object(let object) = try JSON.parse(data) else { throw WeightError("idf.json must hold a JSON object") }
        var idf: [String: Float] = [:]
        for (token, value) in object {
            guard let weight = value.doubleValue else { throw WeightError("idf.json: the weight of \(token) is not a number") }
            idf[token] = Float(weight)
        }
        return idf
    }
}

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
        guard classifier.shape.count == 2, classifier.shape[1] == h, poolerWeight.count == h * h else {
            throw WeightError("the classifier weight has shape \(classifier.shape), expected [labels, \(h)]")
        }
        classifierWeight = classifier.values
        labels = classifier.shape[0]
        classifierBias = try tensor("classifier.bias").values
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.maxLength = maxLength
    }

    /// The logits of the (query, document) pair, for each document.
    public func score(query: String, documents: [String]) throws -> [[Float]] {
        let h = encoder.config.hiddenSize
        return try documents.map { document in
            let encoding = tokenizer.encode(query, pair: document, maxLength: maxLength)
            let tokens = try encoder.forward(ids: encoding.ids, typeIDs: encoding.typeIDs)
            var pooled = [Float](repeating: 0, count: h)
            var logits = [Float](repeating: 0, count: labels)
            tokens.withUnsafeBufferPointer { t in
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
}

/// Extractive question answering (`BertForQuestionAnswering`): start and end logits per token of
/// the (question, context) pair; the answer spans the best start to the best end.
public final class QuestionAnswerer: NativeModel, @unchecked Sendable {
    public let tokenizer: Tokenizer
    let encoder: TransformerEncoder
    let weight: [Float], bias: [Float]
    let maxLength: Int

    public var residentBytes: Int { encoder.parameterCount * MemoryLayout<Float>.size }

    init(tokenizer: Tokenizer, encoder: TransformerEncoder, weights: [String: Tensor], maxLength: Int) throws {
        guard let weight = weights.first(where: { $0.key.hasSuffix("qa_outputs.weight") })?.value,
              let bias = weights.first(where: { $0.key.hasSuffix("qa_outputs.bias") })?.value else {
            throw WeightError("missing question-answering weights qa_outputs.weight / qa_outputs.bias")
        }
        guard weight.shape == [2, encoder.config.hiddenSize], bias.count == 2 else {
            throw WeightError("qa_outputs.weight has shape \(weight.shape), expected [2, \(encoder.config.hiddenSize)]")
        }
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.weight = weight.values
        self.bias = bias.values
        self.maxLength = maxLength
    }

    public struct Answer: Sendable, Equatable {
        public let start: Int
        public let end: Int
        /// As ML Commons (DJL) builds it: the span's tokens joined by spaces, " ##" removed.
        public let text: String
    }

    public func answer(question: String, context: String) throws -> Answer {
        let encoding = tokenizer.encode(question, pair: context, maxLength: maxLength)
        let tokens = try encoder.forward(ids: encoding.ids, typeIDs: encoding.typeIDs)
        let length = encoding.ids.count
        var logits = [Float](repeating: 0, count: length * 2)
        tokens.withUnsafeBufferPointer { t in
            logits.withUnsafeMutableBufferPointer { l in
                Kernels.linear(t.baseAddress!, rows: length, inFeatures: encoder.config.hiddenSize, weight: weight, bias: bias, outFeatures: 2, into: l.baseAddress!)
            }
        }
        func argmax(_ column: Int) -> Int {
            var best = 0
            for t in 1..<length where logits[t * 2 + column] > logits[best * 2 + column] { best = t }
            return best
        }
        var start = argmax(0), end = argmax(1)
        if start > end { swap(&start, &end) }
        let words = encoding.ids[start...end].map { tokenizer.token(for: $0) ?? "" }
        let text = words.joined(separator: " ").replacingScalars(of: " ##", with: "").trimmingCharacters(in: .whitespaces)
        return Answer(start: start, end: end, text: text)
    }
}
