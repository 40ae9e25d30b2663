import Logging
import OrderedJSON

/// A predict call on a remote model: the request's parameters and documents, and which action.
public struct RemotePredictRequest: Sendable {
    public var parameters: JSONObject
    public var documents: PredictDocuments
    /// An action type (`predict`, …) or a custom action name.
    public var action: String

    public init(parameters: JSONObject = [:], documents: PredictDocuments = .none, action: String = "predict") {
        self.parameters = parameters
        self.documents = documents
        self.action = action
    }
}

/// Checks run on the final payload before the call and on the raw answer after it (§7.3).
public protocol PayloadGuard: Sendable {
    func checkInput(payload: String, parameters: RemoteParameters) async throws(ConnectorError)
    func checkOutput(response: String, parameters: RemoteParameters) async throws(ConnectorError)
}

/// The §6.4 pipeline: pre-process, template, sign, send, guard, post-process.
public struct ConnectorExecutor: Sendable {
    public let client: RemoteHTTPClient
    public var endpointPolicy: EndpointPolicy

    public init(client: RemoteHTTPClient, endpointPolicy: EndpointPolicy) {
        self.client = client
        self.endpointPolicy = endpointPolicy
    }

    /// Runs the request. `connector.credential` must hold decrypted values; no error thrown
    /// from here contains them.
    public func predict(connector: ConnectorDefinition, request: RemotePredictRequest,
                        guard payloadGuard: (any PayloadGuard)? = nil) async throws(ConnectorError) -> ModelTensorOutput {
        let redactor = CredentialRedactor(credential: connector.credential)
        do {
            return try await run(connector, request, payloadGuard, redactor)
        } catch {
            throw redactor.redact(error)
        }
    }

    private func run(_ connector: ConnectorDefinition, _ request: RemotePredictRequest, _ payloadGuard: (any PayloadGuard)?,
                     _ redactor: CredentialRedactor) async throws(ConnectorError) -> ModelTensorOutput {
        guard !connector.protocol.isMCP else { throw .illegalArgument("Unsupported connector protocol for predict: \(connector.protocol.rawValue)") }
        guard let action = connector.action(named: request.action) else {
            throw .illegalArgument("no \(request.action) action found")
        }
        let preProcess = try Self.preProcessFunction(action, request.documents)
        let postProcess = try action.postProcessFunction.map { name throws(ConnectorError) in
            guard let function = PostProcessFunction(name: name) else {
                throw .illegalArgument("Unsupported post_process_function: \(name); only the built-in connector.post_process.* functions are available")
            }
            return function
        }
        var results: [ModelTensors] = []
        for documents in batches(request.documents, connector: connector, request: request, function: preProcess) {
            let derived = try preProcess?.parameters(for: documents) ?? [:]
            let parameters = RemoteParameters(connector: connector, preProcessed: derived, request: request.parameters)
            var prepared = try PreparedRequest(action: action, credential: connector.credential, parameters: parameters)
            if connector.protocol == .awsSigV4 {
                let credentials = try AWSCredentials(credential: connector.credential, parameter: { parameters[$0] })
                prepared = try AWSSigV4Signer(credentials: credentials).sign(prepared)
            }
            if let payloadGuard { try await payloadGuard.checkInput(payload: prepared.body ?? "", parameters: parameters) }
            var response = try await client.send(prepared, config: connector.clientConfig ?? ClientConfig(),
                                                 policy: endpointPolicy, redactor: redactor)
            // A provider that echoes the key (or a hostile endpoint fishing for it) must not hand it
            // to the caller in the answer.
            response.body = redactor.redactReply(response.body)
            if let payloadGuard { try await payloadGuard.checkOutput(response: response.body, parameters: parameters) }
            let filter = parameters["response_filter"]
            let tensors: [ModelTensor]
            if let postProcess {
                guard let json = JSON.parseOrNil(response.body) else {
                    throw .mlException("Fail to execute \(action.actionType.rawValue.uppercased()) in aws connector")
                }
                tensors = try postProcess.tensors(from: json, responseFilter: filter)
            } else {
                tensors = [RawResponseOutput.tensor(body: response.body, responseFilter: filter)]
            }
            results.append(ModelTensors(output: tensors, statusCode: response.status))
        }
        return ModelTensorOutput(inferenceResults: results)
    }

    private static func preProcessFunction(_ action: ConnectorAction,
                                           _ documents: PredictDocuments) throws(ConnectorError) -> PreProcessFunction? {
        if let name = action.preProcessFunction {
            guard let function = PreProcessFunction(rawValue: name) else {
                throw .illegalArgument("Unsupported pre_process_function: \(name); only the built-in connector.pre_process.* functions are available")
            }
            return function
        }
        switch documents {
        case .none: return nil
        case .textDocs: return .defaultEmbedding
        case .similarity: return .defaultRerank
        }
    }

    /// Documents per remote call: all at once, one for Bedrock-style functions, or
    /// `input_docs_processed_step_size` from the connector.
    private func batches(_ documents: PredictDocuments, connector: ConnectorDefinition, request: RemotePredictRequest,
                         function: PreProcessFunction?) -> [PredictDocuments] {
        guard case .textDocs(let docs) = documents, !docs.isEmpty else { return [documents] }
        let configured = connector.parameters.text("input_docs_processed_step_size").flatMap(Int.init)
        guard let size = configured ?? function?.documentsPerCall, size > 0, size < docs.count else { return [documents] }
        return stride(from: 0, to: docs.count, by: size).map { .textDocs(Array(docs[$0..<min($0 + size, docs.count)])) }
    }
}
