import CPrefetch

/// What a linear layer applies to its outputs before they leave the registers.
enum Activation: Sendable {
    case none
    case gelu
}

extension Kernels {
    /// Rows of input each pass of the inner kernel multiplies at once: 6 rows × 16 outputs make
    /// 12 vector sums, which with two weight vectors and a broadcast fill the 16 AVX registers.
    static let tileRows = 6
    /// Input features per pass over a panel: a panel's slice (384 × 16 floats, 24 KB) stays in the
    /// level-1 cache while every row of the chunk meets it.
    static let depthBlock = 384
    /// Rows per chunk: the chunk's inputs (120 × 384 floats, 180 KB) stay in the level-2 cache
    /// while every panel of the weight meets them.
    static let rowChunk = 120

    /// Floats ahead of the weight being read that a chunk's first row tile asks the memory for: about
    /// the weight a tile uses in the time memory takes to answer, when a short query streams it once.
    static let weightPrefetchDistance = 2048

    /// `output[rows × outFeatures] = activation(input[rows × inFeatures] · weightᵀ + bias)` for the
    /// output panels `panels` (all by default).
    static func packedLinear(_ input: UnsafePointer<Float>, rows: Int, weight: PackedWeight, bias: UnsafePointer<Float>?,
                             activation: Activation = .none, into output: UnsafeMutablePointer<Float>, panels: Range<Int>? = nil) {
        let k = weight.inFeatures, n = weight.outFeatures, width = PackedWeight.panelWidth
        let lda = k, ldc = n
        let panels = panels ?? 0..<weight.panels
        var chunkStart = 0
        while chunkStart < rows {
            let chunkEnd = min(rows, chunkStart + rowChunk)
            var depthStart = 0
            while depthStart < k {
                let depth = min(depthBlock, k - depthStart)
                let isFirst = depthStart == 0, isLast = depthStart + depth == k
                for panel in panels {
                    let b = weight.values + panel * width * k + depthStart * width
                    let column = panel * width, columns = min(width, n - column)
                    let tileBias = isFirst ? bias.map { $0 + column } : nil
                    var row = chunkStart
                    while row < chunkEnd {
                        let tile = PackedTile(rows: min(tileRows, chunkEnd - row), columns: columns, accumulate: !isFirst,
                                              bias: tileBias, activation: isLast ? activation : .none, prefetchAhead: row == chunkStart ? weightPrefetchDistance : 0)
                        tile.run(a: input + row * lda + depthStart, lda: lda, b: b, ldb: width, depth: depth, c: output + row * ldc + column, ldc: ldc)
                        row += tileRows
                    }
                }
                depthStart += depth
            }
            chunkStart = chunkEnd
        }
    }

    /// `packedLinear` split over the workers: many rows are split by rows, few by output panels, so
    /// each worker reads only its share of the weight.
    static func packedLinear(_ input: UnsafePointer<Float>, rows: Int, weight: PackedWeight, bias: UnsafePointer<Float>?,
                             activation: Activation = .none, into output: UnsafeMutablePointer<Float>, parallelism: Parallelism) {
        let k = weight.inFeatures, n = weight.outFeatures
        if rows >= 4 * rowChunk * parallelism.threads || weight.panels < parallelism.threads {
            parallelism.forRanges(rows, minimumPerPart: tileRows) { part, _ in
                packedLinear(input + part.lowerBound * k, rows: part.count, weight: weight, bias: bias, activation: activation,
                             into: output + part.lowerBound * n)
            }
        } else {
            parallelism.forRanges(weight.panels) { part, _ in
                packedLinear(input, rows: rows, weight: weight, bias: bias, activation: activation, into: output, panels: part)
            }
        }
    }
}

private protocol TileHeight { static var rows: Int { get } }
private enum One: TileHeight { static var rows: Int { 1 } }
private enum Two: TileHeight { static var rows: Int { 2 } }
private enum Three: TileHeight { static var rows: Int { 3 } }
private enum Four: TileHeight { static var rows: Int { 4 } }
private enum Five: TileHeight { static var rows: Int { 5 } }
private enum Six: TileHeight { static var rows: Int { 6 } }

/// One pass of the inner kernel: up to 6 rows × 16 outputs, summed over `depth` input features.
/// `b` holds the 16 weights of each input feature side by side, `ldb` floats after the previous
/// feature's (16 in a `PackedWeight`; a row of the value matrix in attention).
struct PackedTile {
    let rows: Int
    let columns: Int
    /// Adds to what `c` holds (a later depth block) instead of starting from the bias.
    let accumulate: Bool
    let bias: UnsafePointer<Float>?
    let activation: Activation
    /// Floats ahead of the weight being read to ask the memory for (0: none), so a weight streamed
    /// from memory once (a short query) arrives before it is needed.
    let prefetchAhead: Int

    init(rows: Int, columns: Int = PackedWeight.panelWidth, accumulate: Bool = false, bias: UnsafePointer<Float>? = nil,
         activation: Activation = .none, prefetchAhead: Int = 0) {
        self.prefetchAhead = prefetchAhead
        self.rows = rows
        self.columns = columns
        self.accumulate = accumulate
        self.bias = bias
        self.activation = activation
    }

