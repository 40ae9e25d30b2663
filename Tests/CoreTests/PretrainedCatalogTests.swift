@testable import MLCommonsCore
import Testing

/// The catalog accepts every version the artifact site serves.
@Suite struct PretrainedCatalogTests {
    /// opensearch-py-ml's `utils/model_uploader/model_listing/pretrained_models_all_versions.json`
    /// (names, versions and formats only), plus the neural sparse versions the documentation pages link.
    static let served: [(name: String, versions: [String], formats: [ModelFormat])] = {
        let both: [ModelFormat] = [.torchScript, .onnx]
        let sentence = "huggingface/sentence-transformers/"
        var rows: [(String, [String], [ModelFormat])] = [
            ("huggingface/cross-encoders/ms-marco-MiniLM-L-12-v2", ["1.0.0", "1.0.1", "1.0.2"], both),
            ("huggingface/cross-encoders/ms-marco-MiniLM-L-6-v2", ["1.0.0", "1.0.1", "1.0.2"], both),
            (sentence + "msmarco-distilbert-base-tas-b", ["1.0.1", "1.0.2", "1.0.3"], both),
            (sentence + "paraphrase-mpnet-base-v2", ["1.0.0", "1.0.1"], both),
            (sentence + "distiluse-base-multilingual-cased-v1", ["1.0.1", "1.0.2"], [.torchScript]),
            ("amazon/sentence-highlighting/opensearch-semantic-highlighter-v1", ["1.0.0"], [.torchScript]),
        ]
        for short in ["all-MiniLM-L12-v2", "all-MiniLM-L6-v2", "all-distilroberta-v1", "all-mpnet-base-v2", "multi-qa-MiniLM-L6-cos-v1",
                      "multi-qa-mpnet-base-dot-v1", "paraphrase-MiniLM-L3-v2", "paraphrase-multilingual-MiniLM-L12-v2"] {
            rows.append((sentence + short, ["1.0.1", "1.0.2"], both))
        }
        let sparse = "amazon/neural-sparse/opensearch-neural-sparse-"
        for (short, versions) in [("encoding-v1", ["1.0.0", "1.0.1"]), ("encoding-doc-v1", ["1.0.0", "1.0.1"]),
                                  ("tokenizer-v1", ["1.0.0", "1.0.1"]), ("encoding-v2-distill", ["1.0.0"]),
                                  ("encoding-doc-v2-distill", ["1.0.0"]), ("encoding-doc-v2-mini", ["1.0.0"]),
                                  ("encoding-doc-v3-distill", ["1.0.0"]), ("encoding-doc-v3-gte", ["1.0.0"]),
                                  ("encoding-multilingual-v1", ["1.0.0"]), ("tokenizer-multilingual-v1", ["1.0.0"])] {
            rows.append((sparse + short, versions, [.torchScript]))
        }
        return rows
    }()

    @Test func everyServedVersionAndFormatIsInTheCatalog() throws {
        for row in Self.served {
            let model = try #require(PretrainedCatalog.find(name: row.name), "\(row.name) is missing")
            #expect(Set(row.versions).isSubset(of: model.versions), "\(row.name): \(model.versions) lacks some of \(row.versions)")
            #expect(Set(row.formats) == Set(model.formats), "\(row.name)")
        }
        #expect(PretrainedCatalog.models.count == Self.served.count)
    }

    @Test func sparseVersionsLocateTheirOwnArtifacts() throws {
        let model = try #require(PretrainedCatalog.find(name: "amazon/neural-sparse/opensearch-neural-sparse-encoding-doc-v1"))
        #expect(model.zipURL(base: "https://artifacts.opensearch.org/models/ml-models/", version: "1.0.0", format: .torchScript)
                == "https://artifacts.opensearch.org/models/ml-models/amazon/neural-sparse/opensearch-neural-sparse-encoding-doc-v1/1.0.0/torch_script/neural-sparse_opensearch-neural-sparse-encoding-doc-v1-1.0.0-torch_script.zip")
    }
}
