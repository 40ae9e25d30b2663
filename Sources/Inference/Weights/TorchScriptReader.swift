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
        collect(tree, path: "", references: &references, classes: &classes)

        var storages: [String: ByteRegion] = [:]
        var decoded: [String: [Float]] = [:]
        var weights: [String: Tensor] = [:]
        for (name, reference) in references {
            guard let dtype = storageDType(reference.dtype) else { continue }
            if storages[reference.storageKey] == nil {
                guard let bytes = try record("data/\(reference.storageKey)") else {
                    throw WeightError("tensor \(name) refers to storage \(reference.storageKey), which the archive lacks")
                }
                let width = dtype == "F32" ? 4 : 2
                guard bytes.count >= reference.storageCount * width else {
                    throw WeightError("storage \(reference.storageKey) is truncated: \(bytes.count) bytes for \(reference.storageCount) values")
                }
                storages[reference.storageKey] = bytes
            }
            let storage = storages[reference.storageKey]!
            if dtype == "F32", let contiguous = try contiguousCount(reference, name: name),
               let inPlace = FloatBuffer(region: storage, byteOffset: reference.offset * 4, count: contiguous) {
                weights[name] = Tensor(shape: reference.shape, storage: inPlace)
                continue
            }
            if decoded[reference.storageKey] == nil {
                let width = dtype == "F32" ? 4 : 2
                decoded[reference.storageKey] = try FloatDecoding.decode(try storage.slice(0, reference.storageCount * width).data, dtype: dtype,
                                                                         count: reference.storageCount, name: name)
            }
            weights[name] = try view(decoded[reference.storageKey]!, reference, name: name)
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

    /// The element count of a row-major contiguous view (nil when strided), checked against its storage.
    private static func contiguousCount(_ reference: TensorReference, name: String) throws -> Int? {
        let count = try Shape.count(reference.shape, name: name)
        guard reference.shape.count == reference.strides.count else {
            throw WeightError("tensor \(name) has \(reference.shape.count) sizes but \(reference.strides.count) strides")
        }
        var expected = 1
        for (size, stride) in zip(reference.shape, reference.strides).reversed() where size > 1 {
            if stride != expected { return nil }
            expected *= size
        }
        guard reference.offset >= 0, reference.offset + count <= reference.storageCount else {
            throw WeightError("tensor \(name) reaches past the end of its storage")
        }
        return count
    }

    /// A small constant tensor of any common dtype, as float32 (the index of a tensor in `constants.pkl`).
    private static func constantValues(_ bytes: Data, _ reference: TensorReference) throws -> Tensor? {
        let count = max(try Shape.count(reference.shape, name: "constant"), 1)
        func element(_ i: Int) -> Float? {
            let at = reference.offset + (reference.strides.last ?? 1) * i
            switch reference.dtype {
            case "torch.FloatStorage":
                guard (at + 1) * 4 <= bytes.count else { return nil }
                return Float(bitPattern: bytes[(at * 4)..<(at * 4 + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) })
            case "torch.DoubleStorage", "torch.LongStorage":
                guard (at + 1) * 8 <= bytes.count else { return nil }
                let bits = bytes[(at * 8)..<(at * 8 + 8)].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
                return reference.dtype == "torch.DoubleStorage" ? Float(Double(bitPattern: bits)) : Float(Int64(bitPattern: bits))
            default:
                return nil
            }
        }
        let values = (0..<count).compactMap(element)
        return values.count == count ? Tensor(shape: reference.shape, values: values) : nil
    }

    private static func storageDType(_ storageClass: String) -> String? {
        switch storageClass {
        case "torch.FloatStorage": return "F32"
        case "torch.HalfStorage": return "F16"
        case "torch.BFloat16Storage": return "BF16"
        default: return nil
        }
    }

    /// Flattens the module tree: attribute paths ending in tensors, and each module's class.
    private static func collect(_ value: PickleValue, path: String, references: inout [(String, TensorReference)], classes: inout [String: String]) {
        switch value {
        case .object(let className, let state):
            classes[path] = className
            if case .dict(let attributes)? = state {
                for (key, child) in attributes {
                    guard let name = key.string else { continue }
                    collect(child, path: path.isEmpty ? name : "\(path).\(name)", references: &references, classes: &classes)
                }
            }
        case .dict(let entries):  // a `torch.save`d state dict (`pytorch_model.bin`) is an ordered dict of tensors
            for (key, child) in entries {
                guard let name = key.string else { continue }
                collect(child, path: path.isEmpty ? name : "\(path).\(name)", references: &references, classes: &classes)
            }
        case .tensor(let reference):
            references.append((path, reference))
        default:
            break
        }
    }

    /// The elements of a (possibly strided) view, in row-major order.
    private static func view(_ storage: [Float], _ reference: TensorReference, name: String) throws -> Tensor {
        let shape = reference.shape, strides = reference.strides
        let count = try Shape.count(shape, name: name)
        guard shape.count == strides.count else { throw WeightError("tensor \(name) has \(shape.count) sizes but \(strides.count) strides") }
        let last = reference.offset + zip(shape, strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
        guard count == 0 || (reference.offset >= 0 && last < storage.count) else {
            throw WeightError("tensor \(name) reaches past the end of its storage")
        }
        var contiguous = true
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size > 1 {
            if stride != expected { contiguous = false }
            expected *= size
        }
        if contiguous { return Tensor(shape: shape, values: Array(storage[reference.offset..<(reference.offset + count)])) }
        var values = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        for i in 0..<count {
            values[i] = storage[reference.offset + zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 }]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return Tensor(shape: shape, values: values)
    }
}
