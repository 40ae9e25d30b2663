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
            return try await PostgresDocumentStore.open(try PostgresLocation.parse(site), uniqueFields: uniqueFields,
                                                        mappings: mappings, logger: logger)
        }
    }

    /// A fresh site, opened.
    func openNew(uniqueFields: [String: [String]] = ["groups": ["name"]], mappings: [String: IndexMapping] = [:]) async throws -> any DocumentStore {
        try await open(try await newSite(), uniqueFields: uniqueFields, mappings: mappings)
    }
}
