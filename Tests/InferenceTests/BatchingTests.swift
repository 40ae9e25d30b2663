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

    @Test func fewRowsKernelMatchesTheGeneralProduct() {
        // Rows below and above the few-rows threshold, output widths that are and are not multiples of 4.
        for (rows, inFeatures, outFeatures) in [(1, 8, 5), (3, 64, 33), (16, 384, 1152), (17, 40, 12)] {
            let input = (0..<rows * inFeatures).map { Float(($0 * 7919) % 113) / 113 - 0.5 }
            let weight = (0..<outFeatures * inFeatures).map { Float(($0 * 104_729) % 97) / 97 - 0.5 }
            let bias = (0..<outFeatures).map { Float($0) / 10 }
            var expected = [Float](repeating: 0, count: rows * outFeatures)
            for r in 0..<rows {
                for o in 0..<outFeatures {
                    var sum = Double(bias[o])
                    for i in 0..<inFeatures { sum += Double(input[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                    expected[r * outFeatures + o] = Float(sum)
                }
            }
            for threads in [1, 2, 3] {
                var output = [Float](repeating: .nan, count: rows * outFeatures)
                Kernels.benchmarkLinear(input, rows: rows, inFeatures: inFeatures, weight: weight, bias: bias, outFeatures: outFeatures,
                                        into: &output, parallelism: Parallelism(threads: threads))
                let worst = zip(output, expected).map { abs($0 - $1) }.max() ?? .nan
                #expect(worst <= 1e-4, "rows \(rows) × \(inFeatures) → \(outFeatures), \(threads) threads: off by \(worst)")
            }
        }
    }

    @Test func vectorisedExpAndErfAreAccurate() {
        var worstExp: Float = 0, worstErf: Float = 0
        for step in stride(from: -80.0 as Float, through: 80, by: 0.37) {
            let x = SIMD8<Float>((0..<8).map { step + Float($0) * 0.01 })
            let e = SIMDMath.exp(x), r = SIMDMath.erf(x / 8)
            for lane in 0..<8 {
                worstExp = max(worstExp, abs(e[lane] - expf(x[lane])) / expf(x[lane]))
                worstErf = max(worstErf, abs(r[lane] - erff(x[lane] / 8)))
            }
        }
        #expect(worstExp <= 2e-6, "relative error of exp \(worstExp)")
        #expect(worstErf <= 5e-7, "absolute error of erf \(worstErf)")
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
