import Connectors
import Foundation
import OrderedJSON
import Security
import Storage

/// The connectors API (§6.2–6.3): connectors are stored in `.plugins-ml-connector` with their
/// credential values encrypted, and no answer ever carries the `credential` object.
struct ConnectorService: Sendable {
    let context: CoreContext
    let runtime: RemoteRuntime
    let deployed: DeployedModels

    static let fieldOrder = [
        "name", "version", "description", "protocol", "parameters", "credential", "actions", "backend_roles", "owner",
        "access", "created_time", "last_updated_time", "client_config", "tenant_id",
    ]
    static let accessFields = ["access_mode", "backend_roles", "add_all_backend_roles"]

    // MARK: - Create

    func create(_ body: JSON?) async throws -> JSON {
        guard let object = body?.objectValue, !object.isEmpty else { throw MLError.parse("Create connector request has empty body") }
        let settings = try await context.settings.current()
        let user = try await context.access.connectorUser()
        let access = try user.map { try ConnectorAccessFields.validated(object, user: $0) }
        if user == nil { try checkAccessFields(object, settings: settings) }
        let definition = try connectorCall { () throws(ConnectorError) in try ConnectorDefinition(json: .object(object)) }
        try connectorCall { () throws(ConnectorError) in try RemoteRuntime.endpointPolicy(settings).checkTrusted(connector: definition) }
        if object["dry_run"]?.boolValue == true { return ["connector_id": "dryRunConnector"] }
        let customID = object["connector_id"]?.stringValue
        if let customID { try Identifiers.validateCustomID(customID, label: "connector_id") }
        var source = try storedSource(definition)
        if let user, let access { ConnectorAccessFields.write(mode: access.mode, backendRoles: access.backendRoles, owner: user.ownerJSON, into: &source) }
        let now = nowMillis()
        source["created_time"] = .int(now)
        source["last_updated_time"] = .int(now)
        let id = customID ?? Identifiers.newID()
        do {
            try await context.store.put(index: Indices.connector, id: id, source: ModelDocument.ordered(source, by: Self.fieldOrder),
                                        condition: .mustNotExist)
        } catch StoreError.versionConflict {
            throw MLError(status: 409, type: "status_exception", reason: "Connector '\(id)' already exists")
        }
        context.logger.info("connector \(id) created (\(definition.protocol.rawValue), \(definition.actions.count) action(s))")
        return ["connector_id": .string(id)]
    }

    private func checkAccessFields(_ object: JSONObject, settings: EffectiveSettings) throws {
        guard Self.accessFields.contains(where: { object[$0] != nil }) else { return }
        if !settings.bool(MLSettings.connectorAccessControl) {
            throw MLError.illegalArgument("You cannot specify connector access control parameters because the Security plugin or connector access control is disabled on your cluster.")
        }
    }

    /// The stored form of a connector: its JSON with credential values encrypted.
    func storedSource(_ definition: ConnectorDefinition) throws -> JSONObject {
        let encrypted = try connectorCall { () throws(ConnectorError) in try runtime.cipher.encrypt(definition.credential) }
        return definition.json(credential: encrypted).objectValue ?? [:]
    }

    // MARK: - Read

    func get(_ id: String) async throws -> JSON {
        guard let document = try await context.store.get(index: Indices.connector, id: id) else {
            if try await !context.store.indexExists(Indices.connector) { throw MLError.status(404, "Failed to find connector") }
            throw MLError.status(404, "Failed to find connector with the provided connector id: \(id)")
        }
        try await context.access.checkConnector(document, .get)
        var source = document.source
        source["credential"] = nil
        return .object(source)
    }

    /// With connector access control ON, the query is ANDed with what the user may see.
    func search(_ request: SearchRequest) async throws -> SearchHits {
        var request = request
        request.query = ResourceVisibility.restrict(request.query, principal: try await context.access.connectorUser())
        request.source = request.source.excluding(["credential"])
        return try await context.store.search(index: Indices.connector, request: request)
    }

    /// A stored connector (stand-alone or inline) as a definition with plain-text credential values.
    func definition(stored object: JSONObject) throws -> ConnectorDefinition {
        var plain = object
        if let credential = object["credential"]?.objectValue {
            var values: [String: String] = [:]
            for (key, value) in credential { values[key] = value.stringValue ?? "" }
            let decrypted = try connectorCall { () throws(ConnectorError) in try runtime.cipher.decrypt(values) }
            plain["credential"] = .object(JSONObject(decrypted.map { (key: $0.key, value: JSON.string($0.value)) }))
        }
        return try connectorCall { () throws(ConnectorError) in try ConnectorDefinition(json: .object(plain)) }
    }

    /// A remote model may name only a connector the user may use (missing ones fail elsewhere).
    func checkUse(_ id: String) async throws {
        guard let document = try await context.store.get(index: Indices.connector, id: id) else { return }
        try await context.access.checkConnector(document, .use)
    }

    func definition(id: String) async throws -> ConnectorDefinition {
        guard let document = try await context.store.get(index: Indices.connector, id: id) else {
            throw MLError.status(404, "Failed to find connector with the provided connector id: \(id)")
        }
        return try definition(stored: document.source)
    }

