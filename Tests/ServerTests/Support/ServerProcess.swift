import Foundation

/// The real `mlcommons serve` binary, started on a free loopback port with its own data dir.
final class ServerProcess: @unchecked Sendable {
    let dataDir: URL
    let artifactsURL: String?
    private var process: Process?
    private(set) var port = 0
    let logFile: URL
    /// Extra environment for the next start (the test-only fault hooks).
    var environment: [String: String] = [:]
    /// A command the binary runs under (e.g. `prlimit --fsize=N`), for the next start.
    var launcher: [String] = []

    var baseURL: String { "\(extraArguments.contains("--tls-cert") ? "https" : "http")://127.0.0.1:\(port)" }

    /// More `serve` options (timeouts, …).
    let extraArguments: [String]

    init(dataDir: URL? = nil, artifactsURL: String? = nil, extraArguments: [String] = []) {
        self.extraArguments = extraArguments
        self.dataDir = dataDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("mlcommons-test-\(UUID().uuidString)")
        self.artifactsURL = artifactsURL
        self.logFile = self.dataDir.deletingLastPathComponent().appendingPathComponent("\(self.dataDir.lastPathComponent).log")
    }

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["MLCOMMONS_BINARY"] { return URL(fileURLWithPath: path) }
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mlcommons")
        if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/mlcommons")
    }

    func start() async throws {
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let portFile = dataDir.appendingPathComponent("http.port")
        try? FileManager.default.removeItem(at: portFile)
        if !FileManager.default.fileExists(atPath: logFile.path) { FileManager.default.createFile(atPath: logFile.path, contents: nil) }
        let logHandle = try FileHandle(forWritingTo: logFile)
        logHandle.seekToEndOfFile()
        let process = Process()
        var arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir.path]
        if let artifactsURL { arguments += ["--artifacts-url", artifactsURL] }
        arguments += extraArguments
        if let tool = launcher.first {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = Array(launcher.dropFirst()) + [Self.binary.path] + arguments
        } else {
            process.executableURL = Self.binary
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        self.process = process
        for _ in 0..<600 {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                self.port = port
                return
            }
            guard process.isRunning else { throw TestFailure("server exited at start-up:\n\(log())") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("server did not start within 30 s:\n\(log())")
    }

    /// Stops the server: SIGTERM for a clean stop, SIGKILL to simulate a crash.
    func stop(crash: Bool = false) async {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, crash ? SIGKILL : SIGTERM)
        for _ in 0..<200 where process.isRunning { try? await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        // Polled, not `waitUntilExit`: that blocks a thread of the small cooperative pool (and on Linux
        // can miss the exit), which stalls every other test of the process meanwhile.
        for _ in 0..<400 where process.isRunning { try? await Task.sleep(for: .milliseconds(25)) }
    }

    func restart(crash: Bool = false) async throws {
        await stop(crash: crash)
        try await start()
    }

    var isRunning: Bool { process?.isRunning ?? false }
    var processID: Int32 { process?.processIdentifier ?? 0 }

    /// Waits for the process to end by itself; its exit status, or nil if it still runs after `timeout`.
    func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        guard let process else { return nil }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    func log() -> String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
