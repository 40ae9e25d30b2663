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
/// Loadable today: TorchScript and ONNX artifacts of BERT-family text-embedding models. Everything else is
/// refused with an error that says what is missing, so no caller can report a deployment that did
/// not happen.
public struct NativeEngine: Sendable {
    public init() {}

    public func load(artifact: URL, format: ArtifactFormat, functionName: String, options: ModelOptions) throws -> any NativeModel {
        guard functionName == "TEXT_EMBEDDING" else {
            throw InferenceError("The native inference engine cannot load \(functionName) models yet (loadable: TEXT_EMBEDDING)")
        }
        do {
            return try ArtifactLoader.loadTextEmbedder(zip: artifact, format: format, options: options)
        } catch let error as WeightError {
            throw InferenceError("Cannot load the \(format.rawValue) model: \(error.message)")
        } catch let error as TokenizerError {
            throw InferenceError("Cannot load the model's tokenizer: \(error.message)")
        }
    }
}
