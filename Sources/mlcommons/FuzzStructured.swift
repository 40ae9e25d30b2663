import Foundation
import Inference
import OrderedJSON

/// Mutations that know a format's structure, so one change lands on a field that matters
/// (a pickled integer operand, a protobuf varint or length, a safetensors header value) and the
/// rest of the file stays well-formed enough to reach the code behind it.
enum StructuredMutator {
    // MARK: pickles

    /// Byte ranges of the integer operands of a pickle's opcodes (ints, lengths, memo indexes), in order.
    static func pickleOperands(_ bytes: [UInt8]) -> [(start: Int, width: Int)] {
        var operands: [(Int, Int)] = []
        var at = bytes.first == 0x80 ? 2 : 0
        while at < bytes.count {
            let opcode = bytes[at]
            at += 1
            let width: Int
            switch opcode {
            case UInt8(ascii: "K"), UInt8(ascii: "h"), UInt8(ascii: "q"): width = 1
            case UInt8(ascii: "M"): width = 2
            case UInt8(ascii: "J"), UInt8(ascii: "j"), UInt8(ascii: "r"): width = 4
            case UInt8(ascii: "X"):
                guard at + 4 <= bytes.count else { return operands }
                operands.append((at, 4))
                at += 4 + (Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24)
                continue
            case 0x8A:
                guard at < bytes.count else { return operands }
                operands.append((at + 1, Int(bytes[at])))
                at += 1 + Int(bytes[at])
                continue
            case UInt8(ascii: "c"):
                for _ in 0..<2 { while at < bytes.count && bytes[at] != 0x0A { at += 1 }; at += 1 }
                continue
            case UInt8(ascii: "G"): width = 8
            case UInt8(ascii: "."): return operands
            default: width = 0
            }
            if width > 0 { operands.append((at, width)) }
            at += width
        }
        return operands
    }

