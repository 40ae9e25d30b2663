import OrderedJSON

/// The built-in `connector.post_process.*` functions (§6.5): provider answer → tensors.
public enum PostProcessFunction: Sendable, Equatable {
    /// A list of vectors at `path`, one `sentence_embedding` tensor each.
    case embeddings(path: String, dataType: String)
    /// One vector at `path`.
    case singleEmbedding(path: String, dataType: String)
    /// `[{index, relevance_score}]` at `$.results` → `similarity` tensors in input order.
    case rerank
    /// The batch job answer as a map.
    case batchJobARN

    public init?(name: String) {
        let prefix = "connector.post_process."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = String(name.dropFirst(prefix.count))
        let typed: [String: String] = ["float": "FLOAT32", "int8": "INT8", "uint8": "UINT8", "binary": "BINARY", "ubinary": "UBINARY"]
        switch rest {
        case "openai.embedding": self = .embeddings(path: "$.data[*].embedding", dataType: "FLOAT32")
        case "cohere.embedding": self = .embeddings(path: "$.embeddings", dataType: "FLOAT32")
        case "default.embedding": self = .embeddings(path: "$[*]", dataType: "FLOAT32")
        case "bedrock.embedding": self = .singleEmbedding(path: "$.embedding", dataType: "FLOAT32")
        case "bedrock.nova.embedding": self = .embeddings(path: "$.embeddings[*].embedding", dataType: "FLOAT32")
        case "cohere.rerank", "default.rerank", "bedrock.rerank": self = .rerank
        case "bedrock.batch_job_arn": self = .batchJobARN
        default:
            if rest.hasPrefix("cohere_v2.embedding."), let type = typed[String(rest.dropFirst("cohere_v2.embedding.".count))] {
                self = .embeddings(path: "$.embeddings.\(rest.dropFirst("cohere_v2.embedding.".count))", dataType: type)
            } else if rest.hasPrefix("bedrock_v2.embedding."), let suffix = Optional(String(rest.dropFirst("bedrock_v2.embedding.".count))),
                      suffix == "float" || suffix == "binary", let type = typed[suffix] {
                self = .singleEmbedding(path: "$.embeddingsByType.\(suffix)", dataType: type)
            } else {
                return nil
            }
        }
    }

    /// Maps one provider answer. `responseFilter` (the request's `response_filter`) replaces the
    /// function's own path when given.
    public func tensors(from response: JSON, responseFilter: String? = nil) throws(ConnectorError) -> [ModelTensor] {
        switch self {
        case .embeddings(let path, let dataType):
            guard let list = try Self.select(path: responseFilter ?? path, in: response).arrayValue else {
                throw .illegalArgument("Post process function input is not a List.")
            }
            return try list.map { vector throws(ConnectorError) in try Self.embedding(vector, dataType: dataType) }
        case .singleEmbedding(let path, let dataType):
            return [try Self.embedding(try Self.select(path: responseFilter ?? path, in: response), dataType: dataType)]
        case .rerank:
            guard let results = try Self.select(path: responseFilter ?? "$.results", in: response).arrayValue else {
                throw .illegalArgument("Post process function input is not a List.")
            }
            var scores = [(index: Int, score: JSON)]()
            for result in results {
                guard let index = result["index"]?.intValue, let score = result["relevance_score"], score.isNumber else {
                    throw .illegalArgument("The rerank result should contain index and relevance_score.")
                }
                scores.append((Int(index), score))
            }
            return scores.sorted { $0.index < $1.index }.map {
                ModelTensor(name: "similarity", dataType: "FLOAT32", shape: [1], data: [$0.score])
            }
        case .batchJobARN:
            guard let map = response.objectValue else { throw .illegalArgument("Post process function input is not a Map.") }
            return [ModelTensor(name: "response", dataAsMap: map)]
        }
    }

    private static func select(path: String, in response: JSON) throws(ConnectorError) -> JSON {
        guard let parsed = JSONPath(path) else { throw .illegalArgument("Invalid JSONPath: \(path)") }
        return parsed.evaluate(response) ?? .null
    }

    private static func embedding(_ vector: JSON, dataType: String) throws(ConnectorError) -> ModelTensor {
        guard let values = vector.arrayValue, !values.isEmpty, values.allSatisfy(\.isNumber) else {
            throw .illegalArgument("The embedding should be a non-empty List containing List of Float values.")
        }
        return ModelTensor(name: "sentence_embedding", dataType: dataType, shape: [values.count], data: values)
    }
}

/// The output of a call without a post-process function (§5.9): the answer as `dataAsMap`.
public enum RawResponseOutput {
    public static func tensor(body: String, responseFilter: String?) -> ModelTensor {
        guard var value = JSON.parseOrNil(body) else {
            return ModelTensor(name: "response", dataAsMap: ["response": .string(body)])
        }
        if let responseFilter, let path = JSONPath(responseFilter), let filtered = path.evaluate(value),
           !(path.isDefinite == false && filtered.arrayValue?.isEmpty == true) {
            value = filtered
        }
        if let map = value.objectValue { return ModelTensor(name: "response", dataAsMap: map) }
        return ModelTensor(name: "response", dataAsMap: ["response": value])
    }
}
