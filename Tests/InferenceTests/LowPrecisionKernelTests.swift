import CKernels
import Foundation
@testable import Inference
import Testing

/// The bf16 and int8 kernels on every path this CPU runs, against double-precision sums.
///
/// Tolerances, with u = 2⁻²⁴ (fp32's unit roundoff) and K the inputs:
/// - bf16 against the same bf16 inputs: products of bf16 values are exact in fp32, so only the K
///   additions and the bias round: |error| ≤ (K + 1) · u · (Σ|xᵢ·wᵢ| + |b|).
/// - int8 against the same quantized inputs: the int32 sum is exact; converting it, the two scale
///   products and the bias add round four times: |error| ≤ 4 · u · (|v| + |b|) (v the scaled sum), with slack 5.
/// - bf16 against float32: each input rounds by at most 2⁻⁹ relatively, so |error| ≤ (2⁻⁸ + 2⁻¹⁸) · Σ|xᵢ·wᵢ| + the sum's rounding.
/// - int8 against float32: |x − sₓ(q − z)| ≤ sₓ / 2 and |w − s_w·q_w| ≤ s_w / 2, so
///   |error| ≤ Σ(|xᵢ|·s_w + |wᵢ|·sₓ + sₓ·s_w / 2) / 2 + the sum's rounding.
@Suite struct LowPrecisionKernelTests {
    static let u = Double(Float.ulpOfOne) / 2
    static let paths = KernelPath.allCases.filter { $0 <= KernelPath.cpuBest }
    static let shapes = [1, 5, 7, 33].flatMap { rows in [384, 1536, 17].flatMap { k in [384, 15, 1].map { (rows, k, $0) } } }

    @Test func theCPUsPathMatchesItsFlags() throws {
        // /proc/cpuinfo is the kernel's own reading of cpuid (and of what the OS enables).
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(line.split(separator: " ").map(String.init))
        let expected: KernelPath = ["avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni"].allSatisfy(flags.contains) && flags.contains("avx2")
            ? .avx512 : (flags.contains("avx2") && flags.contains("fma") ? .avx2 : .portable)
        #expect(KernelPath.cpuBest == expected)
        #expect(KernelPath.active <= KernelPath.cpuBest)
    }

    @Test func theVariableForcesOnlyALesserPath() throws {
        #expect(try KernelPath.chosen(nil, best: .avx512) == .avx512)
        #expect(try KernelPath.chosen("", best: .avx2) == .avx2)
        #expect(try KernelPath.chosen("portable", best: .avx512) == .portable)
        #expect(try KernelPath.chosen("AVX2", best: .avx512) == .avx2)
        #expect(try KernelPath.chosen("avx512", best: .avx2) == .avx2)
        #expect(try KernelPath.chosen("avx512", best: .portable) == .portable)
        #expect(throws: KernelError.self) { try KernelPath.chosen("sse9", best: .avx512) }
        #expect(KernelPath.allCases.map(\.name) == ["portable", "avx2", "avx512"])
    }

