/// Vectorised exp, erf and GELU on eight floats at a time (plain SIMD, so the compiler's baseline
/// instruction set is enough). exp is accurate to a few float ulps, erf to 5e-7: far inside the 1e-4
/// the embeddings need.
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

    /// `erf(x)` as `x · P(x²) / Q(x²)` on |x| ≤ 3.925 (beyond it erf is ±1 to float precision);
    /// coefficients fitted by `scripts/fit_erf.py`, absolute error below 5e-7 in float. No exp: the GELU
    /// after every feed-forward product costs a division and ten multiply-adds per eight values.
    @inline(__always)
    static func erf(_ x: V) -> V {
        var a = x.replacing(with: -3.925, where: x .< -3.925)
        a.replace(with: 3.925, where: a .> 3.925)
        let t = a * a
        var p = V(repeating: 2.0308989405748434e-06)
        p = p * t + 0.00028749118791893125
        p = p * t + 0.003876205300912261
        p = p * t + 0.05308391898870468
        p = p * t + 0.19296924769878387
        p = p * t + 1.128378987312317
        var q = V(repeating: 3.803175059147179e-05)
        q = q * t + 0.00118972547352314
        q = q * t + 0.015188087709248066
        q = q * t + 0.11516609787940979
        q = q * t + 0.5043461918830872
        q = q * t + 1
        return a * p / q
    }

    /// The exact GELU, `0.5 · x · (1 + erf(x / √2))`.
    @inline(__always)
    static func gelu(_ x: V) -> V { 0.5 * x * (1 + erf(x * 0.70710678118654752)) }
}
