import Foundation

/// How much memory deployed models may hold on this node (`plugins.ml_commons.max_model_memory_bytes`;
/// 0, the default, means 80% of physical memory). A deploy that would go over it is refused at once,
/// instead of the process being killed later.
enum MemoryBudget {
    static func budget(_ settings: EffectiveSettings) -> Int64 {
        let configured = settings.int(MLSettings.maxModelMemoryBytes)
        if configured > 0 { return configured }
        return Int64(Double(physicalMemory() ?? (8 << 30)) * 0.8)
    }

    /// A model's float32 weights take about as much memory as its artifact, plus working buffers.
    static func check(modelID: String, artifactBytes: Int64, deployedBytes: Int64, settings: EffectiveSettings) throws {
        let budget = budget(settings)
        // The artifact size comes from the model document (a client's `model_content_size_in_bytes`):
        // clamp before adding so no stored value can overflow.
        let needed = min(max(artifactBytes, 0), Int64(1) << 50) + (32 << 20)
        guard min(max(deployedBytes, 0), Int64(1) << 50) + needed <= budget else {
            func megabytes(_ bytes: Int64) -> String { "\(bytes >> 20) MB" }
            throw MLError(status: 429, type: "m_l_limit_exceeded_exception",
                          reason: "Deploying model \(modelID) needs about \(megabytes(needed)), but the models deployed on this node already hold \(megabytes(deployedBytes)) of the \(megabytes(budget)) memory budget (plugins.ml_commons.\(MLSettings.maxModelMemoryBytes)); undeploy a model or raise the budget")
        }
    }

    static func physicalMemory() -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int64($0) }) else { return nil }
        return kilobytes * 1024
    }
}
