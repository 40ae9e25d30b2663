import AsyncHTTPClient
import Foundation
import OrderedJSON

/// The real server with `--security` over HTTPS (a CA and certificate made at test time), its first
/// admin made from `MLCOMMONS_INITIAL_ADMIN_PASSWORD`, and clients that trust the CA.
struct SecureServer {
    static let adminPassword = "Kestrel-41-Orbit"

    let server: ServerProcess
    /// No credentials.
    let anonymous: TestClient
    let admin: TestClient

    static func with<T>(_ options: [String] = [], tls: Bool = true, _ body: (SecureServer) async throws -> T) async throws -> T {
        let certificates = tls ? try TestCertificates.make() : nil
        defer { certificates?.remove() }
        let server = ServerProcess(extraArguments: (certificates?.serveArguments ?? []) + ["--security"] + options)
        server.environment = ["MLCOMMONS_INITIAL_ADMIN_PASSWORD": adminPassword]
        let http = try certificates?.trustingClient()
        let outcome: Result<T, any Error>
        do {
            try await server.start()
            let anonymous = TestClient(baseURL: server.baseURL, http: http ?? .shared)
            outcome = .success(try await body(SecureServer(server: server, anonymous: anonymous,
                                                           admin: anonymous.signedIn("admin", adminPassword))))
            await server.stop()
            try? FileManager.default.removeItem(at: server.dataDir)
        } catch {
            await server.stop()
            print("server log:\n\(server.log())")
            outcome = .failure(error)
        }
        try? await http?.shutdown()
        return try outcome.get()
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
