import OrderedJSON

/// The encoder families the engine runs. They share one block structure (self-attention, then a
/// feed-forward layer, each closed by a residual layer norm) and differ in weight names, position
/// ids, token types and, for MPNet, a relative-position attention bias.
public enum EncoderFamily: String, Sendable {
    case bert, roberta, distilbert, mpnet

    /// From `model_type` of a Hugging Face config.
    init?(modelType: String) {
        switch modelType {
        case "bert": self = .bert
        case "roberta", "xlm-roberta", "camembert": self = .roberta
        case "distilbert": self = .distilbert
        case "mpnet": self = .mpnet
        default: return nil
        }
    }

    /// Position ids start after the padding index and skip padding tokens (RoBERTa, XLM-R, MPNet).
    var offsetsPositions: Bool { self == .roberta || self == .mpnet }
    var hasTokenTypes: Bool { self == .bert || self == .roberta }

    struct LayerNames {
        let query, key, value, attentionOut, attentionNorm, intermediate, output, outputNorm: String
    }

    func layerNames(_ i: Int) -> LayerNames {
        switch self {
        case .bert, .roberta:
            let p = "encoder.layer.\(i)."
            return LayerNames(query: p + "attention.self.query", key: p + "attention.self.key", value: p + "attention.self.value",
                              attentionOut: p + "attention.output.dense", attentionNorm: p + "attention.output.LayerNorm",
                              intermediate: p + "intermediate.dense", output: p + "output.dense", outputNorm: p + "output.LayerNorm")
        case .distilbert:
            let p = "transformer.layer.\(i)."
            return LayerNames(query: p + "attention.q_lin", key: p + "attention.k_lin", value: p + "attention.v_lin",
                              attentionOut: p + "attention.out_lin", attentionNorm: p + "sa_layer_norm",
                              intermediate: p + "ffn.lin1", output: p + "ffn.lin2", outputNorm: p + "output_layer_norm")
        case .mpnet:
            let p = "encoder.layer.\(i)."
            return LayerNames(query: p + "attention.attn.q", key: p + "attention.attn.k", value: p + "attention.attn.v",
                              attentionOut: p + "attention.attn.o", attentionNorm: p + "attention.LayerNorm",
                              intermediate: p + "intermediate.dense", output: p + "output.dense", outputNorm: p + "output.LayerNorm")
        }
    }
}

/// The shape of an encoder, from the Hugging Face `config.json` (DistilBERT's own key names included).
public struct EncoderConfig: Sendable {
    public let family: EncoderFamily
    public let modelType: String
    public let hiddenSize: Int
    public let heads: Int
    public let layers: Int
    public let intermediateSize: Int
    public let maxPositions: Int
    public let layerNormEpsilon: Float
    public let paddingID: Int32
    public let relativeBuckets: Int

    public init(json: JSON) throws {
        modelType = json["model_type"]?.stringValue ?? "bert"
        guard let family = EncoderFamily(modelType: modelType) else {
            throw WeightError("model_type \(modelType) is not supported (supported: bert, distilbert, roberta, xlm-roberta, mpnet)")
        }
        self.family = family
        // Every size is range-checked before it is used: they size allocations and pointer steps later.
        func int(_ keys: String..., default fallback: Int? = nil, in range: ClosedRange<Int>) throws -> Int {
            var found: (key: String, value: JSON)?
            for key in keys { if let value = json[key], !value.isNull { found = (key, value); break } }
            guard let found else {
                guard let fallback else { throw WeightError("config.json has no \(keys.joined(separator: " / "))") }
                return fallback
            }
            guard let value = found.value.intValue, range.contains(Int(value)) else {
                throw WeightError("config.json \(found.key) is \(found.value.serialized); it must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return Int(value)
        }
        let limits = EncoderConfig.self
        hiddenSize = try int("hidden_size", "dim", in: 1...limits.maxHiddenSize)
        heads = try int("num_attention_heads", "n_heads", in: 1...limits.maxHeads)
        layers = try int("num_hidden_layers", "n_layers", in: 1...limits.maxLayers)
        intermediateSize = try int("intermediate_size", "hidden_dim", in: 1...limits.maxIntermediateSize)
        maxPositions = try int("max_position_embeddings", default: 512, in: 1...limits.maxPositions)
        let epsilon = json["layer_norm_eps"]?.doubleValue ?? 1e-12
        guard epsilon.isFinite, epsilon >= 0, epsilon < 1 else { throw WeightError("config.json layer_norm_eps is \(epsilon); it must be in [0, 1)") }
        layerNormEpsilon = Float(epsilon)
        paddingID = Int32(try int("pad_token_id", default: family.offsetsPositions ? 1 : 0, in: 0...Int(Int32.max)))
        // MPNet's buckets: at least 4, so the logarithmic buckets have a base (see RelativePositions).
        relativeBuckets = try int("relative_attention_num_buckets", default: 32, in: 4...limits.maxRelativeBuckets)
        let activation = json["hidden_act"]?.stringValue ?? json["activation"]?.stringValue ?? "gelu"
        guard activation == "gelu" else { throw WeightError("activation \(activation) is not supported; only the exact erf GELU (\"gelu\")") }
        guard hiddenSize % heads == 0 else { throw WeightError("hidden size \(hiddenSize) is not a multiple of the \(heads) attention heads") }
    }
}

extension EncoderConfig {
    /// Bounds on `config.json` (far above any released encoder; docs/hardening-files.md).
    public static let maxHiddenSize = 16_384
    public static let maxHeads = 256
    public static let maxLayers = 128
    public static let maxIntermediateSize = 65_536
    public static let maxPositions = 16_384
    public static let maxRelativeBuckets = 1_024
}
