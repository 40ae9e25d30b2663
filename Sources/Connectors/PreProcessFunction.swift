import OrderedJSON

/// What a predict request hands to a remote model besides its parameters.
public enum PredictDocuments: Sendable, Equatable {
    case none
    /// `text_docs` (text embedding).
    case textDocs([String])
    /// `query_text` + `text_docs` (text similarity / rerank).
    case similarity(query: String, documents: [String])
}

/// The built-in `connector.pre_process.*` functions (§6.5): documents → parameters.
public enum PreProcessFunction: String, Sendable, CaseIterable {
    case openAIEmbedding = "connector.pre_process.openai.embedding"
    case defaultEmbedding = "connector.pre_process.default.embedding"
    case cohereEmbedding = "connector.pre_process.cohere.embedding"
    case bedrockEmbedding = "connector.pre_process.bedrock.embedding"
    case bedrockMultimodalEmbedding = "connector.pre_process.bedrock.multimodal_embedding"
    case cohereMultimodalEmbedding = "connector.pre_process.cohere.multimodal_embedding"
    case cohereRerank = "connector.pre_process.cohere.rerank"
    case defaultRerank = "connector.pre_process.default.rerank"
    case bedrockRerank = "connector.pre_process.bedrock.rerank"

    /// Documents per remote call: Bedrock embedding models take one text per request.
    public var documentsPerCall: Int? { self == .bedrockEmbedding ? 1 : nil }

    var isRerank: Bool { [.cohereRerank, .defaultRerank, .bedrockRerank].contains(self) }

    static let wrongInputMessage =
        "This pre_process_function can only support TextDocsInputDataSet which including a list of string with key 'text_docs'"

    /// The parameters this function derives from the documents of one call.
    public func parameters(for documents: PredictDocuments) throws(ConnectorError) -> JSONObject {
        switch (self, documents) {
        case (.openAIEmbedding, .textDocs(let docs)), (.defaultEmbedding, .textDocs(let docs)):
            return ["input": JSON(docs)]
        case (.cohereEmbedding, .textDocs(let docs)):
            return ["texts": JSON(docs)]
        case (.cohereMultimodalEmbedding, .textDocs(let docs)):
            return ["images": JSON(docs)]
        case (.bedrockEmbedding, .textDocs(let docs)):
            return ["inputText": .string(docs.first ?? "")]
        case (.bedrockMultimodalEmbedding, .textDocs(let docs)):
            var object: JSONObject = ["inputText": .string(docs.first ?? "")]
            if docs.count > 1 { object["inputImage"] = .string(docs[1]) }
            return object
        case (.cohereRerank, .similarity(let query, let docs)), (.defaultRerank, .similarity(let query, let docs)):
            return ["query": .string(query), "documents": JSON(docs), "top_n": JSON(docs.count)]
        case (.bedrockRerank, .similarity(let query, let docs)):
            let queries: JSON = [["textQuery": ["text": .string(query)], "type": "TEXT"]]
            let sources = JSON.array(docs.map { doc in
                ["inlineDocumentSource": ["textDocument": ["text": .string(doc)], "type": "TEXT"], "type": "INLINE"]
            })
            return ["queries": queries, "sources": sources, "numberOfResults": JSON(docs.count)]
        case (_, .none):
            return [:] // a plain `parameters` input passes through
        default:
            throw .illegalArgument(isRerank
                ? "This pre_process_function can only support TextSimilarityInputDataSet which including a query_text and a list of string with key 'text_docs'"
                : Self.wrongInputMessage)
        }
    }
}
