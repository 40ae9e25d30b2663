import Foundation
import Logging
import OrderedJSON
import Storage
import Testing

@Suite struct SQLiteStoreTests {
    static func open(_ path: String) async throws -> SQLiteDocumentStore {
        try await SQLiteDocumentStore.open(path: path, uniqueFields: ["groups": ["name"]], logger: Logger(label: "test"))
    }

    static func tempPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
    }

    @Test func conditionalWritesVersionsAndSequenceNumbers() async throws {
        let store = try await Self.open(Self.tempPath())
        let first = try await store.put(index: "i", id: "1", source: ["a": 1], condition: .mustNotExist)
        #expect(first.version == 1)
        await #expect(throws: StoreError.self) { try await store.put(index: "i", id: "1", source: ["a": 2], condition: .mustNotExist) }
        let second = try await store.put(index: "i", id: "1", source: ["a": 2], condition: .ifMatch(seqNo: first.seqNo, primaryTerm: 1))
        #expect(second.version == 2)
        #expect(second.seqNo > first.seqNo)
        // A write based on a stale read is refused.
        await #expect(throws: StoreError.self) {
            try await store.put(index: "i", id: "1", source: ["a": 3], condition: .ifMatch(seqNo: first.seqNo, primaryTerm: 1))
        }
        #expect(try await store.get(index: "i", id: "1")?.source == ["a": 2])
        #expect(try await store.indexExists("i"))
        #expect(try await !store.indexExists("other"))
        let deleted = try await store.delete(index: "i", id: "1")
        #expect(deleted?.version == 3)
        #expect(try await store.delete(index: "i", id: "1") == nil)
        try await store.close()
    }

    @Test func attachmentsStayOutOfTheSource() async throws {
        let store = try await Self.open(Self.tempPath())
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try await store.put(index: "m", id: "x_0", source: ["chunk_number": 0], attachment: bytes, condition: .always)
        #expect(try await store.attachment(index: "m", id: "x_0") == bytes)
        #expect(try await store.get(index: "m", id: "x_0")?.source == ["chunk_number": 0])
        #expect(try await store.deleteByQuery(index: "m", query: .exists(field: "chunk_number")) == 1)
        #expect(try await store.attachment(index: "m", id: "x_0") == nil)
        try await store.close()
    }

    /// Two stores on one file stand for two processes sharing it: uniqueness holds across them.
    @Test func uniqueFieldsHoldAcrossConnectionsToOneFile() async throws {
        let path = Self.tempPath()
        let one = try await Self.open(path)
        let two = try await Self.open(path)
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
        try await one.close()
        try await two.close()
    }
}
