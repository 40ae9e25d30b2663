import CKernels

/// The number format a model's linear layers run at.
public enum Precision: String, Sendable, CaseIterable {
    case fp32, bf16, int8
}

/// A linear layer's weight [outFeatures × inFeatures] packed once for `Kernels.lowPrecisionLinear`:
/// bf16 pairs, or int8 quads with a scale and a weight sum per output (layouts in CKernels.h).
public final class LowPrecisionWeight: @unchecked Sendable {
    public let precision: Precision
    public let inFeatures: Int
    public let outFeatures: Int
    /// The C kernels' view of the buffers below (which this object owns).
    private(set) var descriptor: mlk_weight

    /// Output panels of 16, the unit a product is split by.
    var panels: Int { mlk_padded_out(outFeatures) / Int(MLK_PANEL) }

    /// Packs `weight`, stored [outFeatures × inFeatures] as PyTorch stores it, at `precision` (bf16 or int8).
    public init(_ weight: UnsafeBufferPointer<Float>, outFeatures: Int, inFeatures: Int, precision: Precision) throws {
        let kind: Int32
        switch precision {
        case .bf16: kind = Int32(MLK_BF16)
        case .int8: kind = Int32(MLK_INT8)
        case .fp32: throw KernelError("fp32 weights are packed by PackedWeight, not LowPrecisionWeight")
        }
        guard outFeatures >= 1, inFeatures >= 1, outFeatures <= Int(MLK_MAX_OUT), inFeatures <= Int(MLK_MAX_IN) else {
            throw KernelError("a [\(outFeatures) × \(inFeatures)] weight is outside the \(precision) kernels' limits (1 … \(MLK_MAX_OUT) outputs, 1 … \(MLK_MAX_IN) inputs)")
        }
        guard weight.count == outFeatures * inFeatures else {
            throw KernelError("a [\(outFeatures) × \(inFeatures)] weight needs \(outFeatures * inFeatures) values, not \(weight.count)")
        }
        self.precision = precision
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bytes = mlk_packed_bytes(kind, outFeatures, inFeatures), padded = mlk_padded_out(outFeatures)
        let values = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        var scales: UnsafeMutablePointer<Float>?, sums: UnsafeMutablePointer<Int32>?
        if precision == .int8 {
            scales = .allocate(capacity: padded)
            sums = .allocate(capacity: padded)
        }
        descriptor = mlk_weight(precision: kind, reserved: 0, in_features: inFeatures, out_features: outFeatures,
                                values: values, scales: scales, sums: sums)
        let status = withUnsafePointer(to: &descriptor) { mlk_pack($0, weight.baseAddress, weight.count) }
        // On failure deinit frees the buffers.
        if status == MLK_ERR_NOT_FINITE { throw KernelError("an int8 weight must be finite: [\(outFeatures) × \(inFeatures)] holds NaN or infinity") }
        guard status == MLK_OK else { throw KernelError("packing a [\(outFeatures) × \(inFeatures)] \(precision) weight failed (\(status))") }
    }

    /// The packed value of output `o`, input `i`: bf16 bits or the int8 weight (for tests and references).
    func packedValue(output o: Int, input i: Int) -> Int32 {
        withUnsafePointer(to: descriptor) { mlk_weight_at($0, o, i) }
    }

    /// The int8 scale of output `o` (weights are value × scale).
    func scale(output o: Int) -> Float { descriptor.scales?[o] ?? 1 }

    /// Bytes this weight holds packed.
    public var packedBytes: Int {
        mlk_packed_bytes(descriptor.precision, outFeatures, inFeatures) + (precision == .int8 ? 8 * mlk_padded_out(outFeatures) : 0)
    }

    deinit {
        descriptor.values.deallocate()
        descriptor.scales?.deallocate()
        descriptor.sums?.deallocate()
    }
}
