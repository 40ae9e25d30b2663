import CZlib  // zlib, as ZIPFoundation links it
import Foundation

/// A file mapped read-only into memory; weights are read from it in place.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeRawPointer
    let size: Int

    init(_ url: URL) throws {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { throw WeightError("cannot open \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw WeightError("cannot read \(url.path)") }
        size = Int(info.st_size)
        guard size > 0, let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw WeightError("cannot map \(url.lastPathComponent) (\(size) bytes)")
        }
        base = UnsafeRawPointer(mapping)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// Lets the kernel drop the resident pages wholly inside `range` (bytes of this mapping): they
    /// are read again from the file if touched, so nothing is lost; memory is returned now.
    func releasePages(_ start: UnsafeRawPointer, byteCount: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page, end = (Int(bitPattern: start) + byteCount) / page * page
        guard end > first, let address = UnsafeMutableRawPointer(bitPattern: first) else { return }
        madvise(address, end - first, Int32(MADV_DONTNEED))
    }
}

/// Bytes owned by memory we allocated (inflated entries, copies of `Data`).
final class OwnedBytes: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let size: Int

    init(size: Int) {
        self.size = size
        base = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
    }

    deinit { base.deallocate() }
}

/// A range of bytes that stays valid while its owner (a mapping or an allocation) lives.
struct ByteRegion: @unchecked Sendable {
    let owner: AnyObject
    let base: UnsafeRawPointer
    let count: Int

    init(file: MappedFile) {
        owner = file
        base = file.base
        count = file.size
    }

    init(copying data: Data) {
        let owned = OwnedBytes(size: data.count)
        data.withUnsafeBytes { if let source = $0.baseAddress { owned.base.copyMemory(from: source, byteCount: data.count) } }
        owner = owned
        base = UnsafeRawPointer(owned.base)
        count = data.count
    }

    private init(owner: AnyObject, base: UnsafeRawPointer, count: Int) {
        self.owner = owner
        self.base = base
        self.count = count
    }

    /// The one place a range read from a file becomes a region: proves `offset ≥ 0`, `length ≥ 0`
    /// and `offset + length ≤ count` without overflowing, whatever the file claims.
    func slice(_ offset: Int, _ length: Int) throws -> ByteRegion {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw WeightError("a record reaches past the end of its file (\(offset)+\(length) > \(count))")
        }
        return ByteRegion(owner: owner, base: base + offset, count: length)
    }

    /// The little-endian unsigned integer of `width` bytes at `offset`, checked against the region.
    func unsigned(at offset: Int, width: Int) throws -> UInt64 {
        let field = try slice(offset, width)
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(field.base.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i)) }
        return value
    }

    func u16(_ offset: Int) throws -> Int { Int(try unsigned(at: offset, width: 2)) }
    func u32(_ offset: Int) throws -> Int { Int(try unsigned(at: offset, width: 4)) }

    /// A 64-bit size or offset field, which must lie within `limit` (a negative `Int` cannot come out).
    func u64(_ offset: Int, atMost limit: Int, _ what: String) throws -> Int {
        let value = try unsigned(at: offset, width: 8)
        guard value <= UInt64(limit) else { throw WeightError("\(what) \(value) is beyond \(limit)") }
        return Int(value)
    }

    var data: Data { Data(bytes: base, count: count) }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Raw DEFLATE (zip method 8) into a new region of `size` bytes. The declared size is checked
    /// before anything is allocated: DEFLATE cannot expand more than 1032:1, so a larger claim is a
    /// lie, and `ArtifactLimits.maxEntryBytes` caps it in any case. zlib never writes past the
    /// buffer, and an entry that inflates to more or less than it declared is refused.
    func inflated(size: Int) throws -> ByteRegion {
        guard size >= 0, size <= ArtifactLimits.maxEntryBytes else {
            throw WeightError("a deflated zip entry declares \(size) bytes, more than the \(ArtifactLimits.maxEntryBytes) allowed")
        }
        let (bound, overflow) = count.multipliedReportingOverflow(by: ArtifactLimits.maxDeflateRatio)
        guard overflow || size <= bound + 1024, count <= Int(UInt32.max), size <= Int(UInt32.max) else {
            throw WeightError("a deflated zip entry of \(count) bytes declares \(size) bytes, more than DEFLATE can produce (a zip bomb?)")
        }
        let output = OwnedBytes(size: size)
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw WeightError("cannot start inflating a zip entry")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(count)
        stream.next_out = output.base.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(size)
        let status = inflate(&stream, Z_FINISH)
        guard status == Z_STREAM_END, Int(stream.total_out) == size else {
            throw WeightError(status == Z_BUF_ERROR || status == Z_OK
                ? "a deflated zip entry inflates to more than its declared \(size) bytes"
                : "a deflated zip entry is corrupt")
        }
        return ByteRegion(owner: output, base: UnsafeRawPointer(output.base), count: size)
    }
}
