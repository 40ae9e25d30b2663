import Foundation
@testable import Inference
import OrderedJSON
import Testing
import ZIPFoundation

/// Artifacts made by opensearch-py-ml's own export classes (scripts/fixtures/make_exporter_fixtures.py):
/// `SparseEncodingModel.save_as_pt` with a prune ratio and the "l0" activation, and with its
/// defaults; `SentenceTransformerModel.save_as_pt` / `save_as_onnx` with `make_model_config_json`.
/// References come from the exporter's own `NeuralSparseModel` and from sentence-transformers.
@Suite struct ExporterTests {
    static let wrapperCode = "model/code/__torch__/opensearch_py_ml/ml_models/sparse_encoding_model.py"

    static func sparse(_ zip: URL) throws -> SparseEncoder { try ArtifactLoader.loadSparseEncoder(zip: zip, options: ModelOptions()) }

    /// Compares id → weight maps: the same ids kept, weights within 1e-4.
    static func compare(_ terms: [SparseTerm], _ expected: JSON, text: String) -> String? {
        let want = Dictionary(uniqueKeysWithValues: (expected["ids"]?.objectValue ?? [:]).map { (Int32($0.key)!, Float($0.value.doubleValue!)) })
        let got = Dictionary(terms.map { ($0.id, $0.weight) }, uniquingKeysWith: { _, last in last })
        if Set(got.keys) != Set(want.keys) {
            return "\(text.debugDescription): ids differ: extra \(Set(got.keys).subtracting(want.keys).sorted().prefix(5)), missing \(Set(want.keys).subtracting(got.keys).sorted().prefix(5))"
        }
        for (id, weight) in want where abs(got[id]! - weight) > 1e-4 {
            return "\(text.debugDescription): id \(id) weighs \(got[id]!) not \(weight)"
        }
        return nil
    }

    /// Problems of `model` against a fixture's expected.jsonl (empty when it matches).
    static func problems(_ model: SparseEncoder, _ name: String) throws -> [String] {
        let lines = try Fixtures.lines("exporters/\(name)/expected.jsonl").map { try JSON.parse($0) }
        let encoded = try model.encode(lines.map { $0["text"]!.stringValue! })
        return zip(encoded, lines).compactMap { compare($0, $1, text: $1["text"]!.stringValue!) }
    }

    @Test(arguments: [("sparse-l0-pruned", 2, Float(0.15)), ("sparse-default", 1, Float(0))])
    func sparseEncoderMatchesTheExportersModel(name: String, logarithms: Int, ratio: Float) throws {
        let model = try Self.sparse(Fixtures.url("exporters/\(name)/model.zip"))
        #expect(model.logarithms == logarithms)
        #expect(abs(model.pruneRatio - ratio) < 1e-6)
        let problems = try Self.problems(model, name)
        #expect(problems.isEmpty, "\(problems.count) texts differ:\n\(problems.prefix(5).joined(separator: "\n"))")
    }

    @Test func thePruneRatioDropsTerms() throws {
        // Every text of the pruned fixture loses terms to pruning (the exporter's unpruned count is
        // larger), so a ratio read as 0 would keep terms the reference drops.
        let lines = try Fixtures.lines("exporters/sparse-l0-pruned/expected.jsonl").map { try JSON.parse($0) }
        let dropped = lines.filter { Int($0["unpruned"]!.intValue!) > ($0["ids"]?.objectValue?.count ?? 0) }
        #expect(dropped.count == lines.count)
    }

    /// The pruned fixture's artifact with its wrapper's code edited (the edit must change it).
    static func editedWrapper(_ edit: (String) -> String) throws -> URL {
        let outer = try ZIPFoundationArchive(url: Fixtures.url("exporters/sparse-l0-pruned/model.zip"))
        let inner = try Archive(data: outer.data(of: "model.pt"), accessMode: .read)
        var entries: [(String, [UInt8])] = [], edited = false
        for entry in inner {
            var data = Data()
            _ = try inner.extract(entry) { data.append($0) }
            if entry.path == wrapperCode {
                let code = String(decoding: data, as: UTF8.self), changed = edit(code)
                edited = changed != code
                data = Data(changed.utf8)
            }
            entries.append((entry.path, [UInt8](data)))
        }
        guard edited else { throw FixtureMissing("the edit left \(wrapperCode) unchanged") }
        let pt = HostileFiles.zip(entries)
        return try HostileFiles.write(HostileFiles.zip([("model.pt", pt), ("tokenizer.json", [UInt8](outer.data(of: "tokenizer.json")))]),
                                      name: "sparse-edited.zip")
    }

    @Test func theWrapperIsReadFromItsStructureNotOneSpelling() throws {
        // opensearch-py-ml writes the threshold as its own statement; the same computation inline,
        // and with other variable names, must give the same terms.
        let inline = try Self.editedWrapper {
            $0.replacingOccurrences(of: "    max_values = torch.mul(torch.unsqueeze(_9, 1), CONSTANTS.c3)\n", with: "")
                .replacingOccurrences(of: "torch.gt(values0, max_values)", with: "torch.gt(values0, torch.mul(torch.unsqueeze(_9, 1), CONSTANTS.c3))")
        }
        let renamed = try Self.editedWrapper {
            $0.replacingOccurrences(of: "max_values", with: "limit").replacingOccurrences(of: "values0", with: "weights")
        }
        for url in [inline, renamed] {
            defer { try? FileManager.default.removeItem(at: url) }
            let model = try Self.sparse(url)
            #expect(abs(model.pruneRatio - 0.15) < 1e-6)
            let problems = try Self.problems(model, "sparse-l0-pruned")
            #expect(problems.isEmpty, "\(problems.count) texts differ:\n\(problems.prefix(5).joined(separator: "\n"))")
        }
    }

