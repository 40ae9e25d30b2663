/// One OpenSearch-provided pretrained model (§10.3 of the API reference).
public struct PretrainedModel: Sendable {
    public let name: String
    public let versions: [String]
    public let formats: [ModelFormat]
    public let function: FunctionName
    /// What the artifact should compute, used when neither the artifact nor `model_config` says.
    public let dimension: Int?
    public let modelType: String?
    public let pooling: String?
    public let normalize: Bool?
    public let spaceType: String?

    /// The artifact folder: `<base>/<name>/<version>/<format>`.
    public func folderURL(base: String, version: String, format: ModelFormat) -> String {
        "\(base.hasSuffix("/") ? String(base.dropLast()) : base)/\(name)/\(version)/\(format.artifactFolder)"
    }

    /// The zip: `<folder>/<name without its first segment, '/'→'_'>-<version>-<format>.zip`.
    public func zipURL(base: String, version: String, format: ModelFormat) -> String {
        let stem = name.split(separator: "/").dropFirst().joined(separator: "_")
        return "\(folderURL(base: base, version: version, format: format))/\(stem)-\(version)-\(format.artifactFolder).zip"
    }
}

/// The catalog ML Commons checks pretrained registrations against. ML Commons downloads it from the
/// artifacts site; we ship it, so a mirror only needs the per-model folders. Versions: every one the
/// site serves: opensearch-py-ml's listing (`pretrained_models_all_versions.json`) and, for the
/// first neural sparse models, 1.0.0 too (the version the 2.11 pretrained-models page links).
public enum PretrainedCatalog {
    public static func find(name: String) -> PretrainedModel? { models.first { $0.name == name } }

    private static func dense(_ short: String, _ versions: [String], dim: Int, type: String, pooling: String, normalize: Bool,
                              space: String, onnx: Bool = true) -> PretrainedModel {
        PretrainedModel(name: "huggingface/sentence-transformers/\(short)", versions: versions,
                        formats: onnx ? [.torchScript, .onnx] : [.torchScript], function: .textEmbedding,
                        dimension: dim, modelType: type, pooling: pooling, normalize: normalize, spaceType: space)
    }

    private static func sparse(_ short: String, _ versions: [String], _ function: FunctionName = .sparseEncoding) -> PretrainedModel {
        PretrainedModel(name: "amazon/neural-sparse/\(short)", versions: versions, formats: [.torchScript], function: function,
                        dimension: nil, modelType: nil, pooling: nil, normalize: nil, spaceType: nil)
    }

    private static func crossEncoder(_ short: String) -> PretrainedModel {
        PretrainedModel(name: "huggingface/cross-encoders/\(short)", versions: ["1.0.0", "1.0.1", "1.0.2"],
                        formats: [.torchScript, .onnx], function: .textSimilarity,
                        dimension: nil, modelType: "bert", pooling: nil, normalize: nil, spaceType: nil)
    }

    public static let models: [PretrainedModel] = [
        dense("all-distilroberta-v1", ["1.0.1", "1.0.2"], dim: 768, type: "roberta", pooling: "MEAN", normalize: true, space: "l2"),
        dense("all-MiniLM-L6-v2", ["1.0.1", "1.0.2"], dim: 384, type: "bert", pooling: "MEAN", normalize: true, space: "l2"),
        dense("all-MiniLM-L12-v2", ["1.0.1", "1.0.2"], dim: 384, type: "bert", pooling: "MEAN", normalize: true, space: "l2"),
        dense("all-mpnet-base-v2", ["1.0.1", "1.0.2"], dim: 768, type: "mpnet", pooling: "MEAN", normalize: true, space: "l2"),
        dense("msmarco-distilbert-base-tas-b", ["1.0.1", "1.0.2", "1.0.3"], dim: 768, type: "distilbert", pooling: "CLS", normalize: false, space: "innerproduct"),
        dense("multi-qa-MiniLM-L6-cos-v1", ["1.0.1", "1.0.2"], dim: 384, type: "bert", pooling: "MEAN", normalize: true, space: "l2"),
        dense("multi-qa-mpnet-base-dot-v1", ["1.0.1", "1.0.2"], dim: 768, type: "mpnet", pooling: "CLS", normalize: false, space: "innerproduct"),
        dense("paraphrase-MiniLM-L3-v2", ["1.0.1", "1.0.2"], dim: 384, type: "bert", pooling: "MEAN", normalize: false, space: "cosinesimil"),
        dense("paraphrase-multilingual-MiniLM-L12-v2", ["1.0.1", "1.0.2"], dim: 384, type: "bert", pooling: "MEAN", normalize: false, space: "cosinesimil"),
        dense("paraphrase-mpnet-base-v2", ["1.0.0", "1.0.1"], dim: 768, type: "mpnet", pooling: "MEAN", normalize: false, space: "cosinesimil"),
        dense("distiluse-base-multilingual-cased-v1", ["1.0.1", "1.0.2"], dim: 512, type: "distilbert", pooling: "MEAN", normalize: false, space: "cosinesimil", onnx: false),
        sparse("opensearch-neural-sparse-encoding-v1", ["1.0.0", "1.0.1"]),
        sparse("opensearch-neural-sparse-encoding-v2-distill", ["1.0.0"]),
        sparse("opensearch-neural-sparse-encoding-doc-v1", ["1.0.0", "1.0.1"]),
        sparse("opensearch-neural-sparse-encoding-doc-v2-distill", ["1.0.0"]),
        sparse("opensearch-neural-sparse-encoding-doc-v2-mini", ["1.0.0"]),
        sparse("opensearch-neural-sparse-encoding-doc-v3-distill", ["1.0.0"]),
        sparse("opensearch-neural-sparse-encoding-doc-v3-gte", ["1.0.0"]),
        sparse("opensearch-neural-sparse-encoding-multilingual-v1", ["1.0.0"]),
        sparse("opensearch-neural-sparse-tokenizer-v1", ["1.0.0", "1.0.1"], .sparseTokenize),
        sparse("opensearch-neural-sparse-tokenizer-multilingual-v1", ["1.0.0"], .sparseTokenize),
        crossEncoder("ms-marco-MiniLM-L-6-v2"),
        crossEncoder("ms-marco-MiniLM-L-12-v2"),
        PretrainedModel(name: "amazon/sentence-highlighting/opensearch-semantic-highlighter-v1", versions: ["1.0.0"],
                        formats: [.torchScript], function: .questionAnswering, dimension: nil,
                        modelType: "sentence_highlighting", pooling: nil, normalize: nil, spaceType: nil),
    ]
}
