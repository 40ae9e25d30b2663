import Foundation

/// The weights of a TorchScript file (`torch.jit.save`), named by their attribute paths
/// (`0.auto_model.encoder.layer.3.attention.self.query.weight`), and the class of every module.
public struct TorchScriptModule: Sendable {
    public let weights: [String: Tensor]
    /// The TorchScript source of every class (`code/__torch__/….py`), by record path.
    public let code: [String: String]
    /// `constants.pkl`: the tensor constants the code refers to as `CONSTANTS.c<n>` (nil where not float or integer).
    public let constants: [Tensor?]
    /// Module path → TorchScript class (`""` is the root), e.g. `"0.auto_model"` → `…modeling_bert.BertModel`.
    public let classes: [String: String]

    /// True when some module's class name ends with `suffix` (`".BertModel"`, `".Normalize"`).
    public func hasModule(endingWith suffix: String) -> Bool { classes.values.contains { $0.hasSuffix(suffix) } }
}

/// Reads TorchScript zips (and `torch.save` checkpoints, which share the layout): `<root>/data.pkl`
/// (the module tree, pickled) and `<root>/data/<key>`
/// (raw little-endian storages). Float32, float16 and bfloat16 tensors become float32; other
/// tensors (integer buffers) are skipped.
public enum TorchScriptReader {
    public static func read(_ data: Data) throws -> TorchScriptModule { try read(ByteRegion(copying: data)) }

    /// Reads a TorchScript zip held in `region`; float32 weights of stored records stay in place.
    static func read(_ region: ByteRegion) throws -> TorchScriptModule {
        let zip: ZipDirectory
        do { zip = try ZipDirectory(region) } catch let error as WeightError {
            throw WeightError("the model file is not a TorchScript zip archive: \(error.message)")
        }
        guard let first = zip.names.first, let root = first.split(separator: "/").first else {
            throw WeightError("the TorchScript archive is empty")
        }
        func record(_ name: String) throws -> ByteRegion? { try zip.contents("\(root)/\(name)") }
        guard let pickle = try record("data.pkl") else { throw WeightError("the TorchScript archive has no \(root)/data.pkl") }
        var unpickler = Unpickler(pickle.data)
        let tree = try unpickler.load()

        var references: [(String, TensorReference)] = []
        var classes: [String: String] = [:]
        var visits = Visits(limit: ArtifactLimits.pickleVisitsPerByte * max(pickle.count, 1024))
        try collect(tree, path: "", references: &references, classes: &classes, visits: &visits)
        guard references.count <= ArtifactLimits.maxTensors else {
            throw WeightError("the TorchScript model holds \(references.count) tensors, more than the \(ArtifactLimits.maxTensors) allowed")
        }

        var storages: [String: ByteRegion] = [:]
        var decoded: [String: [Float]] = [:]
        var weights: [String: Tensor] = [:]
        var budget = AllocationBudget(fileBytes: region.count)
        for (name, reference) in references {
            guard let dtype = storageDType(reference.dtype) else { continue }
            let width = dtype == "F32" ? 4 : 2
            if storages[reference.storageKey] == nil {
                guard let bytes = try record("data/\(reference.storageKey)") else {
                    throw WeightError("tensor \(name) refers to storage \(reference.storageKey), which the archive lacks")
                }
                storages[reference.storageKey] = bytes
            }
            let storage = storages[reference.storageKey]!
            // Every reference's count is checked, not only the first to name the storage: they may differ.
            guard reference.storageCount >= 0, reference.storageCount <= storage.count / width else {
                throw WeightError("storage \(reference.storageKey) is truncated: \(storage.count) bytes for \(reference.storageCount) values")
            }
            let span = try ElementSpan(reference, name: name)
            if dtype == "F32", span.contiguous, let inPlace = FloatBuffer(region: storage, byteOffset: reference.offset * 4, count: span.count) {
                weights[name] = Tensor(shape: reference.shape, storage: inPlace)
                continue
            }
            // The whole record is decoded, once per dtype: every reference's span lies within it.
            let decodedKey = "\(reference.storageKey)/\(dtype)", values = storage.count / width
            if decoded[decodedKey] == nil {
                try budget.take(values, for: name)
                decoded[decodedKey] = try FloatDecoding.decode(try storage.slice(0, values * width).data, dtype: dtype, count: values, name: name)
            }
            try budget.take(span.count, for: name)
            weights[name] = try view(decoded[decodedKey]!, reference, span: span)
        }
        var code: [String: String] = [:]
        for path in zip.names where path.hasPrefix("\(root)/code/") && path.hasSuffix(".py") {
            if let text = try zip.contents(path) { code[path] = String(decoding: text.bytes, as: UTF8.self) }
        }
        var constants: [Tensor?] = []
        if let pickle = try record("constants.pkl") {
            var constantsUnpickler = Unpickler(pickle.data)
            for value in try constantsUnpickler.load().items ?? [] {
                guard case .tensor(let reference) = value, let bytes = try record("constants/\(reference.storageKey)") else {
                    constants.append(nil)
                    continue
                }
                constants.append(try constantValues(bytes.data, reference))
            }
        }
        return TorchScriptModule(weights: weights, code: code, constants: constants, classes: classes)
    }

