import Foundation

public struct InferenceError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A model held in memory, ready for inference.
public protocol NativeModel: Sendable {
    /// Bytes of weights and buffers the model keeps resident.
    var residentBytes: Int { get }
}

/// The native engine's entry point: turns a model artifact into a `NativeModel`.
///
/// The readers and architectures land with the native-engine work; until then this engine knows
/// no model format and refuses every load with an error that says so, so that no caller can report
/// a deployment that did not happen.
public struct NativeEngine: Sendable {
    /// Formats this build can load.
    public static let loadableFormats: [ArtifactFormat] = []

    public init() {}

    public func load(artifact: URL, format: ArtifactFormat, functionName: String) throws -> any NativeModel {
        guard NativeEngine.loadableFormats.contains(format) else {
            let known = NativeEngine.loadableFormats.map(\.rawValue)
            throw InferenceError("The native inference engine cannot load \(format.rawValue) models yet (loadable formats: \(known.isEmpty ? "none" : known.joined(separator: ", "))); model function \(functionName) was not deployed")
        }
        throw InferenceError("unreachable: no loader for \(format.rawValue)")
    }
}
