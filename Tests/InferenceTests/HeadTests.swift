import Foundation
@testable import Inference
import OrderedJSON
import Testing

/// Sparse encoders, the sparse tokenizer and a cross-encoder, against the outputs PyTorch and
/// Hugging Face `tokenizers` give for the same files (scripts/fixtures/make_head_fixtures.py).
@Suite struct HeadTests {
    static func expected(_ name: String) throws -> [JSON] { try Fixtures.lines("heads/\(name)/expected.jsonl").map { try JSON.parse($0) } }

    /// Compares token → weight maps: same keys, weights within 1e-4.
    static func compare(_ terms: [SparseTerm], _ reference: JSON, text: String) -> String? {
        let want = reference.objectValue ?? [:]
        let got = Dictionary(terms.map { ($0.token, $0.weight) }, uniquingKeysWith: { _, last in last })
        if Set(got.keys) != Set(want.keys) {
            return "\(text.debugDescription): tokens differ: extra \(Set(got.keys).subtracting(want.keys).sorted().prefix(5)), missing \(Set(want.keys).subtracting(got.keys).sorted().prefix(5))"
        }
        for (token, value) in want where abs((got[token] ?? .infinity) - Float(value.doubleValue!)) > 1e-4 {
            return "\(text.debugDescription): \(token) weighs \(got[token]!) not \(value.doubleValue!)"
        }
        return nil
    }

    @Test(arguments: ["sparse-bert", "sparse-distilbert"])
    func sparseEncoderMatchesTheTracedWrapper(name: String) throws {
        let model = try ArtifactLoader.loadSparseEncoder(zip: Fixtures.url("heads/\(name)/\(name)-torch_script.zip"), options: ModelOptions())
        // these were traced with the prune step written inline (`torch.gt(v, torch.mul(max, c))`)
        #expect(model.logarithms == (name == "sparse-distilbert" ? 2 : 1))
        #expect(abs(model.pruneRatio - (name == "sparse-distilbert" ? 0.1 : 0)) < 1e-6)
        let lines = try Self.expected(name)
        let texts = lines.map { $0["text"]!.stringValue! }
        // All at once in one batch, and in many small packed batches over three workers.
        for encoded in [try model.encode(texts), try model.encode(texts, parallelism: Parallelism(threads: 3), batchTokens: 64)] {
            let problems = zip(encoded, lines).compactMap { Self.compare($0, $1["sparse"]!, text: $1["text"]!.stringValue!) }
            #expect(problems.isEmpty, "\(problems.count) texts differ:\n\(problems.prefix(5).joined(separator: "\n"))")
        }
    }

    @Test func sparseTokenizerWeighsDistinctTokensByIDF() throws {
        let model = try ArtifactLoader.loadSparseTokenizer(zip: Fixtures.url("heads/sparse-tokenizer/sparse-tokenizer-torch_script.zip"))
        let lines = try Self.expected("sparse-tokenizer")
        let encoded = model.encode(lines.map { $0["text"]!.stringValue! })
        let problems = zip(encoded, lines).compactMap { Self.compare($0, $1["sparse"]!, text: $1["text"]!.stringValue!) }
        #expect(problems.isEmpty, "\(problems.count) texts differ:\n\(problems.prefix(5).joined(separator: "\n"))")
    }

    @Test func crossEncoderScoresPairs() throws {
        let model = try ArtifactLoader.loadCrossEncoder(zip: Fixtures.url("heads/cross-encoder/cross-encoder-torch_script.zip"), options: ModelOptions())
        #expect(model.labels == 1)
        var worst: Float = 0
        for line in try Self.expected("cross-encoder") {
            let score = try model.score(query: line["query"]!.stringValue!, documents: [line["doc"]!.stringValue!])[0][0]
            worst = max(worst, abs(score - Float(line["score"]!.doubleValue!)))
        }
        #expect(worst <= 1e-4, "largest difference \(worst)")
    }

    @Test func crossEncoderScoresManyDocumentsInPackedBatches() throws {
        let model = try ArtifactLoader.loadCrossEncoder(zip: Fixtures.url("heads/cross-encoder/cross-encoder-torch_script.zip"), options: ModelOptions())
        // Pairs sharing a query, scored together (batches of ~48 tokens over two workers) and one by one.
        let lines = try Self.expected("cross-encoder")
        let query = try #require(lines.first?["query"]?.stringValue)
        let documents = lines.compactMap { $0["doc"]?.stringValue }
        let together = try model.score(query: query, documents: documents, parallelism: Parallelism(threads: 2), batchTokens: 48)
        let alone = try documents.map { try model.score(query: query, documents: [$0])[0] }
        #expect(together.count == documents.count)
        let worst = zip(together, alone).map { abs($0[0] - $1[0]) }.max() ?? .nan
        #expect(worst <= 1e-5, "batched and alone differ by \(worst)")
    }

    @Test func questionAnsweringFindsTheSpanAndBuildsTheAnswerAsDJL() throws {
        let model = try ArtifactLoader.loadQuestionAnswerer(zip: Fixtures.url("heads/question-answering/question-answering-torch_script.zip"),
                                                           options: ModelOptions())
        var problems: [String] = []
        for line in try Self.expected("question-answering") {
            let answer = try model.answer(question: line["question"]!.stringValue!, context: line["context"]!.stringValue!)
            let want = QuestionAnswerer.Answer(start: Int(line["start"]!.intValue!), end: Int(line["end"]!.intValue!), text: line["answer"]!.stringValue!)
            if answer != want { problems.append("got \(answer), want \(want)") }
        }
        #expect(problems.isEmpty, "\(problems.count) answers differ:\n\(problems.prefix(5).joined(separator: "\n"))")
    }

    @Test func wrongKindsOfModelAreRefused() throws {
        // A sentence-transformers trace is not a sparse model.
        #expect(throws: WeightError.self) {
            try ArtifactLoader.loadSparseEncoder(zip: Fixtures.url("architectures/bert/bert-torch_script.zip"), options: ModelOptions())
        }
        #expect(throws: WeightError.self) {
            try ArtifactLoader.loadCrossEncoder(zip: Fixtures.url("architectures/bert/bert-torch_script.zip"), options: ModelOptions())
        }
    }
}
