import Foundation
@testable import Inference
import Testing

/// The engine's numeric kernels against sums computed directly in double precision.
@Suite struct KernelTests {
    @Test func fewRowsKernelMatchesTheGeneralProduct() {
        // Rows below and above the few-rows threshold, output widths that are and are not multiples of 4.
        for (rows, inFeatures, outFeatures) in [(1, 8, 5), (3, 64, 33), (16, 384, 1152), (17, 40, 12)] {
            let input = (0..<rows * inFeatures).map { Float(($0 * 7919) % 113) / 113 - 0.5 }
            let weight = (0..<outFeatures * inFeatures).map { Float(($0 * 104_729) % 97) / 97 - 0.5 }
            let bias = (0..<outFeatures).map { Float($0) / 10 }
            var expected = [Float](repeating: 0, count: rows * outFeatures)
            for r in 0..<rows {
                for o in 0..<outFeatures {
                    var sum = Double(bias[o])
                    for i in 0..<inFeatures { sum += Double(input[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                    expected[r * outFeatures + o] = Float(sum)
                }
            }
            for threads in [1, 2, 3] {
                var output = [Float](repeating: .nan, count: rows * outFeatures)
                input.withUnsafeBufferPointer { x in
                    weight.withUnsafeBufferPointer { w in
                        bias.withUnsafeBufferPointer { b in
                            output.withUnsafeMutableBufferPointer { o in
                                Kernels.linear(x.baseAddress!, rows: rows, inFeatures: inFeatures, weight: w.baseAddress!, bias: b.baseAddress!,
                                               outFeatures: outFeatures, into: o.baseAddress!, parallelism: Parallelism(threads: threads))
                            }
                        }
                    }
                }
                let worst = Self.largestDifference(output, expected)
                #expect(worst <= 1e-4, "rows \(rows) × \(inFeatures) → \(outFeatures), \(threads) threads: off by \(worst)")
            }
        }
    }

    @Test func vectorisedExpAndErfAreAccurate() {
        var worstExp: Float = 0, worstErf: Float = 0
        for step in stride(from: -80.0 as Float, through: 80, by: 0.37) {
            let x = SIMD8<Float>((0..<8).map { step + Float($0) * 0.01 })
            let e = SIMDMath.exp(x), r = SIMDMath.erf(x / 8)
            for lane in 0..<8 {
                worstExp = max(worstExp, abs(e[lane] - expf(x[lane])) / expf(x[lane]))
                worstErf = max(worstErf, abs(r[lane] - erff(x[lane] / 8)))
            }
        }
        #expect(worstExp <= 2e-6, "relative error of exp \(worstExp)")
        #expect(worstErf <= 5e-7, "absolute error of erf \(worstErf)")
    }

    @Test func packedProductMatchesTheDirectSum() {
        // Every tile height (1–6 rows), a partial last panel, several depth blocks (800 = 384 + 384 + 32
        // input features), a product wide enough to split by panels and one tall enough to split by rows.
        for (rows, inFeatures, outFeatures) in [(1, 8, 5), (5, 64, 33), (7, 800, 40), (13, 384, 1152), (1000, 96, 48)] {
            let input = (0..<rows * inFeatures).map { Float(($0 * 7919) % 113) / 113 - 0.5 }
            let weight = (0..<outFeatures * inFeatures).map { Float(($0 * 104_729) % 97) / 97 - 0.5 }
            let bias = (0..<outFeatures).map { Float($0 % 7) / 10 - 0.3 }
            let packed = weight.withUnsafeBufferPointer { PackedWeight($0.baseAddress!, outFeatures: outFeatures, inFeatures: inFeatures) }
            for activation in [Activation.none, .gelu] {
                let expected = Self.direct(input, rows: rows, weight: weight, bias: bias, outFeatures: outFeatures, gelu: activation == .gelu)
                for threads in [1, 2, 3] {
                    var output = [Float](repeating: .nan, count: rows * outFeatures)
                    input.withUnsafeBufferPointer { x in
                        bias.withUnsafeBufferPointer { b in
                            output.withUnsafeMutableBufferPointer { o in
                                Kernels.packedLinear(x.baseAddress!, rows: rows, weight: packed, bias: b.baseAddress!, activation: activation,
                                                     into: o.baseAddress!, parallelism: Parallelism(threads: threads))
                            }
                        }
                    }
                    let worst = Self.largestDifference(output, expected)
                    #expect(worst <= 1e-4, "rows \(rows) × \(inFeatures) → \(outFeatures), \(activation), \(threads) threads: off by \(worst)")
                }
            }
        }
    }

    @Test(arguments: [32, 64])
    func attentionHeadMatchesTheDirectSums(headSize d: Int) {
        let heads = 3, h = heads * d, stride = 3 * h
        for length in [1, 5, 17, 128] {
            let qkv = (0..<length * stride).map { Float(($0 * 7919) % 211) / 211 - 0.5 }
            let table = (0..<2 * length).map { Float($0 % 5) / 4 }
            for withBias in [false, true] {
                let scale = 1 / Float(d).squareRoot()
                var context = [Float](repeating: .nan, count: length * h)
                var scratch = [Float](repeating: .nan, count: Kernels.attentionScratch(longest: length, headSize: d))
                qkv.withUnsafeBufferPointer { x in
                    table.withUnsafeBufferPointer { t in
                        let rowBias: ((Int) -> UnsafePointer<Float>)? = withBias ? { i in t.baseAddress! + length - i } : nil
                        scratch.withUnsafeMutableBufferPointer { s in
                            context.withUnsafeMutableBufferPointer { c in
                                // The middle head: its query, key and value sit inside wider rows.
                                let q = x.baseAddress! + d
                                Kernels.attentionHead(query: q, key: q + h, value: q + 2 * h, stride: stride, length: length, headSize: d,
                                                      scale: scale, rowBias: rowBias, scratch: s.baseAddress!, into: c.baseAddress! + d, contextStride: h)
                            }
                        }
                    }
                }
                var worst: Double = 0
                for i in 0..<length {
                    var scores = (0..<length).map { j -> Double in
                        var dot = 0.0
                        for e in 0..<d { dot += Double(qkv[i * stride + d + e]) * Double(qkv[j * stride + h + d + e]) }
                        return dot * Double(scale) + (withBias ? Double(table[length - i + j]) : 0)
                    }
                    let top = scores.max()!
                    scores = scores.map { Foundation.exp($0 - top) }
                    let total = scores.reduce(0, +)
                    for e in 0..<d {
                        let expected = (0..<length).reduce(0.0) { $0 + scores[$1] / total * Double(qkv[$1 * stride + 2 * h + d + e]) }
                        let difference = abs(expected - Double(context[i * h + d + e]))
                        worst = difference.isNaN ? .infinity : max(worst, difference)
                    }
                }
                #expect(worst <= 1e-5, "head size \(d), \(length) tokens, bias \(withBias): off by \(worst)")
            }
        }
    }

    /// The largest element-wise difference; a NaN (an output never written) counts as infinite.
    static func largestDifference(_ output: [Float], _ expected: [Float]) -> Float {
        zip(output, expected).reduce(0) { worst, pair in
            let difference = abs(pair.0 - pair.1)
            return difference.isNaN ? .infinity : max(worst, difference)
        }
    }

    /// `input · weightᵀ + bias` (then the exact GELU) in double precision.
    static func direct(_ input: [Float], rows: Int, weight: [Float], bias: [Float], outFeatures: Int, gelu: Bool) -> [Float] {
        let inFeatures = input.count / rows
        var output = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var sum = Double(bias[o])
                for i in 0..<inFeatures { sum += Double(input[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                output[r * outFeatures + o] = Float(gelu ? 0.5 * sum * (1 + Foundation.erf(sum / 2.0.squareRoot())) : sum)
            }
        }
        return output
    }
}
