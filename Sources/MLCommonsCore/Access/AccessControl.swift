import OrderedJSON
import Security
import Storage

/// Where ML Commons' per-resource rules (§8, module `Security`) meet the request's user
/// (`Caller.principal`) and the settings that switch them on. Every check passes when there is no
/// user or the setting is off, as ML Commons without the security plugin.
struct AccessControl: Sendable {
    let store: any DocumentStore
    let settings: ClusterSettings

    /// The user model-group rules apply to: nil without a user or with `model_access_control_enabled` off.
    func modelUser() async throws -> Principal? {
        guard let user = Caller.principal else { return nil }
        return try await settings.current().bool(MLSettings.modelAccessControl) ? user : nil
    }

    /// The user connector rules apply to: nil without a user or with `connector_access_control_enabled` off.
    func connectorUser() async throws -> Principal? {
        guard let user = Caller.principal else { return nil }
        return try await settings.current().bool(MLSettings.connectorAccessControl) ? user : nil
    }

    // MARK: - Models and their groups

    /// Checks an operation on a model against its group. A model that does not exist passes: the
    /// operation answers its own "not found".
    func checkModel(_ modelID: String, _ operation: ModelGroupAccess.Operation) async throws {
        guard let user = try await modelUser(), let model = try await ModelRepository(store: store).meta(modelID) else { return }
        try await checkModel(model.source, operation, user: user)
    }

    func checkModel(_ model: JSONObject, _ operation: ModelGroupAccess.Operation, user: Principal?) async throws {
        guard let user else { return }
        let groupID = model["model_group_id"]?.stringValue
        if let denial = ModelGroupAccess.denial(modelGroupID: groupID, group: try await group(groupID), principal: user, operation: operation) {
            throw denial
        }
    }

    /// Whether `user` may use a model (search-like answers leave out the rest).
    func mayUse(_ model: JSONObject, user: Principal) async throws -> Bool {
        let groupID = model["model_group_id"]?.stringValue
        return ModelGroupAccess.denial(modelGroupID: groupID, group: try await group(groupID), principal: user, operation: .model) == nil
    }

    private func group(_ id: String?) async throws -> JSONObject? {
        guard let id, !id.isEmpty else { return nil }
        return try await store.get(index: Indices.modelGroup, id: id)?.source
    }

    /// A group operation: a group that is gone while it is checked is ML Commons' 500 "Fail to find model group".
    func checkGroup(_ group: StoredDocument?, _ operation: ModelGroupAccess.Operation, user: Principal?) throws {
        guard let user else { return }
        guard let group else { throw SecurityError(status: 500, type: "m_l_resource_not_found_exception", reason: "Fail to find model group") }
        if !ModelGroupAccess.permits(group.source, principal: user) { throw ModelGroupAccess.denied(operation) }
    }

    /// The model-search filter: models in a group the user may see, or in none (legacy models).
    /// The visible groups are read first (as ML Commons does) and their ids go into the query.
    func modelSearchFilter() async throws -> Query? {
        guard let user = try await modelUser(), let visibleGroups = ResourceVisibility.filter(principal: user) else { return nil }
        let ids = try await store.all(index: Indices.modelGroup, query: visibleGroups).map { JSON.string($0.id) }
        return .bool(BoolQuery(should: [.not(.exists(field: "model_group_id")), .terms(field: "model_group_id", values: ids)],
                               minimumShouldMatch: 1))
    }

    // MARK: - Connectors

    func checkConnector(_ connector: StoredDocument, _ operation: ConnectorAccess.Operation) async throws {
        guard let user = try await connectorUser() else { return }
        if !ModelGroupAccess.permits(connector.source, principal: user) { throw ConnectorAccess.denied(operation, connectorID: connector.id) }
    }
}
