import Foundation

/// Where a PostgreSQL store lives: `postgres://user:password@host:port/database` (or `postgresql://`).
/// The password may be left out of the URL and given apart (`MLCOMMONS_STORE_PASSWORD`); it is never
/// part of `description`, so logs and errors can name the store safely.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    public init(host: String, port: Int = 5432, user: String, password: String?, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Whether `text` names a PostgreSQL store rather than a file.
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Parses the URL; `password` (from the environment) is used when the URL has none.
    /// Errors name the part that is wrong, never the password.
    public static func parse(_ text: String, password fallback: String? = nil) throws -> PostgresLocation {
        guard isPostgresURL(text), text.utf8.count <= 4096, let url = URLComponents(string: text) else {
            throw StoreError.storage("--store must be postgres://user[:password]@host[:port]/database")
        }
        guard let host = url.host, !host.isEmpty else { throw StoreError.storage("the store URL has no host") }
        guard let user = url.user, !user.isEmpty else { throw StoreError.storage("the store URL has no user (postgres://user@host/database)") }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw StoreError.storage("the store URL has no database (postgres://user@host/database)") }
        let port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw StoreError.storage("the store URL's port must be 1...65535") }
        if let query = url.query, !query.isEmpty { throw StoreError.storage("the store URL takes no options (?…)") }
        let password = url.password.flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        return PostgresLocation(host: host, port: port, user: user, password: password, database: database)
    }

    /// The URL with the password masked.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)"
    }
}
