/// The reserved roles the security plugin ships for ML Commons, served from code and never stored.
public enum BuiltInRoles {
    public static let allAccess = "all_access"
    public static let mlFullAccess = "ml_full_access"
    public static let mlReadonlyAccess = "ml_readonly_access"
    /// The security plugin's own name for the read-only ML role; the same actions as `ml_readonly_access`.
    public static let mlReadAccess = "ml_read_access"

    /// `ml_read_access` of the security plugin's `roles.yml` (OpenSearch 3.x), action for action.
    public static let mlReadActions: [String] = [
        "cluster:admin/opensearch/ml/config/get",
        "cluster:admin/opensearch/ml/connectors/get",
        "cluster:admin/opensearch/ml/connectors/search",
        "cluster:admin/opensearch/ml/controllers/get",
        "cluster:admin/opensearch/ml/memory/conversation/get",
        "cluster:admin/opensearch/ml/memory/conversation/interaction/search",
        "cluster:admin/opensearch/ml/memory/conversation/list",
        "cluster:admin/opensearch/ml/memory/conversation/search",
        "cluster:admin/opensearch/ml/memory/interaction/get",
        "cluster:admin/opensearch/ml/memory/interaction/list",
        "cluster:admin/opensearch/ml/memory/trace/get",
        "cluster:admin/opensearch/ml/model_groups/get",
        "cluster:admin/opensearch/ml/model_groups/search",
        "cluster:admin/opensearch/ml/models/get",
        "cluster:admin/opensearch/ml/models/search",
        "cluster:admin/opensearch/ml/profile/nodes",
        "cluster:admin/opensearch/ml/stats/nodes",
        "cluster:admin/opensearch/ml/tasks/get",
        "cluster:admin/opensearch/ml/tasks/search",
        "cluster:admin/opensearch/ml/tools/get",
        "cluster:admin/opensearch/ml/tools/list",
    ]

    public static let all: [Role] = [
        Role(name: allAccess, clusterPermissions: ["*"], description: "Allow full access to all indices and all cluster APIs", reserved: true),
        Role(name: mlFullAccess, clusterPermissions: ["cluster:admin/opensearch/ml/*", "cluster_monitor"],
             description: "Allows users to use all ML functionality", reserved: true),
        Role(name: mlReadonlyAccess, clusterPermissions: mlReadActions,
             description: "Allows users to read ML stats, models, model groups, tasks, connectors and controllers", reserved: true),
        Role(name: mlReadAccess, clusterPermissions: mlReadActions,
             description: "Allow users to read ML stats/models/tasks", reserved: true),
    ]

    public static func role(named name: String) -> Role? { all.first { $0.name == name } }

    /// The security plugin's static action groups that built-in roles use, as patterns.
    static let actionGroups: [String: [String]] = [
        "cluster_all": ["cluster:*"],
        "cluster_monitor": ["cluster:monitor/*"],
    ]
}
