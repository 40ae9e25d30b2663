import Foundation

/// One real PostgreSQL server per test process, started by `scripts/postgres-test-server` in a
/// temporary directory on a free loopback port and stopped by that script once this process has
/// gone. Each test asks for a fresh database. Without PostgreSQL installed this throws: the
/// PostgreSQL half of the suites fails rather than skips.
public actor PostgresTestServer {
    public static let shared = PostgresTestServer()

    public struct Failed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The server, started once: concurrent first callers wait for the same start.
    private var started: Task<(directory: String, port: Int), Error>?
    private var databases = 0

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/postgres-test-server").path

    private func server() async throws -> (directory: String, port: Int) {
        if started == nil {
            started = Task {
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlcommons-pg-\(UUID().uuidString.prefix(8))").path
                let output = try await Self.run(["start", directory, String(ProcessInfo.processInfo.processIdentifier)])
                guard let port = Int(output.split(separator: "\n").last ?? "") else {
                    throw Failed(description: "postgres-test-server printed no port: \(output)")
                }
                return (directory, port)
            }
        }
        return try await started!.value
    }

    /// The server's port, starting it on first use.
    public func port() async throws -> Int { try await server().port }

    /// A new empty database; returns its name.
    public func createDatabase() async throws -> String {
        let directory = try await server().directory
        databases += 1
        let name = "test_\(ProcessInfo.processInfo.processIdentifier)_\(databases)"
        _ = try await Self.run(["createdb", directory, name])
        return name
    }

    /// `postgres://mlcommons@127.0.0.1:PORT/DATABASE` of a new database (trust authentication).
    public func newDatabaseURL() async throws -> String {
        let name = try await createDatabase()
        return "postgres://mlcommons@127.0.0.1:\(try await port())/\(name)"
    }

    /// Runs the script on a thread of its own: it waits for processes (initdb and pg_ctl take seconds
    /// on a loaded machine), which on one of the few threads of Swift's cooperative pool would stall
    /// every other test — timers included, so their timings grow by the wait.
    private static func run(_ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try runBlocking(arguments) }) }
        }
    }

    private static func runBlocking(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard exitStatus(process) == 0 else {
            throw Failed(description: "scripts/postgres-test-server \(arguments.first ?? "") failed: \(errors)")
        }
        return output
    }

    /// The exit status, reaped here: Foundation's `waitUntilExit` on Linux sometimes misses the child's
    /// exit (the script's background watcher?) and waits forever with the child a zombie.
    private static func exitStatus(_ process: Process) -> Int32 {
        var status: Int32 = 0
        let pid = process.processIdentifier
        while true {
            let reaped = waitpid(pid, &status, 0)
            if reaped == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if reaped == -1, errno == EINTR { continue }
            break  // Foundation reaped it first
        }
        for _ in 0..<500 where process.isRunning { usleep(10_000) }
        return process.isRunning ? -1 : process.terminationStatus
    }
}
