import COpenBLAS
import Foundation

/// The numeric building blocks of the encoders, on row-major float32 matrices.
public enum Kernels {
    /// Threads OpenBLAS may use for one matrix product (1 keeps it from fighting the server's own workers).
    public static func setBLASThreads(_ count: Int) { openblas_set_num_threads(Int32(max(count, 1))) }

    /// `output[rows × outFeatures] = input[rows × inFeatures] · weightᵀ + bias`, with the weight
    /// stored [outFeatures × inFeatures] as PyTorch stores it. `outputStride` lets several
    /// projections fill the columns of one wider output (query, key and value side by side).
    static func linear(_ input: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                       outFeatures: Int, into output: UnsafeMutablePointer<Float>, outputStride: Int? = nil) {
        let ldc = outputStride ?? outFeatures
        if let bias {
            for row in 0..<rows { (output + row * ldc).update(from: bias, count: outFeatures) }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
                    1, input, Int32(inFeatures), weight, Int32(inFeatures), bias == nil ? 0 : 1, output, Int32(ldc))
    }

    /// `linear` with weights and bias held in arrays (small heads).
    static func linear(_ input: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: [Float], bias: [Float]?,
                       outFeatures: Int, into output: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    linear(input, rows: rows, inFeatures: inFeatures, weight: w.baseAddress!, bias: b.baseAddress!, outFeatures: outFeatures, into: output)
                }
            } else {
                linear(input, rows: rows, inFeatures: inFeatures, weight: w.baseAddress!, bias: nil, outFeatures: outFeatures, into: output)
            }
        }
    }

    /// `C[m × n] = alpha · A[m × k] · B[n × k]ᵀ` on strided sub-matrices (one attention head).
    static func matmulTransposed(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                                 m: Int, n: Int, k: Int, alpha: Float, into c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// `C[m × n] = A[m × k] · B[k × n]` on strided sub-matrices.
    static func matmul(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                       m: Int, n: Int, k: Int, into c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// Layer normalization of each row (biased variance), in place.
    static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, gamma: [Float], beta: [Float], epsilon: Float) {
        for row in 0..<rows {
            let v = x + row * width
            var mean: Float = 0
            for i in 0..<width { mean += v[i] }
            mean /= Float(width)
            var variance: Float = 0
            for i in 0..<width {
                let d = v[i] - mean
                variance += d * d
            }
            variance /= Float(width)
            let scale = 1 / (variance + epsilon).squareRoot()
            for i in 0..<width { v[i] = (v[i] - mean) * scale * gamma[i] + beta[i] }
        }
    }

    /// The exact GELU, `0.5 · x · (1 + erf(x / √2))`, in place.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.70710678118654752)) }
    }

    /// Softmax of each row, in place.
    static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            let v = x + row * width
            var maximum = -Float.infinity
            for i in 0..<width { maximum = max(maximum, v[i]) }
            var sum: Float = 0
            for i in 0..<width {
                v[i] = expf(v[i] - maximum)
                sum += v[i]
            }
            let inverse = 1 / sum
            for i in 0..<width { v[i] *= inverse }
        }
    }

    /// `x += y`, element-wise.
    static func add(_ y: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }
}
