import Foundation

/// MPNet's relative-position attention bias (T5-style buckets, bidirectional, max distance 128).
enum RelativePositions {
    /// The bucket of `key − query`, computed in float32 as PyTorch does, so boundaries agree.
    static func bucket(_ relative: Int, buckets: Int, maxDistance: Int = 128) -> Int {
        let half = buckets / 2
        var result = 0
        var n = -relative
        if n < 0 { result += half }
        n = abs(n)
        let maxExact = half / 2
        if n < maxExact { return result + n }
        let scaled = logf(Float(n) / Float(maxExact)) / Float(log(Double(maxDistance) / Double(maxExact))) * Float(half - maxExact)
        return result + min(maxExact + Int(scaled), half - 1)
    }

    /// [heads × (2·longest − 1)] biases by relative offset `key − query`, from −(longest − 1) up.
    static func biasByOffset(_ table: [Float], longest: Int, heads: Int, buckets: Int) -> [Float] {
        let offsets = 2 * longest - 1
        var result = [Float](repeating: 0, count: heads * offsets)
        for index in 0..<offsets {
            let b = bucket(index - (longest - 1), buckets: buckets)
            for head in 0..<heads { result[head * offsets + index] = table[b * heads + head] }
        }
        return result
    }
}
