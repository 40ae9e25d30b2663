/// Writes a protocol-buffer varint: the inverse of `ProtoReader.varint`, for tools and tests that
/// build or re-serialize messages (the fuzzer's structured mutants, hostile test files).
public enum ProtoVarint {
    public static func encode(_ value: UInt64) -> [UInt8] {
        var value = value, bytes: [UInt8] = []
        repeat {
            bytes.append(UInt8(value & 0x7F) | (value > 0x7F ? 0x80 : 0))
            value >>= 7
        } while value > 0
        return bytes
    }
}

/// Reads protocol-buffer wire format: the fields of one message, in order.
struct ProtoReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(ArraySlice<UInt8>)
    }

    private let bytes: ArraySlice<UInt8>
    private var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    /// The next field (number and value), or nil at the end of the message.
    mutating func next() throws -> (field: Int, value: Value)? {
        guard position < bytes.endIndex else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try fixed(8)))
        case 5: return (field, .fixed32(UInt32(try fixed(4))))
        case 2:
            // A length is a varint up to 2⁶⁴: compare it with what is left before converting it.
            let declared = try varint()
            guard declared <= UInt64(bytes.endIndex - position) else { throw WeightError("protobuf field \(field) claims \(declared) bytes, more than the message holds") }
            let length = Int(declared)
            defer { position += length }
            return (field, .bytes(bytes[position..<(position + length)]))
        default:
            throw WeightError("unsupported protobuf wire type \(key & 7) for field \(field)")
        }
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex, shift < 64 else { throw WeightError("truncated protobuf varint") }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private mutating func fixed(_ width: Int) throws -> UInt64 {
        guard position + width <= bytes.endIndex else { throw WeightError("truncated protobuf fixed field") }
        defer { position += width }
        return (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[position + $1]) << (8 * UInt64($1)) }
    }
}

extension ProtoReader.Value {
    var string: String? { if case .bytes(let b) = self { return String(decoding: b, as: UTF8.self) } else { return nil } }
    var message: ArraySlice<UInt8>? { if case .bytes(let b) = self { return b } else { return nil } }
    var integer: Int64? { if case .varint(let v) = self { return Int64(bitPattern: v) } else { return nil } }

    /// A repeated int64 field, packed or not.
    func integers() throws -> [Int64] {
        switch self {
        case .varint(let v): return [Int64(bitPattern: v)]
        case .bytes(let packed):
            var reader = ProtoReader(packed)
            var values: [Int64] = []
            while reader.hasMore { values.append(Int64(bitPattern: try reader.varint())) }
            return values
        default: return []
        }
    }

    /// A repeated float field, packed or not.
    func floats() -> [Float] {
        switch self {
        case .fixed32(let bits): return [Float(bitPattern: bits)]
        case .bytes(let packed):
            let base = packed.startIndex
            return (0..<(packed.count / 4)).map { i in
                Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(packed[base + i * 4 + $1]) << (8 * UInt32($1)) })
            }
        default: return []
        }
    }
}

extension ProtoReader {
    var hasMore: Bool { position < bytes.endIndex }
}
