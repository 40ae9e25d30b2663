import Foundation
import Logging
import Storage
import TestSupport

/// The stores every behaviour test runs against: the same test, both backends, so any difference
/// between them fails a test. A site is where a store lives (a SQLite file, a PostgreSQL database);
/// opening one site twice stands for two server processes sharing it.
enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    var description: String { rawValue }

    func newSite() async throws -> String {
        switch self {
        case .sqlite: FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
        case .postgres: try await PostgresTestServer.shared.newDatabaseURL()
        }
    }

    func open(_ site: String, uniqueFields: [String: [String]] = ["groups": ["name"]],
              mappings: [String: IndexMapping] = [:]) async throws -> any DocumentStore {
        let logger = Logger(label: "test")
        switch self {
        case .sqlite:
            return try await SQLiteDocumentStore.open(path: site, uniqueFields: uniqueFields, mappings: mappings, logger: logger)
        case .postgres:
            // The test server is up: a long reach timeout, since other suites of this process can hold its
            // two cooperative threads for minutes (the 15 s default then fires spuriously).
            return try await PostgresDocumentStore.open(try PostgresLocation.parse(site), uniqueFields: uniqueFields,
                                                        mappings: mappings, reachTimeout: .seconds(900), logger: logger)
        }
    }

    /// A fresh site, opened.
    func openNew(uniqueFields: [String: [String]] = ["groups": ["name"]], mappings: [String: IndexMapping] = [:]) async throws -> any DocumentStore {
        try await open(try await newSite(), uniqueFields: uniqueFields, mappings: mappings)
    }

    /// Runs `body` with a store opened on `site`, closing it on every path: a SQLite connection
    /// dropped open fails an assertion in debug builds, which takes the whole test process down.
    func withStore(_ site: String, uniqueFields: [String: [String]] = ["groups": ["name"]], mappings: [String: IndexMapping] = [:],
                   _ body: (any DocumentStore) async throws -> Void) async throws {
        try await Self.closing(try await open(site, uniqueFields: uniqueFields, mappings: mappings), body)
    }

    /// Two stores on one site (two processes sharing it), both closed on every path.
    func withTwoStores(_ site: String, _ body: (any DocumentStore, any DocumentStore) async throws -> Void) async throws {
        try await withStore(site) { one in try await withStore(site) { two in try await body(one, two) } }
    }

    /// `withStore` on a fresh site.
    func withNewStore(uniqueFields: [String: [String]] = ["groups": ["name"]], mappings: [String: IndexMapping] = [:],
                      _ body: (any DocumentStore) async throws -> Void) async throws {
        try await withStore(try await newSite(), uniqueFields: uniqueFields, mappings: mappings, body)
    }

    /// Closes `store` after `body`, also when `body` throws.
    static func closing(_ store: any DocumentStore, _ body: (any DocumentStore) async throws -> Void) async throws {
        do {
            try await body(store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }
}
