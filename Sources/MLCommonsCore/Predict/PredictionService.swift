import Foundation
import Inference
import OrderedJSON
import Storage

/// `POST /_plugins/_ml/_predict/<algorithm>/<model_id>` and `POST /_plugins/_ml/models/<model_id>/_predict`
/// for local models (§5 of the API reference): checks, input parsing per function, inference on the
/// deployed native model, and the `inference_results` envelope ML Commons returns.
struct PredictionService: Sendable {
    let context: CoreContext
    let deployed: DeployedModels
    let rateLimiter = ModelRateLimiter()
    let latencies: LatencyMonitor

    func predict(modelID: String, algorithm: String?, body: JSON?) async throws -> JSON {
        let started = ContinuousClock.now
        if let algorithm, FunctionName(parsing: algorithm) == nil { throw MLError.illegalArgument("Wrong function name") }
        guard let document = try await context.models.meta(modelID) else { throw MLError.status(404, "Failed to find model") }
        let settings = try await context.settings.current()
        if !settings.bool(MLSettings.localModelEnabled) {
            throw MLError.illegalArgument("Local Model is currently disabled. To enable it, update the setting \"plugins.ml_commons.local_model.enabled\" to true.")
        }
        if document.source["is_enabled"]?.boolValue == false { throw MLError.status(403, "Model is disabled.") }
        if await !rateLimiter.admit(modelID: modelID, rateLimiter: document.source["rate_limiter"]) {
            throw MLError.status(429, "Request is throttled at model level.")
        }
        guard let loaded = await deployed.model(modelID), let model = loaded.native else {
            throw MLError.illegalArgument("Model not ready yet. Please deploy the model first.")
        }
        guard let body = body?.objectValue else { throw MLError.parse("Predict request has empty body") }
        let function = document.source["algorithm"]?.stringValue ?? FunctionName.textEmbedding.rawValue
        do {
            let inferenceStarted = ContinuousClock.now
            let results = try await run(loaded, model, function: function, body: body, document: document, settings: settings)
            let reply: JSON = ["inference_results": .array(results.map { tensors in tensors.isEmpty ? [:] : ["output": .array(tensors.map(\.json))] })]
            await latencies.record(modelID: modelID, inferenceMillis: Self.millis(since: inferenceStarted), requestMillis: Self.millis(since: started),
                                   window: Int(settings.int("monitoring_request_count")))
            return reply
        } catch let error as MLError {
            throw error
        } catch let error as CancellationError {
            throw error
        } catch {
            var failure = MLError(status: 500, type: "m_l_exception", reason: "Failed to inference \(function) model: \(modelID)")
            failure.extra["caused_by"] = ["type": "exception", "reason": .string("\(error)")]
            throw failure
        }
    }

