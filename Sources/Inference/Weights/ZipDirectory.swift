import Foundation

/// The central directory of a zip held in a `ByteRegion`, so stored entries can be used in place.
/// Handles zip64 (PyTorch always writes it) and sizes given only in the central directory.
struct ZipDirectory {
    struct Entry {
        let name: String
        let method: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    let region: ByteRegion
    let entries: [String: Entry]
    let names: [String]

    init(_ region: ByteRegion) throws {
        self.region = region
        let bytes = region.bytes
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        guard region.count >= 22 else { throw WeightError("not a zip file (too short)") }
        var end = region.count - 22
        let lowest = max(0, region.count - 22 - 65_535)
        while end >= lowest && u32(end) != 0x0605_4B50 { end -= 1 }
        guard end >= lowest else { throw WeightError("not a zip file (no end of central directory)") }
        var count = u16(end + 10), directorySize = u32(end + 12), directoryOffset = u32(end + 16)
        if end >= 20, u32(end - 20) == 0x0706_4B50 {  // zip64 locator
            let record = u64(end - 20 + 8)
            guard record + 56 <= region.count, u32(record) == 0x0606_4B50 else { throw WeightError("corrupt zip64 end record") }
            count = u64(record + 32)
            directorySize = u64(record + 40)
            directoryOffset = u64(record + 48)
        }
        guard directoryOffset + directorySize <= region.count else { throw WeightError("the zip's central directory is truncated") }
        var entries: [String: Entry] = [:]
        var names: [String] = []
        var at = directoryOffset
        for _ in 0..<count {
            guard at + 46 <= region.count, u32(at) == 0x0201_4B50 else { throw WeightError("corrupt zip central directory") }
            let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            guard at + 46 + nameLength + extraLength <= region.count else { throw WeightError("corrupt zip central directory") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(at + 46)..<(at + 46 + nameLength)]), as: UTF8.self)
            var compressed = u32(at + 20), size = u32(at + 24), offset = u32(at + 42)
            // Zip64 extra field: the 0xFFFFFFFF fields follow, in order.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = u16(extra), length = u16(extra + 2)
                if id == 0x0001 {
                    var field = extra + 4
                    if size == 0xFFFF_FFFF { size = u64(field); field += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = u64(field); field += 8 }
                    if offset == 0xFFFF_FFFF { offset = u64(field) }
                }
                extra += 4 + length
            }
            entries[name] = Entry(name: name, method: UInt16(u16(at + 10)), compressedSize: compressed, size: size, localHeaderOffset: offset)
            names.append(name)
            at += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        self.names = names
    }

    /// The entry's bytes: in place when stored, inflated when deflated.
    func contents(_ name: String) throws -> ByteRegion? {
        guard let entry = entries[name] else { return nil }
        let bytes = region.bytes
        let header = entry.localHeaderOffset
        guard header + 30 <= region.count, Int(bytes[header]) | Int(bytes[header + 1]) << 8 | Int(bytes[header + 2]) << 16 | Int(bytes[header + 3]) << 24 == 0x0403_4B50 else {
            throw WeightError("corrupt local header for \(name)")
        }
        let nameLength = Int(bytes[header + 26]) | Int(bytes[header + 27]) << 8
        let extraLength = Int(bytes[header + 28]) | Int(bytes[header + 29]) << 8
        let data = try region.slice(header + 30 + nameLength + extraLength, entry.compressedSize)
        switch entry.method {
        case 0: return data
        case 8: return try data.inflated(size: entry.size)
        default: throw WeightError("\(name) uses zip compression method \(entry.method); only stored and deflated entries are supported")
        }
    }
}
