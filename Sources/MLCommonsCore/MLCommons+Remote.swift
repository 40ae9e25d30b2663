import Connectors
import OrderedJSON
import Storage

/// The connectors, controllers and document APIs (§6, §7.2, and the stop-words documents of §7.3).
extension MLCommons {
    public func createConnector(_ body: JSON?) async throws -> JSON { try await remote.connectors.create(body) }
    public func getConnector(_ id: String) async throws -> JSON { try await remote.connectors.get(id) }
    public func updateConnector(_ id: String, body: JSON?) async throws -> WriteResult { try await remote.connectors.update(id, body: body) }
    public func deleteConnector(_ id: String) async throws -> WriteResult { try await remote.connectors.delete(id) }
    public func searchConnectors(_ request: SearchRequest) async throws -> SearchHits { try await remote.connectors.search(request) }

    public func createController(_ modelID: String, body: JSON?) async throws -> JSON { try await remote.controllers.create(modelID, body: body) }
    public func getController(_ modelID: String) async throws -> JSON { try await remote.controllers.get(modelID) }
    public func updateController(_ modelID: String, body: JSON?) async throws -> WriteResult {
        try await remote.controllers.update(modelID, body: body)
    }
    public func deleteController(_ modelID: String) async throws -> WriteResult { try await remote.controllers.delete(modelID) }

    public var documents: DocumentService { remote.documents }

    /// The remote half of `predict`: nil when the model is not a remote one (or does not exist).
    func predictRemote(modelID: String, algorithm: String?, body: JSON?) async throws -> JSON? {
        guard let document = try await context.models.meta(modelID), RemoteDeployment.isRemote(document) else { return nil }
        return try await remote.prediction.predict(document, algorithm: algorithm, body: body)
    }

    /// The remote half of `deploy`: nil when the model is not a remote one.
    func deployRemote(_ modelID: String, body: JSON?) async throws -> JSON? {
        guard let document = try await context.models.meta(modelID), RemoteDeployment.isRemote(document) else { return nil }
        return try await remote.deployment.deploy(modelID, body: body)
    }

    /// Checks the connector fields of a model update: a named connector must exist, an inline one
    /// is validated and stored with its credential encrypted.
    func remoteUpdateBody(_ modelID: String, body: JSON?) async throws -> JSON? {
        guard let document = try await context.models.meta(modelID), RemoteDeployment.isRemote(document),
              var object = body?.objectValue else { return body }
        if let id = object["connector_id"]?.stringValue { _ = try await remote.connectors.definition(id: id) }
        if let inline = object["connector"], !inline.isNull {
            let definition = try connectorCall { () throws(ConnectorError) in try ConnectorDefinition(json: inline) }
            let settings = try await context.settings.current()
            try connectorCall { () throws(ConnectorError) in try RemoteRuntime.endpointPolicy(settings).checkTrusted(connector: definition) }
            object["connector"] = .object(try remote.connectors.storedSource(definition))
        }
        try await GuardrailChain.checkNoCycle(modelID: modelID, guardrails: object["guardrails"], models: context.models)
        if let interface = object["interface"], !interface.isNull {
            object["interface"] = try connectorCall { () throws(ConnectorError) in try ModelInterface(json: interface) }.json
        }
        return .object(object)
    }
}
