@testable import MLCommonsCore
import OrderedJSON
import Security
import Storage
import Testing

/// Model groups under access control (§1.2–1.6, §8), through the real `MLCommons` on SQLite.
@Suite struct ModelGroupAccessControlTests {
    @Test func registerAppliesTheUsersRules() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        try await commons.enableAccessControl()

        let privateID = try await commons.group("alice-private", as: Users.alice)
        let stored = try await commons.groups.get(privateID)
        #expect(stored["access"] == "private")
        #expect(stored["owner"]?["name"] == "alice")
        #expect(stored["owner"]?["backend_roles"] == ["IT"])
        let all = try await commons.group("alice-all", as: Users.alice, ["add_all_backend_roles": true])
        #expect(try await commons.groups.get(all)["access"] == "restricted")
        #expect(try await commons.groups.get(all)["backend_roles"] == ["IT"])

        func refused(_ user: Principal, _ access: JSONObject) async -> Refusal? {
            await refusal(as: user) { try await commons.group("refused", as: user, access) }
        }
        #expect(await refused(Users.alice, ["backend_roles": ["HR"]]) == .badRequest("You don't have the backend roles specified."))
        #expect(await refused(Users.admin, ["access_mode": "restricted", "add_all_backend_roles": true])
            == .badRequest("Admin users cannot add all backend roles to a model group."))
        #expect(await refused(Users.carol, ["access_mode": "restricted", "backend_roles": ["IT"]])
            == .badRequest("You must have at least one backend role to register a restricted model group."))
        #expect(await refused(Users.alice, ["access_mode": "private", "backend_roles": ["IT"]])
            == .badRequest("You can specify backend roles only for a model group with the restricted access mode."))
        #expect(await refused(Users.alice, ["access_mode": "restricted"])
            == .badRequest("You must specify one or more backend roles or add all backend roles to register a restricted model group."))
        // An admin may grant roles it does not hold.
        let forHR = try await commons.group("admin-hr", as: Users.admin, ["backend_roles": ["HR"]])
        #expect(try await commons.groups.get(forHR)["backend_roles"] == ["HR"])

        // A user with the setting off, and no user with it on: as before users existed.
        try await commons.enableAccessControl(models: false)
        #expect(await refused(Users.alice, ["access_mode": "private"]) == .badRequest(GroupAccess.disabledMessage))
        let plain = try await commons.groups.get(try await commons.group("plain", as: Users.alice))
        #expect(plain["access"] == "public")
        #expect(plain["owner"] == nil)
        try await commons.enableAccessControl()
        let ownerless = try await commons.groups.get(try await commons.group("ownerless", as: nil, ["access_mode": "private"]))
        #expect(ownerless["access"] == "private")
        #expect(ownerless["owner"] == nil)
        try await commons.close()
    }

    @Test func getSearchUpdateAndDeleteFollowTheGroupsAccess() async throws {
        let harness = CoreHarness()
        let commons = try await harness.open()
        try await commons.enableAccessControl()
        let legacy = try await commons.group("legacy", as: nil)
        let open = try await commons.group("open", as: Users.alice, ["access_mode": "public"])
        let mine = try await commons.group("mine", as: Users.alice)
        let team = try await commons.group("team", as: Users.alice, ["backend_roles": ["IT"]])

        let groupDenied = Refusal(403, "security_exception", "User doesn't have privilege to perform this operation on this model group")
        for (id, bob, dave) in [(legacy, true, true), (open, true, true), (mine, false, false), (team, false, true)] {
            #expect(await refusal(as: Users.bob) { try await commons.groups.get(id) } == (bob ? nil : groupDenied))
            #expect(await refusal(as: Users.dave) { try await commons.groups.get(id) } == (dave ? nil : groupDenied))
            #expect(await refusal(as: Users.admin) { try await commons.groups.get(id) } == nil)
            #expect(await refusal(as: nil) { try await commons.groups.get(id) } == nil)
        }

        // Search: filtered in the query, so totals count only what the user sees, also past one page.
        #expect(try await commons.visible(Indices.modelGroup, as: Users.bob) == (2, [legacy, open]))
        #expect(try await commons.visible(Indices.modelGroup, as: Users.dave).ids == [legacy, open, team])
        let paged = try await commons.visible(Indices.modelGroup, as: Users.dave, size: 1)
        #expect(paged.total == 3)
        #expect(paged.ids.count == 1)
        #expect(try await commons.visible(Indices.modelGroup, as: Users.alice).total == 4)
        #expect(try await commons.visible(Indices.modelGroup, as: Users.admin).total == 4)
        #expect(try await commons.visible(Indices.modelGroup, as: nil).total == 4)

        // Update: a member may rename; only the owner or an admin changes access.
        #expect(await refusal(as: Users.dave) { try await commons.groups.update(team, body: ["description": "by dave"]) } == nil)
        #expect(await refusal(as: Users.dave) { try await commons.groups.update(team, body: ["access_mode": "public"]) }
            == .badRequest("Only owner or admin can update access control data."))
        #expect(await refusal(as: Users.bob) { try await commons.groups.update(team, body: ["description": "by bob"]) }
            == .badRequest("You don't have permission to update this model group."))
        #expect(await refusal(as: Users.alice) { try await commons.groups.update(team, body: ["backend_roles": ["HR"]]) }
            == .badRequest("You don't have the backend roles specified."))
        #expect(await refusal(as: Users.alice) { try await commons.groups.update(team, body: ["access_mode": "public"]) } == nil)
        #expect(try await commons.groups.get(team)["access"] == "public")
        #expect(try await commons.groups.get(team)["backend_roles"] == nil)
        #expect(await refusal(as: Users.bob) { try await commons.groups.get(team) } == nil)
        #expect(await refusal(as: Users.admin) { try await commons.groups.update(mine, body: ["backend_roles": ["HR"]]) } == nil)
        #expect(try await commons.groups.get(mine)["access"] == "restricted")

        // Delete: refused (500) to those without access; a missing group fails the check.
        #expect(await refusal(as: Users.dave) { try await commons.groups.delete(mine) }
            == Refusal(500, "m_l_validation_exception", "User doesn't have privilege to delete this model group"))
        #expect(await refusal(as: Users.bob) { try await commons.groups.delete("no-such-group") }
            == Refusal(500, "m_l_resource_not_found_exception", "Fail to find model group"))
        #expect(try await acting(nil) { try await commons.groups.delete("no-such-group") }.outcome == .notFound)
        #expect(try await acting(Users.bob) { try await commons.groups.delete(mine) }.outcome == .deleted)
        try await commons.close()
    }
}
