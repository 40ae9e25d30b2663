import Foundation
import OrderedJSON

/// Maps an exported BERT graph back onto the native encoder: named initializers keep their names;
/// anonymous MatMul weights (stored [in, out]) take the name of the bias their MatMul feeds
/// (`….query.bias` → `….query.weight`) and are transposed to [out, in]. What the graph does after
/// the encoder (pooling, normalization) is read from its operators.
struct ONNXEncoderGraph {
    let weights: [String: Tensor]
    /// The pooling the graph applies itself, when its chosen output is a sentence embedding.
    let poolingInGraph: PoolingMode?
    let normalizedInGraph: Bool
    /// From the attention scale (`QKᵀ / √d`), when the graph shows it.
    let headSize: Int?
    let layerNormEpsilon: Float?
    /// What the graph holds, for error messages: its most frequent operators.
    let summary: String

    init(_ graph: ONNXGraph) throws {
        let counts = Dictionary(graph.nodes.map { ($0.opType, 1) }, uniquingKeysWith: +).sorted { $0.value > $1.value }
        summary = "\(graph.nodes.count) nodes (\(counts.prefix(8).map { "\($0.key) \($0.value)" }.joined(separator: ", "))), "
            + "\(graph.initializers.count) initializers, outputs \(graph.outputs.map { "\($0.name) (rank \($0.rank))" }.joined(separator: ", "))"
        // Named weights are copied out of the model file's bytes: the MatMul weights are transposed
        // copies anyway, and a few borrowed tensors would keep the whole file in memory beside them.
        var weights = graph.initializers.filter { $0.key.contains(".") }.mapValues { Tensor(shape: $0.shape, storage: FloatBuffer(copying: $0.storage)) }
        for node in graph.nodes where node.opType == "MatMul" && node.inputs.count == 2 {
            guard let matrix = graph.initializers[node.inputs[1]], matrix.shape.count == 2 else { continue }
            if node.inputs[1].hasSuffix(".weight") {
                weights[node.inputs[1]] = Self.transposed(matrix)  // a named weight fed to MatMul is [in, out] too
                continue
            }
            guard let product = node.outputs.first, let add = graph.consumers(of: product).first(where: { $0.opType == "Add" }),
                  let biasName = add.inputs.first(where: { $0.hasSuffix(".bias") && graph.initializers[$0] != nil }) else { continue }
            weights[String(biasName.dropLast("bias".count)) + "weight"] = Self.transposed(matrix)
        }
        self.weights = weights
        headSize = Self.attentionHeadSize(graph)
        layerNormEpsilon = graph.nodes.first { $0.opType == "LayerNormalization" }?.floatAttributes["epsilon"]

        // A rank-2 float output that is not the HF pooler (Gemm → Tanh) is a pooled sentence embedding.
        let floatOutputs = graph.outputs.filter { $0.elementType == ONNXReader.floatType }
        let pooled = floatOutputs.first { $0.rank == 2 && graph.producer(of: $0.name)?.opType != "Tanh" }
        if pooled != nil {
            if graph.has("ReduceMax") {
                poolingInGraph = .max
            } else if graph.has("ReduceSum") && (graph.has("Clip") || graph.has("Max")) {
                poolingInGraph = .mean
            } else {
                throw WeightError("the ONNX graph outputs a pooled embedding, but its pooling is neither mean nor max")
            }
            normalizedInGraph = graph.has("ReduceL2")
                || graph.nodes.contains { $0.opType == "Sqrt" && graph.producer(of: $0.inputs.first ?? "")?.opType == "ReduceSum" }
        } else {
            guard floatOutputs.contains(where: { $0.rank == 3 }) else {
                throw WeightError("the ONNX graph has no token-embedding (rank 3) or sentence-embedding (rank 2) float output; outputs: \(graph.outputs.map { "\($0.name) rank \($0.rank)" })")
            }
            poolingInGraph = nil
            normalizedInGraph = false
        }
    }

    /// The encoder's shape, from `all_config` when given, else from the weights and the graph.
    func config(given: JSON?) throws -> EncoderConfig {
        if let given { return try EncoderConfig(json: given) }
        guard let words = weights.first(where: { $0.key.hasSuffix("embeddings.word_embeddings.weight") })?.value, words.shape.count == 2 else {
            throw WeightError("the ONNX graph maps to no known encoder (no embeddings.word_embeddings.weight initializer); found \(summary)")
        }
        let hidden = words.shape[1]
        guard let headSize, headSize > 0, hidden % headSize == 0 else {
            throw WeightError("cannot tell the number of attention heads from the ONNX graph (found \(summary)); give model_config.all_config")
        }
        let layers = Set(weights.keys.compactMap { key -> Int? in
            guard let range = key.range(of: "encoder.layer.") else { return nil }
            return Int(key[range.upperBound...].prefix { $0.isNumber })
        }).count
        let intermediate = weights.first { $0.key.hasSuffix("encoder.layer.0.intermediate.dense.weight") }?.value.shape.first ?? 0
        let positions = weights.first { $0.key.hasSuffix("embeddings.position_embeddings.weight") }?.value.shape.first ?? 512
        return try EncoderConfig(json: [
            "hidden_size": .int(Int64(hidden)), "num_attention_heads": .int(Int64(hidden / headSize)), "num_hidden_layers": .int(Int64(layers)),
            "intermediate_size": .int(Int64(intermediate)), "max_position_embeddings": .int(Int64(positions)),
            "layer_norm_eps": .double(Double(layerNormEpsilon ?? 1e-12)), "model_type": "bert", "hidden_act": "gelu",
        ])
    }

    /// `softmax(QKᵀ / c + mask)`: c = √d when the scores are divided, 1/√d when multiplied.
    private static func attentionHeadSize(_ graph: ONNXGraph) -> Int? {
        for softmax in graph.nodes where softmax.opType == "Softmax" {
            var value = softmax.inputs.first ?? ""
            for _ in 0..<3 {
                guard let node = graph.producer(of: value) else { break }
                if node.opType == "Div", node.inputs.count == 2, let c = graph.scalar(node.inputs[1]), c > 0 { return headSize(Double(c) * Double(c)) }
                if node.opType == "Mul", node.inputs.count == 2, let c = graph.scalar(node.inputs[1]) ?? graph.scalar(node.inputs[0]), c > 0 {
                    return headSize(1 / (Double(c) * Double(c)))
                }
                value = node.inputs.first ?? ""
            }
        }
        return nil
    }

    /// A head size read from a file's constant: nil unless a sane whole number.
    private static func headSize(_ value: Double) -> Int? {
        let rounded = value.rounded()
        return rounded.isFinite && rounded >= 1 && rounded <= Double(EncoderConfig.maxHiddenSize) ? Int(rounded) : nil
    }

    private static func transposed(_ matrix: Tensor) -> Tensor {
        let rows = matrix.shape[0], columns = matrix.shape[1]
        var values = [Float](repeating: 0, count: matrix.count)
        let source = matrix.storage.pointer
        for r in 0..<rows { for c in 0..<columns { values[c * rows + r] = source[r * columns + c] } }
        return Tensor(shape: [columns, rows], values: values)
    }
}
