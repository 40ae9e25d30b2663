import Foundation

/// The central directory of a zip held in a `ByteRegion`, so stored entries can be used in place.
/// Handles zip64 (PyTorch always writes it) and sizes given only in the central directory.
/// Every field is read through the region's checked readers and every offset and size is proven
/// within the file before use, so a hostile zip gets a `WeightError`, never an out-of-bounds read.
struct ZipDirectory {
    struct Entry {
        let name: String
        let method: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int

        var isDirectory: Bool { name.hasSuffix("/") }
    }

    let region: ByteRegion
    let entries: [String: Entry]
    let names: [String]

    init(_ region: ByteRegion) throws {
        self.region = region
        let fileSize = region.count
        guard fileSize >= 22 else { throw WeightError("not a zip file (too short)") }
        var end = fileSize - 22
        let lowest = max(0, fileSize - 22 - 65_535)
        while end >= lowest, try region.u32(end) != 0x0605_4B50 { end -= 1 }
        guard end >= lowest else { throw WeightError("not a zip file (no end of central directory)") }
        var count = try region.u16(end + 10), directorySize = try region.u32(end + 12), directoryOffset = try region.u32(end + 16)
        if end >= 20, try region.u32(end - 20) == 0x0706_4B50 {  // zip64 locator
            let record = try region.u64(end - 20 + 8, atMost: fileSize, "the zip64 end record offset")
            guard try region.slice(record, 56).count == 56, try region.u32(record) == 0x0606_4B50 else { throw WeightError("corrupt zip64 end record") }
            count = try region.u64(record + 32, atMost: ArtifactLimits.maxZipEntries, "the zip64 entry count")
            directorySize = try region.u64(record + 40, atMost: fileSize, "the zip64 central directory size")
            directoryOffset = try region.u64(record + 48, atMost: fileSize, "the zip64 central directory offset")
        }
        // Each central record takes at least 46 bytes: a larger count cannot fit the file.
        guard count <= fileSize / 46, count <= ArtifactLimits.maxZipEntries else {
            throw WeightError("the zip claims \(count) entries, more than its \(fileSize) bytes can hold")
        }
        let directory: ByteRegion
        do { directory = try region.slice(directoryOffset, directorySize) } catch { throw WeightError("the zip's central directory is truncated") }
        var entries: [String: Entry] = [:]
        var names: [String] = []
        var at = 0
        for _ in 0..<count {
            guard directory.count - at >= 46, try directory.u32(at) == 0x0201_4B50 else { throw WeightError("corrupt zip central directory") }
            let nameLength = try directory.u16(at + 28), extraLength = try directory.u16(at + 30), commentLength = try directory.u16(at + 32)
            let nameBytes = try directory.slice(at + 46, nameLength)
            let name = String(decoding: nameBytes.bytes, as: UTF8.self)
            var compressed = try directory.u32(at + 20), size = try directory.u32(at + 24), offset = try directory.u32(at + 42)
            // Zip64 extra field: the 0xFFFFFFFF fields follow, in order.
            let extras = try directory.slice(at + 46 + nameLength, extraLength)
            var extra = 0
            while extras.count - extra >= 4 {
                let id = try extras.u16(extra), length = try extras.u16(extra + 2)
                if id == 0x0001 {
                    let field = try extras.slice(extra + 4, length)
                    var cursor = 0
                    if size == 0xFFFF_FFFF { size = try field.u64(cursor, atMost: ArtifactLimits.maxEntryBytes, "a zip64 entry size"); cursor += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try field.u64(cursor, atMost: fileSize, "a zip64 compressed size"); cursor += 8 }
                    if offset == 0xFFFF_FFFF { offset = try field.u64(cursor, atMost: fileSize, "a zip64 local header offset") }
                }
                extra += 4 + length
            }
            entries[name] = Entry(name: name, method: UInt16(try directory.u16(at + 10)), compressedSize: compressed, size: size, localHeaderOffset: offset)
            names.append(name)
            at += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        self.names = names
    }

    /// The entry's bytes: in place when stored, inflated when deflated.
    func contents(_ name: String) throws -> ByteRegion? {
        guard let entry = entries[name] else { return nil }
        let header = entry.localHeaderOffset
        guard (try? region.u32(header)) == 0x0403_4B50 else { throw WeightError("corrupt local header for \(name)") }
        let nameLength = try region.u16(header + 26), extraLength = try region.u16(header + 28)
        let data: ByteRegion
        do { data = try region.slice(header + 30 + nameLength + extraLength, entry.compressedSize) } catch {
            throw WeightError("zip entry \(name) claims \(entry.compressedSize) bytes, past the end of the file")
        }
        switch entry.method {
        case 0:
            guard entry.size == entry.compressedSize else { throw WeightError("stored zip entry \(name) declares \(entry.size) bytes but holds \(entry.compressedSize)") }
            return data
        case 8:
            do { return try data.inflated(size: entry.size) } catch let error as WeightError { throw WeightError("zip entry \(name): \(error.message)") }
        default: throw WeightError("\(name) uses zip compression method \(entry.method); only stored and deflated entries are supported")
        }
    }
}
