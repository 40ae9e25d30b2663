import Foundation
import Inference
import OrderedJSON

/// The fuzzer's generator: seeded, so a fuzz run is the same for the same `--seed`.
typealias FuzzRandom = SplitMix64

extension SplitMix64 {
    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &self) < probability }
}

/// Byte-level mutations of binary model files (zip containers, pickles, protobuf, safetensors),
/// aimed half the time at `hotSpots`: the length, offset and count fields of the file's structure.
enum BinaryMutator {
    /// Values that break size and offset arithmetic: zero, one, sign bits, maxima, the file's own size.
    static func interestingIntegers(fileSize: Int) -> [UInt64] {
        [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
         1 << 40, UInt64(Int64.max), 1 << 63, UInt64.max, UInt64.max - 1, UInt64(fileSize), UInt64(fileSize + 1), UInt64(max(fileSize - 1, 0))]
    }

    static func mutate(_ input: [UInt8], hotSpots: [Int], random: inout FuzzRandom) -> (bytes: [UInt8], description: String) {
        var bytes = input
        guard !bytes.isEmpty else { return ([0], "empty → one zero byte") }
        var notes: [String] = []
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let offset: Int
            if !hotSpots.isEmpty && random.chance(0.5) {
                offset = min(max(hotSpots.randomElement(using: &random)! + Int.random(in: -8...48, using: &random), 0), bytes.count - 1)
            } else {
                offset = Int.random(in: 0..<bytes.count, using: &random)
            }
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1:
                bytes[offset] ^= 1 << UInt8.random(in: 0...7, using: &random)
                notes.append("flip bit at \(offset)")
            case 2, 3:
                let value = [0x00, 0xFF, 0x7F, 0x80].randomElement(using: &random)!
                bytes[offset] = UInt8(value)
                notes.append("byte \(offset) = \(value)")
            case 4, 5, 6:
                let value = interestingIntegers(fileSize: bytes.count).randomElement(using: &random)!
                let width = [2, 4, 8].randomElement(using: &random)!
                for i in 0..<width where offset + i < bytes.count { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
                notes.append("u\(width * 8) at \(offset) = \(value)")
            case 7:
                bytes.removeSubrange(offset...)
                notes.append("truncate at \(offset)")
                if bytes.isEmpty { bytes = [0] }
            case 8:
                let length = min(Int.random(in: 1...512, using: &random), bytes.count - offset)
                let chunk = Array(bytes[offset..<(offset + length)])
                let target = Int.random(in: 0...bytes.count, using: &random)
                bytes.insert(contentsOf: chunk, at: target)
                notes.append("duplicate \(length) bytes from \(offset) at \(target)")
            default:
                let length = min(Int.random(in: 1...64, using: &random), bytes.count - offset)
                bytes.removeSubrange(offset..<(offset + length))
                notes.append("delete \(length) bytes at \(offset)")
                if bytes.isEmpty { bytes = [0] }
            }
        }
        return (bytes, notes.joined(separator: "; "))
    }

    /// Offsets of a zip's structure: its record signatures (fields follow them), and the first
    /// bytes of every entry's data (pickles, protobuf headers, JSON).
    static func zipHotSpots(_ bytes: [UInt8]) -> [Int] {
        var spots: [Int] = []
        guard bytes.count >= 4 else { return spots }
        for i in 0..<(bytes.count - 3) where bytes[i] == 0x50 && bytes[i + 1] == 0x4B {
            let kind = (bytes[i + 2], bytes[i + 3])
            guard [(1, 2), (3, 4), (5, 6), (6, 6), (6, 7)].contains(where: { $0 == (Int(kind.0), Int(kind.1)) }) else { continue }
            spots.append(i)
            if kind == (3, 4), i + 30 <= bytes.count {
                let nameLength = Int(bytes[i + 26]) | Int(bytes[i + 27]) << 8, extraLength = Int(bytes[i + 28]) | Int(bytes[i + 29]) << 8
                let data = i + 30 + nameLength + extraLength
                // A pickle's opcodes, or a protobuf's first fields: a few spots spread over the first kilobytes.
                for step in stride(from: 0, to: 4096, by: 64) where data + step < bytes.count { spots.append(data + step) }
            }
        }
        return spots
    }

    /// A safetensors file's length field and JSON header.
    static func safetensorsHotSpots(_ bytes: [UInt8]) -> [Int] {
        guard bytes.count >= 8 else { return [0] }
        let header = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        return [0] + stride(from: 8, to: min(8 + max(header, 0), bytes.count), by: 16).map { $0 }
    }
}

