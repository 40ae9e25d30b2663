import CKernels
import Foundation

/// The code path of the low-precision kernels, chosen at run time from the CPU's features; lesser first.
public enum KernelPath: Int32, Sendable, CaseIterable, Comparable {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    /// The environment variable that forces a lesser path (never a better one than the CPU has).
    public static let environmentVariable = "MLCOMMONS_KERNELS"

    public var name: String { String(cString: mlk_path_name(rawValue)) }

    public init?(name: String) {
        guard let path = Self.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = path
    }

    /// The best path this CPU runs.
    public static let cpuBest = KernelPath(rawValue: mlk_cpu_path()) ?? .portable

    /// The path the kernels run: the CPU's best, or the lesser one `MLCOMMONS_KERNELS` asks for.
    public static let active: KernelPath = {
        do {
            return try chosen(ProcessInfo.processInfo.environment[environmentVariable], best: cpuBest)
        } catch {
            FileHandle.standardError.write(Data("\(error); using \(cpuBest.name)\n".utf8))
            return cpuBest
        }
    }()

    /// The path a value of `MLCOMMONS_KERNELS` chooses on a CPU whose best is `best`: a better path
    /// than the CPU has is lowered to `best` (it could not run).
    static func chosen(_ requested: String?, best: KernelPath) throws -> KernelPath {
        guard let requested, !requested.isEmpty else { return best }
        guard let path = KernelPath(name: requested) else {
            throw KernelError("\(environmentVariable)=\(requested.debugDescription) is not one of \(allCases.map(\.name).joined(separator: ", "))")
        }
        return min(path, best)
    }

    public static func < (lhs: KernelPath, rhs: KernelPath) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A weight the low-precision kernels cannot take, or a bad kernel setting.
public struct KernelError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