    private func run(_ loaded: any LoadedModel, _ model: any NativeModel, function: String, body: JSONObject, document: StoredDocument,
                     settings: EffectiveSettings) async throws -> [[ModelTensor]] {
        let limits = InputLimits(settings)
        try Task.checkCancellation()  // the client hung up while the request waited
        switch model {
        case let embedder as TextEmbedder:
            let output = try TextEmbeddingOutput(body: body, document: document, limits: limits)
            let sequences = embedder.tokenize(output.texts.map { (output.prefix ?? "") + $0 })
            let encoded: [TextEmbedder.Detailed]
            if let batcher = loaded.embeddingBatcher {
                context.logger.debug("model \(document.id): \(sequences.count) texts queued for a batch")
                encoded = try await batcher.run(sequences, limits: Self.batchLimits(settings))
            } else {
                encoded = try embedder.encodeDetailed(sequences)
            }
            return output.tensors(encoded, hiddenSize: embedder.encoder.config.hiddenSize)
        case let sparse as SparseEncoder:
            let (texts, format) = try Self.sparseInput(body, limits: limits)
            let batching = Self.batchLimits(settings)
            let terms = try await loaded.sparseBatcher?.run(sparse.tokenize(texts), limits: batching)
                ?? sparse.encode(texts, parallelism: Parallelism(threads: batching.threads), batchTokens: batching.tokenBudget)
            return terms.map { [Self.sparseTensor($0, name: "output", format: format)] }
        case let tokenizer as SparseTokenizer:
            let (texts, format) = try Self.sparseInput(body, limits: limits)
            return tokenizer.encode(texts).map { [Self.sparseTensor($0, name: nil, format: format)] }
        case let crossEncoder as CrossEncoder:
            guard let query = body["query_text"]?.stringValue, !query.isEmpty else { throw MLError.illegalArgument("No query text was provided") }
            try limits.check(text: query, field: "query_text")
            let documents = try Self.texts(body, limits: limits, missing: "No text documents were provided")
            let batching = Self.batchLimits(settings)
            return try crossEncoder.score(query: query, documents: documents, parallelism: Parallelism(threads: batching.threads),
                                          batchTokens: batching.tokenBudget).map { logits in
                [ModelTensor.float32Tensor("similarity", shape: [logits.count], values: logits, withBytes: true)]
            }
        case let answerer as QuestionAnswerer:
            guard let question = body["question"]?.stringValue, !question.isEmpty else { throw MLError.illegalArgument("Question is not provided") }
            guard let contextText = body["context"]?.stringValue, !contextText.isEmpty else { throw MLError.illegalArgument("Context is not provided") }
            try limits.check(text: question, field: "question")
            try limits.check(text: contextText, field: "context")
            return [[ModelTensor(result: try answerer.answer(question: question, context: contextText).text)]]
        default:
            throw MLError.illegalArgument("Model of function \(function) cannot be predicted by this server yet")
        }
    }

    /// The batchers' limits from the `native.*` settings (threads 0: one per core).
    static func batchLimits(_ settings: EffectiveSettings) -> BatchLimits {
        let threads = Int(settings.int(MLSettings.inferenceThreads))
        return BatchLimits(threads: threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount,
                                       tokenBudget: Int(settings.int(MLSettings.batchTokenBudget)),
                                       maxQueuedRequests: Int(settings.int(MLSettings.maxQueuedRequests)))
    }

    static func millis(since start: ContinuousClock.Instant) -> Double {
        let elapsed = start.duration(to: .now)
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    /// `text_docs`: a non-empty list of strings, within the request limits.
    static func texts(_ body: JSONObject, limits: InputLimits, missing: String = "Empty text docs") throws -> [String] {
        guard let docs = body["text_docs"]?.arrayValue, !docs.isEmpty else { throw MLError.illegalArgument(missing) }
        try limits.check(count: docs.count, field: "text_docs")
        return try docs.map { doc in
            guard let text = doc.stringValue else { throw MLError.illegalArgument("text_docs must hold strings, found \(doc.serialized)") }
            try limits.check(text: text, field: "text_docs")
            return text
        }
    }

    static func sparseInput(_ body: JSONObject, limits: InputLimits) throws -> ([String], String) {
        let format = body["parameters"]?["sparse_embedding_format"]?.stringValue?.uppercased() ?? "WORD"
        guard format == "WORD" || format == "TOKEN_ID" else {
            throw MLError.illegalArgument("Wrong sparse_embedding_format \(format.lowercased()): expected word or token_id")
        }
        return (try texts(body, limits: limits), format)
    }

    static func sparseTensor(_ terms: [SparseTerm], name: String?, format: String) -> ModelTensor {
        var weights = JSONObject()
        for term in terms { weights[format == "TOKEN_ID" ? String(term.id) : term.token] = ModelTensor.number(term.weight) }
        return ModelTensor(name: name, dataAsMap: ["response": [.object(weights)]])
    }
}

/// TEXT_EMBEDDING: the tensors ML Commons returns depend on the artifact (§5.3), then the
/// request's filters (`target_response`, `target_response_positions`, `return_number`, `return_bytes`).
struct TextEmbeddingOutput {
    let texts: [String]
    let returnNumber: Bool
    let returnBytes: Bool
    let targetNames: [String]?
    let targetPositions: [Int]?
    /// All four tensors of a traced sentence-transformers model, or only the sentence embedding.
    let sentenceTransformersTrace: Bool
    /// `[1, dim]` instead of `[dim]` (HF TorchScript traces, ONNX with MAX pooling).
    let batchDimension: Bool
    let prefix: String?

