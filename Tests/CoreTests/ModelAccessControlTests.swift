@testable import MLCommonsCore
import OrderedJSON
import Security
import Storage
import Testing

/// Models inherit their group's access (§8): get, deploy, undeploy, update, delete, predict,
/// upload chunk, register into a group, search, stats and profile.
@Suite struct ModelAccessControlTests {
    @Test func modelOperationsCheckTheModelsGroup() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        try await commons.enableAccessControl()
        let mine = try await commons.group("mine", as: Users.alice)
        let team = try await commons.group("team", as: Users.alice, ["backend_roles": ["IT"]])
        let (privateModel, _) = try await acting(Users.alice) {
            try await harness.registerModel(commons, seed: 1, extra: ["model_group_id": .string(mine)])
        }
        let (teamModel, _) = try await acting(Users.alice) {
            try await harness.registerModel(commons, seed: 2, extra: ["model_group_id": .string(team)])
        }

        // Registering into a group one may not use is refused at once, also for a chunked upload.
        let registerDenied = Refusal.badRequest("You don't have permissions to perform this operation on this model.")
        #expect(await refusal(as: Users.bob) { try await harness.registerModel(commons, seed: 3, extra: ["model_group_id": .string(mine)]) }
            == registerDenied)
        #expect(await refusal(as: Users.bob) {
            try await commons.registerModelMeta(["name": "up", "model_format": "TORCH_SCRIPT", "model_group_id": .string(team),
                                                 "model_content_hash_value": "ab", "total_chunks": 1,
                                                 "model_config": ["model_type": "bert", "embedding_dimension": 8, "framework_type": "sentence_transformers"]])
        } == registerDenied)

        let operations: [(String, @Sendable (String) async throws -> Void)] = [
            ("get", { _ = try await commons.getModel($0, returnContent: false) }),
            ("update", { _ = try await commons.updateModel($0, body: ["description": "changed"]) }),
            ("deploy", { _ = try await commons.deployModel($0, body: nil) }),
            ("undeploy", { _ = try await commons.undeployModel($0, body: nil) }),
            ("undeploy many", { _ = try await commons.undeployModels(body: ["model_ids": [.string($0)]]) }),
            ("predict", { _ = try await commons.predict(modelID: $0, algorithm: nil, body: ["text_docs": ["x"]]) }),
            ("upload chunk", { _ = try await commons.uploadChunk(modelID: $0, chunkNumber: "0", bytes: [1]) }),
            ("delete", { _ = try await commons.deleteModel($0) }),
        ]
        for (name, operation) in operations {
            #expect(await refusal(as: Users.bob) { try await operation(privateModel) } == .modelDenied, "bob \(name) private")
            #expect(await refusal(as: Users.bob) { try await operation(teamModel) } == .modelDenied, "bob \(name) team")
            #expect(await refusal(as: Users.dave) { try await operation(privateModel) } == .modelDenied, "dave \(name) private")
        }
        // Those with access get past the check: dave (IT) on the team model, the owner, an admin, no user.
        #expect(await refusal(as: Users.dave) { try await commons.getModel(teamModel, returnContent: false) } == nil)
        #expect(try await acting(Users.dave) { try await harness.deploy(commons, teamModel) }["state"] == "COMPLETED")
        // The recording engine loads but runs nothing: predict reaches the model and fails there, not at the check.
        #expect(await refusal(as: Users.dave) { try await commons.predict(modelID: teamModel, algorithm: nil, body: ["text_docs": ["x"]]) }
            == .badRequest("Model not ready yet. Please deploy the model first."))
        #expect(await refusal(as: Users.dave) { try await commons.undeployModels(body: ["model_ids": [.string(teamModel)]]) } == nil)
        #expect(await refusal(as: Users.admin) { try await commons.updateModel(privateModel, body: ["description": "by admin"]) } == nil)
        #expect(await refusal(as: nil) { try await commons.getModel(privateModel, returnContent: false) } == nil)
        #expect(await refusal(as: Users.alice) { try await commons.deleteModel(privateModel) } == nil)

        // A model whose group is gone: ML Commons' "Fail to find model group" (404 for predict).
        _ = try await commons.store.put(index: Indices.model, id: "orphan", source: [
            "name": "orphan", "algorithm": "TEXT_EMBEDDING", "model_group_id": "gone", "model_state": "REGISTERED",
        ], condition: .always)
        #expect(await refusal(as: Users.bob) { try await commons.getModel("orphan", returnContent: false) }
            == Refusal(500, "m_l_resource_not_found_exception", "Fail to find model group"))
        #expect(await refusal(as: Users.bob) { try await commons.predict(modelID: "orphan", algorithm: nil, body: ["text_docs": ["x"]]) }
            == Refusal(404, "status_exception", "Fail to find model group"))
        try await commons.close()
    }

    @Test func registerByNameMakesTheCallerTheOwner() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        try await commons.enableAccessControl()
        let (id, _) = try await acting(Users.alice) { try await harness.registerModel(commons, seed: 4) }
        let groupID = try #require(try await commons.getModel(id, returnContent: false)["model_group_id"]?.stringValue)
        let group = try await commons.groups.get(groupID)
        #expect(group["access"] == "private")
        #expect(group["owner"]?["name"] == "alice")
        // Another user registering a model of that name joins the group by name: refused.
        #expect(await refusal(as: Users.bob) {
            try await commons.registerModelMeta(["name": "m4", "model_format": "TORCH_SCRIPT", "model_content_hash_value": "ab", "total_chunks": 1,
                                                 "model_config": ["model_type": "bert", "embedding_dimension": 8, "framework_type": "sentence_transformers"]])
        } == .badRequest("You don't have permissions to perform this operation on this model."))
        try await commons.close()
    }

    @Test func searchStatsAndProfileShowOnlyVisibleModels() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        try await commons.enableAccessControl()
        let open = try await commons.group("open", as: Users.alice, ["access_mode": "public"])
        let mine = try await commons.group("mine", as: Users.alice)
        let (publicModel, _) = try await acting(Users.alice) { try await harness.registerModel(commons, seed: 1, extra: ["model_group_id": .string(open)]) }
        let (privateModel, _) = try await acting(Users.alice) { try await harness.registerModel(commons, seed: 2, extra: ["model_group_id": .string(mine)]) }
        _ = try await commons.store.put(index: Indices.model, id: "legacy", source: [
            "name": "legacy", "algorithm": "TEXT_EMBEDDING", "model_state": "REGISTERED", "is_hidden": false,
        ], condition: .always)

        #expect(try await commons.visible(Indices.model, as: Users.bob) == (2, [publicModel, "legacy"]))
        let paged = try await commons.visible(Indices.model, as: Users.bob, size: 1)
        #expect(paged.total == 2)
        #expect(paged.ids.count == 1)
        #expect(try await commons.visible(Indices.model, as: Users.alice).ids == [publicModel, privateModel, "legacy"])
        #expect(try await commons.visible(Indices.model, as: Users.admin).total == 3)
        #expect(try await commons.visible(Indices.model, as: nil).total == 3)

        for id in [publicModel, privateModel] {
            #expect(try await acting(Users.alice) { try await harness.deploy(commons, id) }["state"] == "COMPLETED")
        }
        func statsModels(_ user: Principal?) async throws -> Set<String> {
            let stats = try await acting(user) { try await commons.stats(nodeIDs: nil, statNames: nil) }
            return Set(stats["nodes"]?[commons.node.id]?["models"]?.objectValue?.keys ?? [])
        }
        func profileModels(_ user: Principal?) async throws -> Set<String> {
            let profile = try await acting(user) {
                try await commons.profile(modelIDs: nil, taskIDs: nil, nodeIDs: nil, includeModels: true, includeTasks: false, modelView: true)
            }
            return Set(profile["models"]?.objectValue?.keys ?? [])
        }
        #expect(try await statsModels(Users.bob) == [publicModel])
        #expect(try await statsModels(Users.alice) == [publicModel, privateModel])
        #expect(try await statsModels(nil) == [publicModel, privateModel])
        #expect(try await profileModels(Users.bob) == [publicModel])
        #expect(try await profileModels(Users.admin) == [publicModel, privateModel])
        #expect(try await profileModels(nil) == [publicModel, privateModel])
        try await commons.close()
    }
}
