import Foundation
import Inference
import OrderedJSON

/// What deploy hands to an inference engine: the verified artifact and what the model says of itself.
public struct ModelLoadRequest: Sendable {
    public let modelID: String
    public let name: String
    public let artifact: URL
    public let format: ModelFormat
    public let function: FunctionName
    public let modelConfig: JSON?
}

/// A model loaded into memory on this node.
public protocol LoadedModel: Sendable {
    var residentBytes: Int { get }
    /// The native engine's model, which predict runs (nil for engines that only hold models).
    var native: (any NativeModel)? { get }
    /// Where text-embedding and sparse-encoding requests queue to be batched together (nil: run each on its own).
    var embeddingBatcher: ModelBatcher<TextEmbedder.Detailed>? { get }
    var sparseBatcher: ModelBatcher<[SparseTerm]>? { get }
    /// Whether the model runs on this node (counted against `max_model_on_node`); remote models do not.
    var isLocal: Bool { get }
}

extension LoadedModel {
    public var isLocal: Bool { true }
    public var native: (any NativeModel)? { nil }
    var embeddingBatcher: ModelBatcher<TextEmbedder.Detailed>? { nil }
    var sparseBatcher: ModelBatcher<[SparseTerm]>? { nil }
}

/// The seam between deployment and the engine that runs models.
public protocol InferenceEngine: Sendable {
    func load(_ request: ModelLoadRequest) async throws -> any LoadedModel
    /// Checks, without building the model, what registration can: that the artifact will load. A
    /// broken artifact then fails its register task instead of a later deploy.
    func validate(_ request: ModelLoadRequest) throws
}

extension InferenceEngine {
    public func validate(_ request: ModelLoadRequest) throws {}
}

/// The native Swift engine of the `Inference` module.
public struct NativeInferenceEngine: InferenceEngine {
    let engine = NativeEngine()

    public init() {}

    struct Loaded: LoadedModel {
        let model: any NativeModel
        /// Requests go through these, batched across clients.
        let embeddingBatcher: ModelBatcher<TextEmbedder.Detailed>?
        let sparseBatcher: ModelBatcher<[SparseTerm]>?
        var residentBytes: Int { model.residentBytes }
        var native: (any NativeModel)? { model }

        init(model: any NativeModel, name: String) {
            self.model = model
            embeddingBatcher = (model as? TextEmbedder).map { embedder in
                ModelBatcher(name: name) { try embedder.encodeDetailed($0, parallelism: $1) }
            }
            sparseBatcher = (model as? SparseEncoder).map { encoder in
                ModelBatcher(name: name) { try encoder.encode($0, parallelism: $1) }
            }
        }
    }

    public func load(_ request: ModelLoadRequest) async throws -> any LoadedModel {
        let format: ArtifactFormat = request.format == .onnx ? .onnx : .torchScript
        do {
            let model = try engine.load(artifact: request.artifact, format: format, functionName: request.function.rawValue,
                                        options: try Self.options(for: request))
            return Loaded(model: model, name: request.modelID)
        } catch let error as InferenceError {
            throw MLError.generic(error.message)
        }
    }

    public func validate(_ request: ModelLoadRequest) throws {
        do {
            try NativeEngine.validateArtifact(zip: request.artifact, format: request.format == .onnx ? .onnx : .torchScript,
                                              functionName: request.function.rawValue, options: try Self.options(for: request))
        } catch let error as InferenceError {
            throw MLError.illegalArgument(error.message)
        }
    }

    /// What `model_config` says (the HF config in `all_config`, pooling, normalization), with the
    /// pretrained catalog's pooling as the last resort.
    static func options(for request: ModelLoadRequest) throws -> ModelOptions {
        var options = ModelOptions()
        if let config = request.modelConfig {
            do { options = try ModelOptions(modelConfig: config) } catch { throw MLError.illegalArgument(error.message) }
        }
        let catalog = PretrainedCatalog.find(name: request.name)
        options.pooling = options.pooling ?? catalog?.pooling.flatMap(PoolingMode.init(parsing:))
        options.normalize = options.normalize ?? catalog?.normalize
        return options
    }
}