    @Test func bf16RoundsToNearestEven() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3F80), (-2, 0xC000), (1 + 0x1p-8, 0x3F80), (1 + 3 * 0x1p-8, 0x3F82), (1 + 0x1p-8 + 0x1p-20, 0x3F81),
            (.infinity, 0x7F80), (-.infinity, 0xFF80), (Float.leastNormalMagnitude / 2, 0), (-Float.leastNormalMagnitude / 4, 0x8000),
            (Float.greatestFiniteMagnitude, 0x7F80),  // rounds up to infinity, as RNE must
        ]
        for (value, bits) in cases { #expect(mlk_bf16_from_float(value) == bits, "bf16(\(value))") }
        #expect(Float(bitPattern: UInt32(mlk_bf16_from_float(.nan)) << 16).isNaN)
    }

    @Test(arguments: [Precision.bf16, .int8])
    func productsMatchDoubleSumsOfTheQuantizedInputs(_ precision: Precision) throws {
        var random = SplitMix64(seed: precision == .bf16 ? 1 : 2)
        // The awkward shapes, then several row blocks (96 rows each) split by rows over 2 and 3 workers.
        for (rows, k, n) in Self.shapes + [(200, 40, 33), (1200, 17, 20)] {
            let x = (0..<rows * k).map { _ in Float(random.uniform(-2, 2)) }
            let w = (0..<n * k).map { _ in Float(random.uniform(-0.1, 0.1)) }
            let b = (0..<n).map { _ in Float(random.uniform(-1, 1)) }
            let packed = try w.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: n, inFeatures: k, precision: precision) }
            let (expected, tolerance) = Self.quantizedReference(x, rows: rows, packed, bias: b)
            var serial: [Float] = []
            for path in Self.paths {
                let y = Self.run(x, rows: rows, packed, bias: b, parallelism: .serial, path: path)
                let worst = zip(zip(y, expected), tolerance).map { abs(Double($0.0) - $0.1) / $1 }.max() ?? 0
                #expect(worst <= 1, "\(precision) \(path.name) \(rows) × \(k) → \(n): error \(worst) × the bound")
                if path == Self.paths.last { serial = y }
            }
            // Split over workers (by panels or rows), the same sums land in the same place.
            for threads in [2, 3] {
                #expect(Self.run(x, rows: rows, packed, bias: b, parallelism: Parallelism(threads: threads)) == serial,
                        "\(precision) \(rows) × \(k) → \(n) on \(threads) threads")
            }
        }
    }

    @Test(arguments: [Precision.bf16, .int8])
    func closeToFloat32OnRealisticScales(_ precision: Precision) throws {
        var random = SplitMix64(seed: 3)
        // A trained encoder's weights are about N(0, 0.04); inputs are layer-normed (N(0, 1)) or, into the
        // output projection, GELU of the intermediate (skewed, mostly small).
        for (k, n, gelu) in [(384, 384, false), (384, 1536, false), (1536, 384, true)] {
            let rows = 33
            let x = (0..<rows * k).map { _ -> Float in
                let v = random.normal()
                return Float(gelu ? 0.5 * v * (1 + erf(v / 2.squareRoot())) : v)
            }
            let w = (0..<n * k).map { _ in Float(0.04 * random.normal()) }
            let b = (0..<n).map { _ in Float(0.02 * random.normal()) }
            let packed = try w.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: n, inFeatures: k, precision: precision) }
            for path in Self.paths {
                let y = Self.run(x, rows: rows, packed, bias: b, parallelism: Parallelism(threads: 2), path: path)
                var worstRelative = 0.0, worstBound = 0.0
                for r in 0..<rows {
                    var errorSquares = 0.0, squares = 0.0
                    let (_, scaleX, _) = Self.quantized(x, row: r, k: k)
                    for o in 0..<n {
                        var exact = Double(b[o]), magnitude = 0.0, bound = 0.0
                        let scaleW = Double(packed.scale(output: o))
                        for i in 0..<k {
                            let xi = Double(x[r * k + i]), wi = Double(w[o * k + i])
                            exact += xi * wi
                            magnitude += abs(xi * wi)
                            bound += (abs(xi) * scaleW + abs(wi) * scaleX + scaleX * scaleW / 2) / 2
                        }
                        let rounding = Double(k + 1) * Self.u * (magnitude + abs(Double(b[o])))
                        bound = precision == .bf16 ? (0x1p-8 + 0x1p-18) * magnitude + rounding : bound + rounding
                        let error = Double(y[r * n + o]) - exact
                        worstBound = max(worstBound, abs(error) / bound)
                        errorSquares += error * error
                        squares += exact * exact
                    }
                    worstRelative = max(worstRelative, (errorSquares / squares).squareRoot())
                }
                // The bound holds for every output; the rows' relative error (norm of the error over the
                // norm of the output) is what a model sees: measured 0.0015–0.002 for bf16, 0.004–0.007 for int8.
                #expect(worstBound <= 1, "\(precision) \(path.name) \(k) → \(n): error \(worstBound) × the bound")
                #expect(worstRelative <= (precision == .bf16 ? 0.004 : 0.015), "\(precision) \(path.name) \(k) → \(n): relative error \(worstRelative)")
            }
        }
    }

    @Test func hostileWeightsAndInputsAreRefused() throws {
        let nan = [Float](repeating: .nan, count: 16)
        #expect(throws: KernelError.self) { try nan.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: 4, inFeatures: 4, precision: .int8) } }
        #expect(throws: KernelError.self) { try nan.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: 4, inFeatures: 5, precision: .bf16) } }
        #expect(throws: KernelError.self) { try nan.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: 4, inFeatures: 4, precision: .fp32) } }
        #expect(throws: KernelError.self) { try nan.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: 0, inFeatures: 16, precision: .bf16) } }
        let wide = [Float](repeating: 0.5, count: Int(MLK_MAX_IN) + 1)
        #expect(throws: KernelError.self) { try wide.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: 1, inFeatures: wide.count, precision: .int8) } }

        // The C entry point checks what it is given rather than reading past it.
        let weight = try [Float](repeating: 0.25, count: 32 * 8).withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: 32, inFeatures: 8, precision: .int8) }
        var x = [Float](repeating: 1, count: 8), y = [Float](repeating: 0, count: 32), scratch = [UInt8](repeating: 0, count: 4)
        let status = withUnsafePointer(to: weight.descriptor) { w in mlk_linear(2, w, &x, 1, 0, 3, nil, &y, &scratch, scratch.count) }
        #expect(status == MLK_ERR_SHAPE)  // 3 panels of a 2-panel weight
        let small = withUnsafePointer(to: weight.descriptor) { w in mlk_linear(2, w, &x, 1, 0, 2, nil, &y, &scratch, scratch.count) }
        #expect(small == MLK_ERR_SCRATCH)

        // A row with infinity gives NaN outputs in int8 (no scale represents it); the other rows are untouched.
        for precision in [Precision.int8, .bf16] {
            let packed = try [Float](repeating: 0.5, count: 3 * 4).withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: 3, inFeatures: 4, precision: precision) }
            for path in Self.paths {
                let y = Self.run([1, 2, .infinity, 4, 1, 1, 1, 1], rows: 2, packed, bias: nil, parallelism: .serial, path: path)
                #expect(y[0..<3].allSatisfy { precision == .int8 ? $0.isNaN : $0 == .infinity }, "\(precision) \(path.name): \(y)")
                #expect(y[3..<6].allSatisfy { abs($0 - 2) <= 1e-5 }, "\(precision) \(path.name): \(y)")
            }
        }
    }

    // MARK: - References

    static func run(_ x: [Float], rows: Int, _ weight: LowPrecisionWeight, bias: [Float]?, parallelism: Parallelism,
                    path: KernelPath = .active) -> [Float] {
        var y = [Float](repeating: .nan, count: rows * weight.outFeatures)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                if let bias {
                    bias.withUnsafeBufferPointer { b in
                        Kernels.lowPrecisionLinear(x.baseAddress!, rows: rows, weight: weight, bias: b.baseAddress!, into: y.baseAddress!,
                                                   parallelism: parallelism, path: path)
                    }
                } else {
                    Kernels.lowPrecisionLinear(x.baseAddress!, rows: rows, weight: weight, bias: nil, into: y.baseAddress!, parallelism: parallelism, path: path)
                }
            }
        }
        return y
    }

    /// Row `row` of `x` as the int8 kernels quantize it: values, scale, zero point.
    static func quantized(_ x: [Float], row: Int, k: Int) -> ([UInt8], Double, Double) {
        var q = [UInt8](repeating: 0, count: k), scale: Float = 0, zero: Int32 = 0
        x.withUnsafeBufferPointer { mlk_quantize_row($0.baseAddress! + row * k, k, &q, &scale, &zero) }
        return (q, Double(scale), Double(zero))
    }

    /// Double-precision sums of the packed weight's own values and the inputs converted as the
    /// kernels convert them, with each output's tolerance.
    static func quantizedReference(_ x: [Float], rows: Int, _ weight: LowPrecisionWeight, bias: [Float]) -> ([Double], [Double]) {
        let k = weight.inFeatures, n = weight.outFeatures
        let w = (0..<n * k).map { index -> Double in
            let value = weight.packedValue(output: index / k, input: index % k)
            return weight.precision == .bf16 ? Double(Float(bitPattern: UInt32(value) << 16)) : Double(value)
        }
        var expected: [Double] = [], tolerance: [Double] = []
        for r in 0..<rows {
            let (q, scale, zero) = quantized(x, row: r, k: k)
            let a = weight.precision == .bf16 ? (0..<k).map { Double(Float(bitPattern: UInt32(mlk_bf16_from_float(x[r * k + $0])) << 16)) }
                                              : q.map { Double($0) - zero }
            for o in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for i in 0..<k {
                    sum += a[i] * w[o * k + i]
                    magnitude += abs(a[i] * w[o * k + i])
                }
                let b = Double(bias[o])
                if weight.precision == .bf16 {
                    expected.append(sum + b)
                    tolerance.append(Double(k + 1) * u * (magnitude + abs(b)) + 1e-30)
                } else {
                    let v = sum * scale * Double(weight.scale(output: o))
                    expected.append(v + b)
                    tolerance.append(5 * u * (abs(v) + abs(b)) + 1e-30)
                }
            }
        }
        return (expected, tolerance)
    }
}

extension SplitMix64 {
    mutating func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * Double(next() >> 11) / 0x1p53 }

    /// Box–Muller.
    mutating func normal() -> Double {
        let a = max(uniform(0, 1), 0x1p-53), b = uniform(0, 1)
        return (-2 * log(a)).squareRoot() * cos(2 * .pi * b)
    }
}
