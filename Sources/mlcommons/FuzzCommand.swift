import ArgumentParser
import Foundation
import Inference
import OrderedJSON

/// Mutates model artifacts and runs each mutant through the real loading path in a child process,
/// so a trap, a signal, a hang or an unbounded allocation is observed instead of killing the run.
struct FuzzArtifacts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuzz-artifacts",
        abstract: "Fuzz the model-file readers with mutated artifacts, tokenizer.json and config.json files.",
        discussion: """
            Each mutant is validated, loaded and run once (one embedding, sparse encoding, score or answer) by a child \
            process with a memory cap and a timeout. Prints a summary; saves every crashing, hanging or out-of-memory \
            mutant (with the command that replays it) under --output; exits non-zero if there was any.
            """)

    @Option(help: "Seed files or folders (artifact zips, model folders, tokenizer.json); default: the test fixtures.")
    var seeds: [String] = ["Tests/InferenceTests/Fixtures"]

    @Option(help: "Time budget in seconds.")
    var seconds: Double = 60

    @Option(help: "Stop after this many mutants (default: only the time budget).")
    var iterations: Int?

    @Option(help: "Random seed: the same seed makes the same mutants in the same order.")
    var seed: UInt64 = 1

    @Option(help: "Mutants run at once.")
    var jobs: Int = 1

    @Option(help: "Seconds one mutant may take before it counts as a hang.")
    var timeout: Double = 20

    @Option(name: .customLong("memory-mb"), help: "Address-space cap of a child, in MiB; reaching it counts as out of memory.")
    var memoryMB: Int = 3072

    @Option(help: "Where failing mutants are saved.")
    var output: String = ".build/fuzz-failures"

    @Option(name: .customLong("worker"), help: .hidden)
    var workerDirectory: String?

    @Option(name: .customLong("worker-kind"), help: .hidden)
    var workerKind: String = "zip"

    @Option(name: .customLong("worker-function"), help: .hidden)
    var workerFunction: String = "TEXT_EMBEDDING"

    @Option(name: .customLong("worker-format"), help: .hidden)
    var workerFormat: String = "TORCH_SCRIPT"

    func validate() throws {
        guard jobs >= 1, jobs <= 64 else { throw ValidationError("--jobs must be in 1...64") }
        guard seconds > 0, seconds <= 86_400 * 7, timeout > 0, timeout <= 3_600 else { throw ValidationError("--seconds and --timeout must be positive and sane") }
        guard memoryMB >= 256, memoryMB <= 1 << 20 else { throw ValidationError("--memory-mb must be in 256...1048576") }
        if let iterations, iterations < 1 { throw ValidationError("--iterations must be positive") }
    }

    func run() throws {
        if let workerDirectory {
            FuzzWorker.run(directory: URL(fileURLWithPath: workerDirectory), kind: workerKind, function: workerFunction,
                           format: workerFormat, memoryMB: memoryMB)
        }
        var seedList: [FuzzSeed] = []
        for path in seeds {
            let url = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path) does not exist") }
            seedList += isDirectory(path) ? try FuzzSeed.discover(url)
                : try FuzzSeed.discover(url.deletingLastPathComponent()).filter { $0.url.standardizedFileURL == url.standardizedFileURL }
        }
        guard !seedList.isEmpty else { throw ValidationError("no seed artifacts found under \(seeds.joined(separator: ", "))") }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mlcommons-fuzz-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let failures = URL(fileURLWithPath: output)
        var campaign = FuzzCampaign(seeds: seedList, seed: seed, work: work, failures: failures, timeout: timeout, memoryMB: memoryMB)
        print("fuzz-artifacts: \(seedList.count) seeds, seed \(seed), \(jobs) job(s), \(seconds) s budget\(iterations.map { ", at most \($0) mutants" } ?? "")")
        let summary = try campaign.run(seconds: seconds, iterations: iterations, jobs: jobs)
        print(summary.report)
        if summary.failed > 0 { throw ExitCode(1) }
    }

    private func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}

/// What happened to the mutants of one run.
struct FuzzSummary {
    var run = 0, rejected = 0, loaded = 0, validatedButFailedLoad = 0, rejectedByValidationButLoaded = 0
    var crashes = 0, hangs = 0, outOfMemory = 0
    var peakResidentKB = 0
    var seconds = 0.0
    /// Failure cause → (count, first saved mutant).
    var causes: [String: (count: Int, example: String)] = [:]
    var rejections: [String: Int] = [:]

    var failed: Int { crashes + hangs + outOfMemory }

    var report: String {
        var lines = [
            String(format: "mutants run: %d in %.1f s (%.1f mutants/s)", run, seconds, seconds > 0 ? Double(run) / seconds : 0),
            "rejected cleanly: \(rejected), loaded and ran: \(loaded)",
            "validateArtifact passed but loading failed: \(validatedButFailedLoad); validateArtifact refused but loading worked: \(rejectedByValidationButLoaded)",
            "crashes: \(crashes), hangs: \(hangs), out of memory: \(outOfMemory)",
            "peak child RSS: \(peakResidentKB / 1024) MiB",
        ]
        if !causes.isEmpty {
            lines.append("failure causes:")
            for (cause, entry) in causes.sorted(by: { $0.value.count > $1.value.count }) {
                lines.append("  \(entry.count)× \(cause)\n      e.g. \(entry.example)")
            }
        }
        lines.append("most common rejections:")
        for (message, count) in rejections.sorted(by: { $0.value > $1.value }).prefix(12) { lines.append("  \(count)× \(message)") }
        return lines.joined(separator: "\n")
    }
}
