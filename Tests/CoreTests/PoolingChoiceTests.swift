import Foundation
import Inference
@testable import MLCommonsCore
import OrderedJSON
import Testing

/// Pooling and normalization for every pretrained catalog row: the registration's model_config
/// decides when it says, the catalog table otherwise (the artifact itself, when it can tell, is
/// consulted by the engine first: see the Inference tests).
@Suite struct PoolingChoiceTests {
    static let denseRows = PretrainedCatalog.models.filter { $0.function == .textEmbedding }

    static func request(_ name: String, config: JSON?) -> ModelLoadRequest {
        ModelLoadRequest(modelID: "m", name: name, artifact: URL(fileURLWithPath: "/dev/null"), format: .torchScript,
                         function: .textEmbedding, modelConfig: config)
    }

    @Test(arguments: denseRows.map(\.name))
    func catalogDecidesWhenModelConfigIsSilent(name: String) throws {
        let row = try #require(PretrainedCatalog.find(name: name))
        let options = try NativeInferenceEngine.options(for: Self.request(name, config: ["model_type": "bert", "embedding_dimension": .int(Int64(row.dimension!))]))
        #expect(options.pooling == PoolingMode(parsing: row.pooling!), "\(name)")
        #expect(options.normalize == row.normalize, "\(name)")
        #expect(options.embeddingDimension == row.dimension)
    }

    @Test(arguments: denseRows.map(\.name))
    func modelConfigWinsOverTheCatalog(name: String) throws {
        let row = try #require(PretrainedCatalog.find(name: name))
        let opposite: JSON = ["pooling_mode": row.pooling == "CLS" ? "MEAN" : "CLS", "normalize_result": .bool(!(row.normalize ?? false))]
        let options = try NativeInferenceEngine.options(for: Self.request(name, config: opposite))
        #expect(options.pooling == (row.pooling == "CLS" ? .mean : .cls))
        #expect(options.normalize == !(row.normalize ?? false))
    }

    @Test func theTableMatchesTheReference() {
        // Spot checks against the API reference's §10.3 table.
        #expect(PretrainedCatalog.find(name: "huggingface/sentence-transformers/msmarco-distilbert-base-tas-b")?.pooling == "CLS")
        #expect(PretrainedCatalog.find(name: "huggingface/sentence-transformers/multi-qa-mpnet-base-dot-v1")?.pooling == "CLS")
        #expect(PretrainedCatalog.find(name: "huggingface/sentence-transformers/all-mpnet-base-v2")?.normalize == true)
        #expect(PretrainedCatalog.find(name: "huggingface/sentence-transformers/paraphrase-MiniLM-L3-v2")?.normalize == false)
        #expect(Self.denseRows.count == 11)
    }

    @Test func aBrokenModelConfigIsAClearError() throws {
        let broken = #expect(throws: MLError.self) {
            try NativeInferenceEngine.options(for: Self.request("custom", config: ["all_config": "{not json"]))
        }
        #expect(broken?.reason.contains("all_config is not valid JSON") == true)
        #expect(throws: MLError.self) { try NativeInferenceEngine.options(for: Self.request("custom", config: ["embedding_dimension": -3])) }
        // A null dimension is no dimension, as a missing one.
        #expect(try NativeInferenceEngine.options(for: Self.request("custom", config: ["embedding_dimension": nil])).embeddingDimension == nil)
        // A HF config given as an object (as some clients send it) is read like the string form.
        let object = try NativeInferenceEngine.options(for: Self.request("custom", config: ["all_config": ["model_type": "mpnet", "hidden_size": 16]]))
        #expect(object.encoderConfig?["model_type"] == "mpnet")
    }
}
