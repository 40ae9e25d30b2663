import Foundation
import OrderedJSON

/// Makes mutants of the seeds and runs them in child processes, `jobs` at a time.
struct FuzzCampaign {
    let seeds: [FuzzSeed]
    let seed: UInt64
    let work: URL
    let failures: URL
    let timeout: Double
    let memoryMB: Int
    /// The entries of each seed zip, read once.
    var zipEntries: [URL: [(path: String, data: Data)]] = [:]

    /// A prepared mutant: its folder and the worker arguments that run it.
    struct Mutant {
        let index: Int
        let directory: URL
        let seed: FuzzSeed
        let description: String
        var arguments: [String]
    }

    mutating func run(seconds: Double, iterations: Int?, jobs: Int) throws -> FuzzSummary {
        var summary = FuzzSummary()
        let start = Date()
        var running: [(FuzzChild, Mutant)] = []
        var index = 0
        func timeLeft() -> Bool { Date().timeIntervalSince(start) < seconds }
        while true {
            while running.count < jobs, timeLeft(), iterations.map({ index < $0 }) ?? true {
                let mutant = try make(index)
                running.append((try FuzzChild(arguments: mutant.arguments, output: mutant.directory, memoryMB: memoryMB), mutant))
                index += 1
            }
            if running.isEmpty { break }
            var still: [(FuzzChild, Mutant)] = []
            for (child, mutant) in running {
                if let result = child.poll(timeout: timeout) {
                    try record(result, mutant, into: &summary)
                } else {
                    still.append((child, mutant))
                }
            }
            running = still
            if !running.isEmpty { usleep(2_000) }
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }

    private func record(_ result: FuzzChild.Result, _ mutant: Mutant, into summary: inout FuzzSummary) throws {
        summary.run += 1
        summary.peakResidentKB = max(summary.peakResidentKB, result.peakResidentKB)
        let failure: String?
        switch result.outcome {
        case .finished(let report):
            failure = nil
            if report.loaded { summary.loaded += 1 } else {
                summary.rejected += 1
                summary.rejections[Self.category(report.message), default: 0] += 1
            }
            if report.validated == true && !report.loaded { summary.validatedButFailedLoad += 1 }
            if report.validated == false && report.loaded { summary.rejectedByValidationButLoaded += 1 }
        case .crashed(let reason):
            summary.crashes += 1
            failure = "crash: \(reason)"
        case .hung:
            summary.hangs += 1
            failure = "hang: more than \(timeout) s"
        case .outOfMemory(let reason):
            summary.outOfMemory += 1
            failure = "out of memory: \(reason)"
        }
        guard let found = failure else {
            try? FileManager.default.removeItem(at: mutant.directory)
            return
        }
        var cause = found
        if case .hung = result.outcome {} else if summary.failed <= 20,
           let location = try? FuzzChild(arguments: mutant.arguments, output: mutant.directory, memoryMB: memoryMB, backtrace: true).crashLocation(timeout: timeout * 3) {
            cause += " at \(location)"
        }
        let saved = failures.appendingPathComponent("\(mutant.index)-\(mutant.seed.kind.rawValue)-\(mutant.seed.url.deletingPathExtension().lastPathComponent)")
        try FileManager.default.createDirectory(at: failures, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: saved)
        try FileManager.default.moveItem(at: mutant.directory, to: saved)
        let replay = ([FuzzChild.executable] + mutant.arguments).map { $0.replacingOccurrences(of: mutant.directory.path, with: saved.path) }
        try "\(cause)\nseed: \(mutant.seed.url.path)\nmutation: \(mutant.description)\nreplay: \(replay.joined(separator: " "))\n"
            .write(to: saved.appendingPathComponent("cause.txt"), atomically: true, encoding: .utf8)
        let key = Self.category(cause)
        if let known = summary.causes[key] { summary.causes[key] = (known.count + 1, known.example) } else { summary.causes[key] = (1, saved.path) }
        print("[\(mutant.index)] \(cause) (\(mutant.seed.name): \(mutant.description)) → \(saved.path)")
        fflush(nil)  // each failure shows as it happens, in a log file too
    }

    /// A message without its numbers, so the same cause counts once.
    static func category(_ message: String) -> String {
        String(message.prefix(160).map { $0.isNumber ? "#" : $0 }).replacingOccurrences(of: "##", with: "#")
    }

    /// Mutant `index`: its seed and mutation come from `seed` and `index` alone.
    private mutating func make(_ index: Int) throws -> Mutant {
        var random = FuzzRandom(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(index))
        let source = seeds.randomElement(using: &random)!
        let directory = work.appendingPathComponent("m\(index)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var arguments = ["fuzz-artifacts", "--worker", directory.path, "--worker-kind", source.kind.rawValue, "--memory-mb", String(memoryMB)]
        let description: String
        switch source.kind {
        case .tokenizer:
            let (bytes, what) = JSONMutator.mutate([UInt8](try Data(contentsOf: source.url)), random: &random)
            try Data(bytes).write(to: directory.appendingPathComponent("tokenizer.json"))
            description = "tokenizer.json: \(what)"
        case .folder:
            let folder = directory.appendingPathComponent("folder")
            try FileManager.default.copyItem(at: source.url, to: folder)
            let files = (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).sorted()
                .filter { $0.hasSuffix(".json") || $0.hasSuffix(".safetensors") || $0.hasSuffix(".bin") }
            let weights = files.filter { !$0.hasSuffix(".json") }
            let file = (random.chance(0.45) && !weights.isEmpty ? weights : files).randomElement(using: &random)!
            let url = folder.appendingPathComponent(file)
            let (mutated, what) = try Self.mutate(file: file, [UInt8](try Data(contentsOf: url)), random: &random)
            try Data(mutated).write(to: url)
            description = "\(file): \(what)"
        case .zip:
            arguments += ["--worker-function", source.function, "--worker-format", source.format]
            description = try mutateZip(source, into: directory, random: &random)
        }
        return Mutant(index: index, directory: directory, seed: source, description: description, arguments: arguments)
    }

    /// One mutant of a file, by its kind: JSON values, safetensors headers, protobuf fields, or, for
    /// TorchScript zips, one of their records (the pickles' integer operands most often), re-zipped.
    static func mutate(file: String, _ bytes: [UInt8], random: inout FuzzRandom) throws -> (bytes: [UInt8], description: String) {
        if file.hasSuffix(".json") { return JSONMutator.mutate(bytes, random: &random) }
        if file.hasSuffix(".safetensors") { return StructuredMutator.mutateSafetensors(bytes, random: &random) }
        if file.hasSuffix(".onnx") { return StructuredMutator.mutateProtobuf(bytes, random: &random) }
        if file.hasSuffix(".pt") || file.hasSuffix(".bin"), random.chance(0.6), var records = try? FuzzZip.entries(of: Data(bytes)), !records.isEmpty {
            let pickles = records.indices.filter { records[$0].path.hasSuffix(".pkl") }
            let index = (random.chance(0.7) && !pickles.isEmpty ? pickles : Array(records.indices)).randomElement(using: &random)!
            let record = [UInt8](records[index].data)
            let (mutated, what) = records[index].path.hasSuffix(".pkl") ? StructuredMutator.mutatePickle(record, random: &random)
                : BinaryMutator.mutate(record, hotSpots: [], random: &random)
            records[index].data = Data(mutated)
            return ([UInt8](try FuzzZip.archive(records, deflate: random.chance(0.1))), "\(records[index].path): \(what)")
        }
        return BinaryMutator.mutate(bytes, hotSpots: BinaryMutator.zipHotSpots(bytes) + stride(from: 0, to: min(bytes.count, 8192), by: 32).map { $0 }, random: &random)
    }

    /// The artifact zip raw, one of its entries, or the config it is registered with.
    private mutating func mutateZip(_ source: FuzzSeed, into directory: URL, random: inout FuzzRandom) throws -> String {
        let zip = directory.appendingPathComponent("artifact.zip"), configURL = directory.appendingPathComponent("config.json")
        var config: [UInt8]?
        if let seedConfig = source.config, random.chance(0.7) {
            // The registration body carries all_config as a string: mutate the config itself.
            let body = try JSON.parse(Data(contentsOf: seedConfig))
            config = Array((body["model_config"]?["all_config"]?.stringValue ?? body.serialized).utf8)
        }
        var description: String
        let choice = Double.random(in: 0..<1, using: &random)
        if choice < 0.3 {
            let (bytes, what) = BinaryMutator.mutate([UInt8](try Data(contentsOf: source.url)), hotSpots: BinaryMutator.zipHotSpots([UInt8](try Data(contentsOf: source.url))), random: &random)
            try Data(bytes).write(to: zip)
            description = "zip: \(what)"
        } else if choice < 0.8 || config == nil {
            if zipEntries[source.url] == nil { zipEntries[source.url] = try FuzzZip.entries(of: source.url) }
            var entries = zipEntries[source.url]!
            let models = entries.indices.filter { entries[$0].path.hasSuffix(".pt") || entries[$0].path.hasSuffix(".onnx") }
            let index = (random.chance(0.65) && !models.isEmpty ? models : Array(entries.indices)).randomElement(using: &random)!
            let (mutated, what) = try Self.mutate(file: entries[index].path, [UInt8](entries[index].data), random: &random)
            entries[index].data = Data(mutated)
            let deflate = random.chance(0.2)
            try FuzzZip.write(entries, to: zip, deflate: deflate)
            description = "\(entries[index].path)\(deflate ? " (deflated zip)" : ""): \(what)"
        } else {
            try FileManager.default.copyItem(at: source.url, to: zip)
            let (mutated, what) = JSONMutator.mutate(config!, random: &random)
            config = mutated
            description = "all_config: \(what)"
        }
        if let config {
            try Data(config).write(to: configURL)
            description += " (with all_config)"
        }
        return description
    }
}
