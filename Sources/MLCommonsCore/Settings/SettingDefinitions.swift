import Foundation
import Inference
import Connectors
import OrderedJSON

/// One `plugins.ml_commons.*` cluster setting: its type, default and allowed range.
public struct SettingDefinition: Sendable {
    public enum Kind: Sendable {
        case bool
        case int(ClosedRange<Int64>)
        case string
        case stringList
        case byteSize
    }

    public let key: String
    public let kind: Kind
    public let defaultValue: JSON

    /// Normalises a value given by a client (`"true"`, `1`, `["a"]`, …) or explains why it is invalid.
    func validate(_ value: JSON) throws -> JSON {
        switch kind {
        case .bool:
            if let b = value.boolValue { return .bool(b) }
            if let text = value.stringValue, ["true", "false"].contains(text) { return .bool(text == "true") }
            throw MLError.illegalArgument("Failed to parse value [\(value.scalarText ?? value.serialized)] as only [true] or [false] are allowed.")
        case .int(let range):
            guard let number = value.intValue else {
                throw MLError.illegalArgument("Failed to parse value [\(value.scalarText ?? value.serialized)] for setting [\(key)]")
            }
            guard range.contains(number) else {
                throw MLError.illegalArgument("Failed to parse value [\(number)] for setting [\(key)] must be \(number < range.lowerBound ? ">= \(range.lowerBound)" : "<= \(range.upperBound)")")
            }
            return .int(number)
        case .string:
            guard let text = value.scalarText else { throw MLError.illegalArgument("setting [\(key)] expects a string") }
            return .string(text)
        case .stringList:
            if let items = value.arrayValue { return .array(items.compactMap(\.scalarText).map(JSON.string)) }
            if let text = value.scalarText { return .array(text.split(separator: ",").map { .string(String($0)) }) }
            throw MLError.illegalArgument("setting [\(key)] expects a list of strings")
        case .byteSize:
            guard let text = value.scalarText, ByteSize.parse(text) != nil else {
                throw MLError.illegalArgument("failed to parse setting [\(key)] with value [\(value.scalarText ?? "")] as a size in bytes: unit is missing or unrecognized")
            }
            return .string(text)
        }
    }
}

enum ByteSize {
    /// Parses `5gb`, `512mb`, `100b`, `0`.
    static func parse(_ text: String) -> Int64? {
        let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("pb", 1 << 50), ("tb", 1 << 40), ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            // Finite, non-negative and below 2^63 bytes, or the conversion to Int64 would trap.
            guard let number = Double(lower.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)),
                  number.isFinite, number >= 0 else { return nil }
            let bytes = number * Double(factor)
            guard bytes < 9.2e18 else { return nil }
            return Int64(bytes)
        }
        return lower == "0" || lower == "-1" ? Int64(lower) : nil
    }
}


/// The settings ML Commons defines, with its code defaults (`MLCommonsSettings.java`), plus ours.
public enum MLSettings {
    public static let prefix = "plugins.ml_commons."
    public static let defaultArtifactsBaseURL = "https://artifacts.opensearch.org/models/ml-models"
    static let defaultTrustedURLRegex = #"^(https?|ftp|file)://[-a-zA-Z0-9+&@#/%?=~_|!:,.;]*[-a-zA-Z0-9+&@#/%=~_|]"#

