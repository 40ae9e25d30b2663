#if canImport(Glibc)
import Glibc
#endif

/// Gives the heap pages freed by large one-off work (an artifact download, a model load that
/// decodes and transposes its weights) back to the system. glibc keeps them otherwise, and the
/// process would stay as large as its peak long after the work is done.
enum FreedMemory {
    static func release() {
        #if canImport(Glibc)
        // glibc's malloc_trim, looked up because Swift's Glibc module leaves malloc.h out.
        typealias Trim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: Trim.self)(0)
        }
        #endif
    }
}
