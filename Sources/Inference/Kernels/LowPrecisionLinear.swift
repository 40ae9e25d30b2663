import CKernels

extension Kernels {
    /// `output[rows × outFeatures] = input[rows × inFeatures] · weightᵀ + bias` on a bf16 or int8
    /// weight, by the C kernels of `path`, for the output panels `panels` (all by default).
    static func lowPrecisionLinear(_ input: UnsafePointer<Float>, rows: Int, weight: LowPrecisionWeight, bias: UnsafePointer<Float>?,
                                   into output: UnsafeMutablePointer<Float>, panels: Range<Int>? = nil, path: KernelPath = .active) {
        let panels = panels ?? 0..<weight.panels
        let scratchBytes = mlk_scratch_bytes(weight.descriptor.precision, weight.inFeatures, rows)
        let status = withUnsafeTemporaryAllocation(byteCount: max(scratchBytes, 1), alignment: 64) { scratch in
            withUnsafePointer(to: weight.descriptor) { w in
                mlk_linear(path.rawValue, w, input, rows, panels.lowerBound, panels.upperBound, bias, output, scratch.baseAddress, scratch.count)
            }
        }
        // The sizes come from the weight and the caller's own buffers: a failure is a bug here, not bad input.
        precondition(status == MLK_OK, "lowPrecisionLinear: \(rows) rows × [\(weight.outFeatures) × \(weight.inFeatures)] panels \(panels) failed (\(status))")
    }

    /// `lowPrecisionLinear` split over the workers as `packedLinear` splits: many rows by rows, few
    /// by output panels, so each worker reads only its share of the weight.
    static func lowPrecisionLinear(_ input: UnsafePointer<Float>, rows: Int, weight: LowPrecisionWeight, bias: UnsafePointer<Float>?,
                                   into output: UnsafeMutablePointer<Float>, parallelism: Parallelism, path: KernelPath = .active) {
        let k = weight.inFeatures, n = weight.outFeatures, block = Int(MLK_ROW_BLOCK)
        if rows >= 4 * block * parallelism.threads || weight.panels < parallelism.threads {
            parallelism.forRanges(rows, minimumPerPart: 12) { part, _ in
                lowPrecisionLinear(input + part.lowerBound * k, rows: part.count, weight: weight, bias: bias,
                                   into: output + part.lowerBound * n, path: path)
            }
        } else {
            parallelism.forRanges(weight.panels) { part, _ in
                lowPrecisionLinear(input, rows: rows, weight: weight, bias: bias, into: output, panels: part, path: path)
            }
        }
    }
}
