import Foundation
@testable import MLCommonsCore
import OrderedJSON
import Storage
import Testing

@Suite struct GroupDeleteRaceTests {
    /// Registrations into a group race its deletion: whichever wins, no model may end up in a deleted group.
    @Test func noModelJoinsAGroupDeletedMeanwhile() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        _ = try await commons.settings.update(["persistent": ["plugins.ml_commons.allow_registering_model_via_local_file": true]])
        for round in 0..<15 {
            let groupID = try #require(try await commons.groups.register(["name": .string("raced-\(round)")])["model_group_id"]?.stringValue)
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask {
                        _ = try? await commons.registerModelMeta([
                            "name": .string("m-\(round)-\(index)"), "model_format": "TORCH_SCRIPT", "model_group_id": .string(groupID),
                            "model_content_hash_value": "ab", "total_chunks": 1,
                            "model_config": ["model_type": "bert", "embedding_dimension": 8, "framework_type": "sentence_transformers"],
                        ])
                    }
                }
                group.addTask { _ = try? await commons.groups.delete(groupID) }
            }
            let members = try await commons.store.all(index: Indices.model, query: .term("model_group_id", .string(groupID)))
            if try await commons.store.get(index: Indices.modelGroup, id: groupID) == nil {
                #expect(members.isEmpty, "round \(round): \(members.count) model(s) in the deleted group \(groupID)")
            }
        }
        try await commons.close()
    }
}
