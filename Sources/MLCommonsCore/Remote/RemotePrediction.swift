import Connectors
import Foundation
import OrderedJSON
import Storage

/// Predict on `REMOTE` models (§5.9): the checks of §5.1 in ML Commons' order, auto-deploy, then
/// the connector pipeline (`ConnectorExecutor`) with the model's guardrails, and the interface's
/// output check. Provider errors keep the provider's status; no error carries a credential.
struct RemotePrediction: Sendable {
    let context: CoreContext
    let runtime: RemoteRuntime
    let connectors: ConnectorService
    let deployment: RemoteDeployment

    func predict(_ document: StoredDocument, algorithm pathAlgorithm: String?, body: JSON?) async throws -> JSON {
        let modelID = document.id
        let settings = try await context.settings.current()
        try RemoteRuntime.checkRemoteEnabled(settings)
        if document.source["is_enabled"]?.boolValue == false { throw MLError.status(403, "Model is disabled.") }
        if let limit = try Self.rateLimit(document.source["rate_limiter"]) {
            try await connectorCall { () async throws(ConnectorError) in try await runtime.limiter.acquire(.init(modelID: modelID), limit: limit) }
        }
        guard let body = body?.objectValue else { throw MLError.parse("Predict request has empty body") }
        let request = try Self.request(body)
        let interface = try document.source["interface"].map { json in try connectorCall { () throws(ConnectorError) in try ModelInterface(json: json) } }
        if let interface {
            try connectorCall { () throws(ConnectorError) in
                switch request.documents {
                case .textDocs(let docs):
                    try interface.validateTextDocsInput(docs, functionName: pathAlgorithm?.uppercased() ?? FunctionName.textEmbedding.rawValue)
                default:
                    try interface.validateRemoteInput(parameters: request.parameters, actionType: request.action)
                }
            }
        }
        try await deployment.ensureDeployed(document, settings: settings)
        let connector = try await connector(of: document)
        let executor = ConnectorExecutor(client: runtime.client, endpointPolicy: RemoteRuntime.endpointPolicy(settings))
        let payloadGuard = try guardrails(of: document)
        let output = try await connectorCall { () async throws(ConnectorError) in
            try await executor.predict(connector: connector, request: request, guard: payloadGuard)
        }
        if let interface { try connectorCall { () throws(ConnectorError) in try interface.validateOutput(output) } }
        return output.json
    }

    /// `parameters` (any JSON values), or `text_docs` (with `query_text` for similarity), and `action_type`.
    static func request(_ body: JSONObject) throws -> RemotePredictRequest {
        let parameters = body["parameters"]?.objectValue ?? [:]
        let action = body["action_type"]?.stringValue ?? "predict"
        if let docs = body["text_docs"]?.arrayValue {
            let texts = try docs.map { doc in
                guard let text = doc.stringValue else { throw MLError.illegalArgument("text_docs must hold strings, found \(doc.serialized)") }
                return text
            }
            guard !texts.isEmpty else { throw MLError.illegalArgument("Empty text docs") }
            if let query = body["query_text"]?.stringValue {
                return RemotePredictRequest(parameters: parameters, documents: .similarity(query: query, documents: texts), action: action)
            }
            return RemotePredictRequest(parameters: parameters, documents: .textDocs(texts), action: action)
        }
        guard body["parameters"] != nil else { throw MLError.illegalArgument("The remote predict request needs parameters or text_docs") }
        return RemotePredictRequest(parameters: parameters, documents: .none, action: action)
    }

    static func rateLimit(_ json: JSON?) throws -> RateLimit? {
        guard var object = json?.objectValue else { return nil }
        if let unit = object["unit"]?.stringValue { object["unit"] = .string(unit.uppercased()) }
        return try connectorCall { () throws(ConnectorError) in try RateLimit(json: .object(object)) }
    }

    /// The model's connector: inline, or the stand-alone one it names, with credentials decrypted.
    private func connector(of document: StoredDocument) async throws -> ConnectorDefinition {
        if let inline = document.source["connector"]?.objectValue { return try connectors.definition(stored: inline) }
        guard let id = document.source["connector_id"]?.stringValue else {
            throw MLError.illegalArgument("Remote model \(document.id) has no connector")
        }
        return try await connectors.definition(id: id)
    }

    private func guardrails(of document: StoredDocument) throws -> GuardrailEvaluator? {
        guard let json = document.source["guardrails"], !json.isNull else { return nil }
        let guardrails = try connectorCall { () throws(ConnectorError) in try Guardrails(json: json) }
        let prediction = self
        let invoker = GuardModelInvoker { modelID, parameters in
            try await GuardrailChain.nested {
                let guardModel = try await prediction.context.models.require(modelID)
                return try await prediction.predict(guardModel, algorithm: nil, body: ["parameters": .object(parameters)])
            }
        }
        return GuardrailEvaluator(guardrails: guardrails, stopWords: StoreStopWords(store: context.store), modelInvoker: invoker)
    }
}
