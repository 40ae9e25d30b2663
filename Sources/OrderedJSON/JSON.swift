/// A JSON value that keeps object keys in the order they were written, and keeps integers apart
/// from floating-point numbers, so documents round-trip the way OpenSearch clients expect.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

/// An insertion-ordered JSON object. Small objects (most documents) are scanned linearly; from
/// `indexedCount` entries on, a key → position table keeps lookups and inserts O(1), so building an
/// object key by key from a client's input stays linear however many keys it sends.
public struct JSONObject: Sendable, Equatable, Sequence {
    public private(set) var entries: [(key: String, value: JSON)]
    /// Positions of the keys in `entries`; empty below `indexedCount` entries.
    private var positions: [String: Int] = [:]
    static let indexedCount = 16

    public init(_ entries: [(key: String, value: JSON)] = []) {
        self.entries = []
        for (key, value) in entries { self[key] = value }
    }

    /// Entries whose keys are known to be distinct (the parser checks), taken as they are.
    init(uniqueEntries: [(key: String, value: JSON)]) {
        entries = uniqueEntries
        reindex()
    }

    public var keys: [String] { entries.map(\.key) }
    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    private func position(of key: String) -> Int? {
        entries.count < Self.indexedCount ? entries.firstIndex(where: { $0.key == key }) : positions[key]
    }

    private mutating func reindex() {
        positions = [:]
        guard entries.count >= Self.indexedCount else { return }
        positions.reserveCapacity(entries.count)
        for (offset, entry) in entries.enumerated() { positions[entry.key] = offset }
    }

    public subscript(key: String) -> JSON? {
        get { position(of: key).map { entries[$0].value } }
        set {
            if let index = position(of: key) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index); reindex() }
            } else if let newValue {
                entries.append((key, newValue))
                if entries.count == Self.indexedCount { reindex() } else if entries.count > Self.indexedCount { positions[key] = entries.count - 1 }
            }
        }
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        guard let index = position(of: key) else { return nil }
        let removed = entries.remove(at: index).value
        reindex()
        return removed
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSON)]> { entries.makeIterator() }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count
            && lhs.entries.allSatisfy { rhs[$0.key] == $0.value }
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }
}

// MARK: - Accessors

extension JSON {
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }

    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }

    /// Integral value of an int, of a double without fraction, or of a numeric string.
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d): return d.rounded() == d && abs(d) < 9.2e18 ? Int64(d) : nil
        case .string(let s): return Int64(s.trimmingSpaces)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .string(let s): return Double(s.trimmingSpaces)
        default: return nil
        }
    }

    public var isNumber: Bool {
        switch self { case .int, .double: return true; default: return false }
    }

    /// Object member lookup; nil for non-objects.
    public subscript(key: String) -> JSON? {
        get { objectValue?[key] }
        set {
            guard case .object(var object) = self else { return }
            object[key] = newValue
            self = .object(object)
        }
    }

    /// Looks up a dotted path such as `model_config.model_type`.
    public func value(atPath path: String) -> JSON? {
        var current: JSON? = self
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            current = current?[String(part)]
        }
        return current
    }

    /// A scalar rendered as the text OpenSearch would match against (`term`, `match`, sort keys).
    public var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return JSON.format(double: d)
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }
}

extension String {
    var trimmingSpaces: Substring {
        var slice = Substring(self)
        while let first = slice.first, first == " " { slice.removeFirst() }
        while let last = slice.last, last == " " { slice.removeLast() }
        return slice
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self = .object(JSONObject(elements.map { (key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension JSON {
    public init(_ value: String?) { self = value.map(JSON.string) ?? .null }
    public init(_ value: Int) { self = .int(Int64(value)) }
    public init(_ values: [String]) { self = .array(values.map(JSON.string)) }
}
