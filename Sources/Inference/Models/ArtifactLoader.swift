import Foundation
import OrderedJSON

/// What the artifact itself cannot say, from the registration's `model_config`.
public struct ModelOptions: Sendable {
    /// The Hugging Face `config.json` of the encoder (`model_config.all_config`).
    public var encoderConfig: JSON?
    public var pooling: PoolingMode?
    public var normalize: Bool?
    /// `model_config.embedding_dimension`: a model that produces another size is refused.
    public var embeddingDimension: Int?

    public init(encoderConfig: JSON? = nil, pooling: PoolingMode? = nil, normalize: Bool? = nil, embeddingDimension: Int? = nil) {
        self.encoderConfig = encoderConfig
        self.pooling = pooling
        self.normalize = normalize
        self.embeddingDimension = embeddingDimension
    }

    func checkDimension(_ model: TextEmbedder) throws -> TextEmbedder {
        if let embeddingDimension, embeddingDimension != model.dimension {
            throw WeightError("model_config.embedding_dimension is \(embeddingDimension) but the model produces \(model.dimension)-dimensional embeddings")
        }
        return model
    }
}

/// An OpenSearch model artifact: a zip holding one TorchScript `.pt` (or `.onnx`) file, `tokenizer.json`
/// and, for the sparse tokenizer, `idf.json`. The zip is memory-mapped: a stored (uncompressed) model
/// file, as OpenSearch writes them, is read in place.
struct OpenedArtifact {
    let zip: ZipDirectory
    let contents: ArtifactContents
    let tokenizer: Tokenizer

    init(zip url: URL, format: ArtifactFormat, modelFileOptional: Bool = false) throws {
        do { contents = try ArtifactLayout.inspect(zip: url, format: format, modelFileOptional: modelFileOptional) } catch let error as ArtifactError {
            throw WeightError(error.message)
        }
        zip = try ZipDirectory(ByteRegion(file: MappedFile(url)))
        guard let tokenizerBytes = try zip.contents(contents.tokenizerFile) else { throw WeightError("the artifact has no tokenizer.json") }
        tokenizer = try Tokenizer.load(tokenizerBytes.data)
    }

    func entry(_ path: String) throws -> Data? { try zip.contents(path)?.data }

    /// A sentence-transformers Pooling config shipped in the zip (`1_Pooling/config.json`), if any.
    func poolingConfig() throws -> PoolingMode? {
        guard let data = try entry("1_Pooling/config.json") else { return nil }
        return TextEmbedder.poolingMode(try JSON.parse(data))
    }

    func modelFile() throws -> ByteRegion {
        guard let name = contents.modelFile, let region = try zip.contents(name) else { throw WeightError("the artifact has no model file") }
        return region
    }
}

public enum ArtifactLoader {
    public static func loadTextEmbedder(zip: URL, format: ArtifactFormat, options: ModelOptions) throws -> TextEmbedder {
        let artifact = try OpenedArtifact(zip: zip, format: format)
        if format == .onnx { return try options.checkDimension(loadONNX(artifact, options: options)) }
        let module = try TorchScriptReader.read(artifact.modelFile())
        let (encoder, maxLength) = try encoder(of: module, tokenizer: artifact.tokenizer, options: options)
        // A traced sentence-transformers model says itself whether it normalizes (a Normalize module);
        // a plain Hugging Face trace does not, and model_config decides.
        // Its pooling, likewise, is in the traced Pooling code (ML Commons uses the trace's own output).
        let isSentenceTransformer = module.hasModule(endingWith: ".Pooling")
        let normalize = isSentenceTransformer ? module.hasModule(endingWith: ".Normalize") : (options.normalize ?? false)
        let pooling = try TracedPooling.mode(in: module) ?? artifact.poolingConfig() ?? options.pooling ?? .mean
        return try options.checkDimension(TextEmbedder(tokenizer: artifact.tokenizer, encoder: encoder, pooling: pooling,
                                                       normalize: normalize, maxLength: maxLength,
                                                       dense: DenseLayer.find(in: module)?.checked(inputWidth: encoder.config.hiddenSize)))
    }

    /// A neural sparse encoder traced in OpenSearch's wrapper; what follows the encoder is read
    /// from the wrapper's traced code (`SparseWrapper`).
    public static func loadSparseEncoder(zip: URL, options: ModelOptions) throws -> SparseEncoder {
        let artifact = try OpenedArtifact(zip: zip, format: .torchScript)
        let module = try TorchScriptReader.read(artifact.modelFile())
        let (encoder, maxLength) = try encoder(of: module, tokenizer: artifact.tokenizer, options: options)
        let head = try MaskedLMHead(weights: module.weights, config: encoder.config)
        let wrapper = try SparseWrapper(module, vocabularySize: head.vocabularySize)
        return SparseEncoder(tokenizer: artifact.tokenizer, encoder: encoder, head: head, wrapper: wrapper, maxLength: maxLength)
    }

