import ArgumentParser
import Foundation
import Inference
import Logging
import MLCommonsCore
import MLCommonsServer
import Security
import Storage

@main
struct MLCommonsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlcommons",
        abstract: "A model server that speaks the OpenSearch ML Commons REST API.",
        subcommands: [Serve.self, Tokenize.self, Embed.self, Bench.self, BenchKernels.self, StoreBench.self, Load.self, FuzzArtifacts.self, ResetAdmin.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP server.")

    @Option(help: "Address to listen on (env MLCOMMONS_HOST).")
    var host: String = ProcessInfo.processInfo.environment["MLCOMMONS_HOST"] ?? "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one (env MLCOMMONS_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["MLCOMMONS_PORT"] ?? "") ?? 9200

    @Option(name: .customLong("data-dir"), help: "Directory for the SQLite store and model files (env MLCOMMONS_DATA_DIR).")
    var dataDir: String = ProcessInfo.processInfo.environment["MLCOMMONS_DATA_DIR"] ?? "./.mlcommons"

    @Option(name: .customLong("store"),
            help: ArgumentHelp("postgres://user[:password]@host[:port]/database to keep documents in PostgreSQL (env MLCOMMONS_STORE); default: SQLite in --data-dir.",
                               discussion: "The password may instead come from env MLCOMMONS_STORE_PASSWORD, off the command line."))
    var store: String = ProcessInfo.processInfo.environment["MLCOMMONS_STORE"] ?? ""

    @Option(name: .customLong("artifacts-url"),
            help: "Base URL of the pretrained-model artifact site or a mirror of it (env MLCOMMONS_ARTIFACTS_URL).")
    var artifactsURL: String?

    @Option(name: .customLong("node-name"), help: "Name this node reports (env MLCOMMONS_NODE_NAME).")
    var nodeName: String = ProcessInfo.processInfo.environment["MLCOMMONS_NODE_NAME"] ?? "mlcommons-node"

    @Option(name: .customLong("publish-url"),
            help: "URL other nodes reach this one at, e.g. http://10.0.0.5:9200 (env MLCOMMONS_PUBLISH_URL); default: this server's scheme, --host and port.")
    var publishURL: String? = ProcessInfo.processInfo.environment["MLCOMMONS_PUBLISH_URL"]

    @Option(name: .customLong("peer-ca-file"),
            help: "PEM CA certificates of the other nodes' HTTPS certificates, for requests forwarded to them (env MLCOMMONS_PEER_CA_FILE).")
    var peerCAFile: String? = ProcessInfo.processInfo.environment["MLCOMMONS_PEER_CA_FILE"]

    @Option(name: .customLong("node-roles"), help: "Comma-separated roles of this node, e.g. ml or data,ml (env MLCOMMONS_NODE_ROLES).")
    var nodeRoles: String = ProcessInfo.processInfo.environment["MLCOMMONS_NODE_ROLES"] ?? "ml"

    @Option(name: .customLong("node-timeout"),
            help: "Seconds without a heartbeat after which a node sharing the store is counted out (env MLCOMMONS_NODE_TIMEOUT).")
    var nodeTimeout: Int = Int(ProcessInfo.processInfo.environment["MLCOMMONS_NODE_TIMEOUT"] ?? "") ?? 10

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env MLCOMMONS_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["MLCOMMONS_LOG_LEVEL"] ?? "info"

    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may stay idle, or take to send a request head (env MLCOMMONS_IDLE_TIMEOUT).")
    var idleTimeout: Int = Int(ProcessInfo.processInfo.environment["MLCOMMONS_IDLE_TIMEOUT"] ?? "") ?? 60

    @Option(name: .customLong("body-timeout"), help: "Seconds a client may take to send a request body (env MLCOMMONS_BODY_TIMEOUT).")
    var bodyTimeout: Int = Int(ProcessInfo.processInfo.environment["MLCOMMONS_BODY_TIMEOUT"] ?? "") ?? 120

    @Option(name: .customLong("shutdown-timeout"),
            help: "Seconds a stop (SIGTERM) waits for requests in flight before closing connections (env MLCOMMONS_SHUTDOWN_TIMEOUT).")
    var shutdownTimeout: Int = Int(ProcessInfo.processInfo.environment["MLCOMMONS_SHUTDOWN_TIMEOUT"] ?? "") ?? 30

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain to serve HTTPS with, with --tls-key (env MLCOMMONS_TLS_CERT).")
    var tlsCert: String? = ProcessInfo.processInfo.environment["MLCOMMONS_TLS_CERT"]

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert, unencrypted (env MLCOMMONS_TLS_KEY).")
    var tlsKey: String? = ProcessInfo.processInfo.environment["MLCOMMONS_TLS_KEY"]

    @Flag(help: ArgumentHelp("Require users and roles: HTTP Basic or API keys on every request, permissions per route, model access control (env MLCOMMONS_SECURITY=true).",
                             discussion: "The first start needs MLCOMMONS_INITIAL_ADMIN_PASSWORD: the password of user admin."))
    var security: Bool = false

    @Flag(help: "Listen on a non-loopback --host without --security, or with it but without TLS (env MLCOMMONS_INSECURE=true).")
    var insecure: Bool = false

    func validate() throws {
        guard (2...3600).contains(nodeTimeout) else { throw ValidationError("--node-timeout must be 2...3600 seconds") }
        guard !Self.roles(nodeRoles).isEmpty, Self.roles(nodeRoles).allSatisfy({ $0.count <= 64 && $0.allSatisfy { $0.isLetter || $0 == "_" } }) else {
            throw ValidationError("--node-roles must be comma-separated role names, e.g. ml or data,ml")
        }
        if let peerCAFile, !FileManager.default.isReadableFile(atPath: peerCAFile) {
            throw ValidationError("--peer-ca-file \(peerCAFile) cannot be read")
        }
        if let publishURL {
            guard let url = URLComponents(string: publishURL), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false,
                  url.path.isEmpty || url.path == "/", url.query == nil, publishURL.utf8.count <= 2048 else {
                throw ValidationError("--publish-url must be http(s)://host[:port], without a path")
            }
        }
        guard let insecure = Self.flag(insecure, env: "MLCOMMONS_INSECURE") else {
            throw ValidationError("MLCOMMONS_INSECURE must be true or false, got \(ProcessInfo.processInfo.environment["MLCOMMONS_INSECURE"] ?? "")")
        }
        guard let security = Self.flag(security, env: "MLCOMMONS_SECURITY") else {
            throw ValidationError("MLCOMMONS_SECURITY must be true or false, got \(ProcessInfo.processInfo.environment["MLCOMMONS_SECURITY"] ?? "")")
        }
        if let refusal = LoopbackRule.refusal(host: host, insecure: insecure, security: security, tls: tlsCert != nil) {
            throw ValidationError(refusal)
        }
        switch (tlsCert, tlsKey) {
        case (nil, nil), (.some, .some): break
        case (.some, nil): throw ValidationError("--tls-cert needs --tls-key (env MLCOMMONS_TLS_KEY): the private key of the certificate")
        case (nil, .some): throw ValidationError("--tls-key needs --tls-cert (env MLCOMMONS_TLS_CERT): the certificate chain of the key")
        }
        for (name, value) in [("idle-timeout", idleTimeout), ("body-timeout", bodyTimeout), ("shutdown-timeout", shutdownTimeout)]
        where !(1...86_400).contains(value) {
            throw ValidationError("--\(name) must be between 1 and 86400 seconds, got \(value)")
        }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
        _ = try storeChoice()
    }

    func storeChoice() throws -> MLCommonsConfiguration.StoreChoice { try Self.storeChoice(store) }

    /// The store `--store` names; errors say what is wrong with the URL, never its password.
    static func storeChoice(_ store: String) throws -> MLCommonsConfiguration.StoreChoice {
        guard !store.isEmpty, store != "sqlite" else { return .sqlite }
        do {
            return .postgres(try PostgresLocation.parse(store, password: ProcessInfo.processInfo.environment["MLCOMMONS_STORE_PASSWORD"]))
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// A flag given on the command line, or else its environment variable: nil if that is not a boolean.
    static func flag(_ given: Bool, env name: String) -> Bool? {
        if given { return true }
        switch ProcessInfo.processInfo.environment[name]?.lowercased() {
        case nil, "", "false", "0": return false
        case "true", "1": return true
        default: return nil
        }
    }

    /// Security on: the first start creates user `admin` from MLCOMMONS_INITIAL_ADMIN_PASSWORD (as
    /// OpenSearch does with OPENSEARCH_INITIAL_ADMIN_PASSWORD) and refuses to start without a strong one.
    static func startSecurity(_ commons: MLCommons, logger: Logger) async throws -> Authenticator {
        let store = SecurityStore(store: commons.store)
        do {
            if try await store.bootstrap(initialAdminPassword: ProcessInfo.processInfo.environment["MLCOMMONS_INITIAL_ADMIN_PASSWORD"]) {
                logger.notice("security: created user admin (role all_access) from MLCOMMONS_INITIAL_ADMIN_PASSWORD")
            }
        } catch let error as SecurityError {
            throw StartRefused(reason: "security: \(error.reason)")
        }
        return Authenticator(store: store)
    }

    static func roles(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
    }

    func run() async throws {
        // Before the store opens: a bad certificate or key refuses to start without touching the data dir.
        let tls = try tlsCert.map { try ServerTLS.load(certificateFile: $0, keyFile: tlsKey ?? "") }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "mlcommons")
        logger.logLevel = level
        // The engine splits work over its own threads (plugins.ml_commons.native.inference_threads);
        // OpenBLAS stays single-threaded inside each so the two never compete for cores.
        Kernels.setBLASThreads(1)
        let directory = URL(fileURLWithPath: dataDir, isDirectory: true).standardizedFileURL
        var configuration = MLCommonsConfiguration(
            dataDir: directory, nodeName: nodeName,
            artifactsBaseURL: artifactsURL ?? ProcessInfo.processInfo.environment["MLCOMMONS_ARTIFACTS_URL"], store: try storeChoice())
        configuration.nodeRoles = Self.roles(nodeRoles)
        let timeout = Duration.seconds(nodeTimeout)
        configuration.clusterTiming = ClusterTiming(heartbeatInterval: min(.seconds(1), timeout / 4), nodeTimeout: timeout)
        let commons = try await MLCommons.open(configuration, logger: logger)
        let portFile = directory.appendingPathComponent("http.port")
        do {
            let authenticator = Self.flag(security, env: "MLCOMMONS_SECURITY") == true ? try await Self.startSecurity(commons, logger: logger) : nil
            let limits = ConnectionLimits(idleTimeout: .seconds(idleTimeout), bodyTimeout: .seconds(bodyTimeout),
                                          shutdownTimeout: .seconds(shutdownTimeout))
            try await MLCommonsHTTPServer.run(commons: commons, host: host, port: port, tls: tls, security: authenticator,
                                              limits: limits, publishURL: publishURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
                                              peerCAFile: peerCAFile,
                                              logger: logger) { bound in
                try? String(bound).write(to: portFile, atomically: true, encoding: .utf8)
            }
        } catch {
            try? await commons.close()
            throw error
        }
        try await commons.close()
    }
}

/// Why the server would not start, said plainly (without the usage text a `ValidationError` adds).
struct StartRefused: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
