import Foundation
import Logging
import OrderedJSON
import Storage
import Testing

/// `DocumentStore.write`: a batch is one transaction, and a damaged file is refused at open.
@Suite struct BatchWriteTests {
    @Test func aBatchAppliesAllItsWritesOrNone() async throws {
        let path = SQLiteStoreTests.tempPath()
        let store = try await SQLiteStoreTests.open(path)
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
        try await store.close()

        // What committed is there after reopening.
        let again = try await SQLiteStoreTests.open(path)
        #expect(try await again.get(index: "groups", id: "g")?.version == 2)
        #expect(try await again.all(index: "m").isEmpty)
        try await again.close()
    }

    @Test func aFileThatIsNotAStoreIsRefusedWithTheRecoveryStep() async throws {
        let path = SQLiteStoreTests.tempPath()
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        do {
            _ = try await SQLiteStoreTests.open(path)
            Issue.record("a damaged store opened")
        } catch let error as StoreError {
            guard case .damaged(let damagedPath, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(damagedPath == path)
            #expect(error.description.contains(".recover"))
        }
    }
}
