import Foundation

/// A value from a TorchScript pickle (the protocol-2 subset PyTorch's C++ pickler writes).
indirect enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case tuple([PickleValue])
    case list([PickleValue])
    case dict([(PickleValue, PickleValue)])
    /// A class or function reference (`GLOBAL module name`).
    case global(String)
    /// An object of a TorchScript class with its state (attributes dict, usually).
    case object(className: String, state: PickleValue?)
    /// A storage reference from `BINPERSID`: dtype class, record key, element count.
    case storage(dtype: String, key: String, count: Int)
    case tensor(TensorReference)

    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var int: Int? { if case .int(let i) = self { return Int(i) } else { return nil } }
    var items: [PickleValue]? {
        switch self {
        case .tuple(let items), .list(let items): return items
        default: return nil
        }
    }
}

/// Where a tensor's values live: a view into a storage record.
struct TensorReference: Sendable {
    let dtype: String
    let storageKey: String
    let storageCount: Int
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// Reads TorchScript `data.pkl` / `constants.pkl`; unknown opcodes or callables are errors.
///
/// Every value on the stack carries the nesting depth of the containers under it, so a pickle
/// nesting deeper than `ArtifactLimits.maxPickleDepth` is refused while it is read: nothing later
/// (walks of the tree, or releasing it) recurses deeper than that. Containers grow in place, so
/// long lists and dicts cost linear time.
struct Unpickler {
    private struct Item {
        var value: PickleValue
        var depth: Int
    }

    private let bytes: [UInt8]
    private var position = 0
    private var stack: [Item] = []
    private var marks: [Int] = []
    private var memo: [Int: Item] = [:]

    init(_ data: Data) { bytes = Array(data) }

    mutating func load() throws -> PickleValue {
        while position < bytes.count {
            let opcode = bytes[position]
            position += 1
            switch opcode {
            case 0x80: position += 1  // PROTO
            case UInt8(ascii: "c"):
                let module = try line(), name = try line()
                push(.global("\(module).\(name)"))
            case UInt8(ascii: "q"): memo[Int(try byte())] = try top()
            case UInt8(ascii: "r"): memo[Int(try uint32())] = try top()
            case UInt8(ascii: "h"): stack.append(try memoized(Int(try byte())))
            case UInt8(ascii: "j"): stack.append(try memoized(Int(try uint32())))
            case UInt8(ascii: "("): marks.append(stack.count)
            case UInt8(ascii: ")"): push(.tuple([]))
            case UInt8(ascii: "t"): try pushContainer(try popToMark()) { .tuple($0) }
            case 0x85: try pushContainer(try pop(1)) { .tuple($0) }
            case 0x86: try pushContainer(try pop(2)) { .tuple($0) }
            case 0x87: try pushContainer(try pop(3)) { .tuple($0) }
            case UInt8(ascii: "]"): push(.list([]))
            case UInt8(ascii: "e"):
                let items = try popToMark()
                try extendList(items)
            case UInt8(ascii: "a"):
                let item = try popItem()
                try extendList([item])
            case UInt8(ascii: "}"): push(.dict([]))
            case UInt8(ascii: "u"):
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw error("SETITEMS with an odd number of items") }
                try extendDict(items)
            case UInt8(ascii: "s"):
                let value = try popItem(), key = try popItem()
                try extendDict([key, value])
            case UInt8(ascii: "X"):
                let length = Int(try uint32())
                push(.string(String(decoding: try take(length), as: UTF8.self)))
            case UInt8(ascii: "K"): push(.int(Int64(try byte())))
            case UInt8(ascii: "M"): push(.int(Int64(try take(2).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) })))
            case UInt8(ascii: "J"): push(.int(Int64(Int32(bitPattern: try uint32()))))
            case 0x8A:
                let count = Int(try byte())
                let raw = try take(count)
                guard count <= 8 else { throw error("a LONG1 integer of \(count) bytes does not fit 64 bits") }
                var value: Int64 = 0
                for (i, b) in raw.enumerated() { value |= Int64(b) << (8 * Int64(i)) }
                if count < 8, count > 0, raw.last! & 0x80 != 0 { value -= Int64(1) << (8 * Int64(count)) }
                push(.int(value))
            case UInt8(ascii: "G"):
                push(.float(Double(bitPattern: try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case UInt8(ascii: "N"): push(.none)
            case 0x88: push(.bool(true))
            case 0x89: push(.bool(false))
            case 0x81:
                _ = try pop()  // the (empty) arguments tuple
                guard case .global(let className) = try pop() else { throw error("NEWOBJ without a class") }
                push(.object(className: className, state: nil))
            case UInt8(ascii: "b"):
                let state = try popItem()
                let target = try popItem()
                switch target.value {
                case .object(let className, _):
                    try pushContainer([state]) { .object(className: className, state: $0[0]) }
                default: stack.append(target)  // e.g. the `_metadata` of a saved state dict: not needed
                }
            case UInt8(ascii: "Q"):
                guard let fields = try pop().items, fields.count >= 5, case .global(let dtype) = fields[1],
                      let key = fields[2].string, let count = fields[4].int else { throw error("malformed storage reference") }
                push(.storage(dtype: dtype, key: key, count: count))
            case UInt8(ascii: "R"):
                let arguments = try popItem()
                guard case .global(let callable) = try pop() else { throw error("REDUCE without a callable") }
                // A reduction passes one of its arguments on at most: the arguments' depth bounds it.
                stack.append(Item(value: try reduce(callable, arguments.value.items ?? []), depth: arguments.depth))
            case UInt8(ascii: "."): return try pop()
            default:
                throw error(String(format: "unknown pickle opcode 0x%02x", opcode))
            }
        }
        throw error("pickle ended without STOP")
    }