    /// The sparse tokenizer artifact: `tokenizer.json` and optional `idf.json`, no model file.
    public static func loadSparseTokenizer(zip: URL) throws -> SparseTokenizer {
        let artifact = try OpenedArtifact(zip: zip, format: .torchScript, modelFileOptional: true)
        let idf = try artifact.entry("idf.json").map(SparseTokenizer.parseIDF) ?? [:]
        return SparseTokenizer(tokenizer: artifact.tokenizer, idf: idf)
    }

    public static func loadCrossEncoder(zip: URL, options: ModelOptions) throws -> CrossEncoder {
        let artifact = try OpenedArtifact(zip: zip, format: .torchScript)
        let module = try TorchScriptReader.read(artifact.modelFile())
        let (encoder, maxLength) = try encoder(of: module, tokenizer: artifact.tokenizer, options: options)
        return try CrossEncoder(tokenizer: artifact.tokenizer, encoder: encoder, weights: module.weights, maxLength: maxLength)
    }

    public static func loadQuestionAnswerer(zip: URL, options: ModelOptions) throws -> QuestionAnswerer {
        let artifact = try OpenedArtifact(zip: zip, format: .torchScript)
        let module = try TorchScriptReader.read(artifact.modelFile())
        let (encoder, maxLength) = try encoder(of: module, tokenizer: artifact.tokenizer, options: options)
        return try QuestionAnswerer(tokenizer: artifact.tokenizer, encoder: encoder, weights: module.weights, maxLength: maxLength)
    }

    /// The encoder inside a TorchScript module; its shape from `all_config`, else from the file itself.
    static func encoder(of module: TorchScriptModule, tokenizer: Tokenizer, options: ModelOptions) throws -> (TransformerEncoder, Int) {
        let config = try encoderConfig(of: module, options: options)
        let encoder = try TransformerEncoder(config: config, weights: module.weights)
        try encoder.check(tokenizer)
        // DJL truncates at tokenizer.json's max_length, never above the model's positions.
        return (encoder, min(tokenizer.truncationLength ?? 512, config.maxPositions))
    }

    static func onnxGraph(_ artifact: OpenedArtifact) throws -> ONNXEncoderGraph {
        try ONNXEncoderGraph(ONNXReader.read(artifact.modelFile().data, externalData: { try artifact.entry($0) }))
    }

    /// The encoder's shape: `all_config` when given, else what the traced module says.
    static func encoderConfig(of module: TorchScriptModule, options: ModelOptions) throws -> EncoderConfig {
        guard module.weights.keys.contains(where: { $0.hasSuffix("embeddings.word_embeddings.weight") }) else {
            let roots = Set(module.classes.values.map { $0.split(separator: ".").last.map(String.init) ?? $0 }).sorted().prefix(12)
            throw WeightError("the TorchScript model is not an encoder the engine knows (modules found: \(roots.joined(separator: ", ")))")
        }
        return try EncoderConfig(json: options.encoderConfig ?? TorchScriptConfig.infer(module))
    }

    /// ONNX: the artifact decides pooling and normalization when the graph does them itself
    /// (new-style exports with a `sentence_embedding` output); otherwise `model_config` does.
    static func loadONNX(_ artifact: OpenedArtifact, options: ModelOptions) throws -> TextEmbedder {
        let tokenizer = artifact.tokenizer
        let graph = try onnxGraph(artifact)
        let config = try graph.config(given: options.encoderConfig)
        let encoder = try TransformerEncoder(config: config, weights: graph.weights)
        try encoder.check(tokenizer)
        let maxLength = min(tokenizer.truncationLength ?? 512, config.maxPositions)
        return TextEmbedder(tokenizer: tokenizer, encoder: encoder, pooling: try graph.poolingInGraph ?? artifact.poolingConfig() ?? options.pooling ?? .mean,
                            normalize: graph.poolingInGraph != nil ? graph.normalizedInGraph : (options.normalize ?? false),
                            maxLength: maxLength)
    }
}

/// The pooling a traced sentence-transformers `Pooling` module performs, read from its code (the
/// trace keeps the source's variable names: `cls_token`, `max_over_time`, `sum_embeddings` …).
/// Nil when the code shows none, or several modes concatenated.
enum TracedPooling {
    static func mode(in module: TorchScriptModule) -> PoolingMode? {
        guard let code = module.code.values.first(where: { $0.contains("class Pooling") }) else { return nil }
        var modes: [PoolingMode] = []
        if code.contains("cls_token") { modes.append(.cls) }
        if code.contains("max_over_time") { modes.append(.max) }
        if code.contains("sum_embeddings") {
            if code.contains("torch.sqrt(") { modes.append(.meanSqrtLen) }
            else if code.contains("torch.arange(") { modes.append(.weightedMean) }
            else { modes.append(.mean) }
        }
        return modes.count == 1 ? modes[0] : nil
    }
}
