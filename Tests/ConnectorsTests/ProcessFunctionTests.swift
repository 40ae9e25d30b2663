import OrderedJSON
import Testing
@testable import Connectors

@Suite struct ProcessFunctionTests {
    @Test func preProcessFunctions() throws {
        #expect(try PreProcessFunction.openAIEmbedding.parameters(for: .textDocs(["a", "b"])) == ["input": ["a", "b"]])
        #expect(try PreProcessFunction.cohereEmbedding.parameters(for: .textDocs(["a"])) == ["texts": ["a"]])
        #expect(try PreProcessFunction.bedrockEmbedding.parameters(for: .textDocs(["a", "b"])) == ["inputText": "a"])
        #expect(try PreProcessFunction.bedrockMultimodalEmbedding.parameters(for: .textDocs(["t", "img"])) == ["inputText": "t", "inputImage": "img"])
        #expect(try PreProcessFunction.cohereRerank.parameters(for: .similarity(query: "q", documents: ["d1", "d2"]))
            == ["query": "q", "documents": ["d1", "d2"], "top_n": 2])
        let bedrock = try PreProcessFunction.bedrockRerank.parameters(for: .similarity(query: "q", documents: ["d"]))
        #expect(bedrock["queries"] == [["textQuery": ["text": "q"], "type": "TEXT"]])
        #expect(bedrock["sources"]?.arrayValue?.first?["inlineDocumentSource"]?["textDocument"]?["text"] == "d")
        #expect(try PreProcessFunction.openAIEmbedding.parameters(for: .none) == [:])
        let wrong = #expect(throws: ConnectorError.self) { try PreProcessFunction.openAIEmbedding.parameters(for: .similarity(query: "q", documents: [])) }
        #expect(wrong?.message == PreProcessFunction.wrongInputMessage)
    }

    @Test func postProcessEmbeddings() throws {
        let openAI: JSON = ["data": [["embedding": [0.1, 0.2]], ["embedding": [0.3, 0.4]]]]
        let tensors = try #require(PostProcessFunction(name: "connector.post_process.openai.embedding")).tensors(from: openAI)
        #expect(tensors.map(\.json) == [
            ["name": "sentence_embedding", "data_type": "FLOAT32", "shape": [2], "data": [0.1, 0.2]],
            ["name": "sentence_embedding", "data_type": "FLOAT32", "shape": [2], "data": [0.3, 0.4]],
        ])
        let cohereV2 = try #require(PostProcessFunction(name: "connector.post_process.cohere_v2.embedding.int8"))
        #expect(try cohereV2.tensors(from: ["embeddings": ["int8": [[1, -2, 3]]]]).first?.dataType == "INT8")
        let bedrock = try #require(PostProcessFunction(name: "connector.post_process.bedrock.embedding"))
        #expect(try bedrock.tensors(from: ["embedding": [1.5, 2.5]]).first?.data == [1.5, 2.5])
        let bedrockV2 = try #require(PostProcessFunction(name: "connector.post_process.bedrock_v2.embedding.binary"))
        #expect(try bedrockV2.tensors(from: ["embeddingsByType": ["binary": [1, 0]]]).first?.dataType == "BINARY")
        let defaultFunction = try #require(PostProcessFunction(name: "connector.post_process.default.embedding"))
        #expect(try defaultFunction.tensors(from: [[1, 2], [3, 4]]).count == 2)
        #expect(PostProcessFunction(name: "connector.post_process.unknown") == nil)
    }

    @Test func postProcessErrors() throws {
        let openAI = try #require(PostProcessFunction(name: "connector.post_process.openai.embedding"))
        #expect((#expect(throws: ConnectorError.self) { try openAI.tensors(from: ["data": [["embedding": "x"]]]) })?.message
            == "The embedding should be a non-empty List containing List of Float values.")
        let cohere = try #require(PostProcessFunction(name: "connector.post_process.cohere.embedding"))
        #expect((#expect(throws: ConnectorError.self) { try cohere.tensors(from: ["embeddings": "x"]) })?.message
            == "Post process function input is not a List.")
        #expect((#expect(throws: ConnectorError.self) { try cohere.tensors(from: ["embeddings": [[]]]) })?.status == 400)
        let rerank = try #require(PostProcessFunction(name: "connector.post_process.cohere.rerank"))
        #expect((#expect(throws: ConnectorError.self) { try rerank.tensors(from: ["results": [["index": 0]]]) })?.message
            == "The rerank result should contain index and relevance_score.")
        #expect(try rerank.tensors(from: ["results": [["index": 1, "relevance_score": 0.9], ["index": 0, "relevance_score": 0.1]]])
            .map { $0.data?.first } == [0.1, 0.9])
    }

    @Test func rawResponses() {
        #expect(RawResponseOutput.tensor(body: #"{"a": 1}"#, responseFilter: nil).json == ["name": "response", "dataAsMap": ["a": 1]])
        #expect(RawResponseOutput.tensor(body: "[1,2]", responseFilter: nil).dataAsMap == ["response": [1, 2]])
        #expect(RawResponseOutput.tensor(body: "plain text", responseFilter: nil).dataAsMap == ["response": "plain text"])
        #expect(RawResponseOutput.tensor(body: #"{"a": {"b": [5, 6]}}"#, responseFilter: "$.a.b[1]").dataAsMap == ["response": 6])
        #expect(RawResponseOutput.tensor(body: #"{"a": {"b": 1}}"#, responseFilter: "$.a").dataAsMap == ["b": 1])
        #expect(RawResponseOutput.tensor(body: #"{"a": 1}"#, responseFilter: "$.missing").dataAsMap == ["a": 1])
        let output = ModelTensorOutput(inferenceResults: [ModelTensors(output: [], statusCode: 200)])
        #expect(output.json == ["inference_results": [["status_code": 200]]])
    }

    @Test func jsonPath() throws {
        let doc: JSON = ["a": [["b": 1], ["b": 2]], "c": ["d e": true]]
        #expect(JSONPath("$.a[*].b")?.evaluate(doc) == [1, 2])
        #expect(JSONPath("$.a[-1].b")?.evaluate(doc) == 2)
        #expect(JSONPath("$['c']['d e']")?.evaluate(doc) == true)
        #expect(JSONPath("$.zz")?.evaluate(doc) == nil)
        #expect(JSONPath("a.b") == nil)
    }
}
