import Foundation
@testable import Inference
import OrderedJSON
import Testing

@Suite struct TokenizerTests {
    static let miniLM: Tokenizer? = try? Tokenizer.load(contentsOf: RealModels.miniLMFolder().appendingPathComponent("tokenizer.json"))

    @Test func miniLMIdsMatchHuggingFaceOnTheMultilingualCorpus() throws {
        let tokenizer = try #require(Self.miniLM, "all-MiniLM-L6-v2 tokenizer.json could not be loaded")
        let texts = try Fixtures.lines("tokenizer-corpus.jsonl").map { try #require(JSON.parse($0)["text"]?.stringValue) }
        let expected = try Fixtures.lines("minilm-token-ids.jsonl").map { try JSON.parse($0) }
        #expect(texts.count >= 1000)
        #expect(texts.count == expected.count)
        var mismatches: [String] = []
        for (i, (text, reference)) in zip(texts, expected).enumerated() {
            let encoding = tokenizer.encode(text)
            let ids = reference["ids"]!.arrayValue!.map { Int32($0.intValue!) }
            if encoding.ids != ids { mismatches.append("line \(i + 1) \(text.debugDescription):\n  got  \(encoding.ids)\n  want \(ids)") }
            #expect(encoding.typeIDs == reference["type_ids"]!.arrayValue!.map { Int32($0.intValue!) })
            if let pairIDs = reference["pair_ids"]?.arrayValue {
                let pair = tokenizer.encode(text, pair: texts[(i + 1) % texts.count])
                if pair.ids != pairIDs.map({ Int32($0.intValue!) }) { mismatches.append("pair at line \(i + 1)") }
                #expect(pair.typeIDs == reference["pair_type_ids"]!.arrayValue!.map { Int32($0.intValue!) })
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches:\n\(mismatches.prefix(10).joined(separator: "\n"))")
    }

    /// Trained tokenizers of the other families (scripts/fixtures/make_trained_tokenizers.py).
    @Test(arguments: ["bpe", "unigram"])
    func trainedTokenizerIdsMatchHuggingFace(kind: String) throws {
        let tokenizer = try Tokenizer.load(contentsOf: Fixtures.url("tokenizers/\(kind)-tokenizer.json"))
        let texts = try Fixtures.lines("tokenizer-corpus.jsonl").map { try #require(JSON.parse($0)["text"]?.stringValue) }
        let expected = try Fixtures.lines("tokenizers/\(kind)-token-ids.jsonl").map { try JSON.parse($0) }
        var mismatches: [String] = []
        for (i, (text, reference)) in zip(texts, expected).enumerated() {
            let ids = reference["ids"]!.arrayValue!.map { Int32($0.intValue!) }
            let got = tokenizer.encode(text).ids
            if got != ids { mismatches.append("line \(i + 1) \(text.debugDescription):\n  got  \(got)\n  want \(ids)") }
            if let pairIDs = reference["pair_ids"]?.arrayValue?.map({ Int32($0.intValue!) }),
               tokenizer.encode(text, pair: texts[(i + 1) % texts.count]).ids != pairIDs {
                mismatches.append("pair at line \(i + 1)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(texts.count) differ:\n\(mismatches.prefix(6).joined(separator: "\n"))")
    }

    @Test func workedExampleFromTheFormatNotes() throws {
        let tokenizer = try #require(Self.miniLM)
        #expect(tokenizer.encode("Ça coûte 5€ — naïve café 東京 test\u{200b}\u{07}end").ids
            == [101, 6187, 2522, 10421, 1019, 30102, 1517, 15743, 7668, 1879, 1755, 3231, 10497, 102])
        #expect(tokenizer.token(for: 10421) == "##ute")
        #expect(tokenizer.id(for: "[SEP]") == 102)
    }

    @Test func truncationCountsSpecialTokens() throws {
        let tokenizer = try #require(Self.miniLM)
        let long = String(repeating: "word ", count: 400)
        #expect(tokenizer.encode(long).ids.count == 128)
        #expect(tokenizer.encode(long, maxLength: 10).ids.count == 10)
        #expect(tokenizer.encode(long, maxLength: 10).ids.last == 102)
        let pair = tokenizer.encode(long, pair: "short question", maxLength: 16)
        #expect(pair.ids.count == 16)
        #expect(pair.typeIDs.filter { $0 == 1 }.count == 3)  // "short question [SEP]" kept whole: longest first
    }

    @Test func brokenTokenizerFilesAreClearErrors() {
        #expect(throws: TokenizerError.self) { try Tokenizer.load(Data("{".utf8)) }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(Data(#"{"model": {"type": "Mystery"}}"#.utf8)) }
        #expect(throws: TokenizerError.self) {
            try Tokenizer.load(Data(#"{"model": {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "[UNK]"}}"#.utf8))
        }
    }
}
