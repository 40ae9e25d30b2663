import Foundation

/// How token embeddings become one sentence embedding (`model_config.pooling_mode`).
public enum PoolingMode: String, Sendable, CaseIterable {
    case cls = "CLS"
    case mean = "MEAN"
    case max = "MAX"
    case meanSqrtLen = "MEAN_SQRT_LEN"
    case weightedMean = "WEIGHTED_MEAN"

    public init?(parsing text: String) { self.init(rawValue: text.uppercased()) }

    /// Pools `tokens` [length × width]; every token of a single sequence counts.
    public func pool(_ tokens: [Float], length: Int, width: Int) -> [Float] {
        var result = [Float](repeating: 0, count: width)
        switch self {
        case .cls:
            result = Array(tokens[0..<width])
        case .max:
            result = Array(tokens[0..<width])
            for t in 1..<Swift.max(length, 1) { for i in 0..<width { result[i] = Swift.max(result[i], tokens[t * width + i]) } }
        case .mean, .meanSqrtLen, .weightedMean:
            // Weighted mean weighs position t by t + 1, as sentence-transformers does.
            var totalWeight: Float = 0
            for t in 0..<length {
                let weight: Float = self == .weightedMean ? Float(t + 1) : 1
                totalWeight += weight
                for i in 0..<width { result[i] += weight * tokens[t * width + i] }
            }
            let divisor = self == .meanSqrtLen ? Float(length).squareRoot() : Swift.max(totalWeight, 1e-9)
            for i in 0..<width { result[i] /= divisor }
        }
        return result
    }
}

enum VectorMath {
    /// Scales to unit L2 norm (sentence-transformers' Normalize: divides by max(norm, 1e-12)).
    static func normalized(_ vector: [Float]) -> [Float] {
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let inverse = 1 / Swift.max(norm, 1e-12)
        return vector.map { $0 * inverse }
    }
}
