import Foundation
import OrderedJSON

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