    // MARK: - Update and delete

    func update(_ id: String, body: JSON?) async throws -> WriteResult {
        guard let changes = body?.objectValue, !changes.isEmpty else { throw MLError.parse("Update connector request has empty body") }
        let settings = try await context.settings.current()
        let user = try await context.access.connectorUser()
        if user == nil { try checkAccessFields(changes, settings: settings) }
        guard let document = try await context.store.get(index: Indices.connector, id: id) else {
            throw MLError.status(404, "Failed to find connector with the provided connector id: \(id)")
        }
        try await context.access.checkConnector(document, .update)
        // Under access control the access fields can change, by the owner or an admin only.
        let newAccess = try user.flatMap { user throws -> (mode: String, backendRoles: [String])? in
            guard GroupAccess.touchesAccess(changes) else { return nil }
            guard ModelGroupAccess.mayChangeAccess(document.source, principal: user) else { throw ModelGroupAccess.changeAccessDenied }
            return try ConnectorAccessFields.validated(changes, user: user)
        }
        let users = try await modelsUsing(id)
        var deployedUsers: [String] = []
        for model in users where await deployed.contains(model.id) || context.models.state(of: model)?.wantsDeployment == true {
            deployedUsers.append(model.id)
        }
        if !deployedUsers.isEmpty {
            throw MLError.illegalArgument("\(deployedUsers.count) models are still using this connector, please undeploy the models first: [\(deployedUsers.joined(separator: ", "))]")
        }
        let current = try definition(stored: document.source)
        var merged = current.json(credential: current.credential).objectValue ?? [:]
        for key in ["name", "description", "version", "protocol", "actions", "client_config"] {
            if let value = changes[key] { merged[key] = value }
        }
        if let parameters = changes["parameters"]?.objectValue {
            var all = merged["parameters"]?.objectValue ?? [:]
            for (key, value) in parameters { all[key] = value }
            merged["parameters"] = .object(all)
        }
        if let credential = changes["credential"]?.objectValue, !credential.isEmpty { merged["credential"] = .object(credential) }
        let updated = try connectorCall { () throws(ConnectorError) in try ConnectorDefinition(json: .object(merged)) }
        try connectorCall { () throws(ConnectorError) in try RemoteRuntime.endpointPolicy(settings).checkTrusted(connector: updated) }
        try Self.checkCredentialFollowsHost(current: current, updated: updated, changes: changes)
        var source = try storedSource(updated)
        for key in ["backend_roles", "owner", "access", "created_time", "tenant_id"] { source[key] = document.source[key] }
        if let newAccess { ConnectorAccessFields.write(mode: newAccess.mode, backendRoles: newAccess.backendRoles, owner: nil, into: &source) }
        source["last_updated_time"] = .int(nowMillis())
        let stored = try await context.store.put(index: Indices.connector, id: id, source: ModelDocument.ordered(source, by: Self.fieldOrder),
                                                 condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))
        return WriteResult(index: Indices.connector, id: id, version: stored.version, seqNo: stored.seqNo,
                           primaryTerm: stored.primaryTerm, outcome: .updated)
    }

    /// A stored key was given for the hosts the connector called then: an update that sends any
    /// action to another origin (scheme, host or port) must bring the credential again.
    static func checkCredentialFollowsHost(current: ConnectorDefinition, updated: ConnectorDefinition, changes: JSONObject) throws {
        if let credential = changes["credential"]?.objectValue, !credential.isEmpty { return }
        func origins(_ connector: ConnectorDefinition) -> Set<String> {
            Set(EndpointPolicy.renderedURLs(of: connector).map { ParsedURL($0)?.origin ?? $0 })
        }
        let added = origins(updated).subtracting(origins(current))
        guard added.isEmpty else {
            throw MLError.illegalArgument("The connector update sends requests to a new host (\(added.sorted().joined(separator: ", "))): "
                + "give the credential again in the same request, so a stored key is never sent to a host it was not given for")
        }
    }

    func delete(_ id: String) async throws -> WriteResult {
        if let document = try await context.store.get(index: Indices.connector, id: id) {
            try await context.access.checkConnector(document, .delete)
        }
        let users = try await modelsUsing(id)
        if !users.isEmpty {
            throw MLError.status(409, "\(users.count) models are still using this connector, please delete or update the models first: [\(users.map(\.id).joined(separator: ", "))]")
        }
        guard let deleted = try await context.store.delete(index: Indices.connector, id: id) else {
            return .notFound(index: Indices.connector, id: id)
        }
        return WriteResult(index: Indices.connector, id: id, version: deleted.version, seqNo: deleted.seqNo,
                           primaryTerm: deleted.primaryTerm, outcome: .deleted)
    }

    private func modelsUsing(_ id: String) async throws -> [StoredDocument] {
        try await context.store.all(index: Indices.model, query: .and(.term("connector_id", .string(id)), .not(ModelDocument.isChunk)))
            .sorted { $0.id < $1.id }
    }
}
