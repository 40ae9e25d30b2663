import Foundation

/// Rates of the float32 packed product against the bf16 and int8 kernels on every path this CPU
/// runs, for `mlcommons bench-kernels`.
public enum LowPrecisionRate {
    public struct Measurement: Sendable {
        public let rows, inFeatures, outFeatures: Int
        /// GFLOPS of `packedLinear` (float32).
        public let fp32: Double
        /// GOPS (multiply-adds × 2 per second) of each path, best path first.
        public let bf16, int8: [(path: KernelPath, rate: Double)]
    }

    public static func measure(rows: Int, inFeatures: Int, outFeatures: Int, parallelism: Parallelism, seconds: Double = 0.3) throws -> Measurement {
        var random = SplitMix64(seed: UInt64(rows * 1_000_003 + inFeatures * 1009 + outFeatures))
        let input = (0..<rows * inFeatures).map { _ in Float.random(in: -1...1, using: &random) }
        let weight = (0..<outFeatures * inFeatures).map { _ in Float.random(in: -0.1...0.1, using: &random) }
        let bias = (0..<outFeatures).map { _ in Float.random(in: -0.1...0.1, using: &random) }
        var output = [Float](repeating: 0, count: rows * outFeatures)
        let packed = weight.withUnsafeBufferPointer { PackedWeight($0.baseAddress!, outFeatures: outFeatures, inFeatures: inFeatures) }
        let bf16 = try weight.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: outFeatures, inFeatures: inFeatures, precision: .bf16) }
        let int8 = try weight.withUnsafeBufferPointer { try LowPrecisionWeight($0, outFeatures: outFeatures, inFeatures: inFeatures, precision: .int8) }
        let operations = 2 * Double(rows * inFeatures * outFeatures)
        let paths = KernelPath.allCases.filter { $0 <= KernelPath.cpuBest }.reversed()
        return input.withUnsafeBufferPointer { x in
            bias.withUnsafeBufferPointer { b in
                output.withUnsafeMutableBufferPointer { y in
                    let fp32 = LinearRate.rate(flops: operations, seconds: seconds) {
                        Kernels.packedLinear(x.baseAddress!, rows: rows, weight: packed, bias: b.baseAddress!, into: y.baseAddress!, parallelism: parallelism)
                    }
                    func rates(_ weight: LowPrecisionWeight) -> [(path: KernelPath, rate: Double)] {
                        paths.map { path in
                            (path, LinearRate.rate(flops: operations, seconds: seconds) {
                                Kernels.lowPrecisionLinear(x.baseAddress!, rows: rows, weight: weight, bias: b.baseAddress!, into: y.baseAddress!,
                                                           parallelism: parallelism, path: path)
                            })
                        }
                    }
                    return Measurement(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, fp32: fp32, bf16: rates(bf16), int8: rates(int8))
                }
            }
        }
    }

    /// A markdown table of `measure` over `shapes` (in × out) and `rowCounts`, with the active path's
    /// ratios to float32.
    public static func table(shapes: [(Int, Int)], rowCounts: [Int], parallelism: Parallelism, seconds: Double = 0.3) throws -> String {
        let paths = KernelPath.allCases.filter { $0 <= KernelPath.cpuBest }.reversed().map(\.name)
        let active = KernelPath.active
        var lines = [
            "| in × out | rows | fp32 packed GFLOPS | " + paths.map { "bf16 \($0)" }.joined(separator: " | ") + " | "
                + paths.map { "int8 \($0)" }.joined(separator: " | ") + " | bf16/fp32 (\(active.name)) | int8/fp32 (\(active.name)) |",
            "|---|---|---|" + String(repeating: "---|", count: 2 * paths.count + 2),
        ]
        func format(_ value: Double) -> String { String(format: "%.1f", value) }
        for (inFeatures, outFeatures) in shapes {
            for rows in rowCounts {
                let m = try measure(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, parallelism: parallelism, seconds: seconds)
                let bf16 = m.bf16.first { $0.path == active }?.rate ?? 0, int8 = m.int8.first { $0.path == active }?.rate ?? 0
                lines.append("| \(inFeatures) × \(outFeatures) | \(rows) | \(format(m.fp32)) | " + m.bf16.map { format($0.rate) }.joined(separator: " | ") + " | "
                             + m.int8.map { format($0.rate) }.joined(separator: " | ")
                             + " | \(String(format: "%.2f", bf16 / m.fp32)) | \(String(format: "%.2f", int8 / m.fp32)) |")
            }
        }
        return lines.joined(separator: "\n")
    }
}
