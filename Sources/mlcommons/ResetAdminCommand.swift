import ArgumentParser
import Foundation
import Logging
import MLCommonsCore
import Security

/// Lockout recovery: gives user `admin` a new password and the `all_access` role, with the server
/// stopped (the data dir is held while it runs, so a running server refuses it).
struct ResetAdmin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-admin",
        abstract: "Set user admin's password (from MLCOMMONS_INITIAL_ADMIN_PASSWORD) and map it to all_access, with the server stopped.")

    @Option(name: .customLong("data-dir"), help: "The server's data dir (env MLCOMMONS_DATA_DIR).")
    var dataDir: String = ProcessInfo.processInfo.environment["MLCOMMONS_DATA_DIR"] ?? "./.mlcommons"

    @Option(name: .customLong("store"), help: "The server's --store, when it keeps documents in PostgreSQL (env MLCOMMONS_STORE).")
    var store: String = ProcessInfo.processInfo.environment["MLCOMMONS_STORE"] ?? ""

    func run() async throws {
        var logger = Logger(label: "mlcommons")
        logger.logLevel = .warning
        let directory = URL(fileURLWithPath: dataDir, isDirectory: true).standardizedFileURL
        let choice = try Serve.storeChoice(store)
        if case .sqlite = choice, !FileManager.default.fileExists(atPath: directory.appendingPathComponent("mlcommons.sqlite").path) {
            throw StartRefused(reason: "\(directory.path) holds no store: start the server once with --security instead")
        }
        let commons = try await MLCommons.open(MLCommonsConfiguration(dataDir: directory, store: choice), logger: logger)
        do {
            try await SecurityStore(store: commons.store).resetAdmin(password: ProcessInfo.processInfo.environment["MLCOMMONS_INITIAL_ADMIN_PASSWORD"])
        } catch let error as SecurityError {
            try? await commons.close()
            throw StartRefused(reason: "reset-admin: \(error.reason)")
        }
        try await commons.close()
        print("user admin has the new password and the all_access role")
    }
}