    public static let onlyRunOnMLNode = "only_run_on_ml_node"
    public static let allowModelURL = "allow_registering_model_via_url"
    public static let allowLocalFile = "allow_registering_model_via_local_file"
    public static let trustedURLRegex = "trusted_url_regex"
    public static let localModelEnabled = "local_model.enabled"
    public static let remoteInferenceEnabled = "remote_inference.enabled"
    public static let modelAccessControl = "model_access_control_enabled"
    public static let maxModelOnNode = "max_model_on_node"
    public static let maxRegisterTasks = "max_register_model_tasks_per_node"
    public static let maxDeployTasks = "max_deploy_model_tasks_per_node"
    public static let allowCustomDeploymentPlan = "allow_custom_deployment_plan"
    public static let autoRedeploy = "model_auto_redeploy.enable"
    public static let lifetimeRetryTimes = "model_auto_redeploy.lifetime_retry_times"
    public static let nativeMemoryThreshold = "native_memory_threshold"
    public static let jvmHeapMemoryThreshold = "jvm_heap_memory_threshold"
    public static let diskFreeSpaceThreshold = "disk_free_space_threshold"
    public static let artifactsBaseURL = "artifacts_base_url"
    public static let maxDownloadBytes = "max_model_download_bytes"
    public static let allowPrivateModelURL = "allow_private_model_url"
    public static let downloadConnectTimeout = "model_download.connect_timeout_seconds"
    public static let downloadIdleTimeout = "model_download.idle_timeout_seconds"
    public static let downloadTotalTimeout = "model_download.total_timeout_seconds"
    public static let maxModelMemoryBytes = "max_model_memory_bytes"
    public static let inferenceThreads = "native.inference_threads"
    public static let batchTokenBudget = "native.batch_token_budget"
    public static let maxQueuedRequests = "native.max_queued_requests"
    public static let maxTextDocsPerRequest = "native.max_text_docs_per_request"
    public static let maxTextLength = "native.max_text_length"
    // Remote models (connectors, controllers).
    public static let trustedConnectorEndpoints = "trusted_connector_endpoints_regex"
    public static let trustedConnectorPrivateEndpoints = "trusted_connector_private_endpoints_regex"
    public static let connectorPrivateIPEnabled = "connector.private_ip_enabled"
    public static let connectorAccessControl = "connector_access_control_enabled"
    public static let controllerEnabled = "controller_enabled"
    public static let modelAutoDeploy = "model_auto_deploy.enable"

