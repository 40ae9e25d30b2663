/// Vectorised exp and erf on eight floats at a time (plain SIMD, so the compiler's baseline
/// instruction set is enough). Accurate to a few float ulps: far inside the 1e-4 the embeddings need.
enum SIMDMath {
    typealias V = SIMD8<Float>

    /// `e^x`: x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 polynomial for e^r, 2^n from the exponent bits.
    @inline(__always)
    static func exp(_ x: V) -> V {
        var clamped = x.replacing(with: -87.3, where: x .< -87.3)
        clamped.replace(with: 88.3, where: clamped .> 88.3)
        // Adding 1.5·2²³ rounds to a whole number n (in [-126, 127]) kept in the low mantissa bits.
        let magic = V(repeating: 12582912)
        let shifted = clamped * 1.44269504088896341 + magic
        let n = shifted - magic
        // ln2 split in a part exact in float and a correction, so r keeps its low bits.
        var r = clamped - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        return p * unsafeBitCast((integer &+ 127) &<< 23, to: V.self)
    }

    /// `erf(x)` by Abramowitz & Stegun 7.1.26 refined: absolute error below 1.5e-7.
    @inline(__always)
    static func erf(_ x: V) -> V {
        let a = x.replacing(with: -x, where: x .< 0)
        let t = 1 / (a * 0.3275911 + 1)
        var p = V(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let y = 1 - p * t * Self.exp(-(a * a))
        return y.replacing(with: -y, where: x .< 0)
    }
}
