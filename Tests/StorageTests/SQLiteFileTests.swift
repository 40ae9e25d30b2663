import Foundation
import Logging
import OrderedJSON
import Storage
import Testing

/// The SQLite file: a damaged one is refused at open (batches on both backends: `StoreBehaviourTests`).
@Suite struct SQLiteFileTests {
    static func tempPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString).sqlite").path
    }

    @Test func aFileThatIsNotAStoreIsRefusedWithTheRecoveryStep() async throws {
        let path = Self.tempPath()
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: path))
        do {
            _ = try await SQLiteDocumentStore.open(path: path, logger: Logger(label: "test"))
            Issue.record("a damaged store opened")
        } catch let error as StoreError {
            guard case .damaged(let damagedPath, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(damagedPath == path)
            #expect(error.description.contains(".recover"))
        }
    }
}