    private mutating func push(_ value: PickleValue) { stack.append(Item(value: value, depth: 0)) }

    /// A container of `items`, one level deeper than the deepest of them.
    private mutating func pushContainer(_ items: [Item], _ make: ([PickleValue]) -> PickleValue) throws {
        let depth = (items.map(\.depth).max() ?? 0) + 1
        guard depth <= ArtifactLimits.maxPickleDepth else { throw error("the pickle nests deeper than \(ArtifactLimits.maxPickleDepth) levels") }
        stack.append(Item(value: make(items.map(\.value)), depth: depth))
    }

    /// APPEND / APPENDS: the list on the stack grows in place.
    private mutating func extendList(_ items: [Item]) throws {
        guard var list = stack.popLast(), case .list(var values) = list.value else { throw error("APPEND without a list") }
        list.value = .none  // the list's storage is now referenced once, by `values`
        values.append(contentsOf: items.map(\.value))
        try pushExtended(.list(values), depth: list.depth, items)
    }

    /// SETITEM / SETITEMS: key, value, key, value … added to the dict on the stack in place.
    private mutating func extendDict(_ items: [Item]) throws {
        guard var dict = stack.popLast(), case .dict(var entries) = dict.value else { throw error("SETITEM without a dict") }
        dict.value = .none
        entries.reserveCapacity(entries.count + items.count / 2)
        for index in stride(from: 0, to: items.count, by: 2) { entries.append((items[index].value, items[index + 1].value)) }
        try pushExtended(.dict(entries), depth: dict.depth, items)
    }

    private mutating func pushExtended(_ value: PickleValue, depth: Int, _ items: [Item]) throws {
        let depth = max(depth, (items.map(\.depth).max() ?? -1) + 1)
        guard depth <= ArtifactLimits.maxPickleDepth else { throw error("the pickle nests deeper than \(ArtifactLimits.maxPickleDepth) levels") }
        stack.append(Item(value: value, depth: depth))
    }

    private func reduce(_ callable: String, _ arguments: [PickleValue]) throws -> PickleValue {
        switch callable {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard arguments.count >= 4, case .storage(let dtype, let key, let count) = arguments[0], let offset = arguments[1].int,
                  let shape = arguments[2].items?.compactMap(\.int), let strides = arguments[3].items?.compactMap(\.int) else {
                throw error("malformed tensor in the pickle")
            }
            return .tensor(TensorReference(dtype: dtype, storageKey: key, storageCount: count, offset: offset, shape: shape, strides: strides))
        case "collections.OrderedDict": return .dict([])
        case "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.build_doublelist",
             "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensor_from_id", "torch.jit._pickle.restore_type_tag",
             "torch.device":
            return arguments.first ?? .none
        default:
            throw error("the pickle calls \(callable), which a TorchScript model file should not need")
        }
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw error("truncated pickle") }
        position += 1
        return bytes[position - 1]
    }

    private mutating func uint32() throws -> UInt32 {
        try take(4).enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    private mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, position + count <= bytes.count else { throw error("truncated pickle") }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw error("truncated pickle") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    private func top() throws -> Item {
        guard let last = stack.last else { throw error("empty pickle stack") }
        return last
    }

    private func memoized(_ id: Int) throws -> Item {
        guard let value = memo[id] else { throw error("pickle refers to unknown memo entry \(id)") }
        return value
    }

    private mutating func pop() throws -> PickleValue { try popItem().value }

    private mutating func popItem() throws -> Item {
        guard let last = stack.popLast() else { throw error("empty pickle stack") }
        return last
    }

    private mutating func pop(_ count: Int) throws -> [Item] {
        guard stack.count >= count else { throw error("empty pickle stack") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    private mutating func popToMark() throws -> [Item] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw error("pickle MARK missing") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func error(_ message: String) -> WeightError { WeightError("\(message) (at byte \(position))") }
}
