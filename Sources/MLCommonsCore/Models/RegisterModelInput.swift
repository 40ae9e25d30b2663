import OrderedJSON
import Security

/// The body of `_register` / `_register_meta` (`MLRegisterModelInput` / `MLRegisterModelMetaInput`).
struct RegisterModelInput: Sendable {
    var name: String
    var function: FunctionName
    var modelGroupID: String?
    var version: String?
    var description: String?
    var format: ModelFormat?
    var url: String?
    var hash: String?
    var modelConfig: JSONObject?
    var customModelID: String?
    var totalChunks: Int?
    var sizeInBytes: Int64?
    /// Stored as given: `is_enabled`, `rate_limiter`, `deploy_setting`, `guardrails`, `interface`.
    var passthrough: JSONObject
    /// `access_mode`, `backend_roles`, `add_all_backend_roles`: used only if a new group is created.
    var groupAccessRequest: JSONObject
    var groupAccess = GroupAccess.everyone
    /// The user group rules apply to (read from the request; the background job has no request).
    var user: Principal?

    /// 10,000 chunks of 10 MB: the most a chunked upload can hold.
    static let maxModelContentBytes = Int64(10_000) * Int64(ModelRegistration.chunkSize)
    static let passthroughFields = ["is_enabled", "rate_limiter", "deploy_setting", "guardrails", "interface"]

    /// Parses and checks the fields every register variant needs.
    static func parse(_ body: JSON?, meta: Bool, settings: EffectiveSettings) throws -> RegisterModelInput {
        guard let object = body?.objectValue, !object.isEmpty else {
            throw MLError.parse(meta ? "Model meta request has empty body" : "Model register request has empty body")
        }
        guard let name = object["name"]?.stringValue, !name.isEmpty else { throw MLError.illegalArgument("model name is null") }
        let functionText = object["function_name"]?.stringValue ?? FunctionName.textEmbedding.rawValue
        guard let function = FunctionName(parsing: functionText) else {
            throw MLError.illegalArgument("Wrong function name")  // ML Commons' wording, exactly
        }
        if function == .remote {
            throw MLError.illegalArgument("Remote models (function_name: remote) are registered with _register and a connector, not by upload")
        }
        guard let formatText = object["model_format"]?.stringValue else { throw MLError.illegalArgument("model format is null") }
        guard let format = ModelFormat(parsing: formatText) else {
            throw MLError.illegalArgument("Wrong model format")
        }
        var input = RegisterModelInput(
            // An empty model_group_id means none (opensearch-py-ml always sends one, "" by default).
            name: name, function: function, modelGroupID: object["model_group_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            version: object["version"]?.scalarText, description: object["description"]?.stringValue, format: format,
            url: object["url"]?.stringValue, hash: object["model_content_hash_value"]?.stringValue?.lowercased(),
            modelConfig: nil, customModelID: object["model_id"]?.stringValue,
            totalChunks: object["total_chunks"]?.intValue.map { Int($0) },
            sizeInBytes: object["model_content_size_in_bytes"]?.intValue,
            passthrough: JSONObject(passthroughFields.compactMap { key in object[key].map { (key: key, value: $0) } }),
            groupAccessRequest: JSONObject(GroupAccess.fields.compactMap { key in object[key].map { (key: key, value: $0) } }))
        if let size = input.sizeInBytes, !(0...maxModelContentBytes).contains(size) {
            throw MLError.illegalArgument("model_content_size_in_bytes must be between 0 and \(maxModelContentBytes), got [\(size)]")
        }
        if let id = input.customModelID { try Identifiers.validateCustomID(id, label: "model_id") }
        let controlEnabled = settings.bool(MLSettings.modelAccessControl)
        input.user = controlEnabled ? Caller.principal : nil
        input.groupAccess = try GroupAccess.forNewGroup(input.groupAccessRequest, controlEnabled: controlEnabled, user: Caller.principal)
        if let config = object["model_config"], !config.isNull {
            input.modelConfig = try ModelConfig.normalize(config, function: function)
        } else if (input.url != nil || meta) && !function.isSparse {
            throw MLError.illegalArgument("model config is null")
        }
        if let enabled = object["is_enabled"], enabled.boolValue == nil {
            throw MLError.parse("is_enabled must be a boolean")
        }
        if meta {
            guard input.hash != nil else { throw MLError.illegalArgument("model content hash value is null") }
            guard let chunks = input.totalChunks else { throw MLError.illegalArgument("total chunks field is null") }
            guard chunks > 0 && chunks <= 10_000 else { throw MLError.illegalArgument("total_chunks must be between 1 and 10000") }
        }
        return input
    }
}
