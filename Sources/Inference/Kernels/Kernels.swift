import COpenBLAS
import Foundation

/// The numeric building blocks of the encoders, on row-major float32 matrices.
public enum Kernels {
    /// Threads OpenBLAS may use for one matrix product. The engine keeps it at 1 and splits the work
    /// over its own workers (`Parallelism`), so BLAS threads never fight the server's.
    public static func setBLASThreads(_ count: Int) { openblas_set_num_threads(Int32(max(count, 1))) }

    /// `output[rows × outFeatures] = input[rows × inFeatures] · weightᵀ + bias`, with the weight
    /// stored [outFeatures × inFeatures] as PyTorch stores it. `outputStride` lets a projection fill
    /// some columns of a wider output.
    static func linear(_ input: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                       outFeatures: Int, into output: UnsafeMutablePointer<Float>, outputStride: Int? = nil) {
        let ldc = outputStride ?? outFeatures
        if rows <= fewRows && inFeatures % 8 == 0 {
            fewRowsLinear(input, rows: rows, inFeatures: inFeatures, weight: weight, bias: bias, outFeatures: outFeatures, into: output, outputStride: ldc)
            return
        }
        if let bias {
            for row in 0..<rows { (output + row * ldc).update(from: bias, count: outFeatures) }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outFeatures), Int32(inFeatures),
                    1, input, Int32(inFeatures), weight, Int32(inFeatures), bias == nil ? 0 : 1, output, Int32(ldc))
    }

    /// `linear` split over the workers (the benchmark's OpenBLAS side): many rows are split by rows;
    /// few rows by output features (in multiples of 16, the BLAS kernel's block), so each worker
    /// still reads only its share of the weight.
    static func linear(_ input: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                       outFeatures: Int, into output: UnsafeMutablePointer<Float>, parallelism: Parallelism) {
        if rows >= 512 * parallelism.threads {
            parallelism.forRanges(rows) { part, _ in
                linear(input + part.lowerBound * inFeatures, rows: part.count, inFeatures: inFeatures, weight: weight, bias: bias,
                       outFeatures: outFeatures, into: output + part.lowerBound * outFeatures)
            }
            return
        }
        let blocks = outFeatures / 16
        let split = blocks >= parallelism.threads && outFeatures % 16 == 0
        parallelism.forRanges(split ? blocks : 1) { part, _ in
            let lower = split ? part.lowerBound * 16 : 0, upper = split ? part.upperBound * 16 : outFeatures
            linear(input, rows: rows, inFeatures: inFeatures, weight: weight + lower * inFeatures, bias: bias + lower,
                   outFeatures: upper - lower, into: output + lower, outputStride: outFeatures)
        }
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

    /// Layer normalization of each row (biased variance), in place; with `residual`, normalizes
    /// `x + residual` (the encoder's add-and-norm in one pass over memory).
    static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                          epsilon: Float, adding residual: UnsafePointer<Float>? = nil) {
        typealias V = SIMD8<Float>
        let vectorWidth = width / 8 * 8
        for row in 0..<rows {
            let v = x + row * width
            if let residual {
                let r = residual + row * width
                for i in 0..<width { v[i] += r[i] }
            }
            var sum = V(), i = 0
            while i < vectorWidth { sum += load(v + i); i += 8 }
            var mean = sum.sum()
            while i < width { mean += v[i]; i += 1 }
            mean /= Float(width)
            var squares = V()
            i = 0
            while i < vectorWidth {
                let d = load(v + i) - mean
                squares += d * d
                i += 8
            }
            var variance = squares.sum()
            while i < width { variance += (v[i] - mean) * (v[i] - mean); i += 1 }
            variance /= Float(width)
            let scale = 1 / (variance + epsilon).squareRoot()
            i = 0
            while i < vectorWidth {
                let value = (load(v + i) - mean) * scale
                    * load(gamma + i) + load(beta + i)
                store(value, v + i)
                i += 8
            }
            while i < width { v[i] = (v[i] - mean) * scale * gamma[i] + beta[i]; i += 1 }
        }
    }

    static func layerNorm(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, gamma: [Float], beta: [Float], epsilon: Float) {
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in layerNorm(x, rows: rows, width: width, gamma: g.baseAddress!, beta: b.baseAddress!, epsilon: epsilon) }
        }
    }

    /// The exact GELU, `0.5 · x · (1 + erf(x / √2))`, in place.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count { store(SIMDMath.gelu(load(x + i)), x + i); i += 8 }
        while i < count { x[i] = 0.5 * x[i] * (1 + erff(x[i] * 0.70710678118654752)); i += 1 }
    }

    /// Softmax of `scale · x` for each row of `width` values, in place; rows are `stride` apart.
    static func softmax(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int? = nil, scale: Float = 1) {
        typealias V = SIMD8<Float>
        let vectorWidth = width / 8 * 8
        for row in 0..<rows {
            let v = x + row * (stride ?? width)
            var maxima = V(repeating: -.infinity), i = 0
            while i < vectorWidth {
                let value = load(v + i)
                maxima.replace(with: value, where: value .> maxima)
                i += 8
            }
            var maximum = maxima.max()
            while i < width { maximum = max(maximum, v[i]); i += 1 }
            var sums = V()
            i = 0
            while i < vectorWidth {
                let e = SIMDMath.exp((load(v + i) - maximum) * scale)
                store(e, v + i)
                sums += e
                i += 8
            }
            var sum = sums.sum()
            while i < width { v[i] = expf((v[i] - maximum) * scale); sum += v[i]; i += 1 }
            let inverse = 1 / sum
            i = 0
            while i < vectorWidth { store(load(v + i) * inverse, v + i); i += 8 }
            while i < width { v[i] *= inverse; i += 1 }
        }
    }

    /// `x += y`, element-wise.
    static func add(_ y: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    @inline(__always)
    private static func load(_ source: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(source).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func store(_ value: SIMD8<Float>, _ destination: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(destination).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}
