import OrderedJSON
import Storage

/// The model group a registration joins and the version it took, so a failure can give it back.
struct GroupClaim: Sendable {
    let groupID: String
    let version: Int64
    /// The group was created for this registration (group-by-name) and is deleted on failure.
    let createdForModel: Bool

    /// Joins the named group, or the group named after the model, creating it when there is none.
    static func claim(groupID: String?, modelName: String, description: String?, access: GroupAccess,
                      groups: ModelGroupService) async throws -> GroupClaim {
        if let groupID {
            return GroupClaim(groupID: groupID, version: try await groups.takeNextVersion(of: groupID), createdForModel: false)
        }
        for _ in 0..<5 {
            if let existing = try await groups.find(named: modelName) {
                return GroupClaim(groupID: existing.id, version: try await groups.takeNextVersion(of: existing.id), createdForModel: false)
            }
            do {
                let id = try await groups.create(name: modelName, description: description, access: access)
                return GroupClaim(groupID: id, version: try await groups.takeNextVersion(of: id), createdForModel: true)
            } catch let error as MLError where error.status == 400 {
                continue  // created by a concurrent registration: join it
            }
        }
        throw MLError.generic("Failed to find or create a model group named \(modelName)")
    }

    func rollback(groups: ModelGroupService, store: any DocumentStore) async throws {
        if createdForModel {
            try await store.delete(index: Indices.modelGroup, id: groupID)
        } else {
            try await groups.giveBackVersion(version, of: groupID)
        }
    }

    var journalFields: JSONObject {
        ["model_group_id": .string(groupID), "model_version": .int(version), "group_created": .bool(createdForModel)]
    }

    init(groupID: String, version: Int64, createdForModel: Bool) {
        self.groupID = groupID
        self.version = version
        self.createdForModel = createdForModel
    }

    init?(journal: JSONObject) {
        guard let id = journal["model_group_id"]?.stringValue, let version = journal["model_version"]?.intValue else { return nil }
        self.init(groupID: id, version: version, createdForModel: journal["group_created"]?.boolValue ?? false)
    }
}