/// Mutations of JSON files (tokenizer.json, config.json): one value replaced by a hostile one.
enum JSONMutator {
    static func hostileValues(random: inout FuzzRandom) -> [(JSON, String)] {
        var deep: JSON = .int(1)
        // One child per level (a value used twice per level would double the text at every level).
        let key = ["normalizers", "pretokenizers", "processors"].randomElement(using: &random)!
        for _ in 0..<Int.random(in: 100...600, using: &random) {
            deep = random.chance(0.3) ? .array([deep]) : .object(JSONObject([(key: "type", value: .string("Sequence")), (key: key, value: .array([deep]))]))
        }
        return [
            (.int(Int64(Int32.max) + 1), "2^31"), (.int(-1), "-1"), (.int(Int64(Int32.min)), "-2^31"), (.int(Int64.max), "Int64.max"),
            (.int(Int64.min), "Int64.min"), (.int(0), "0"), (.double(1e308), "1e308"), (.double(-1e308), "-1e308"), (.double(.nan), "NaN"),
            (.double(.infinity), "inf"), (.double(0.5), "0.5"), (.null, "null"), (.string(""), "empty string"),
            (.string(String(repeating: "x", count: 100_000)), "100k string"), (.array([]), "[]"), (.object([:]), "{}"),
            (.array(Array(repeating: .int(7), count: 50_000)), "50k array"), (deep, "deep nesting"), (.bool(true), "true"),
            (.int(1 << 20), "2^20"), (.int(65_537), "65537"),
        ]
    }

    /// Every value's path (object keys and array indexes), the shallow ones listed first.
    static func paths(_ json: JSON, prefix: [PathStep] = [], into result: inout [[PathStep]], limit: Int = 200_000) {
        guard result.count < limit else { return }
        result.append(prefix)
        switch json {
        case .object(let object): for (key, value) in object { paths(value, prefix: prefix + [.key(key)], into: &result, limit: limit) }
        case .array(let array): for (index, value) in array.enumerated() { paths(value, prefix: prefix + [.index(index)], into: &result, limit: limit) }
        default: break
        }
    }

    enum PathStep: CustomStringConvertible {
        case key(String)
        case index(Int)

        var description: String {
            switch self {
            case .key(let key): return key
            case .index(let index): return "[\(index)]"
            }
        }
    }

    static func replacing(_ json: JSON, at path: ArraySlice<PathStep>, with value: JSON?) -> JSON {
        guard let step = path.first else { return value ?? .null }
        switch (json, step) {
        case (.object(let object), .key(let key)):
            var entries = object.entries
            guard let index = entries.firstIndex(where: { $0.key == key }) else { return json }
            if path.count == 1, value == nil {
                entries.remove(at: index)
            } else {
                entries[index].value = replacing(entries[index].value, at: path.dropFirst(), with: value)
            }
            return .object(JSONObject(entries))
        case (.array(var array), .index(let index)) where index < array.count:
            if path.count == 1, value == nil { array.remove(at: index) } else { array[index] = replacing(array[index], at: path.dropFirst(), with: value) }
            return .array(array)
        default:
            return json
        }
    }

    /// One mutant of `data` (JSON text): a value replaced or removed, or, when it is not JSON, bytes.
    static func mutate(_ data: [UInt8], random: inout FuzzRandom) -> (bytes: [UInt8], description: String) {
        guard random.chance(0.85), let json = try? JSON.parse(Data(data)) else {
            return BinaryMutator.mutate(data, hotSpots: [], random: &random)
        }
        var all: [[PathStep]] = []
        paths(json, into: &all)
        // Structure (shallow values) half the time; vocabulary entries and the like otherwise.
        let shallow = all.filter { $0.count <= 3 }
        let path = (random.chance(0.5) && !shallow.isEmpty ? shallow : all).randomElement(using: &random)!
        let name = path.map(\.description).joined(separator: ".")
        if random.chance(0.15) {
            return (Array(replacing(json, at: path[...], with: nil).serialized.utf8), "remove \(name)")
        }
        let (value, label) = hostileValues(random: &random).randomElement(using: &random)!
        var text = replacing(json, at: path[...], with: value).serialized
        // JSON has no NaN or infinity; write the tokens parsers meet in the wild instead.
        if label == "NaN" || label == "inf" {
            text = text.replacingOccurrences(of: "nan", with: "NaN").replacingOccurrences(of: "inf", with: "Infinity")
        }
        return (Array(text.utf8), "\(name) = \(label)")
    }
}
