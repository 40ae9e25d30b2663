import OrderedJSON
@testable import Security
import Testing

/// §8's group table: public / private / restricted × owner / other / admin / backend-role match.
@Suite struct ModelGroupAccessTests {
    static let owner = Principal(name: "alice", backendRoles: ["IT"], roles: ["ml_full_access"])
    static let other = Principal(name: "bob", backendRoles: ["HR"], roles: ["ml_full_access"])
    static let colleague = Principal(name: "carol", backendRoles: ["Finance", "IT"], roles: ["ml_full_access"])
    static let admin = Principal(name: "root", roles: ["all_access"])

    static func group(_ access: String?, backendRoles: [String] = []) -> JSONObject {
        var group: JSONObject = ["name": "g", "owner": .object(owner.ownerJSON)]
        if let access { group["access"] = .string(access) }
        if !backendRoles.isEmpty { group["backend_roles"] = JSON(backendRoles) }
        return group
    }

    @Test(arguments: [
        // access, owner, other, colleague (shares IT), admin
        ("public", true, true, true, true),
        ("private", true, false, false, true),
        ("restricted", true, false, true, true),
        ("unknown", false, false, false, true),
    ])
    func theAccessTable(access: String, ownerMay: Bool, otherMay: Bool, colleagueMay: Bool, adminMay: Bool) {
        let group = Self.group(access, backendRoles: access == "restricted" ? ["IT"] : [])
        #expect(ModelGroupAccess.permits(group, principal: Self.owner) == ownerMay)
        #expect(ModelGroupAccess.permits(group, principal: Self.other) == otherMay)
        #expect(ModelGroupAccess.permits(group, principal: Self.colleague) == colleagueMay)
        #expect(ModelGroupAccess.permits(group, principal: Self.admin) == adminMay)
    }

    @Test func restrictedIsByBackendRoleNotByOwnership() {
        // The owner moved to another team: §8 grants restricted groups by backend roles only.
        let moved = Principal(name: "alice", backendRoles: ["HR"], roles: [])
        #expect(!ModelGroupAccess.permits(Self.group("restricted", backendRoles: ["IT"]), principal: moved))
        #expect(!ModelGroupAccess.permits(Self.group("restricted"), principal: Self.colleague))
    }

    @Test func noUserNoOwnerAndLegacyModelsAreAllowed() {
        #expect(ModelGroupAccess.permits(Self.group("private"), principal: nil))
        #expect(ModelGroupAccess.permits(["name": "old", "access": "private"], principal: Self.other))
        #expect(ModelGroupAccess.denial(modelGroupID: nil, group: nil, principal: Self.other, operation: .model) == nil)
        #expect(ModelGroupAccess.denial(modelGroupID: "g1", group: Self.group("private"), principal: Self.owner, operation: .model) == nil)
    }

    @Test func theDenialsAreThoseOfSection8() {
        let hidden = Self.group("private")
        func reason(_ operation: ModelGroupAccess.Operation) -> SecurityError? {
            ModelGroupAccess.denial(modelGroupID: "g1", group: hidden, principal: Self.other, operation: operation)
        }
        #expect(reason(.getGroup) == SecurityError(status: 403, type: "security_exception",
                                                   reason: "User doesn't have privilege to perform this operation on this model group"))
        #expect(reason(.model) == SecurityError(status: 403, type: "security_exception",
                                                reason: "User doesn't have privilege to perform this operation on this model"))
        #expect(reason(.predict)?.reason == "User doesn't have privilege to perform this operation on this model")
        #expect(reason(.registerIntoGroup) == SecurityError(status: 400, type: "illegal_argument_exception",
                                                            reason: "You don't have permissions to perform this operation on this model."))
        #expect(reason(.deleteGroup) == SecurityError(status: 500, type: "m_l_validation_exception",
                                                      reason: "User doesn't have privilege to delete this model group"))
        let missing = ModelGroupAccess.denial(modelGroupID: "gone", group: nil, principal: Self.owner, operation: .model)
        #expect(missing == SecurityError(status: 500, type: "m_l_resource_not_found_exception", reason: "Fail to find model group"))
        #expect(ModelGroupAccess.denial(modelGroupID: "gone", group: nil, principal: Self.owner, operation: .predict)?.status == 404)
    }

    @Test func onlyOwnerOrAdminChangesAccessFields() {
        let group = Self.group("restricted", backendRoles: ["IT"])
        #expect(ModelGroupAccess.mayChangeAccess(group, principal: Self.owner))
        #expect(ModelGroupAccess.mayChangeAccess(group, principal: Self.admin))
        #expect(!ModelGroupAccess.mayChangeAccess(group, principal: Self.colleague))
        #expect(ModelGroupAccess.changeAccessDenied.reason == "Only owner or admin can update access control data.")
    }
}
