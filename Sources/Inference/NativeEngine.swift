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
/// Loadable today: text embedding (TorchScript and ONNX; BERT, DistilBERT, RoBERTa / XLM-R and MPNet
/// encoders), neural sparse encoders and the sparse tokenizer (TorchScript), cross-encoders and
/// extractive question answering (TorchScript). Everything else is refused with an error that says what is missing, so no caller
/// can report a deployment that did not happen.
public struct NativeEngine: Sendable {
    public init() {}

    public func load(artifact: URL, format: ArtifactFormat, functionName: String, options: ModelOptions) throws -> any NativeModel {
        try Self.reportingErrors(format: format) {
            switch (functionName, format) {
            case ("TEXT_EMBEDDING", _):
                return try ArtifactLoader.loadTextEmbedder(zip: artifact, format: format, options: options)
            case ("SPARSE_ENCODING", .torchScript):
                return try ArtifactLoader.loadSparseEncoder(zip: artifact, options: options)
            case ("SPARSE_TOKENIZE", _):
                return try ArtifactLoader.loadSparseTokenizer(zip: artifact)
            case ("TEXT_SIMILARITY", .torchScript):
                return try ArtifactLoader.loadCrossEncoder(zip: artifact, options: options)
            case ("QUESTION_ANSWERING", .torchScript):
                return try ArtifactLoader.loadQuestionAnswerer(zip: artifact, options: options)
            default:
                throw NativeEngine.unsupported(functionName, format)
            }
        }
    }

    static func unsupported(_ functionName: String, _ format: ArtifactFormat) -> InferenceError {
        InferenceError("The native inference engine cannot load \(functionName) models in \(format.rawValue) format yet")
    }

    /// Runs `body`, turning a model-file or tokenizer error into an `InferenceError` that names the part at fault.
    static func reportingErrors<T>(format: ArtifactFormat, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as WeightError {
            throw InferenceError("Cannot load the \(format.rawValue) model: \(error.message)")
        } catch let error as TokenizerError {
            throw InferenceError("Cannot load the model's tokenizer: \(error.message)")
        }
    }
}
