import Foundation
import Logging
import OrderedJSON
import Storage
import Testing

/// What the `DocumentStore` protocol promises, on every backend.
@Suite struct StoreBehaviourTests {
    @Test(arguments: StoreBackend.allCases)
    func conditionalWritesVersionsAndSequenceNumbers(_ backend: StoreBackend) async throws {
        try await backend.withNewStore { store in
            let first = try await store.put(index: "i", id: "1", source: ["a": 1], condition: .mustNotExist)
            #expect(first.version == 1)
            #expect(first.seqNo == 0)
            await #expect(throws: StoreError.self) { try await store.put(index: "i", id: "1", source: ["a": 2], condition: .mustNotExist) }
            let second = try await store.put(index: "i", id: "1", source: ["a": 2], condition: .ifMatch(seqNo: first.seqNo, primaryTerm: 1))
            #expect(second.version == 2)
            #expect(second.seqNo > first.seqNo)
            // A write based on a stale read is refused, with OpenSearch's reason.
            do {
                try await store.put(index: "i", id: "1", source: ["a": 3], condition: .ifMatch(seqNo: first.seqNo, primaryTerm: 1))
                Issue.record("a stale write was accepted")
            } catch StoreError.versionConflict(_, _, let reason) {
                #expect(reason == "[1]: version conflict, required seqNo [\(first.seqNo)], primary term [1]. current document has seqNo [\(second.seqNo)] and primary term [1]")
            }
            await #expect(throws: StoreError.self) { try await store.put(index: "i", id: "2", source: [:], condition: .mustExist) }
            #expect(try await store.get(index: "i", id: "1")?.source == ["a": 2])
            #expect(try await store.indexExists("i"))
            #expect(try await !store.indexExists("other"))
            let deleted = try await store.delete(index: "i", id: "1")
            #expect(deleted?.version == 3)
            #expect(try await store.delete(index: "i", id: "1") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func sourcesKeepKeyOrderAndNumberKinds(_ backend: StoreBackend) async throws {
        try await backend.withNewStore { store in
            let source: JSONObject = ["z": 1, "a": 1.5, "m": ["b": "x", "a": [true, JSON.null, 10.0]], "e": "é \"quoted\" \\ ☃"]
            try await store.put(index: "i", id: "weird id ' ; DROP TABLE ml_documents; --", source: source)
            let read = try #require(try await store.get(index: "i", id: "weird id ' ; DROP TABLE ml_documents; --"))
            #expect(read.source == source)
            #expect(JSON.object(read.source).serialized == JSON.object(source).serialized)
            #expect(try await store.all(index: "i").map(\.id) == ["weird id ' ; DROP TABLE ml_documents; --"])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func attachmentsStayOutOfTheSource(_ backend: StoreBackend) async throws {
        try await backend.withNewStore { store in
            let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
            try await store.put(index: "m", id: "x_0", source: ["chunk_number": 0], attachment: bytes, condition: .always)
            #expect(try await store.attachment(index: "m", id: "x_0") == bytes)
            #expect(try await store.get(index: "m", id: "x_0")?.source == ["chunk_number": 0])
            // A put without an attachment drops the old one.
            try await store.put(index: "m", id: "x_1", source: ["chunk_number": 1], attachment: [1, 2], condition: .always)
            try await store.put(index: "m", id: "x_1", source: ["chunk_number": 1])
            #expect(try await store.attachment(index: "m", id: "x_1") == nil)
            #expect(try await store.deleteByQuery(index: "m", query: .exists(field: "chunk_number")) == 2)
            #expect(try await store.attachment(index: "m", id: "x_0") == nil)
        }
    }

    /// Two stores on one site stand for two processes sharing it: uniqueness holds across them.
    @Test(arguments: StoreBackend.allCases)
    func uniqueFieldsHoldAcrossConnectionsToOneSite(_ backend: StoreBackend) async throws {
        let site = try await backend.newSite()
        try await backend.withTwoStores(site) { one, two in
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<10 {
                    let store = i % 2 == 0 ? one : two
                    group.addTask {
                        (try? await store.put(index: "groups", id: "g\(i)", source: ["name": "same"], condition: .mustNotExist)) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await one.count(index: "groups", query: .matchAll) == 1)
            // Renaming frees the old name; deleting frees the new one.
            let holder = try #require(try await two.all(index: "groups").first)
            try await two.put(index: "groups", id: holder.id, source: ["name": "renamed"])
            try await one.put(index: "groups", id: "fresh", source: ["name": "same"], condition: .mustNotExist)
            do {
                try await one.put(index: "groups", id: "third", source: ["name": "renamed"], condition: .mustNotExist)
                Issue.record("a duplicate name was accepted")
            } catch StoreError.uniqueViolation(_, _, _, let existing) {
                #expect(existing == holder.id)
            }
            try await one.delete(index: "groups", id: holder.id)
            try await two.put(index: "groups", id: "third", source: ["name": "renamed"], condition: .mustNotExist)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aBatchAppliesAllItsWritesOrNone(_ backend: StoreBackend) async throws {
        let site = try await backend.newSite()
        try await backend.withStore(site) { store in
            let group = try await store.put(index: "groups", id: "g", source: ["name": "g", "latest_version": 0])
            try await store.put(index: "m", id: "old_0", source: ["model_id": "old"], attachment: [1], condition: .always)

            // The last write's condition fails: nothing of the batch is applied.
            await #expect(throws: StoreError.self) {
                try await store.write([
                    .put(index: "groups", id: "g", source: ["name": "g", "latest_version": 1], condition: .ifMatch(seqNo: group.seqNo, primaryTerm: 1)),
                    .put(index: "m", id: "new", source: ["model_group_id": "g"], condition: .mustNotExist),
                    .deleteByQuery(index: "m", query: .term("model_id", "old")),
                    .check(index: "m", id: "missing", condition: .mustExist),
                ])
            }
            #expect(try await store.get(index: "groups", id: "g")?.source["latest_version"] == 0)
            #expect(try await store.get(index: "m", id: "new") == nil)
            #expect(try await store.attachment(index: "m", id: "old_0") == [1])

            // A unique violation in the middle rolls back the writes before it.
            await #expect(throws: StoreError.self) {
                try await store.write([.put(index: "m", id: "new", source: [:]), .put(index: "groups", id: "h", source: ["name": "g"])])
            }
            #expect(try await store.get(index: "m", id: "new") == nil)

            let outcomes = try await store.write([
                .put(index: "groups", id: "g", source: ["name": "g", "latest_version": 1], condition: .ifMatch(seqNo: group.seqNo, primaryTerm: 1)),
                .check(index: "groups", id: "g", condition: .mustExist),
                .deleteByQuery(index: "m", query: .term("model_id", "old")),
                .delete(index: "m", id: "absent"),
            ])
            #expect(outcomes[0].storedDocument?.version == 2)
            guard case .deletedCount(1) = outcomes[2] else { Issue.record("deleteByQuery outcome \(outcomes[2])"); return }
            #expect(outcomes[3].deletedDocument == nil)
            // A conditional delete of a changed document is refused.
            await #expect(throws: StoreError.self) {
                try await store.write([.delete(index: "groups", id: "g", condition: .ifMatch(seqNo: group.seqNo, primaryTerm: 1))])
            }
            #expect(try await store.get(index: "groups", id: "g") != nil)
        }

        // What committed is there after reopening.
        try await backend.withStore(site) { again async throws in
            #expect(try await again.get(index: "groups", id: "g")?.version == 2)
            #expect(try await again.all(index: "m").isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func theStoreKeepsDefinitionsAndSearchesWithThem(_ backend: StoreBackend) async throws {
        let site = try await backend.newSite()
        let match = SearchRequest(query: .match(field: "name", text: "alpha", requireAll: false))
        try await backend.withStore(site) { store in
            let mapping = try IndexMapping(json: ["properties": ["name": ["type": "keyword"]]])
            #expect(try await store.createIndex("exact", definition: IndexDefinition(mapping: mapping, settings: ["number_of_shards": "1"])))
            #expect(try await !store.createIndex("exact", definition: IndexDefinition()))
            #expect(try await store.indexExists("exact"))
            #expect(try await store.indexDefinition("exact") == IndexDefinition(mapping: mapping, settings: ["number_of_shards": "1"]))
            let first = try await store.put(index: "exact", id: "1", source: ["name": "Alpha Beta"])
            #expect(first.seqNo == 0)  // as in an index made by its first document
            try await store.put(index: "dynamic", id: "1", source: ["name": "Alpha Beta"])
            #expect(try await store.search(index: "exact", request: match).total == 0)  // keyword: exact only
            #expect(try await store.search(index: "dynamic", request: match).total == 1)  // dynamic: text
            #expect(try await store.indexDefinition("dynamic") == nil)
        }

        // The definition survives a reopen; deleting the index drops it with its documents.
        try await backend.withStore(site) { reopened async throws in
            #expect(try await reopened.search(index: "exact", request: match).total == 0)
            #expect(try await reopened.deleteIndex("exact"))
            #expect(try await !reopened.deleteIndex("exact"))
            #expect(try await !reopened.indexExists("exact"))
            #expect(try await reopened.get(index: "exact", id: "1") == nil)
            #expect(try await reopened.indexDefinition("exact") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func countAndDeleteByQueryFollowTheQuery(_ backend: StoreBackend) async throws {
        try await backend.withNewStore(mappings: ["tasks": IndexMapping(fields: ["state": .keyword])]) { store in
            for i in 0..<30 {
                try await store.put(index: "tasks", id: "t\(i)", source: ["state": i % 3 == 0 ? "FAILED" : "COMPLETED", "n": .int(Int64(i)), "note": .string("run \(i)")])
            }
            #expect(try await store.count(index: "tasks", query: .term("state", "FAILED")) == 10)
            #expect(try await store.count(index: "tasks", query: .match(field: "note", text: "run 7", requireAll: true)) == 1)
            #expect(try await store.deleteByQuery(index: "tasks", query: .and(.term("state", "FAILED"), .range(field: "n", bounds: RangeBounds(gte: 15)))) == 5)
            #expect(try await store.count(index: "tasks", query: .matchAll) == 25)
            #expect(try await store.count(index: "empty", query: .matchAll) == 0)
        }
    }
}
