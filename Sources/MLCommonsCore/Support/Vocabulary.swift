/// The system indices of ML Commons; documents keep their field names.
public enum Indices {
    public static let modelGroup = ".plugins-ml-model-group"
    public static let model = ".plugins-ml-model"
    public static let task = ".plugins-ml-task"
    public static let connector = ".plugins-ml-connector"
    public static let config = ".plugins-ml-config"
    /// Our own: persistent and transient cluster settings.
    public static let clusterSettings = ".mlcommons-cluster-settings"
    /// Our own: registrations in flight, so a crash can be rolled back on the next start.
    public static let registrationJournal = ".mlcommons-registration-journal"
    /// Our own: deploy attempts of this node's models, written before loading (crash-loop guard).
    public static let deployAttempts = ".mlcommons-deploy-attempts"
    /// Our own: the nodes sharing the store, with their heartbeats (`ClusterMembership`).
    public static let nodes = ".mlcommons-nodes"
    /// Our own: which node holds which model, one record per model and node (`ModelPlacements`).
    public static let placements = ".mlcommons-model-placements"

    /// Fields whose exact value the store keeps unique per index.
    public static let uniqueFields: [String: [String]] = [modelGroup: ["name"]]
}

public enum FunctionName: String, Sendable, CaseIterable {
    case textEmbedding = "TEXT_EMBEDDING"
    case sparseEncoding = "SPARSE_ENCODING"
    case sparseTokenize = "SPARSE_TOKENIZE"
    case textSimilarity = "TEXT_SIMILARITY"
    case questionAnswering = "QUESTION_ANSWERING"
    case remote = "REMOTE"

    /// Case-insensitive, as ML Commons parses it.
    public init?(parsing text: String) { self.init(rawValue: text.uppercased()) }

    var isSparse: Bool { self == .sparseEncoding || self == .sparseTokenize }
}

public enum ModelFormat: String, Sendable {
    case torchScript = "TORCH_SCRIPT"
    case onnx = "ONNX"

    public init?(parsing text: String) { self.init(rawValue: text.uppercased()) }

    /// The folder name in the artifact layout (`torch_script`, `onnx`).
    var artifactFolder: String { rawValue.lowercased() }
    var fileExtension: String { self == .torchScript ? "pt" : "onnx" }
}

public enum ModelState: String, Sendable {
    case registering = "REGISTERING", registered = "REGISTERED", deploying = "DEPLOYING", deployed = "DEPLOYED"
    case partiallyDeployed = "PARTIALLY_DEPLOYED", undeployed = "UNDEPLOYED", deployFailed = "DEPLOY_FAILED"
    // Deprecated names still read from old documents.
    case uploading = "UPLOADING", uploaded = "UPLOADED", loading = "LOADING", loaded = "LOADED"
    case partiallyLoaded = "PARTIALLY_LOADED", unloaded = "UNLOADED", loadFailed = "LOAD_FAILED"

    /// States in which a model must be undeployed before it can be deleted.
    var blocksDelete: Bool {
        [.deployed, .deploying, .partiallyDeployed, .loaded, .loading, .partiallyLoaded].contains(self)
    }

    /// States after which a restarted node loads the model again.
    var wantsDeployment: Bool {
        [.deployed, .deploying, .partiallyDeployed, .loaded, .loading, .partiallyLoaded].contains(self)
    }
}

public enum TaskState: String, Sendable {
    case created = "CREATED", running = "RUNNING", completed = "COMPLETED", failed = "FAILED"
    case cancelled = "CANCELLED", completedWithError = "COMPLETED_WITH_ERROR"
}

public enum TaskType: String, Sendable {
    case registerModel = "REGISTER_MODEL"
    case deployModel = "DEPLOY_MODEL"
}