    @Test(arguments: [("values0 = torch.log(_4)", "values0 = torch.tanh(_4)", "torch.tanh"),
                      ("torch.gt(values0, max_values)", "torch.ge(values0, max_values)", "torch.ge"),
                      ("_3 = torch.add(torch.relu(values), CONSTANTS.c0)", "_3 = torch.add(torch.relu_(values), CONSTANTS.c0)", "torch.relu_")])
    func anOperationTheEngineLacksRefusesTheModelNamingIt(original: String, replacement: String, operation: String) throws {
        let url = try Self.editedWrapper { $0.replacingOccurrences(of: original, with: replacement) }
        defer { try? FileManager.default.removeItem(at: url) }
        let message = "the sparse wrapper's code uses \(operation), which the engine does not implement"
        let error = #expect(throws: WeightError.self) { try Self.sparse(url) }
        #expect(error?.message == message)
        // registration's check reads the wrapper too
        let refused = #expect(throws: InferenceError.self) {
            try NativeEngine.validateArtifact(zip: url, format: .torchScript, functionName: "SPARSE_ENCODING", options: ModelOptions())
        }
        #expect(refused?.message.contains(message) == true, "\(refused?.message ?? "")")
    }

    @Test func hostileWrapperCodeIsRefusedWithinBounds() throws {
        let cases: [(original: String, replacement: String, message: String)] = [
            ("_8 = torch.index_put_(_5, _7, CONSTANTS.c2)", "_8 = torch.index_put_(_5, [None, CONSTANTS.c3], CONSTANTS.c2)",
             "sets vocabulary entry 0.15, outside its"),
            ("CONSTANTS.c3)", "CONSTANTS.c99)", "refers to CONSTANTS.c99, which constants.pkl lacks"),
            ("values0 = torch.log(_4)", "values0 = " + String(repeating: "torch.log(", count: 200) + "_4" + String(repeating: ")", count: 200),
             "nested more than \(TracedForward.maxDepth) deep"),
            ("torch.gt(values0, max_values)", "torch.gt(values0, nowhere)", "reads nowhere before assigning it"),
            ("-> Dict[str, Tensor]:", "-> Dict[str, Tensor]", "signature does not end before its return"),
            ("input[\"input_ids\"]", "input[\"input_ids]", "an unterminated string"),
            ("torch.max(values0, -1)", "torch.max(values0, dim=-1)", "uses torch.max with keyword arguments (dim)"),
            ("_1 = torch.mul(_0, ", "_1 = torch.mul((backbone_model).forward(input_ids, attention_mask, ), ", "uses a second module call"),
            ("return {\"output\": _11}", "return {\"output\": _9}", "\"output\" is not a vector over the vocabulary"),
        ]
        for (original, replacement, message) in cases {
            let url = try Self.editedWrapper { $0.replacingOccurrences(of: original, with: replacement) }
            defer { try? FileManager.default.removeItem(at: url) }
            let error = #expect(throws: WeightError.self, "\(replacement.prefix(60))") { try Self.sparse(url) }
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error") lacks \(message)")
        }
    }

    @Test(arguments: [("torch_script", ArtifactFormat.torchScript), ("onnx", ArtifactFormat.onnx)])
    func sentenceTransformerExportsMatchSentenceTransformers(file: String, format: ArtifactFormat) throws {
        let config = try Fixtures.url("exporters/dense/\(file)-config.json")
        let model = try ArtifactLoader.loadTextEmbedder(zip: Fixtures.url("exporters/dense/\(file).zip"), format: format,
                                                        options: TorchScriptTests.options(from: config))
        #expect(model.dimension == 16)
        let (difference, text) = try EmbeddingReferences(Fixtures.url("exporters/dense/embeddings.jsonl")).maxDifference(model)
        #expect(difference <= 1e-4, "largest difference \(difference) at \(text.debugDescription)")
    }

    /// The real all-MiniLM-L6-v2 exported by `save_as_onnx` at test time (scripts/fixtures/make_real_minilm_artifacts.py),
    /// registered with what `make_model_config_json` wrote, against sentence-transformers.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MLCOMMONS_REAL_ARTIFACTS_DIR"] != nil))
    func realMiniLMExportedAsONNX() throws {
        let folder = URL(fileURLWithPath: ProcessInfo.processInfo.environment["MLCOMMONS_REAL_ARTIFACTS_DIR"]!).appendingPathComponent("onnx")
        let model = try ArtifactLoader.loadTextEmbedder(zip: folder.appendingPathComponent("sentence-transformers_all-MiniLM-L6-v2-1.0.1-onnx.zip"),
                                                        format: .onnx, options: TorchScriptTests.options(from: folder.appendingPathComponent("config.json")))
        #expect(model.dimension == 384)
        // Its tokenizer.json truncates at 128 tokens where sentence-transformers stops at 256; 32 texts
        // keep a debug build's run short (TorchScriptTests.realTracedMiniLM takes them all).
        var kept = 0
        let references = try EmbeddingReferences(Fixtures.url("minilm-embeddings.jsonl")) {
            guard kept < 32, model.tokenizer.encode($0, maxLength: 100_000).ids.count <= 128 else { return false }
            kept += 1
            return true
        }
        #expect(references.texts.count == 32)
        let worst = try references.maxDifference(model)
        #expect(worst.difference <= 1e-4, "largest difference \(worst.difference) for \(worst.text.debugDescription)")
    }
}
