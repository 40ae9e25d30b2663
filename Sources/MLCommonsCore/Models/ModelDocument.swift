import OrderedJSON

/// Field order of a model document on the wire (`MLModel.toXContent`); unknown fields go last.
enum ModelDocument {
    static let fieldOrder = [
        "name", "model_group_id", "algorithm", "model_version", "model_content", "user", "description", "model_format",
        "model_state", "model_content_size_in_bytes", "model_content_hash_value", "model_config", "deploy_setting",
        "is_enabled", "is_controller_enabled", "rate_limiter", "created_time", "last_updated_time", "last_registered_time",
        "last_deployed_time", "last_undeployed_time", "model_id", "auto_redeploy_retry_times", "chunk_number", "total_chunks",
        "planning_worker_node_count", "current_worker_node_count", "planning_worker_nodes", "deploy_to_all_nodes", "is_hidden",
        "connector", "connector_id", "guardrails", "interface", "tenant_id",
    ]

    static let configFieldOrder = [
        "model_type", "embedding_dimension", "framework_type", "pooling_mode", "normalize_result", "model_max_length",
        "query_prefix", "passage_prefix", "all_config", "additional_config",
    ]

    static func ordered(_ source: JSONObject, by order: [String] = fieldOrder) -> JSONObject {
        var result = JSONObject()
        for key in order { if let value = source[key] { result[key] = value } }
        for (key, value) in source where result[key] == nil { result[key] = value }
        return result
    }

    /// Chunk documents are `<model_id>_<n>` and carry `chunk_number`.
    static func chunkID(_ modelID: String, _ number: Int) -> String { "\(modelID)_\(number)" }

    static let isChunk = Query.exists(field: "chunk_number")

    static func chunks(of modelID: String) -> Query {
        .and(.term("model_id", .string(modelID)), isChunk, .not(.ids([modelID])))
    }

    /// Fields of the meta document a chunk repeats.
    static func chunkSource(meta: JSONObject, modelID: String, number: Int, total: Int) -> JSONObject {
        var chunk = JSONObject()
        for key in ["name", "algorithm", "model_version", "model_format", "rate_limiter", "is_enabled", "guardrails", "interface"] {
            if let value = meta[key] { chunk[key] = value }
        }
        let now = nowMillis()
        chunk["model_id"] = .string(modelID)
        chunk["chunk_number"] = .int(Int64(number))
        chunk["total_chunks"] = .int(Int64(total))
        chunk["created_time"] = .int(now)
        chunk["last_updated_time"] = .int(now)
        chunk["is_hidden"] = false
        return ordered(chunk)
    }
}

import Storage

/// Validates and normalises `model_config` as ML Commons does for the model's function.
enum ModelConfig {
    static let frameworkTypes = ["SENTENCE_TRANSFORMERS", "HUGGINGFACE_TRANSFORMERS", "HUGGINGFACE_TRANSFORMERS_NEURON"]
    static let poolingModes = ["MEAN", "MEAN_SQRT_LEN", "MAX", "WEIGHTED_MEAN", "CLS", "LAST_TOKEN", "NONE"]

    static func normalize(_ config: JSON, function: FunctionName) throws -> JSONObject {
        guard var object = config.objectValue else { throw MLError.parse("model_config must be an object") }
        if let framework = object["framework_type"]?.stringValue {
            guard frameworkTypes.contains(framework.uppercased()) else {
                throw MLError.illegalArgument("Wrong framework type")
            }
            object["framework_type"] = .string(framework.uppercased())
        }
        if let pooling = object["pooling_mode"]?.stringValue {
            guard poolingModes.contains(pooling.uppercased()) else {
                throw MLError.illegalArgument("Wrong pooling method")
            }
            object["pooling_mode"] = .string(pooling.uppercased())
        }
        if let all = object["all_config"], all.stringValue == nil, !all.isNull { object["all_config"] = .string(all.serialized) }
        if object["normalize_result"]?.boolValue == false { object["normalize_result"] = nil }
        if function == .textEmbedding {
            guard object["embedding_dimension"]?.intValue != nil else { throw MLError.illegalArgument("embedding dimension is null") }
            guard object["framework_type"] != nil else { throw MLError.illegalArgument("framework type is null") }
            object["embedding_dimension"] = .int(object["embedding_dimension"]!.intValue!)
        }
        return ModelDocument.ordered(object, by: ModelDocument.configFieldOrder)
    }
}
