import Foundation

/// Matrix-product rates of this machine, for the benchmark: OpenBLAS's `sgemm` (the weight
/// repacked on every call) against the engine's own product on a weight packed once.
public enum LinearRate {
    public struct Measurement: Sendable {
        public let rows, inFeatures, outFeatures: Int
        public let sgemmGFLOPS, packedGFLOPS: Double
        /// Largest difference between the two products' outputs.
        public let largestDifference: Float
    }

    public static func measure(rows: Int, inFeatures: Int, outFeatures: Int, parallelism: Parallelism, seconds: Double = 0.3) -> Measurement {
        var generator = SystemRandomNumberGenerator()
        let input = (0..<rows * inFeatures).map { _ in Float.random(in: -1...1, using: &generator) }
        let weight = (0..<outFeatures * inFeatures).map { _ in Float.random(in: -0.1...0.1, using: &generator) }
        let bias = (0..<outFeatures).map { _ in Float.random(in: -0.1...0.1, using: &generator) }
        var viaBLAS = [Float](repeating: 0, count: rows * outFeatures), viaPacked = viaBLAS
        let packed = weight.withUnsafeBufferPointer { PackedWeight($0.baseAddress!, outFeatures: outFeatures, inFeatures: inFeatures) }
        let flops = 2 * Double(rows * inFeatures * outFeatures)
        let sgemm = input.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    viaBLAS.withUnsafeMutableBufferPointer { o in
                        rate(flops: flops, seconds: seconds) {
                            Kernels.linear(x.baseAddress!, rows: rows, inFeatures: inFeatures, weight: w.baseAddress!, bias: b.baseAddress!,
                                           outFeatures: outFeatures, into: o.baseAddress!, parallelism: parallelism)
                        }
                    }
                }
            }
        }
        let own = input.withUnsafeBufferPointer { x in
            bias.withUnsafeBufferPointer { b in
                viaPacked.withUnsafeMutableBufferPointer { o in
                    rate(flops: flops, seconds: seconds) {
                        Kernels.packedLinear(x.baseAddress!, rows: rows, weight: packed, bias: b.baseAddress!, into: o.baseAddress!, parallelism: parallelism)
                    }
                }
            }
        }
        let difference = zip(viaBLAS, viaPacked).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        return Measurement(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, sgemmGFLOPS: sgemm, packedGFLOPS: own,
                           largestDifference: difference)
    }

    /// The best rate of several timed rounds, each repeating `body` for about `seconds` / 3.
    static func rate(flops: Double, seconds: Double, _ body: () -> Void) -> Double {
        body()
        let clock = ContinuousClock()
        var best = 0.0
        for _ in 0..<3 {
            var repeats = 0
            let start = clock.now
            var elapsed = 0.0
            while elapsed < seconds / 3 {
                body()
                repeats += 1
                let duration = clock.now - start
                elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            }
            best = max(best, flops * Double(repeats) / elapsed / 1e9)
        }
        return best
    }
}