    /// A small constant tensor of any common dtype, as float32 (the index of a tensor in `constants.pkl`).
    private static func constantValues(_ bytes: Data, _ reference: TensorReference) throws -> Tensor? {
        let width: Int
        switch reference.dtype {
        case "torch.FloatStorage": width = 4
        case "torch.DoubleStorage", "torch.LongStorage": width = 8
        default: return nil
        }
        guard reference.storageCount >= 0, reference.storageCount <= bytes.count / width else { return nil }
        let span = try ElementSpan(reference, name: "constant")
        let bytes = [UInt8](bytes)
        func element(_ index: Int) -> Float {
            let at = index * width
            let bits = (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) }
            switch reference.dtype {
            case "torch.FloatStorage": return Float(bitPattern: UInt32(truncatingIfNeeded: bits))
            case "torch.DoubleStorage": return Float(Double(bitPattern: bits))
            default: return Float(Int64(bitPattern: bits))
            }
        }
        // A scalar (shape []) has one value.
        return Tensor(shape: reference.shape, values: span.indexes(reference).map(element))
    }

    private static func storageDType(_ storageClass: String) -> String? {
        switch storageClass {
        case "torch.FloatStorage": return "F32"
        case "torch.HalfStorage": return "F16"
        case "torch.BFloat16Storage": return "BF16"
        default: return nil
        }
    }

    /// Counts the steps of walks over a pickled tree: memo references make it a DAG, which a small
    /// pickle can give exponentially many paths; the walk stops at a bound proportional to its size.
    struct Visits {
        private(set) var count = 0
        let limit: Int

        init(limit: Int) { self.limit = limit }

        mutating func step() throws {
            count += 1
            guard count <= limit else {
                throw WeightError("the pickled module tree repeats shared parts more than \(limit) times (a reference cycle or blow-up)")
            }
        }
    }

    /// Flattens the module tree: attribute paths ending in tensors, and each module's class.
    /// Its recursion is bounded by the pickle's depth limit, its work by `visits`.
    static func collect(_ value: PickleValue, path: String, references: inout [(String, TensorReference)], classes: inout [String: String],
                        visits: inout Visits) throws {
        try visits.step()
        switch value {
        case .object(let className, let state):
            classes[path] = className
            if case .dict(let attributes)? = state {
                for (key, child) in attributes {
                    guard let name = key.string else { continue }
                    try collect(child, path: path.isEmpty ? name : "\(path).\(name)", references: &references, classes: &classes, visits: &visits)
                }
            }
        case .dict(let entries):  // a `torch.save`d state dict (`pytorch_model.bin`) is an ordered dict of tensors
            for (key, child) in entries {
                guard let name = key.string else { continue }
                try collect(child, path: path.isEmpty ? name : "\(path).\(name)", references: &references, classes: &classes, visits: &visits)
            }
        case .tensor(let reference):
            references.append((path, reference))
        default:
            break
        }
    }

    /// The elements of a (possibly strided) view, in row-major order; `span` has proven them inside the storage.
    private static func view(_ storage: [Float], _ reference: TensorReference, span: ElementSpan) throws -> Tensor {
        if span.contiguous { return Tensor(shape: reference.shape, values: Array(storage[reference.offset..<(reference.offset + span.count)])) }
        return Tensor(shape: reference.shape, values: span.indexes(reference).map { storage[$0] })
    }
}

/// A tensor view's extent in its storage, proven before any element is read: sizes and strides
/// non-negative, one stride per size, and the last element reached (offset + Σ (size − 1) · stride)
/// inside the storage, computed without overflow. A view may not hold more elements than its storage.
struct ElementSpan {
    let count: Int
    let contiguous: Bool

    init(_ reference: TensorReference, name: String) throws {
        let shape = reference.shape, strides = reference.strides
        guard shape.count <= ArtifactLimits.maxTensorRank else { throw WeightError("tensor \(name) has \(shape.count) dimensions, more than \(ArtifactLimits.maxTensorRank)") }
        guard shape.count == strides.count else { throw WeightError("tensor \(name) has \(shape.count) sizes but \(strides.count) strides") }
        count = try Shape.count(shape, name: name)
        guard strides.allSatisfy({ $0 >= 0 }), reference.offset >= 0 else { throw WeightError("tensor \(name) has a negative storage offset or stride") }
        guard count <= reference.storageCount else {
            throw WeightError("tensor \(name) has \(count) elements but its storage only \(reference.storageCount)")
        }
        if count > 0 {
            var last = reference.offset
            for (size, stride) in zip(shape, strides) {
                let (step, overflow) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, overflowSum) = last.addingReportingOverflow(step)
                guard !overflow, !overflowSum else { throw WeightError("tensor \(name) reaches past the end of its storage") }
                last = sum
            }
            guard last < reference.storageCount else { throw WeightError("tensor \(name) reaches past the end of its storage") }
        }
        var expected = 1, contiguous = true
        for (size, stride) in zip(shape, strides).reversed() where size > 1 {
            if stride != expected { contiguous = false }
            expected *= size
        }
        self.contiguous = contiguous
    }

    /// The storage index of every element, in row-major order.
    func indexes(_ reference: TensorReference) -> [Int] {
        let shape = reference.shape, strides = reference.strides
        var result = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        for i in 0..<count {
            result[i] = reference.offset + zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 }
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }
}
