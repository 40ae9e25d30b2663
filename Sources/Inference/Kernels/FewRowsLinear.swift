import CPrefetch

extension Kernels {
    /// Rows at or below this go through `fewRowsLinear`: a general matrix product would repack the
    /// whole weight for a handful of rows (a short query), which costs more than the arithmetic.
    static let fewRows = 64

    /// `output[rows × outFeatures] = input · weightᵀ + bias` for a few rows: each group of four
    /// weight rows is read once from memory and stays in cache while every input row meets it.
    /// `inFeatures` must be a multiple of 8.
    static func fewRowsLinear(_ input: UnsafePointer<Float>, rows: Int, inFeatures k: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              outFeatures n: Int, into output: UnsafeMutablePointer<Float>, outputStride ldc: Int) {
        typealias V = SIMD8<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        var j = 0
        while j + 4 <= n {
            let w0 = weight + j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k
            // The first pass also asks for the next four weight rows, so they arrive while these are used.
            let next = j + 8 <= n ? w0 + 4 * k : w0
            var r = 0
            // Two input rows at a time: eight independent sums keep both FMA units busy.
            while r + 2 <= rows {
                let x = input + r * k, y = x + k
                var a0 = V(), a1 = V(), a2 = V(), a3 = V(), b0 = V(), b1 = V(), b2 = V(), b3 = V()
                var i = 0
                while i < k {
                    let xv = load(x + i), yv = load(y + i)
                    if r == 0 && i % 16 == 0 {
                        prefetch_read(next + i)
                        prefetch_read(next + k + i)
                        prefetch_read(next + 2 * k + i)
                        prefetch_read(next + 3 * k + i)
                    }
                    let v0 = load(w0 + i), v1 = load(w1 + i), v2 = load(w2 + i), v3 = load(w3 + i)
                    a0 = a0.addingProduct(xv, v0); b0 = b0.addingProduct(yv, v0)
                    a1 = a1.addingProduct(xv, v1); b1 = b1.addingProduct(yv, v1)
                    a2 = a2.addingProduct(xv, v2); b2 = b2.addingProduct(yv, v2)
                    a3 = a3.addingProduct(xv, v3); b3 = b3.addingProduct(yv, v3)
                    i += 8
                }
                store(a0, a1, a2, a3, into: output + r * ldc + j, bias: bias.map { $0 + j })
                store(b0, b1, b2, b3, into: output + (r + 1) * ldc + j, bias: bias.map { $0 + j })
                r += 2
            }
            if r < rows {
                let x = input + r * k
                var a0 = V(), a1 = V(), a2 = V(), a3 = V()
                var i = 0
                while i < k {
                    let xv = load(x + i)
                    a0 = a0.addingProduct(xv, load(w0 + i))
                    a1 = a1.addingProduct(xv, load(w1 + i))
                    a2 = a2.addingProduct(xv, load(w2 + i))
                    a3 = a3.addingProduct(xv, load(w3 + i))
                    i += 8
                }
                store(a0, a1, a2, a3, into: output + r * ldc + j, bias: bias.map { $0 + j })
            }
            j += 4
        }
        while j < n {
            let w = weight + j * k
            for r in 0..<rows {
                let x = input + r * k
                var a = V(), i = 0
                while i < k { a = a.addingProduct(load(x + i), load(w + i)); i += 8 }
                output[r * ldc + j] = a.sum() + (bias?[j] ?? 0)
            }
            j += 1
        }
    }

    /// Writes the four sums (plus bias) of one row's four adjacent outputs.
    @inline(__always)
    private static func store(_ a0: SIMD8<Float>, _ a1: SIMD8<Float>, _ a2: SIMD8<Float>, _ a3: SIMD8<Float>,
                              into o: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?) {
        o[0] = a0.sum() + (bias?[0] ?? 0)
        o[1] = a1.sum() + (bias?[1] ?? 0)
        o[2] = a2.sum() + (bias?[2] ?? 0)
        o[3] = a3.sum() + (bias?[3] ?? 0)
    }
}
