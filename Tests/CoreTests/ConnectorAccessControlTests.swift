@testable import MLCommonsCore
import OrderedJSON
import Security
import Storage
import Testing

/// Connectors under `connector_access_control_enabled` (§6.2, §6.3, §8).
@Suite struct ConnectorAccessControlTests {
    static func body(_ name: String, _ access: JSONObject = [:]) -> JSON {
        var body: JSONObject = [
            "name": .string(name), "version": 1, "protocol": "http", "credential": ["key": "secret"],
            "actions": [["action_type": "predict", "method": "POST", "url": "https://api.openai.com/v1/embeddings",
                         "headers": ["Authorization": "Bearer ${credential.key}"], "request_body": "{}"]],
        ]
        for (key, value) in access { body[key] = value }
        return .object(body)
    }

    static func create(_ commons: MLCommons, _ name: String, as user: Principal?, _ access: JSONObject = [:]) async throws -> String {
        try #require(try await acting(user) { try await commons.createConnector(body(name, access)) }["connector_id"]?.stringValue)
    }

    @Test func connectorsFollowTheirOwnersAccess() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        try await commons.enableAccessControl()
        let legacy = try await Self.create(commons, "legacy", as: nil)
        let mine = try await Self.create(commons, "mine", as: Users.alice)
        let team = try await Self.create(commons, "team", as: Users.alice, ["add_all_backend_roles": true])
        let open = try await Self.create(commons, "open", as: Users.alice, ["access_mode": "public"])
        let stored = try await commons.getConnector(mine)
        #expect(stored["access"] == "private")
        #expect(stored["owner"]?["name"] == "alice")
        #expect(try await commons.getConnector(team)["backend_roles"] == ["IT"])
        #expect(try await commons.getConnector(legacy)["owner"] == nil)

        func refused(_ user: Principal, _ access: JSONObject) async -> Refusal? {
            await refusal(as: user) { try await Self.create(commons, "refused", as: user, access) }
        }
        #expect(await refused(Users.alice, ["backend_roles": ["HR"]]) == .badRequest("You don't have the backend roles specified."))
        #expect(await refused(Users.admin, ["add_all_backend_roles": true]) == .badRequest("Admin can't add all backend roles"))
        #expect(await refused(Users.carol, ["add_all_backend_roles": true])
            == .badRequest("You must have at least one backend role to create a connector."))
        #expect(await refused(Users.alice, ["access_mode": "restricted"])
            == .badRequest("You must specify at least one backend role or make the connector public/private for registering it."))
        #expect(await refused(Users.alice, ["access_mode": "public", "backend_roles": ["IT"]])
            == .badRequest("You can specify backend roles only for a connector with the restricted access mode."))

        let getDenied = Refusal(403, "security_exception", "You don't have permission to access this connector")
        for (id, bob, dave) in [(legacy, true, true), (open, true, true), (mine, false, false), (team, false, true)] {
            #expect(await refusal(as: Users.bob) { try await commons.getConnector(id) } == (bob ? nil : getDenied))
            #expect(await refusal(as: Users.dave) { try await commons.getConnector(id) } == (dave ? nil : getDenied))
            #expect(await refusal(as: Users.admin) { try await commons.getConnector(id) } == nil)
        }
        #expect(try await commons.visible(Indices.connector, as: Users.bob) == (2, [legacy, open]))
        #expect(try await commons.visible(Indices.connector, as: Users.dave, size: 1).total == 3)
        #expect(try await commons.visible(Indices.connector, as: Users.alice).total == 4)
        #expect(try await commons.visible(Indices.connector, as: nil).total == 4)

        #expect(await refusal(as: Users.bob) { try await commons.updateConnector(mine, body: ["description": "x"]) }
            == .badRequest("You don't have permission to update the connector, connector id: \(mine)"))
        #expect(await refusal(as: Users.dave) { try await commons.updateConnector(team, body: ["access_mode": "public"]) }
            == .badRequest("Only owner or admin can update access control data."))
        #expect(await refusal(as: Users.dave) { try await commons.updateConnector(team, body: ["description": "by dave"]) } == nil)
        #expect(await refusal(as: Users.bob) { try await commons.deleteConnector(mine) }
            == Refusal(500, "m_l_validation_exception", "You are not allowed to delete this connector"))
        #expect(await refusal(as: Users.bob) {
            try await commons.registerModel(["name": "remote", "function_name": "remote", "connector_id": .string(mine)], deploy: false)
        } == .badRequest("You don't have permission to use the connector provided, connector id: \(mine)"))
        #expect(await refusal(as: Users.dave) {
            try await commons.registerModel(["name": "remote", "function_name": "remote", "connector_id": .string(team)], deploy: false)
        } == nil)

        // The owner opens its connector: bob may now use it.
        #expect(await refusal(as: Users.alice) { try await commons.updateConnector(mine, body: ["access_mode": "public"]) } == nil)
        #expect(await refusal(as: Users.bob) { try await commons.getConnector(mine) } == nil)
        #expect(try await acting(Users.bob) { try await commons.deleteConnector(mine) }.outcome == .deleted)
        try await commons.close()
    }

    @Test func withoutAUserOrWithTheSettingOffNothingChanges() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        let disabled = Refusal.badRequest(
            "You cannot specify connector access control parameters because the Security plugin or connector access control is disabled on your cluster.")
        #expect(await refusal(as: Users.alice) { try await Self.create(commons, "c", as: Users.alice, ["access_mode": "private"]) } == disabled)
        #expect(await refusal(as: nil) { try await Self.create(commons, "c", as: nil, ["access_mode": "private"]) } == disabled)
        let plain = try await Self.create(commons, "plain", as: Users.alice)
        #expect(try await commons.getConnector(plain)["owner"] == nil)
        #expect(await refusal(as: Users.bob) { try await commons.getConnector(plain) } == nil)
        // Setting on, no user: access fields accepted, nothing stored (as before users existed).
        try await commons.enableAccessControl()
        let ownerless = try await Self.create(commons, "ownerless", as: nil, ["access_mode": "private"])
        #expect(try await commons.getConnector(ownerless)["access"] == nil)
        #expect(await refusal(as: Users.bob) { try await commons.getConnector(ownerless) } == nil)
        try await commons.close()
    }
}
