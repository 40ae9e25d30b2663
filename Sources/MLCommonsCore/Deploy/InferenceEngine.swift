import Foundation
import Inference
import OrderedJSON

/// What deploy hands to an inference engine: the verified artifact and what the model says of itself.
public struct ModelLoadRequest: Sendable {
    public let modelID: String
    public let artifact: URL
    public let format: ModelFormat
    public let function: FunctionName
    public let modelConfig: JSON?
}

/// A model loaded into memory on this node.
public protocol LoadedModel: Sendable {
    var residentBytes: Int { get }
}

/// The seam between deployment and the engine that runs models.
public protocol InferenceEngine: Sendable {
    func load(_ request: ModelLoadRequest) async throws -> any LoadedModel
}

/// The native Swift engine of the `Inference` module.
public struct NativeInferenceEngine: InferenceEngine {
    let engine = NativeEngine()

    public init() {}

    struct Loaded: LoadedModel {
        let model: any NativeModel
        var residentBytes: Int { model.residentBytes }
    }

    public func load(_ request: ModelLoadRequest) async throws -> any LoadedModel {
        let format: ArtifactFormat = request.format == .onnx ? .onnx : .torchScript
        do {
            return Loaded(model: try engine.load(artifact: request.artifact, format: format, functionName: request.function.rawValue))
        } catch let error as InferenceError {
            throw MLError.generic(error.message)
        }
    }
}
