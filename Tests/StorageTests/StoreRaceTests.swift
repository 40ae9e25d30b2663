import Foundation
import OrderedJSON
import Storage
import Testing

/// Concurrent writers through two stores on one site (two server processes on one database).
@Suite struct StoreRaceTests {
    /// Round after round, writers on both stores create a group with the same name: one wins each.
    @Test(arguments: StoreBackend.allCases)
    func oneWriterWinsAUniqueName(_ backend: StoreBackend) async throws {
        let site = try await backend.newSite()
        try await backend.withTwoStores(site) { one, two async throws in
            for round in 0..<8 {
                let winners = await withTaskGroup(of: Bool.self) { group in
                    for writer in 0..<4 {
                        let store = writer % 2 == 0 ? one : two
                        group.addTask {
                            do {
                                try await store.put(index: "groups", id: "r\(round)w\(writer)", source: ["name": .string("name \(round)")],
                                                    condition: .mustNotExist)
                                return true
                            } catch StoreError.uniqueViolation {
                                return false
                            } catch {
                                Issue.record("unexpected \(error)")
                                return false
                            }
                        }
                    }
                    return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(winners == 1, "round \(round)")
            }
            #expect(try await two.count(index: "groups", query: .matchAll) == 8)
        }
    }

    /// Read, add one, write if unchanged (`ifMatch`), retry on a conflict: no increment is lost.
    @Test(arguments: StoreBackend.allCases)
    func ifMatchLosesNoUpdate(_ backend: StoreBackend) async throws {
        let site = try await backend.newSite()
        try await backend.withTwoStores(site) { one, two in
            try await one.put(index: "counters", id: "c", source: ["value": 0])
            let writers = 6, increments = 5
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    let store = writer % 2 == 0 ? one : two
                    group.addTask {
                        for _ in 0..<increments {
                            try await store.writeRetrying(attempts: 200) {
                                let current = try #require(try await store.get(index: "counters", id: "c"))
                                let value = current.source["value"]?.intValue ?? 0
                                return [.put(index: "counters", id: "c", source: ["value": .int(value + 1)],
                                             condition: .ifMatch(seqNo: current.seqNo, primaryTerm: current.primaryTerm))]
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try #require(try await two.get(index: "counters", id: "c"))
            #expect(final.source["value"]?.intValue == Int64(writers * increments))
            #expect(final.version == Int64(writers * increments + 1))
        }
    }

    /// Of two creators of one id (`mustNotExist`), one creates and the other gets a version conflict.
    @Test(arguments: StoreBackend.allCases)
    func oneCreatorOfAnIdWins(_ backend: StoreBackend) async throws {
        let site = try await backend.newSite()
        try await backend.withTwoStores(site) { one, two async throws in
            for round in 0..<8 {
                let created = await withTaskGroup(of: Bool.self) { group in
                    for writer in 0..<4 {
                        let store = writer % 2 == 0 ? one : two
                        group.addTask {
                            (try? await store.put(index: "tasks", id: "t\(round)", source: ["writer": .int(Int64(writer))], condition: .mustNotExist)) != nil
                        }
                    }
                    return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(created == 1, "round \(round)")
                #expect(try await one.get(index: "tasks", id: "t\(round)")?.version == 1)
            }
        }
    }
}
