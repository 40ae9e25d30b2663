import ArgumentParser
import Foundation
import Logging
import MLCommonsCore
import OrderedJSON
import Storage

/// `mlcommons store-bench`: search time against index size on the SQLite store and a PostgreSQL
/// store, with task-like documents and the searches ML Commons makes of its task index. Prints a
/// markdown table (docs/storage.md keeps one).
struct StoreBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-bench",
        abstract: "Time typical task-index searches on SQLite and PostgreSQL at several index sizes; print a markdown table.")

    @Option(help: "postgres://user[:password]@host:port/database of an empty database to fill (password also from env MLCOMMONS_STORE_PASSWORD); without it only SQLite is measured.")
    var postgres: String?

    @Option(help: "Index sizes, comma-separated.")
    var sizes: String = "1000,10000,100000"

    @Option(help: "Timed runs of each search (the median is printed).")
    var runs: Int = 5

    func validate() throws {
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be 1...100") }
        guard let counts = Optional(sizes.split(separator: ",").compactMap { Int($0) }), !counts.isEmpty,
              counts.allSatisfy({ (1...1_000_000).contains($0) }) else { throw ValidationError("--sizes must be numbers 1...1000000") }
    }

    struct Search {
        let name: String
        let run: @Sendable (any DocumentStore) async throws -> Int
    }

    static let searches: [Search] = [
        Search(name: "term state + sort create_time desc, size 10") { store in
            var request = SearchRequest(query: .term("state", "RUNNING"))
            request.sort = [SortField(field: "create_time", descending: true)]
            return try await store.search(index: Indices.task, request: request).hits.count
        },
        Search(name: "match_all count") { store in try await store.count(index: Indices.task, query: .matchAll) },
        Search(name: "bool filter model_id + task_type, size 10") { store in
            var request = SearchRequest(query: .and(.term("model_id", "model-7"), .term("task_type", "DEPLOY_MODEL")))
            request.sort = [SortField(field: "last_update_time", descending: true)]
            return try await store.search(index: Indices.task, request: request).hits.count
        },
        Search(name: "match error text (scored), size 10") { store in
            try await store.search(index: Indices.task, request: SearchRequest(query: .match(field: "error", text: "timeout", requireAll: false))).hits.count
        },
    ]

    func run() async throws {
        var logger = Logger(label: "store-bench")
        logger.logLevel = .warning
        let counts = sizes.split(separator: ",").compactMap { Int($0) }.sorted()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var stores: [(String, any DocumentStore)] = [
            ("SQLite", try await SQLiteDocumentStore.open(path: directory.appendingPathComponent("bench.sqlite").path,
                                                          uniqueFields: Indices.uniqueFields, mappings: Indices.mappings, logger: logger)),
        ]
        do {
            if let postgres {
                let location = try PostgresLocation.parse(postgres, password: ProcessInfo.processInfo.environment["MLCOMMONS_STORE_PASSWORD"])
                stores.append(("PostgreSQL", try await PostgresDocumentStore.open(location, uniqueFields: Indices.uniqueFields,
                                                                                  mappings: Indices.mappings, logger: logger)))
            }
            try await measure(stores, counts: counts)
        } catch {
            for (_, store) in stores { try? await store.close() }  // an open SQLite connection must not be dropped
            throw error
        }
        for (_, store) in stores { try await store.close() }
    }

    private func measure(_ stores: [(String, any DocumentStore)], counts: [Int]) async throws {
        print("| documents | search | " + stores.map { "\($0.0) ms" }.joined(separator: " | ") + " |")
        print("|---:|---|" + stores.map { _ in "---:|" }.joined())
        var written = 0
        for count in counts {
            var fill: [Double] = []
            for (_, store) in stores { fill.append(try await Self.fill(store, from: written, to: count)) }
            written = count
            FileHandle.standardError.write(Data("filled \(count): \(fill.map { String(format: "%.1f s", $0) }.joined(separator: ", "))\n".utf8))
            for search in Self.searches {
                var cells: [String] = []
                for (_, store) in stores { cells.append(String(format: "%.1f", try await median(search, store))) }
                print("| \(count) | \(search.name) | " + cells.joined(separator: " | ") + " |")
            }
        }
    }

    private func median(_ search: Search, _ store: any DocumentStore) async throws -> Double {
        _ = try await search.run(store)  // warm
        var times: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            _ = try await search.run(store)
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        return times.sorted()[times.count / 2]
    }

    /// Task documents `from..<to` in batches of 1000; returns seconds.
    private static func fill(_ store: any DocumentStore, from: Int, to: Int) async throws -> Double {
        let start = ContinuousClock.now
        var generator = SystemRandomNumberGenerator()
        for batchStart in stride(from: from, to: to, by: 1000) {
            var batch: [StoreWrite] = []
            for i in batchStart..<min(batchStart + 1000, to) {
                let roll = Int.random(in: 0..<100, using: &generator)
                let state = roll < 70 ? "COMPLETED" : roll < 80 ? "FAILED" : roll < 90 ? "RUNNING" : "CREATED"
                let created = Int64(1_700_000_000_000 + i * 1000)
                var source: JSONObject = [
                    "model_id": .string("model-\(Int.random(in: 0..<50, using: &generator))"),
                    "task_type": .string(["REGISTER_MODEL", "DEPLOY_MODEL", "PREDICTION"][i % 3]),
                    "function_name": "TEXT_EMBEDDING", "state": .string(state), "worker_node": ["node-1"],
                    "create_time": .int(created), "last_update_time": .int(created + Int64(Int.random(in: 0..<60_000, using: &generator))),
                    "is_async": true,
                ]
                if state == "FAILED" { source["error"] = .string(["deploy timeout after 30s", "model file hash mismatch", "out of memory"][i % 3]) }
                batch.append(.put(index: Indices.task, id: "task-\(i)", source: source))
            }
            try await store.write(batch)
        }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
