extension Kernels {
    /// Floats of scratch `attentionHead` needs for sequences of up to `longest` tokens and heads of `headSize`.
    static func attentionScratch(longest: Int, headSize: Int) -> Int {
        let padded = paddedToPanels(longest)
        return longest * padded + padded * headSize
    }

    /// Whether `attentionHead` runs heads of this size (whole panels of 16); others go through `sgemm`.
    static func attentionHeadFits(_ headSize: Int) -> Bool { headSize % PackedWeight.panelWidth == 0 }

    /// Scaled dot-product attention of one head over one sequence of `length` tokens:
    /// `context = softmax(scale · Q·Kᵀ + bias) · V`, where query, key, value and context rows are
    /// `stride` (and `contextStride`) floats apart. Both products run on the packed-weight kernel:
    /// the keys are packed into panels first (a few KB), the values are read in place.
    /// `rowBias(i)`, if given, points at the additive bias of query `i`'s scores (relative positions).
    static func attentionHead(query: UnsafePointer<Float>, key: UnsafePointer<Float>, value: UnsafePointer<Float>, stride: Int,
                              length: Int, headSize d: Int, scale: Float, rowBias: ((Int) -> UnsafePointer<Float>)?,
                              scratch: UnsafeMutablePointer<Float>, into context: UnsafeMutablePointer<Float>, contextStride: Int) {
        let width = PackedWeight.panelWidth, padded = paddedToPanels(length)
        let scores = scratch, keyPanels = scratch + length * padded
        for panel in 0..<padded / width {
            let base = keyPanels + panel * d * width
            for column in 0..<width {
                let token = panel * width + column
                if token < length {
                    let row = key + token * stride
                    for i in 0..<d { base[i * width + column] = row[i] }
                } else {
                    for i in 0..<d { base[i * width + column] = 0 }
                }
            }
        }
        multiplyPanels(query, lda: stride, rows: length, b: keyPanels, ldb: width, panelStride: d * width, panels: padded / width,
                       depth: d, into: scores, ldc: padded)
        if let rowBias {
            for i in 0..<length {
                let row = scores + i * padded, bias = rowBias(i)
                for j in 0..<length { row[j] = row[j] * scale + bias[j] }
            }
            softmax(scores, rows: length, width: length, stride: padded, scale: 1)
        } else {
            softmax(scores, rows: length, width: length, stride: padded, scale: scale)
        }
        multiplyPanels(scores, lda: padded, rows: length, b: value, ldb: stride, panelStride: width, panels: d / width,
                       depth: length, into: context, ldc: contextStride)
    }

    /// `c[rows × 16·panels] = a[rows × depth] · b`, with `b` in panels of 16 columns as `PackedTile` reads them.
    static func multiplyPanels(_ a: UnsafePointer<Float>, lda: Int, rows: Int, b: UnsafePointer<Float>, ldb: Int, panelStride: Int, panels: Int,
                               depth: Int, into c: UnsafeMutablePointer<Float>, ldc: Int) {
        for panel in 0..<panels {
            var row = 0
            while row < rows {
                PackedTile(rows: min(tileRows, rows - row)).run(a: a + row * lda, lda: lda, b: b + panel * panelStride, ldb: ldb, depth: depth,
                                                                c: c + row * ldc + panel * PackedWeight.panelWidth, ldc: ldc)
                row += tileRows
            }
        }
    }

    private static func paddedToPanels(_ count: Int) -> Int {
        (count + PackedWeight.panelWidth - 1) / PackedWeight.panelWidth * PackedWeight.panelWidth
    }
}
