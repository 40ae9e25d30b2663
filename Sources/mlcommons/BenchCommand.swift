import ArgumentParser
import Foundation
import Inference
import OrderedJSON

/// `mlcommons bench`: the engine alone on a corpus of texts of several kinds, in length-sorted
/// batches (throughput) and one text at a time (latency), with the machine's matrix-product rates for scale.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the engine on a corpus and print texts/s, tokens/s, latency, GFLOPS and peak RSS as one JSON object.",
        discussion: "The corpus is JSON lines {\"kind\": ..., \"text\": ...}; every kind is measured alone, then all texts together (\"mixed\").")

    @OptionGroup var location: ModelLocation

    @Option(help: "JSON lines with \"kind\" and \"text\".")
    var corpus: String

    @Option(help: "Worker threads of the engine (OpenBLAS stays single-threaded inside each).")
    var threads: Int = 2

    @Option(help: "Tokens per forward pass.")
    var batchTokens: Int = TextEmbedder.defaultBatchTokens

    @Option(help: "Texts of each kind timed one at a time for latency.")
    var latencySamples: Int = 200

    @Flag(help: "Time texts one at a time only (no batches, no sgemm rate): for profiling latency.")
    var latencyOnly = false

    @Flag(help: "Compare OpenBLAS sgemm with the engine's packed product on the encoder's shapes only, and exit.")
    var kernels = false

    func run() throws {
        Kernels.setBLASThreads(1)
        let parallelism = Parallelism(threads: threads)
        let texts = try BenchCorpus(path: corpus)
        let clock = ContinuousClock()
        var model: TextEmbedder?
        let loadTime = try clock.measure { model = try load() }
        guard let model else { return }
        if kernels { return print(kernelRates(model.encoder.config, parallelism: parallelism).serialized) }
        let rssAfterLoad = ProcessMemory.residentBytes()

        var result: [(String, JSON)] = [
            ("model_load_seconds", .double(loadTime.seconds.rounded(places: 3))),
            ("rss_after_load_bytes", .int(Int64(rssAfterLoad))),
        ]
        if !latencyOnly {
            // The machine's matrix-product rate, for scale: OpenBLAS and the engine's own kernel on one feed-forward product.
            let rate = LinearRate.measure(rows: 1024, inFeatures: 384, outFeatures: 1536, parallelism: parallelism, seconds: 1)
            result += [("sgemm_gflops", .double(rate.sgemmGFLOPS.rounded(places: 1))), ("packed_gflops", .double(rate.packedGFLOPS.rounded(places: 1)))]
        }
        _ = try model.embed(Array(texts.all.prefix(64)), parallelism: parallelism, batchTokens: batchTokens)  // warm-up
        var kinds: [(String, JSON)] = []
        for (kind, group) in texts.byKind + (latencyOnly ? [] : [("mixed", texts.all)]) {
            var entry: [(String, JSON)] = []
            if !latencyOnly { entry = try throughput(model, group, parallelism: parallelism) }
            if kind != "mixed" {
                var latencies: [Double] = []
                for text in group.prefix(latencySamples) {
                    latencies.append(try clock.measure { _ = try model.embed([text], parallelism: parallelism) }.seconds * 1000)
                }
                entry += [("p50_ms", .double(latencies.percentile(50).rounded(places: 2))), ("p99_ms", .double(latencies.percentile(99).rounded(places: 2)))]
            }
            kinds.append((kind, .object(JSONObject(entry))))
        }
        result += [("kinds", .object(JSONObject(kinds))), ("peak_rss_bytes", .int(Int64(ProcessMemory.peakResidentBytes()))),
                   ("threads", .int(Int64(threads))), ("batch_tokens", .int(Int64(batchTokens))), ("max_length", .int(Int64(model.maxLength)))]
        print(JSON.object(JSONObject(result)).serialized)
    }

    /// Texts/s, tokens/s and GFLOPS of embedding `group` in length-sorted batches.
    private func throughput(_ model: TextEmbedder, _ group: [String], parallelism: Parallelism) throws -> [(String, JSON)] {
        let sequences = model.tokenize(group)
        let tokens = sequences.reduce(0) { $0 + $1.ids.count }
        let flops = sequences.reduce(0.0) { $0 + model.encoder.flops(length: $1.ids.count) }
        let elapsed = try ContinuousClock().measure { _ = try model.embed(group, parallelism: parallelism, batchTokens: batchTokens) }.seconds
        return [
            ("texts", .int(Int64(group.count))), ("tokens", .int(Int64(tokens))),
            ("texts_per_second", .double((Double(group.count) / elapsed).rounded(places: 1))),
            ("tokens_per_second", .double((Double(tokens) / elapsed).rounded())),
            ("gflops", .double((flops / elapsed / 1e9).rounded(places: 1))),
        ]
    }

    /// GFLOPS of each of the encoder's four products, for a batch of `batchTokens` rows and one
    /// short text's 8 rows.
    private func kernelRates(_ config: EncoderConfig, parallelism: Parallelism) -> JSON {
        let h = config.hiddenSize, inner = config.intermediateSize
        let shapes = [("qkv", h, 3 * h), ("attention_out", h, h), ("intermediate", h, inner), ("output", inner, h)]
        var entries: [JSON] = []
        for rows in [batchTokens, 8] {
            for (name, inFeatures, outFeatures) in shapes {
                let m = LinearRate.measure(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures, parallelism: parallelism)
                entries.append(.object(JSONObject([
                    ("product", .string(name)), ("rows", .int(Int64(rows))), ("in", .int(Int64(inFeatures))), ("out", .int(Int64(outFeatures))),
                    ("sgemm_gflops", .double(m.sgemmGFLOPS.rounded(places: 1))), ("packed_gflops", .double(m.packedGFLOPS.rounded(places: 1))),
                    ("packed_over_sgemm", .double((m.packedGFLOPS / m.sgemmGFLOPS).rounded(places: 3))),
                    ("largest_difference", .double(Double(m.largestDifference))),
                ])))
            }
        }
        return .array(entries)
    }

    private func load() throws -> TextEmbedder {
        if location.isFolder { return try TextEmbedder.load(folder: location.url) }
        guard let loaded = try NativeEngine().load(artifact: location.url, format: location.zipFormat(), functionName: "TEXT_EMBEDDING",
                                                   options: ModelOptions()) as? TextEmbedder else {
            throw ValidationError("bench measures text-embedding models")
        }
        return loaded
    }
}

/// The benchmark corpus: JSON lines with a `kind` (short, sentence, passage…) and a `text`.
struct BenchCorpus {
    let byKind: [(String, [String])]
    var all: [String] { byKind.flatMap(\.1) }

    init(path: String) throws {
        var kinds: [String] = [], texts: [String: [String]] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let entry = try JSON.parse(Data(line.utf8))
            guard let kind = entry["kind"]?.stringValue, let text = entry["text"]?.stringValue else {
                throw ValidationError("every line of \(path) needs \"kind\" and \"text\"")
            }
            if texts[kind] == nil { kinds.append(kind) }
            texts[kind, default: []].append(text)
        }
        guard !kinds.isEmpty else { throw ValidationError("\(path) holds no text") }
        byKind = kinds.map { ($0, texts[$0]!) }
    }
}

/// Resident memory of this process, from /proc/self/status.
enum ProcessMemory {
    static func residentBytes() -> Int { field("VmRSS:") }
    static func peakResidentBytes() -> Int { field("VmHWM:") }

    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Double {
    func rounded(places: Int) -> Double {
        let scale = Foundation.pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}

extension Array where Element == Double {
    func percentile(_ p: Double) -> Double {
        let sorted = self.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[Swift.min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.down)))]
    }
}
