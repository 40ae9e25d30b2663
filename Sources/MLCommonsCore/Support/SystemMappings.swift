import Storage

/// Field types of the system indices, as ML Commons maps them (`index-mappings/*.json`): `name`
/// and `description` are analysed text (`name.keyword` exact), ids and states are keywords, and
/// `flat_object` fields hold keywords at every depth. Fields left out are mapped dynamically
/// (strings as text with a `.keyword` sub-field), as OpenSearch would.
extension Indices {
    public static let mappings: [String: IndexMapping] = [
        modelGroup: IndexMapping(fields: text(["name", "description", "backend_roles"]) + keywords(["model_group_id", "access"]) + owner),
        model: IndexMapping(
            fields: text(["name", "description", "model_config.all_config"]) + keywords([
                "algorithm", "model_version", "model_group_id", "model_id", "model_format", "model_state", "planning_worker_nodes",
                "tenant_id", "provisioned_by", "model_content_hash_value", "model_config.model_type", "model_config.framework_type",
                "model_config.pooling_mode", "connector_id", "function_name",
            ]),
            flatObjects: ["model_config.additional_config", "deploy_setting", "rate_limiter", "interface"]),
        task: IndexMapping(fields: text(["error"]) + keywords(["model_id", "task_type", "function_name", "state", "input_type", "output_index", "worker_node"]),
                           flatObjects: ["remote_job"]),
        connector: IndexMapping(fields: text(["name", "description", "backend_roles"]) + keywords(["version", "protocol", "access"]) + owner,
                                flatObjects: ["parameters", "credential", "client_config", "actions"]),
        // Our own indices: ids and states are exact.
        deployAttempts: IndexMapping(fields: keywords(["model_id", "node", "state", "task_id"])),
        placements: IndexMapping(fields: keywords(["model_id", "node_id", "state", "task_id"])),
        nodes: IndexMapping(fields: keywords(["node_id", "name", "status", "roles", "publish_url"])),
    ]

    private static func text(_ names: [String]) -> [String: IndexMapping.FieldType] {
        var fields: [String: IndexMapping.FieldType] = [:]
        for name in names {
            fields[name] = .text
            fields[name + ".keyword"] = .keyword
        }
        return fields
    }

    private static func keywords(_ names: [String]) -> [String: IndexMapping.FieldType] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, IndexMapping.FieldType.keyword) })
    }

    private static var owner: [String: IndexMapping.FieldType] { text(["owner.name", "owner.backend_roles", "owner.roles"]) }
}

private func + (lhs: [String: IndexMapping.FieldType], rhs: [String: IndexMapping.FieldType]) -> [String: IndexMapping.FieldType] {
    lhs.merging(rhs) { _, new in new }
}
