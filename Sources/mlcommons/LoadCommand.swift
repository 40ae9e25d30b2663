import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import OrderedJSON

/// `mlcommons load`: many concurrent clients against a running server's predict API, each sending
/// one text per request, as ingest pipelines and search front ends do.
struct Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a corpus to a deployed text-embedding model, one text per request from concurrent clients; print one JSON object.",
        discussion: "The corpus is the one `mlcommons bench` reads; every kind is sent alone, then all texts together (\"mixed\").")

    @Option(help: "The server's base URL.")
    var url = "http://127.0.0.1:9200"

    @Option(name: .customLong("model-id"), help: "The deployed model.")
    var modelID: String

    @Option(help: "JSON lines with \"kind\" and \"text\".")
    var corpus: String

    @Option(help: "Clients sending at the same time.")
    var concurrency = 32

    func run() async throws {
        // One connection per client (the shared client would keep at most 8 per host).
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await measureAll(client)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func measureAll(_ client: HTTPClient) async throws {
        let texts = try BenchCorpus(path: corpus)
        let endpoint = url + "/_plugins/_ml/_predict/text_embedding/\(modelID)"
        _ = try await send(texts.all[0], to: endpoint, client)  // warm-up, and fails early on a wrong model id
        var kinds: [(String, JSON)] = []
        for (kind, group) in texts.byKind + [("mixed", texts.all)] {
            kinds.append((kind, try await measure(group, endpoint: endpoint, client)))
        }
        print(JSON.object(JSONObject([("kinds", .object(JSONObject(kinds))), ("concurrency", .int(Int64(concurrency)))])).serialized)
    }

    private func measure(_ group: [String], endpoint: String, _ client: HTTPClient) async throws -> JSON {
        let next = Counter()
        let clock = ContinuousClock()
        let started = clock.now
        let outcomes = try await withThrowingTaskGroup(of: [(status: Int, millis: Double)].self) { workers in
            for _ in 0..<concurrency {
                workers.addTask {
                    var mine: [(Int, Double)] = []
                    while let index = await next.take(below: group.count) {
                        let sent = clock.now
                        let status = try await send(group[index], to: endpoint, client)
                        mine.append((status, sent.duration(to: clock.now).seconds * 1000))
                    }
                    return mine
                }
            }
            return try await workers.reduce(into: []) { $0 += $1 }
        }
        let seconds = started.duration(to: clock.now).seconds
        let served = outcomes.filter { $0.status == 200 }
        let latencies = served.map(\.millis)
        return [
            "texts": .int(Int64(group.count)), "served": .int(Int64(served.count)),
            "throttled": .int(Int64(outcomes.filter { $0.status == 429 }.count)),
            "failed": .int(Int64(outcomes.filter { $0.status != 200 && $0.status != 429 }.count)),
            "texts_per_second": .double((Double(served.count) / seconds).rounded(places: 1)),
            "p50_ms": .double(latencies.percentile(50).rounded(places: 2)), "p99_ms": .double(latencies.percentile(99).rounded(places: 2)),
        ]
    }

    private func send(_ text: String, to endpoint: String, _ client: HTTPClient) async throws -> Int {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: JSON.object(["text_docs": [.string(text)]]).serializedBytes))
        let response = try await client.execute(request, timeout: .seconds(120))
        _ = try await response.body.collect(upTo: 64 << 20)
        return Int(response.status.code)
    }
}

/// Hands out indices 0, 1, 2… to concurrent workers.
private actor Counter {
    private var value = 0

    func take(below limit: Int) -> Int? {
        guard value < limit else { return nil }
        defer { value += 1 }
        return value
    }
}