    static func mutatePickle(_ input: [UInt8], random: inout FuzzRandom) -> (bytes: [UInt8], description: String) {
        let operands = pickleOperands(input)
        guard !operands.isEmpty, random.chance(0.8) else { return BinaryMutator.mutate(input, hotSpots: operands.map(\.start), random: &random) }
        var bytes = input
        var notes: [String] = []
        let values = BinaryMutator.interestingIntegers(fileSize: input.count) + [UInt64(bitPattern: -1), UInt64(bitPattern: Int64(Int32.min))]
        // A small int (BININT1/2/4) widened to a 64-bit LONG1, so offsets and sizes can reach 2⁶³ and below zero.
        let small = operands.filter { $0.start > 0 && [UInt8(ascii: "K"), UInt8(ascii: "M"), UInt8(ascii: "J")].contains(input[$0.start - 1]) }
        if random.chance(0.4), let (start, width) = small.randomElement(using: &random) {
            let value = values.randomElement(using: &random)!
            bytes.replaceSubrange((start - 1)..<(start + width), with: [0x8A, 8] + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) })
            return (bytes, "pickle int at \(start) widened to LONG1 \(Int64(bitPattern: value))")
        }
        for _ in 0..<Int.random(in: 1...2, using: &random) {
            let (start, width) = operands.randomElement(using: &random)!
            let value = values.randomElement(using: &random)!
            for i in 0..<width where start + i < bytes.count { bytes[start + i] = UInt8(truncatingIfNeeded: i < 8 ? value >> (8 * UInt64(i)) : 0) }
            notes.append("pickle operand at \(start) (\(width) bytes) = \(value)")
        }
        return (bytes, notes.joined(separator: "; "))
    }

    // MARK: protobuf

    /// A protobuf message as fields; a bytes field that parses as a message is kept as one, so a
    /// change deep inside is re-serialized with every enclosing length correct.
    indirect enum Field {
        case varint(UInt64, UInt64)  // key, value
        case fixed([UInt8], [UInt8])  // key bytes, value bytes
        case bytes(UInt64, [UInt8])
        case message(UInt64, [Field])
    }

    static func parse(_ bytes: ArraySlice<UInt8>, depth: Int = 0) -> [Field]? {
        var fields: [Field] = []
        var at = bytes.startIndex
        func varint() -> UInt64? {
            var result: UInt64 = 0, shift: UInt64 = 0
            while at < bytes.endIndex, shift < 64 {
                let byte = bytes[at]
                at += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
            return nil
        }
        while at < bytes.endIndex {
            let keyStart = at
            guard let key = varint(), key >> 3 > 0 else { return nil }
            switch key & 7 {
            case 0: guard let value = varint() else { return nil }; fields.append(.varint(key, value))
            case 1, 5:
                let width = key & 7 == 1 ? 8 : 4
                guard bytes.endIndex - at >= width else { return nil }
                fields.append(.fixed(Array(bytes[keyStart..<at]), Array(bytes[at..<(at + width)])))
                at += width
            case 2:
                guard let length = varint(), length <= UInt64(bytes.endIndex - at) else { return nil }
                let payload = bytes[at..<(at + Int(length))]
                at += Int(length)
                // Large payloads are tensor data: kept as bytes.
                if depth < 6, payload.count < 1 << 16, !payload.isEmpty, let inner = parse(payload, depth: depth + 1) {
                    fields.append(.message(key, inner))
                } else {
                    fields.append(.bytes(key, Array(payload)))
                }
            default: return nil
            }
        }
        return fields
    }

    static func serialize(_ fields: [Field]) -> [UInt8] {
        fields.flatMap { field -> [UInt8] in
            switch field {
            case .varint(let key, let value): return encode(key) + encode(value)
            case .fixed(let key, let value): return key + value
            case .bytes(let key, let payload): return encode(key) + encode(UInt64(payload.count)) + payload
            case .message(let key, let inner):
                let payload = serialize(inner)
                return encode(key) + encode(UInt64(payload.count)) + payload
            }
        }
    }

    static func encode(_ value: UInt64) -> [UInt8] { ProtoVarint.encode(value) }

    /// Paths to every field, as indexes into nested messages.
    static func leaves(_ fields: [Field], prefix: [Int] = [], into result: inout [[Int]]) {
        for (index, field) in fields.enumerated() {
            result.append(prefix + [index])
            if case .message(_, let inner) = field { leaves(inner, prefix: prefix + [index], into: &result) }
        }
    }

    static func mutateField(_ fields: [Field], at path: ArraySlice<Int>, _ change: (Field) -> [Field]) -> [Field] {
        guard let index = path.first, index < fields.count else { return fields }
        var fields = fields
        if path.count == 1 {
            fields.replaceSubrange(index...index, with: change(fields[index]))
        } else if case .message(let key, let inner) = fields[index] {
            fields[index] = .message(key, mutateField(inner, at: path.dropFirst(), change))
        }
        return fields
    }

    static func mutateProtobuf(_ input: [UInt8], random: inout FuzzRandom) -> (bytes: [UInt8], description: String) {
        guard random.chance(0.8), let fields = parse(input[...]) else { return BinaryMutator.mutate(input, hotSpots: [], random: &random) }
        var paths: [[Int]] = []
        leaves(fields, into: &paths)
        guard let path = paths.randomElement(using: &random) else { return (input, "empty message") }
        let values = BinaryMutator.interestingIntegers(fileSize: input.count) + [UInt64(bitPattern: -1), UInt64(bitPattern: Int64(Int32.min))]
        var note = "field \(path)"
        let operation = Int.random(in: 0..<5, using: &random)
        let mutated = mutateField(fields, at: path[...]) { field in
            switch (field, operation) {
            case (_, 0):
                note += " removed"
                return []
            case (_, 1):
                note += " duplicated"
                return Array(repeating: field, count: Int.random(in: 2...64, using: &random))
            case (.varint(let key, _), _):
                let value = values.randomElement(using: &random)!
                note += " = \(value)"
                return [.varint(key, value)]
            case (.bytes(let key, let payload), _):
                if random.chance(0.5), !payload.isEmpty {
                    let cut = Int.random(in: 0..<payload.count, using: &random)
                    note += " cut to \(cut) bytes"
                    return [.bytes(key, Array(payload.prefix(cut)))]
                }
                // A length field that lies: the raw key, a chosen length, then the real payload.
                let length = values.randomElement(using: &random)!
                note += " length = \(length)"
                return [.fixed(encode(key) + encode(length), payload)]
            case (.message(let key, let inner), _):
                note += " as raw bytes, one flipped"
                var raw = serialize(inner)
                if !raw.isEmpty { raw[Int.random(in: 0..<raw.count, using: &random)] ^= 0xFF }
                return [.bytes(key, raw)]
            case (.fixed(let key, var value), _):
                value = value.map { _ in [0x00, 0xFF, 0x7F, 0x80].randomElement(using: &random)! }
                note += " fixed bytes set"
                return [.fixed(key, value)]
            }
        }
        return (serialize(mutated), note)
    }

    // MARK: safetensors

    /// The JSON header mutated, the length prefix rewritten to match, the data untouched.
    static func mutateSafetensors(_ input: [UInt8], random: inout FuzzRandom) -> (bytes: [UInt8], description: String) {
        guard input.count >= 8, random.chance(0.6) else { return BinaryMutator.mutate(input, hotSpots: BinaryMutator.safetensorsHotSpots(input), random: &random) }
        let length = input.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length >= 0, length <= input.count - 8 else { return BinaryMutator.mutate(input, hotSpots: [0], random: &random) }
        let (header, what) = JSONMutator.mutate(Array(input[8..<(8 + length)]), random: &random)
        let prefix = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * UInt64($0))) }
        return (prefix + header + input[(8 + length)...], "header: \(what)")
    }
}
