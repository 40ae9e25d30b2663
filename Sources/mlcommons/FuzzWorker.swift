import Foundation
import Inference
import OrderedJSON

/// The child side of `fuzz-artifacts`: caps its own address space, then validates, loads and runs
/// one mutant, printing one `FUZZ-REPORT` line. A trap or signal ends it, and the parent sees that.
enum FuzzWorker {
    static let reportPrefix = "FUZZ-REPORT "

    static func run(directory: URL, kind: String, function: String, format: String, memoryMB: Int) -> Never {
        var limit = rlimit(rlim_cur: rlim_t(memoryMB) << 20, rlim_max: rlim_t(memoryMB) << 20)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
        var validated: Bool?
        var message = ""
        var loaded = false
        do {
            switch kind {
            case "tokenizer":
                let tokenizer = try Tokenizer.load(contentsOf: directory.appendingPathComponent("tokenizer.json"))
                for text in sampleTexts { _ = tokenizer.encode(text, pair: "second part") }
            case "folder":
                let model = try TextEmbedder.load(folder: directory.appendingPathComponent("folder"))
                _ = try model.embed(sampleTexts)
            default:
                let zip = directory.appendingPathComponent("artifact.zip")
                guard let artifactFormat = ArtifactFormat(rawValue: format) else { throw InferenceError("unknown format \(format)") }
                let options = ModelOptions(encoderConfig: try config(directory))
                do {
                    try NativeEngine.validateArtifact(zip: zip, format: artifactFormat, functionName: function, options: options)
                    validated = true
                } catch {
                    validated = false
                }
                try runOnce(try NativeEngine().load(artifact: zip, format: artifactFormat, functionName: function, options: options))
            }
            loaded = true
        } catch {
            message = "\(error)"
        }
        let report: JSON = ["loaded": .bool(loaded), "validated": validated.map(JSON.bool) ?? .null, "message": .string(String(message.prefix(400)))]
        print(reportPrefix + report.serialized)
        exit(0)
    }

    static let sampleTexts = ["hello world", "The quick brown fox jumps over the lazy dog. Ünïcödé 日本語 🙂", "a"]

    /// The mutant's all_config, if it has one (a registration body or the config itself).
    private static func config(_ directory: URL) throws -> JSON? {
        let url = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSON.parse(Data(contentsOf: url))
    }

    private static func runOnce(_ model: any NativeModel) throws {
        switch model {
        case let model as TextEmbedder: _ = try model.embed(sampleTexts)
        case let model as SparseEncoder: _ = try model.encode(sampleTexts)
        case let model as SparseTokenizer: _ = model.encode(sampleTexts)
        case let model as CrossEncoder: _ = try model.score(query: sampleTexts[0], documents: sampleTexts)
        case let model as QuestionAnswerer: _ = try model.answer(question: "what jumps?", context: sampleTexts[1])
        default: break
        }
    }
}

/// One child process running a mutant: spawned with its output in files, polled without blocking.
final class FuzzChild {
    struct Report {
        let loaded: Bool
        let validated: Bool?
        let message: String
    }

    enum Outcome {
        case finished(Report)
        case crashed(String)
        case hung
        case outOfMemory(String)
    }

    struct Result {
        let outcome: Outcome
        let peakResidentKB: Int
    }

    static let executable: String = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]

    private let pid: pid_t
    private let started = Date()
    private let output: URL
    private let memoryMB: Int

    /// - Parameter backtrace: let the Swift runtime print a symbolicated backtrace (seconds per crash).
    init(arguments: [String], output: URL, memoryMB: Int, backtrace: Bool = false) throws {
        self.output = output
        self.memoryMB = memoryMB
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output.appendingPathComponent("stdout.txt").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, output.appendingPathComponent("stderr.txt").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // The runtime's crash backtracer takes seconds per crash; the fuzzer only needs the message.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = backtrace ? "enable=yes,interactive=no,color=no,threads=crashed" : "enable=no"
        let argv = ([Self.executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, Self.executable, &actions, nil, argv, envp)
        guard status == 0 else { throw FuzzError("cannot start a fuzz worker: \(String(cString: strerror(status)))") }
        self.pid = pid
    }

    /// Runs to the end (a replay), then returns where in the project's sources the crash happened.
    func crashLocation(timeout: Double) -> String? {
        while poll(timeout: timeout) == nil { usleep(10_000) }
        let stderr = (try? String(contentsOf: output.appendingPathComponent("stderr.txt"), encoding: .utf8)) ?? ""
        // The innermost frame in this repository's sources (not the standard library's).
        guard let range = stderr.range(of: #"Sources/[A-Za-z]+/[^ :]+\.swift:[0-9]+"#, options: .regularExpression) else { return nil }
        return String(stderr[range])
    }

    /// The result once the child has ended (killing it past `timeout`), nil while it runs.
    func poll(timeout: Double) -> Result? {
        var status: Int32 = 0
        var usage = rusage()
        var ended = wait4(pid, &status, WNOHANG, &usage)
        if ended == 0 {
            guard Date().timeIntervalSince(started) > timeout else { return nil }
            kill(pid, SIGKILL)
            ended = wait4(pid, &status, 0, &usage)
            return Result(outcome: .hung, peakResidentKB: usage.ru_maxrss)
        }
        let peak = usage.ru_maxrss
        let signal = status & 0x7F
        let stderr = (try? String(contentsOf: output.appendingPathComponent("stderr.txt"), encoding: .utf8)) ?? ""
        let fatal = stderr.split(separator: "\n").first { $0.contains("Fatal error") || $0.contains("fatal error") || $0.contains("error:") }
            .map(String.init)
        if signal != 0 {
            let reason = fatal ?? "signal \(signal) (\(String(cString: strsignal(signal))))"
            let allocationFailed = stderr.contains("alloc") || stderr.contains("memory") || peak > memoryMB * 1024 * 9 / 10
            return Result(outcome: allocationFailed ? .outOfMemory(reason) : .crashed(reason), peakResidentKB: peak)
        }
        let stdout = (try? String(contentsOf: output.appendingPathComponent("stdout.txt"), encoding: .utf8)) ?? ""
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix(FuzzWorker.reportPrefix) }),
              let report = try? JSON.parse(Data(line.dropFirst(FuzzWorker.reportPrefix.count).utf8)) else {
            return Result(outcome: .crashed("exit status \((status >> 8) & 0xFF) without a report: \(fatal ?? String(stderr.prefix(200)))"), peakResidentKB: peak)
        }
        return Result(outcome: .finished(Report(loaded: report["loaded"]?.boolValue ?? false, validated: report["validated"]?.boolValue,
                                                message: report["message"]?.stringValue ?? "")), peakResidentKB: peak)
    }
}

struct FuzzError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