    func run(a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, depth: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if columns < PackedWeight.panelWidth {
            // The last, partial panel: a full tile into scratch (on the stack), then the real columns out.
            let width = PackedWeight.panelWidth
            withUnsafeTemporaryAllocation(of: Float.self, capacity: (Kernels.tileRows + 1) * width) { scratch in
                let tile = scratch.baseAddress!, paddedBias = tile + Kernels.tileRows * width
                scratch.initialize(repeating: 0)
                if accumulate {
                    for r in 0..<rows { (tile + r * width).update(from: c + r * ldc, count: columns) }
                }
                if let bias { paddedBias.update(from: bias, count: columns) }
                PackedTile(rows: rows, accumulate: accumulate, bias: bias == nil ? nil : UnsafePointer(paddedBias), activation: activation,
                           prefetchAhead: prefetchAhead).run(a: a, lda: lda, b: b, ldb: ldb, depth: depth, c: tile, ldc: width)
                for r in 0..<rows { (c + r * ldc).update(from: tile + r * width, count: columns) }
            }
            return
        }
        switch rows {
        case 6: kernel(Six.self, a: a, lda: lda, b: b, ldb: ldb, depth: depth, c: c, ldc: ldc)
        case 5: kernel(Five.self, a: a, lda: lda, b: b, ldb: ldb, depth: depth, c: c, ldc: ldc)
        case 4: kernel(Four.self, a: a, lda: lda, b: b, ldb: ldb, depth: depth, c: c, ldc: ldc)
        case 3: kernel(Three.self, a: a, lda: lda, b: b, ldb: ldb, depth: depth, c: c, ldc: ldc)
        case 2: kernel(Two.self, a: a, lda: lda, b: b, ldb: ldb, depth: depth, c: c, ldc: ldc)
        default: kernel(One.self, a: a, lda: lda, b: b, ldb: ldb, depth: depth, c: c, ldc: ldc)
        }
    }

    private typealias V = SIMD8<Float>

    /// The row count is a type, so the compiler specializes the kernel for each count and drops the
    /// unused rows' sums (a runtime count would keep all twelve sums and test it in the loop).
    private func kernel<Height: TileHeight>(_: Height.Type, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, depth: Int,
                                            c: UnsafeMutablePointer<Float>, ldc: Int) {
        let rows = Height.rows
        var s00 = V(), s01 = V(), s10 = V(), s11 = V(), s20 = V(), s21 = V()
        var s30 = V(), s31 = V(), s40 = V(), s41 = V(), s50 = V(), s51 = V()
        let a0 = a, a1 = a + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda
        var w = b
        for k in 0..<depth {
            if prefetchAhead > 0 { prefetch_read(w + prefetchAhead) }
            let w0 = load(w), w1 = load(w + 8)
            w += ldb
            var x = V(repeating: a0[k])
            s00 = s00.addingProduct(x, w0); s01 = s01.addingProduct(x, w1)
            if rows > 1 { x = V(repeating: a1[k]); s10 = s10.addingProduct(x, w0); s11 = s11.addingProduct(x, w1) }
            if rows > 2 { x = V(repeating: a2[k]); s20 = s20.addingProduct(x, w0); s21 = s21.addingProduct(x, w1) }
            if rows > 3 { x = V(repeating: a3[k]); s30 = s30.addingProduct(x, w0); s31 = s31.addingProduct(x, w1) }
            if rows > 4 { x = V(repeating: a4[k]); s40 = s40.addingProduct(x, w0); s41 = s41.addingProduct(x, w1) }
            if rows > 5 { x = V(repeating: a5[k]); s50 = s50.addingProduct(x, w0); s51 = s51.addingProduct(x, w1) }
        }
        finish(&s00, &s01, c)
        if rows > 1 { finish(&s10, &s11, c + ldc) }
        if rows > 2 { finish(&s20, &s21, c + 2 * ldc) }
        if rows > 3 { finish(&s30, &s31, c + 3 * ldc) }
        if rows > 4 { finish(&s40, &s41, c + 4 * ldc) }
        if rows > 5 { finish(&s50, &s51, c + 5 * ldc) }
    }

    /// Adds the bias (first depth block) or the earlier sums (later blocks), applies the activation
    /// (last block) and stores one row of the tile.
    @inline(__always)
    private func finish(_ low: inout V, _ high: inout V, _ c: UnsafeMutablePointer<Float>) {
        if accumulate {
            low += load(c); high += load(c + 8)
        } else if let bias {
            low += load(bias); high += load(bias + 8)
        }
        if activation == .gelu {
            low = SIMDMath.gelu(low); high = SIMDMath.gelu(high)
        }
        store(low, c); store(high, c + 8)
    }

    @inline(__always)
    private func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    private func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    @inline(__always)
    private func store(_ value: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: value, as: V.self) }
}