    init(body: JSONObject, document: StoredDocument, limits: InputLimits) throws {
        let filter = body["result_filter"]?.objectValue ?? body
        returnNumber = filter["return_number"]?.boolValue ?? true
        returnBytes = filter["return_bytes"]?.boolValue ?? false
        targetNames = filter["target_response"]?.arrayValue?.compactMap(\.stringValue)
        targetPositions = filter["target_response_positions"]?.arrayValue?.compactMap { $0.intValue.map(Int.init) }
        let config = document.source["model_config"]
        let framework = config?["framework_type"]?.stringValue ?? "SENTENCE_TRANSFORMERS"
        let format = document.source["model_format"]?.stringValue ?? "TORCH_SCRIPT"
        sentenceTransformersTrace = format == "TORCH_SCRIPT" && framework == "SENTENCE_TRANSFORMERS"
        batchDimension = format == "TORCH_SCRIPT" ? framework != "SENTENCE_TRANSFORMERS" : config?["pooling_mode"]?.stringValue == "MAX"
        prefix = try Self.prefix(body["parameters"], config: config)
        texts = try PredictionService.texts(body, limits: limits)
    }

    /// The asymmetric-model prefix for `parameters.content_type` (§5.4).
    static func prefix(_ parameters: JSON?, config: JSON?) throws -> String? {
        let queryPrefix = config?["query_prefix"]?.stringValue, passagePrefix = config?["passage_prefix"]?.stringValue
        let contentType = parameters?["content_type"]?.stringValue?.uppercased()
        if queryPrefix == nil && passagePrefix == nil {
            if parameters?["content_type"] != nil {
                throw MLError.illegalArgument("When passing AsymmetricTextEmbeddingParameters, the model requires to be registered with at least one of `query_prefix` or `passage_prefix`.")
            }
            return nil
        }
        guard let contentType else {
            throw MLError.illegalArgument("The embedding model chosen is asymmetric. To use it, you must declare whether the input is of type `QUERY` or of type `PASSAGE`.")
        }
        switch contentType {
        case "QUERY": return queryPrefix
        case "PASSAGE": return passagePrefix
        default: throw MLError.illegalArgument("Wrong content_type \(contentType.lowercased()): expected query or passage")
        }
    }

    /// The tensors ML Commons returns for each encoded text.
    func tensors(_ encoded: [TextEmbedder.Detailed], hiddenSize: Int) -> [[ModelTensor]] {
        encoded.map { detailed in
            var tensors: [ModelTensor]
            if sentenceTransformersTrace {
                let mask = [Int32](repeating: 1, count: detailed.ids.count)
                tensors = [
                    .int64Tensor("input_ids", values: detailed.ids, withBytes: returnBytes, withNumbers: returnNumber),
                    .int64Tensor("attention_mask", values: mask, withBytes: returnBytes, withNumbers: returnNumber),
                    .float32Tensor("token_embeddings", shape: [detailed.ids.count, hiddenSize],
                                   values: detailed.tokenEmbeddings, withBytes: returnBytes, withNumbers: returnNumber),
                    .float32Tensor("sentence_embedding", shape: [detailed.embedding.count], values: detailed.embedding,
                                   withBytes: returnBytes, withNumbers: returnNumber),
                ]
            } else {
                let shape = batchDimension ? [1, detailed.embedding.count] : [detailed.embedding.count]
                tensors = [.float32Tensor("sentence_embedding", shape: shape, values: detailed.embedding, withBytes: false, withNumbers: returnNumber)]
            }
            if let targetNames { tensors = tensors.filter { targetNames.contains($0.name ?? "") } }
            if let targetPositions { tensors = tensors.enumerated().filter { targetPositions.contains($0.offset) }.map(\.element) }
            return tensors
        }
    }
}
