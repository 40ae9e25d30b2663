import ArgumentParser
import Foundation
import Inference
import OrderedJSON

/// `mlcommons bench`: the engine alone on a corpus, one text at a time, as ML Commons infers.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine on a corpus (one text per line) and print texts/s, tokens/s and latency.")

    @OptionGroup var location: ModelLocation

    @Option(help: "A file with one text per line.")
    var corpus: String

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 1

    @Option(help: "Texts to run before measuring.")
    var warmup: Int = 5

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        Kernels.setBLASThreads(threads)
        let texts = try String(contentsOfFile: corpus, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !texts.isEmpty else { throw ValidationError("\(corpus) holds no text") }
        let model: TextEmbedder
        if location.isFolder {
            model = try TextEmbedder.load(folder: location.url)
        } else {
            guard let loaded = try NativeEngine().load(artifact: location.url, format: location.zipFormat(), functionName: "TEXT_EMBEDDING",
                                                       options: ModelOptions()) as? TextEmbedder else {
                throw ValidationError("bench measures text-embedding models")
            }
            model = loaded
        }
        for text in texts.prefix(warmup) { _ = try model.embed([text]) }
        var latencies: [Double] = []
        var tokens = 0
        let clock = ContinuousClock()
        let total = try clock.measure {
            for text in texts {
                tokens += model.tokenizer.encode(text, maxLength: model.maxLength).ids.count
                let elapsed = try clock.measure { _ = try model.embed([text]) }
                latencies.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
        }
        let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.down)))] }
        let result: JSON = [
            "texts": .int(Int64(texts.count)), "tokens": .int(Int64(tokens)), "seconds": .double((seconds * 1000).rounded() / 1000),
            "texts_per_second": .double((Double(texts.count) / seconds * 10).rounded() / 10),
            "tokens_per_second": .double((Double(tokens) / seconds).rounded()),
            "p50_ms": .double((percentile(50) * 100).rounded() / 100), "p99_ms": .double((percentile(99) * 100).rounded() / 100),
            "threads": .int(Int64(threads)),
        ]
        if json {
            print(result.serialized)
        } else {
            for (key, value) in result.objectValue ?? [:] { print("\(key.padding(toLength: 18, withPad: " ", startingAt: 0)) \(value.serialized)") }
        }
    }
}
