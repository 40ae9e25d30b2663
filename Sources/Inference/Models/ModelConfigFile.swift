import OrderedJSON

/// How an OpenSearch `model_config` (or a file holding one) turns into load options. The server
/// reads `model_config` from the registered model; the command line reads a file, which may be any
/// of the three shapes users have at hand:
/// * a register body or the `config.json` OpenSearch publishes beside an artifact zip
///   (`{"name", "version", "model_format", "model_config": {...}}`),
/// * a bare `model_config` (`{"model_type", "embedding_dimension", "all_config", ...}`),
/// * a Hugging Face `config.json` (`{"architectures", "model_type", "hidden_size", ...}`).
extension ModelOptions {
    /// Options from an ML Commons `model_config` object; `all_config` may be the HF config as a
    /// JSON string (as OpenSearch stores it) or as an object.
    public init(modelConfig config: JSON) throws(InferenceError) {
        self.init()
        switch config["all_config"] {
        case .string(let text)?:
            do { encoderConfig = try JSON.parse(text) } catch {
                throw InferenceError("model_config.all_config is not valid JSON: \(error)")
            }
        case .object(let object)?:
            encoderConfig = .object(object)
        case nil, .null?:
            break
        case _?:
            throw InferenceError("model_config.all_config must be the Hugging Face config as a JSON string")
        }
        // ML Commons also accepts LAST_TOKEN and NONE; those leave pooling to the model (or MEAN).
        pooling = config["pooling_mode"]?.stringValue.flatMap(PoolingMode.init(parsing:))
        normalize = config["normalize_result"]?.boolValue
        if let dimension = config["embedding_dimension"], !dimension.isNull {
            guard let value = dimension.intValue, (1...65_536).contains(value) else {
                throw InferenceError("model_config.embedding_dimension must be a whole number from 1 to 65536")
            }
            embeddingDimension = Int(value)
        }
    }

    /// Options from a config file of any of the three shapes, and the `function_name` it names, if any.
    public static func fromConfigFile(_ json: JSON) throws(InferenceError) -> (options: ModelOptions, functionName: String?) {
        guard json.objectValue != nil else { throw InferenceError("a model config file must hold a JSON object") }
        if let modelConfig = json["model_config"] {
            guard modelConfig.objectValue != nil else { throw InferenceError("model_config must be an object") }
            return (try ModelOptions(modelConfig: modelConfig), json["function_name"]?.stringValue?.uppercased())
        }
        if json["all_config"] != nil || json["embedding_dimension"] != nil || json["framework_type"] != nil {
            return (try ModelOptions(modelConfig: json), nil)
        }
        // A Hugging Face config: what `all_config` would hold.
        return (ModelOptions(encoderConfig: json), nil)
    }
}
