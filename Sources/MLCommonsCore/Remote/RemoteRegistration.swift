import Connectors
import Foundation
import OrderedJSON
import Security
import Storage

/// `POST /models/_register` with `function_name: remote` (§2.4.3): synchronous. The model joins a
/// group (given, or found / created by name), names a stand-alone connector (`connector_id`) or
/// carries one inline (`connector`, credentials encrypted), and its register task is COMPLETED
/// before the answer `{"task_id", "status": "CREATED", "model_id"}` goes out.
struct RemoteRegistration: Sendable {
    let context: CoreContext
    let connectors: ConnectorService
    let deployment: RemoteDeployment

    func register(_ body: JSON?, deploy: Bool) async throws -> JSON {
        guard let object = body?.objectValue, !object.isEmpty else { throw MLError.parse("Model register request has empty body") }
        let settings = try await context.settings.current()
        try RemoteRuntime.checkRemoteEnabled(settings)
        guard let name = object["name"]?.stringValue, !name.isEmpty else { throw MLError.illegalArgument("model name is null") }
        let groupID = object["model_group_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let customID = object["model_id"]?.stringValue
        if let customID {
            try Identifiers.validateCustomID(customID, label: "model_id")
            if try await context.store.get(index: Indices.model, id: customID) != nil {
                throw MLError(status: 409, type: "status_exception", reason: "Model '\(customID)' already exists")
            }
        }

        var meta: JSONObject = [:]
        let connector: ConnectorDefinition
        switch (object["connector_id"]?.stringValue, object["connector"]?.objectValue) {
        case (.some, .some):
            throw MLError.illegalArgument("Model cannot have both stand-alone connector and internal connector. Please check your register model request.")
        case (let id?, nil):
            connector = try await connectors.definition(id: id)
            try await connectors.checkUse(id)
            if connector.protocol == .mcpSSE || connector.protocol == .mcpStreamableHTTP {
                throw MLError.illegalArgument("Cannot Create a Model from MCP Connector: \(id)")
            }
            meta["connector_id"] = .string(id)
        case (nil, let inline?):
            connector = try connectorCall { () throws(ConnectorError) in try ConnectorDefinition(json: .object(inline)) }
            guard connector.action(named: "predict") != nil else { throw MLError.illegalArgument("Connector must have a predict action") }
            try connectorCall { () throws(ConnectorError) in try RemoteRuntime.endpointPolicy(settings).checkTrusted(connector: connector) }
            meta["connector"] = .object(try connectors.storedSource(connector))
        default:
            throw MLError.illegalArgument("A remote model needs a connector: give connector_id or connector")
        }
        try validateOptions(object, connector: connector, into: &meta)
        try await GuardrailChain.checkNoCycle(modelID: customID, guardrails: object["guardrails"], models: context.models)
        if let enabled = object["is_enabled"], enabled.boolValue == nil { throw MLError.parse("is_enabled must be a boolean") }

        let controlEnabled = settings.bool(MLSettings.modelAccessControl)
        let user = controlEnabled ? Caller.principal : nil
        if let groupID {
            guard let group = try await context.store.get(index: Indices.modelGroup, id: groupID) else {
                throw MLError.status(404, "Model group not found")
            }
            if let user, !ModelGroupAccess.permits(group.source, principal: user) { throw ModelGroupAccess.denied(.registerIntoGroup) }
        }
        let requestAccess = JSONObject(GroupAccess.fields.compactMap { key in object[key].map { (key: key, value: $0) } })
        let access = try GroupAccess.forNewGroup(requestAccess, controlEnabled: controlEnabled, user: Caller.principal)
        let description = object["description"]?.stringValue
        let modelID = customID ?? Identifiers.newID()
        var task = MLTask(type: .registerModel, functionName: FunctionName.remote.rawValue, modelID: modelID,
                          workerNode: context.node.id, isAsync: false)
        task.state = .completed
        let (taskID, taskWrite) = context.tasks.creation(task)
        // One transaction: the group claim, the model and its COMPLETED task.
        let base = meta
        _ = try await GroupClaim.commit(groupID: groupID, modelName: name, description: description, access: access, user: user,
                                        groups: context.groups) { claim in
            var meta = base
            let now = nowMillis()
            meta["name"] = .string(name)
            meta["model_group_id"] = .string(claim.groupID)
            meta["algorithm"] = .string(FunctionName.remote.rawValue)
            meta["model_version"] = .string(String(claim.version))
            if let description { meta["description"] = .string(description) }
            meta["model_state"] = .string(ModelState.registered.rawValue)
            meta["created_time"] = .int(now)
            meta["last_updated_time"] = .int(now)
            meta["last_registered_time"] = .int(now)
            meta["is_hidden"] = false
            return [taskWrite, .put(index: Indices.model, id: modelID, source: ModelDocument.ordered(meta), condition: .mustNotExist)]
        }
        context.logger.info("remote model \(modelID) registered (\(name))")
        if deploy { try await deployment.load(modelID) }
        return ["task_id": .string(taskID), "status": "CREATED", "model_id": .string(modelID)]
    }

    /// `is_enabled`, `rate_limiter`, `deploy_setting`, `guardrails`, `interface` as the model stores
    /// them; `interface` defaults to the preset for the connector's model, if there is one and
    /// the connector takes `parameters` (no pre-process function).
    private func validateOptions(_ object: JSONObject, connector: ConnectorDefinition, into meta: inout JSONObject) throws {
        for key in ["is_enabled", "deploy_setting"] { if let value = object[key] { meta[key] = value } }
        if let limiter = object["rate_limiter"], !limiter.isNull { meta["rate_limiter"] = .object(try ModelService.validRateLimiter(limiter)) }
        if let guardrails = object["guardrails"], !guardrails.isNull {
            _ = try connectorCall { () throws(ConnectorError) in try Guardrails(json: guardrails) }
            meta["guardrails"] = guardrails
        }
        if let interface = object["interface"], !interface.isNull {
            meta["interface"] = try connectorCall { () throws(ConnectorError) in try ModelInterface(json: interface) }.json
        } else if connector.action(named: "predict")?.preProcessFunction == nil, let preset = PresetInterfaces.interface(for: connector) {
            // Presets describe `parameters` inputs; connectors with a pre-process function take
            // `text_docs` (neural search), which those schemas would refuse.
            meta["interface"] = preset.json
        }
    }
}
