import Foundation

/// A linear layer's weight [outFeatures × inFeatures], repacked once at load for `Kernels.packedLinear`.
///
/// Output features are grouped in panels of 16; a panel holds, for each input feature in turn, the
/// 16 weights of its outputs side by side, so the product's inner loop reads the weight as one
/// contiguous stream (a general `sgemm` repacks the weight this way on every call). The last
/// panel is padded with zeros.
public final class PackedWeight: @unchecked Sendable {
    static let panelWidth = 16

    let values: UnsafeMutablePointer<Float>
    public let inFeatures: Int
    public let outFeatures: Int

    var panels: Int { (outFeatures + Self.panelWidth - 1) / Self.panelWidth }

    /// Packs `weight`, stored [outFeatures × inFeatures] as PyTorch stores it.
    public init(_ weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let width = Self.panelWidth, panels = (outFeatures + width - 1) / width
        let count = max(panels * width * inFeatures, 1)
        values = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: count)
        values.initialize(repeating: 0, count: count)
        for panel in 0..<panels {
            let base = values + panel * width * inFeatures
            for column in 0..<min(width, outFeatures - panel * width) {
                let row = weight + (panel * width + column) * inFeatures
                for k in 0..<inFeatures { base[k * width + column] = row[k] }
            }
        }
    }

    /// A weight read in place from a mapped file gives its pages back once packed, so the process
    /// holds it once.
    public convenience init(_ weight: FloatBuffer, outFeatures: Int, inFeatures: Int) {
        precondition(weight.count == outFeatures * inFeatures, "a [\(outFeatures) × \(inFeatures)] weight needs \(outFeatures * inFeatures) values")
        self.init(weight.pointer, outFeatures: outFeatures, inFeatures: inFeatures)
        weight.releaseFilePages()
    }

    /// Packs the weights of several projections of the same input stacked as one (query, key and value).
    public convenience init(stacking parts: [FloatBuffer], inFeatures: Int) {
        let stacked = FloatBuffer(concatenating: parts)
        self.init(stacked, outFeatures: stacked.count / inFeatures, inFeatures: inFeatures)
        for part in parts { part.releaseFilePages() }
    }

    deinit { UnsafeMutableRawPointer(values).deallocate() }
}
