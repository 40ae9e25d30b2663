import Foundation
@testable import Inference
import Testing

/// Batched, packed and parallel forward passes give what one text at a time gives, and both match
/// sentence-transformers (the per-family references).
@Suite struct BatchingTests {
    @Test(arguments: ArchitectureTests.families)
    func batchesMatchOneTextAtATime(family: String) throws {
        let model = try TextEmbedder.load(folder: Fixtures.url("architectures/\(family)/folder"))
        let references = try EmbeddingReferences(Fixtures.url("architectures/\(family)/embeddings.jsonl"))
        let texts = Array(references.texts.prefix(40))
        let alone = try texts.map { try model.encodeDetailed($0).embedding }
        // Three workers and a budget that cuts the texts into several uneven batches.
        let batched = try model.embed(texts, parallelism: Parallelism(threads: 3), batchTokens: 150)
        #expect(batched.count == texts.count)
        var largest: Float = 0
        for (one, many) in zip(alone, batched) {
            #expect(one.count == many.count)
            for (a, b) in zip(one, many) { largest = max(largest, abs(a - b)) }
        }
        #expect(largest <= 1e-5, "\(family): batched and alone differ by \(largest)")
        let (difference, _) = try references.maxDifference { try model.embed($0, parallelism: Parallelism(threads: 2)) }
        #expect(difference <= 1e-4, "\(family): batched embeddings differ from sentence-transformers by \(difference)")
    }

    @Test func batchesRespectTheTokenBudgetAndKeepEveryInput() {
        let lengths = [5, 300, 12, 12, 40, 7, 1, 64, 64, 9]
        let batches = Batching.lengthSortedBatches(lengths: lengths, tokenBudget: 64)
        #expect(batches.flatMap { $0 }.sorted() == Array(lengths.indices))
        for batch in batches where batch.count > 1 {
            #expect(batch.reduce(0) { $0 + lengths[$1] } <= 64)
        }
        // Sorted by length: the 300-token input runs alone, last.
        #expect(batches.last == [1])
        #expect(batches.flatMap { $0 }.map { lengths[$0] } == lengths.sorted())
    }
}
