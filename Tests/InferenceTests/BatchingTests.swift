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
        // Three workers and a budget that cuts the texts into several uneven batches, each small
        // enough to split every step over the workers; then one batch of all the texts, cut into a
        // run of whole sequences per worker.
        let lengths = model.tokenize(texts).map(\.ids.count)
        #expect(TransformerEncoder.workerGroups(lengths, workers: 2).count == 2, "\(family): the texts are too few to cut per worker")
        for (threads, budget) in [(3, 150), (2, 100_000)] {
            let batched = try model.embed(texts, parallelism: Parallelism(threads: threads), batchTokens: budget)
            #expect(batched.count == texts.count)
            var largest: Float = 0
            for (one, many) in zip(alone, batched) {
                #expect(one.count == many.count)
                largest = max(largest, KernelTests.largestDifference(one, many))
            }
            #expect(largest <= 1e-5, "\(family), \(threads) threads, budget \(budget): batched and alone differ by \(largest)")
        }
        let (difference, _) = try references.maxDifference { try model.embed($0, parallelism: Parallelism(threads: 2)) }
        #expect(difference <= 1e-4, "\(family): batched embeddings differ from sentence-transformers by \(difference)")
    }

    @Test func workerGroupsShareTheTokensOut() {
        // Length-sorted, as batches are.
        let lengths = (1...60).map { 4 + $0 * 3 }
        let total = lengths.reduce(0, +)
        for workers in [2, 3, 4] {
            let groups = TransformerEncoder.workerGroups(lengths, workers: workers)
            #expect(groups.count == workers)
            #expect(groups.first?.lowerBound == 0 && groups.last?.upperBound == lengths.count)
            #expect(zip(groups, groups.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound && !$0.isEmpty && !$1.isEmpty })
            #expect(groups.allSatisfy { lengths[$0].reduce(0, +) * workers * 8 <= total * 9 })
        }
        // Five passages on two workers cannot be shared evenly; too few tokens or sequences: one group.
        #expect(TransformerEncoder.workerGroups([384, 384, 384, 384, 384], workers: 2) == [0..<5])
        #expect(TransformerEncoder.workerGroups([8, 8, 8], workers: 2) == [0..<3])
        #expect(TransformerEncoder.workerGroups([500], workers: 2) == [0..<1])
        #expect(TransformerEncoder.workerGroups([300, 300], workers: 1) == [0..<2])
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
