import Foundation
import OrderedJSON

/// Float32 values of a tensor: read in place from a memory-mapped file when the file stores them
/// as aligned little-endian float32, otherwise held in memory we own.
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafePointer<Float>
    public let count: Int
    /// True when the values are read where the file's bytes are (the mapping, or an inflated zip
    /// entry), rather than decoded into memory of their own.
    public let isInPlace: Bool
    private let owner: AnyObject?
    private let owned: UnsafeMutablePointer<Float>?

    convenience init(copying values: [Float]) {
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: max(values.count, 1))
        values.withUnsafeBufferPointer { if let source = $0.baseAddress { storage.update(from: source, count: values.count) } }
        self.init(owning: storage, count: values.count)
    }

    /// A copy of `other`'s values in memory of its own.
    convenience init(copying other: FloatBuffer) { self.init(concatenating: [other]) }

    /// The values of `parts` one after another, in memory of its own.
    convenience init(concatenating parts: [FloatBuffer]) {
        let total = parts.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: max(total, 1))
        var offset = 0
        for part in parts {
            (storage + offset).update(from: part.pointer, count: part.count)
            offset += part.count
        }
        self.init(owning: storage, count: total)
    }

    private init(owning storage: UnsafeMutablePointer<Float>, count: Int) {
        owned = storage
        owner = nil
        pointer = UnsafePointer(storage)
        self.count = count
        isInPlace = false
    }

    /// Values at `region.base + byteOffset`, used in place when aligned (nil otherwise).
    init?(region: ByteRegion, byteOffset: Int, count: Int) {
        guard count >= 0, count <= Int.max / 4, let values = try? region.slice(byteOffset, count * 4) else { return nil }
        let address = values.base
        guard Int(bitPattern: address) % MemoryLayout<Float>.alignment == 0 else { return nil }
        owner = region.owner
        owned = nil
        pointer = address.assumingMemoryBound(to: Float.self)
        self.count = count
        isInPlace = true
    }

    deinit { owned?.deallocate() }

    /// Returns the pages these values occupy in a mapped file to the system (after they were copied
    /// elsewhere, packed say); read in place again later, they come back from the file.
    func releaseFilePages() {
        (owner as? MappedFile)?.releasePages(UnsafeRawPointer(pointer), byteCount: count * MemoryLayout<Float>.stride)
    }

    var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}

/// A named float32 tensor (weights are widened to float32 when stored narrower).
public struct Tensor: Sendable {
    public let shape: [Int]
    public let storage: FloatBuffer

    public var count: Int { storage.count }
    /// A copy of the values (for small tensors; large weights are read through `storage`).
    public var values: [Float] { Array(storage.buffer) }

    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.storage = FloatBuffer(copying: values)
    }

    init(shape: [Int], storage: FloatBuffer) {
        self.shape = shape
        self.storage = storage
    }
}

public struct WeightError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads a `model.safetensors` file: an 8-byte little-endian header length, a JSON header naming
/// each tensor's dtype, shape and byte range, then the raw data. The file is memory-mapped.
public enum Safetensors {
    public static func read(_ url: URL) throws -> [String: Tensor] {
        let region = ByteRegion(file: try MappedFile(url))
        let data = region.bytes
        guard data.count >= 8 else { throw WeightError("\(url.lastPathComponent) is too short for a safetensors file") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else { throw WeightError("\(url.lastPathComponent): header length \(headerLength) exceeds the file") }
        let body = 8 + Int(headerLength)
        let header: JSON
        do { header = try JSON.parse(UnsafeRawBufferPointer(rebasing: data[8..<body])) } catch { throw WeightError("\(url.lastPathComponent): header is not JSON: \(error)") }
        var tensors: [String: Tensor] = [:]
        var budget = AllocationBudget(fileBytes: data.count)
        let file = url.lastPathComponent
        for (name, entry) in header.objectValue ?? [:] where name != "__metadata__" {
            guard tensors.count < ArtifactLimits.maxTensors else { throw WeightError("\(file) holds more than \(ArtifactLimits.maxTensors) tensors") }
            func integers(_ key: String) -> [Int]? {
                guard let values = entry[key]?.arrayValue else { return nil }
                let integers = values.compactMap { $0.intValue.map(Int.init) }
                return integers.count == values.count ? integers : nil
            }
            guard let dtype = entry["dtype"]?.stringValue, let shape = integers("shape"), shape.count <= ArtifactLimits.maxTensorRank,
                  let offsets = integers("data_offsets"), offsets.count == 2 else {
                throw WeightError("\(file): tensor \(name) has a malformed header entry")
            }
            // Offsets count from the end of the header and must stay inside the data section.
            let dataBytes = data.count - body
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataBytes else {
                throw WeightError("\(file): tensor \(name) has data offsets \(offsets), outside the \(dataBytes) bytes of data")
            }
            let start = body + offsets[0], end = body + offsets[1]
            // Integer buffers (`position_ids`) are not weights; the encoders never read them.
            if ["I64", "I32", "I16", "I8", "U8", "BOOL"].contains(dtype) { continue }
            let count = try Shape.count(shape, name: name)
            if dtype == "F32", end - start == count * 4, let mapped = FloatBuffer(region: region, byteOffset: start, count: count) {
                tensors[name] = Tensor(shape: shape, storage: mapped)
            } else {
                try budget.take(count, for: name)
                let bytes = try region.slice(start, end - start)
                tensors[name] = Tensor(shape: shape, values: try FloatDecoding.decode(bytes.data, dtype: dtype, count: count, name: name))
            }
        }
        return tensors
    }
}

/// Little-endian float32 / float16 / bfloat16 bytes to float32.
enum FloatDecoding {
    static func decode(_ bytes: Data, dtype: String, count: Int, name: String) throws -> [Float] {
        let width: Int
        switch dtype {
        case "F32": width = 4
        case "F16", "BF16": width = 2
        case "F64": width = 8
        default: throw WeightError("tensor \(name) has dtype \(dtype); only F32, F64, F16 and BF16 weights are supported")
        }
        guard bytes.count == count * width else {
            throw WeightError("tensor \(name): \(bytes.count) bytes for \(count) \(dtype) values")
        }
        return bytes.withUnsafeBytes { raw -> [Float] in
            switch dtype {
            case "F32":
                return (0..<count).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) }
            case "F64":
                return (0..<count).map { Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self).littleEndian)) }
            case "F16":
                return (0..<count).map { Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian)) }
            default:
                return (0..<count).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self).littleEndian) << 16) }
            }
        }
    }
}

/// Element counts of shapes read from files, which must not be trusted to be sane.
enum Shape {
    /// The number of elements, or an error for negative sizes or counts beyond 2³¹.
    static func count(_ shape: [Int], name: String) throws -> Int {
        guard shape.count <= ArtifactLimits.maxTensorRank else { throw WeightError("tensor \(name) has \(shape.count) dimensions, more than \(ArtifactLimits.maxTensorRank)") }
        var total = 1
        for size in shape {
            guard size >= 0 else { throw WeightError("tensor \(name) has a negative size in its shape \(shape)") }
            let (product, overflow) = total.multipliedReportingOverflow(by: size)
            guard !overflow, product <= Int(Int32.max) else { throw WeightError("tensor \(name) has an impossible shape \(shape)") }
            total = product
        }
        return total
    }
}
