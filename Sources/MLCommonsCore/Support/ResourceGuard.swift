import Foundation

/// ML Commons' circuit breakers for local models, measured on this machine: memory in use as a
/// share of physical memory (`native_memory_threshold`), and free disk under the data dir
/// (`disk_free_space_threshold`). There is no JVM here, so the heap breaker has nothing to measure.
enum ResourceGuard {
    static func check(_ settings: EffectiveSettings, dataDir: URL) throws {
        let memoryThreshold = settings.int(MLSettings.nativeMemoryThreshold)
        if memoryThreshold < 100, let used = memoryUsedPercent(), used > Double(memoryThreshold) {
            throw MLError.circuitBreaker("Native Memory")
        }
        if let minimumFree = settings.bytes(MLSettings.diskFreeSpaceThreshold), minimumFree > 0,
           let free = freeDiskBytes(at: dataDir), free < minimumFree {
            throw MLError.circuitBreaker("Disk")
        }
    }

    static func memoryUsedPercent() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        func field(_ name: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Double($0) }
        }
        guard let total = field("MemTotal"), let available = field("MemAvailable"), total > 0 else { return nil }
        return (total - available) / total * 100
    }

    static func freeDiskBytes(at url: URL) -> Int64? {
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: url.path),
              let free = attributes[.systemFreeSize] as? NSNumber else { return nil }
        return free.int64Value
    }
}
