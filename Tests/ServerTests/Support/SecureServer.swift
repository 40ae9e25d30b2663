import AsyncHTTPClient
import Foundation
import OrderedJSON

/// The real server with `--security`, over HTTPS (a CA and certificate made at test time) or HTTP, its first
/// admin made from `MLCOMMONS_INITIAL_ADMIN_PASSWORD`, and clients that trust the CA.
struct SecureServer {
    static let adminPassword = "Kestrel-41-Orbit"

    let server: ServerProcess
    /// No credentials.
    let anonymous: TestClient
    let admin: TestClient

    /// - Parameter tls: HTTPS (the default), or plain HTTP on loopback.
    static func with<T>(_ options: [String] = [], tls: Bool = true, _ body: (SecureServer) async throws -> T) async throws -> T {
        let environment = ["MLCOMMONS_INITIAL_ADMIN_PASSWORD": adminPassword]
        func secure(_ client: TestClient, _ server: ServerProcess) -> SecureServer {
            SecureServer(server: server, anonymous: client, admin: client.signedIn("admin", adminPassword))
        }
        if tls {
            return try await TLSTests.withTLSServer(["--security"] + options, environment: environment) { client, server, _ in try await body(secure(client, server)) }
        }
        let server = ServerProcess(extraArguments: ["--security"] + options)
        server.environment = environment
        defer { try? FileManager.default.removeItem(at: server.dataDir) }
        try await server.start()
        let result: Result<T, any Error>
        do { result = .success(try await body(secure(TestClient(baseURL: server.baseURL), server))) } catch { result = .failure(error) }
        await server.stop()
        if case .failure = result { print("server log:\n\(server.log())") }
        return try result.get()
    }

    /// Creates a user with these security roles (given on the user) and backend roles; returns its client.
    @discardableResult
    func user(_ name: String, password: String, roles: [String] = [], backendRoles: [String] = []) async throws -> TestClient {
        try await admin.expect(201, "PUT", "/_plugins/_security/api/internalusers/\(name)",
                               ["password": .string(password), "opendistro_security_roles": JSON(roles), "backend_roles": JSON(backendRoles)])
        return anonymous.signedIn(name, password)
    }

    /// Fails when any of `secrets` appears in the server's log.
    func expectLogHolds(none secrets: [String]) throws {
        let log = server.log()
        for secret in secrets where log.contains(secret) { throw TestFailure("a secret appears in the server log") }
    }
}
