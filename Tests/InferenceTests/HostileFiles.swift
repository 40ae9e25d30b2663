import Foundation
import Inference

/// Builders of small hostile files for the regression tests: zips with chosen fields, pickles
/// opcode by opcode, protobuf messages field by field.
enum HostileFiles {
    static func le(_ value: UInt64, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }

    /// A zip of stored entries; `patch` edits the finished bytes (offsets are the caller's to know).
    /// `declaredSizes` / `methods` override an entry's central-directory size and compression method.
    static func zip(_ entries: [(String, [UInt8])], declaredSizes: [String: UInt32] = [:], methods: [String: UInt16] = [:]) -> [UInt8] {
        var file: [UInt8] = [], central: [UInt8] = []
        for (name, data) in entries {
            let offset = UInt64(file.count), method = UInt64(methods[name] ?? 0), size = UInt64(declaredSizes[name] ?? UInt32(data.count))
            let fields = le(20, 2) + le(0, 2) + le(method, 2) + le(0, 4) + le(0, 4) + le(UInt64(data.count), 4) + le(size, 4)
                + le(UInt64(name.utf8.count), 2) + le(0, 2)
            file += le(0x0403_4B50, 4) + fields + Array(name.utf8) + data
            central += le(0x0201_4B50, 4) + le(20, 2) + fields + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(offset, 4) + Array(name.utf8)
        }
        let directoryOffset = UInt64(file.count)
        file += central
        file += le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(UInt64(entries.count), 2) + le(UInt64(entries.count), 2)
            + le(UInt64(central.count), 4) + le(directoryOffset, 4) + le(0, 2)
        return file
    }

    /// DEFLATE of `data` as one stored block (the format allows it; no compressor needed).
    static func deflateStored(_ data: [UInt8]) -> [UInt8] {
        precondition(data.count < 65_536)
        return [0x01] + le(UInt64(data.count), 2) + le(UInt64(~UInt16(data.count)), 2) + data
    }

    static func write(_ bytes: [UInt8], name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        return url
    }

    // MARK: pickles

    enum Pickle {
        static let proto: [UInt8] = [0x80, 2], stop: [UInt8] = [UInt8(ascii: ".")]
        static func string(_ s: String) -> [UInt8] { [UInt8(ascii: "X")] + le(UInt64(s.utf8.count), 4) + Array(s.utf8) }
        static func global(_ module: String, _ name: String) -> [UInt8] { [UInt8(ascii: "c")] + Array("\(module)\n\(name)\n".utf8) }
        static func long(_ value: Int64) -> [UInt8] { [0x8A, 8] + le(UInt64(bitPattern: value), 8) }
        static func tuple(_ items: [[UInt8]]) -> [UInt8] { [UInt8(ascii: "(")] + items.flatMap { $0 } + [UInt8(ascii: "t")] }
        static func memoPut(_ index: UInt32) -> [UInt8] { [UInt8(ascii: "r")] + le(UInt64(index), 4) }
        static func memoGet(_ index: UInt32) -> [UInt8] { [UInt8(ascii: "j")] + le(UInt64(index), 4) }

        /// `torch._utils._rebuild_tensor_v2(storage, offset, sizes, strides, …)` of a float storage `key` of `count` values.
        static func tensor(key: String, count: Int64, offset: Int64, sizes: [Int64], strides: [Int64]) -> [UInt8] {
            let storage = tuple([string("storage"), global("torch", "FloatStorage"), string(key), string("cpu"), long(count)]) + [UInt8(ascii: "Q")]
            return global("torch._utils", "_rebuild_tensor_v2")
                + tuple([storage, long(offset), tuple(sizes.map(long)), tuple(strides.map(long)), [0x89], global("collections", "OrderedDict") + tuple([]) + [UInt8(ascii: "R")]])
                + [UInt8(ascii: "R")]
        }

        /// A dict of `name → value` pickles.
        static func dict(_ items: [(String, [UInt8])]) -> [UInt8] {
            [UInt8(ascii: "}"), UInt8(ascii: "(")] + items.flatMap { string($0.0) + $0.1 } + [UInt8(ascii: "u")]
        }
    }

    /// A TorchScript-layout zip: `archive/data.pkl` and `archive/data/<key>` storages.
    static func torchScript(pickle: [UInt8], storages: [String: [UInt8]] = [:]) -> Data {
        Data(zip([("archive/data.pkl", pickle)] + storages.sorted { $0.key < $1.key }.map { ("archive/data/\($0.key)", $0.value) }))
    }

    // MARK: protobuf

    enum Proto {
        static func varint(_ value: UInt64) -> [UInt8] { ProtoVarint.encode(value) }

        static func bytes(_ field: UInt64, _ payload: [UInt8]) -> [UInt8] { varint(field << 3 | 2) + varint(UInt64(payload.count)) + payload }
        static func string(_ field: UInt64, _ text: String) -> [UInt8] { bytes(field, Array(text.utf8)) }
        static func integer(_ field: UInt64, _ value: Int64) -> [UInt8] { varint(field << 3) + varint(UInt64(bitPattern: value)) }

        /// A ModelProto whose graph holds `graph` (already encoded graph fields).
        static func model(graph: [UInt8]) -> Data { Data(integer(1, 7) + bytes(7, graph)) }

        /// A float TensorProto initializer.
        static func tensor(name: String, dims: [Int64], raw: [UInt8], type: Int64 = 1, external: [(String, String)] = []) -> [UInt8] {
            dims.flatMap { integer(1, $0) } + integer(2, type) + string(8, name) + (raw.isEmpty ? [] : bytes(9, raw))
                + external.flatMap { bytes(13, string(1, $0.0) + string(2, $0.1)) } + (external.isEmpty ? [] : integer(14, 1))
        }
    }
}
