/// Bounds on what a model file may make the engine do, checked while it is read (see
/// docs/hardening-files.md). A file beyond them is refused with a `WeightError` saying which bound.
public enum ArtifactLimits {
    /// Largest zip entry the engine inflates or maps (4 GiB: zlib's 32-bit counters).
    public static let maxEntryBytes = Int(UInt32.max)
    /// DEFLATE cannot expand more than about 1032:1; a larger declared size is a lie (a zip bomb).
    public static let maxDeflateRatio = 1032
    /// Entries of one zip's central directory.
    public static let maxZipEntries = 1 << 20
    /// Dimensions of one tensor.
    public static let maxTensorRank = 8
    /// Tensors (weights) in one model file.
    public static let maxTensors = 1 << 17
    /// Nesting of pickled containers (a TorchScript module tree is a few dozen deep).
    public static let maxPickleDepth = 256
    /// Nodes and edges a walk of the pickled object graph may visit, per byte of the pickle
    /// (memo references can make a small pickle a DAG with exponentially many paths).
    public static let pickleVisitsPerByte = 16

    /// Bytes of decoded (copied, widened, transposed) weights a file of `fileBytes` may ask for:
    /// float16 widening doubles a file, so four times its size plus 64 MiB covers every honest model.
    public static func allocationCeiling(fileBytes: Int) -> Int {
        let (scaled, overflow) = max(fileBytes, 0).multipliedReportingOverflow(by: 4)
        return overflow ? Int.max : scaled + (64 << 20)
    }
}

/// Counts the bytes a reader allocates for one file against `ArtifactLimits.allocationCeiling`.
struct AllocationBudget {
    private(set) var remaining: Int
    private(set) var ceiling: Int

    init(fileBytes: Int) {
        ceiling = ArtifactLimits.allocationCeiling(fileBytes: fileBytes)
        remaining = ceiling
    }

    /// Raises the ceiling for another file the tensors may read (an ONNX external data file).
    mutating func allow(fileBytes: Int) {
        let more = ArtifactLimits.allocationCeiling(fileBytes: fileBytes) - (64 << 20)
        let (total, overflow) = remaining.addingReportingOverflow(more)
        remaining = overflow ? Int.max : total
        ceiling = ceiling.addingReportingOverflow(more).overflow ? Int.max : ceiling + more
    }

    /// Takes `elements` values of `width` bytes for `name`, or throws when the file asks for more than its ceiling.
    mutating func take(_ elements: Int, width: Int = 4, for name: String) throws {
        let (bytes, overflow) = max(elements, 0).multipliedReportingOverflow(by: width)
        guard !overflow, bytes <= remaining else {
            throw WeightError("tensor \(name) would take the decoded weights past \(ceiling) bytes, more than a file of this size can honestly need")
        }
        remaining -= bytes
    }
}