    public static let definitions: [SettingDefinition] = [
        .init(key: onlyRunOnMLNode, kind: .bool, defaultValue: true),
        .init(key: "task_dispatch_policy", kind: .string, defaultValue: "round_robin"),
        .init(key: maxModelOnNode, kind: .int(0...10_000), defaultValue: 10),
        .init(key: maxRegisterTasks, kind: .int(0...10), defaultValue: 10),
        .init(key: maxDeployTasks, kind: .int(0...10), defaultValue: 10),
        .init(key: "max_ml_task_per_node", kind: .int(0...10_000), defaultValue: 10),
        .init(key: "sync_up_job_interval_in_seconds", kind: .int(0...86_400), defaultValue: 10),
        .init(key: "ml_task_timeout_in_seconds", kind: .int(1...86_400), defaultValue: 600),
        .init(key: "monitoring_request_count", kind: .int(0...10_000_000), defaultValue: 100),
        .init(key: nativeMemoryThreshold, kind: .int(0...100), defaultValue: 90),
        .init(key: jvmHeapMemoryThreshold, kind: .int(0...100), defaultValue: 85),
        .init(key: diskFreeSpaceThreshold, kind: .byteSize, defaultValue: "5gb"),
        .init(key: "exclude_nodes._name", kind: .string, defaultValue: ""),
        .init(key: allowCustomDeploymentPlan, kind: .bool, defaultValue: false),
        .init(key: "model_auto_deploy.enable", kind: .bool, defaultValue: true),
        .init(key: autoRedeploy, kind: .bool, defaultValue: true),
        .init(key: lifetimeRetryTimes, kind: .int(0...100), defaultValue: 3),
        .init(key: "model_auto_redeploy_success_ratio", kind: .string, defaultValue: "0.8"),
        .init(key: allowModelURL, kind: .bool, defaultValue: false),
        .init(key: allowLocalFile, kind: .bool, defaultValue: false),
        .init(key: trustedURLRegex, kind: .string, defaultValue: .string(defaultTrustedURLRegex)),
        .init(key: remoteInferenceEnabled, kind: .bool, defaultValue: true),
        .init(key: localModelEnabled, kind: .bool, defaultValue: true),
        .init(key: modelAccessControl, kind: .bool, defaultValue: false),
        .init(key: "connector_access_control_enabled", kind: .bool, defaultValue: false),
        .init(key: "trusted_connector_endpoints_regex", kind: .stringList, defaultValue: JSON(EndpointPolicy.defaultTrustedEndpointsRegex)),
        .init(key: "trusted_connector_private_endpoints_regex", kind: .stringList, defaultValue: []),
        .init(key: "connector.private_ip_enabled", kind: .bool, defaultValue: false),
        .init(key: "connector.restricted_ip_patterns", kind: .stringList, defaultValue: []),
        .init(key: "task_dispatcher.eligible_node_role.local_model", kind: .stringList, defaultValue: ["data", "ml"]),
        .init(key: "task_dispatcher.eligible_node_role.remote_model", kind: .stringList, defaultValue: ["data", "ml"]),
        .init(key: "controller_enabled", kind: .bool, defaultValue: true),
        .init(key: "safe_delete_model", kind: .bool, defaultValue: false),
        .init(key: "enable_inhouse_python_model", kind: .bool, defaultValue: false),
        .init(key: "offline_batch_inference_enabled", kind: .bool, defaultValue: true),
        .init(key: "offline_batch_ingestion_enabled", kind: .bool, defaultValue: true),
        .init(key: "max_batch_inference_tasks", kind: .int(0...10_000), defaultValue: 100),
        .init(key: "max_batch_ingestion_tasks", kind: .int(0...10_000), defaultValue: 100),
        .init(key: "max_json_size", kind: .int(0...Int64(Int32.max)), defaultValue: 100_000_000),
        .init(key: "stream_enabled", kind: .bool, defaultValue: false),
        .init(key: "agent_framework_enabled", kind: .bool, defaultValue: true),
        .init(key: "memory_feature_enabled", kind: .bool, defaultValue: true),
        .init(key: "rag_pipeline_feature_enabled", kind: .bool, defaultValue: true),
        // Ours: where pretrained artifacts come from, and the largest artifact a download may bring.
        .init(key: artifactsBaseURL, kind: .string, defaultValue: .string(defaultArtifactsBaseURL)),
        .init(key: maxDownloadBytes, kind: .int(1...(Int64(1) << 42)), defaultValue: .int(Int64(4) << 30)),
        // Ours: model downloads (docs/hardening-outbound.md): private addresses, and timeouts.
        .init(key: allowPrivateModelURL, kind: .bool, defaultValue: false),
        .init(key: downloadConnectTimeout, kind: .int(1...3_600), defaultValue: 10),
        .init(key: downloadIdleTimeout, kind: .int(1...86_400), defaultValue: 30),
        .init(key: downloadTotalTimeout, kind: .int(1...604_800), defaultValue: 3_600),
        .init(key: maxModelMemoryBytes, kind: .int(0...(Int64(1) << 50)), defaultValue: 0),
        // Ours: the native engine's worker threads (0: one per core), the tokens one forward pass may
        // batch across requests, and the requests a model's queue holds before answering 429.
        .init(key: inferenceThreads, kind: .int(0...1024), defaultValue: 0),
        .init(key: batchTokenBudget, kind: .int(16...1_048_576), defaultValue: .int(Int64(TextEmbedder.defaultBatchTokens))),
        .init(key: maxQueuedRequests, kind: .int(1...1_000_000), defaultValue: 1024),
        // Ours: the texts one predict request may send to a local model, and their length (characters).
        .init(key: maxTextDocsPerRequest, kind: .int(1...100_000), defaultValue: 1_000),
        .init(key: maxTextLength, kind: .int(1...(64 << 20)), defaultValue: 100_000),
    ]

    static let byKey: [String: SettingDefinition] = Dictionary(definitions.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
}
