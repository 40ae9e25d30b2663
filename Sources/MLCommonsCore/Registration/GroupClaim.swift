import OrderedJSON
import Security
import Storage

/// The model group a registration joins and the version it took, so a failure can give it back.
///
/// The claim (creating the group or taking its next version) is committed in one transaction with
/// the documents that use it (the model and, for a background registration, its journal entry), so a
/// crash can leave neither an empty group nor a skipped version behind.
struct GroupClaim: Sendable {
    let groupID: String
    let version: Int64
    /// The group was created for this registration (group-by-name) and is deleted on failure.
    let createdForModel: Bool

    /// Joins the named group, or the group named after the model, creating it when there is none, and
    /// commits `using(claim)` in the same transaction. A concurrent claim makes it read and try again.
    /// `user` (nil when access control is off) must be allowed into an existing group, checked on the
    /// group as read for the transaction.
    static func commit(groupID: String?, modelName: String, description: String?, access: GroupAccess, user: Principal?,
                       groups: ModelGroupService, using: (GroupClaim) -> [StoreWrite]) async throws -> GroupClaim {
        for _ in 0..<50 {
            let existing: StoredDocument?
            if let groupID {
                guard let group = try await groups.store.get(index: Indices.modelGroup, id: groupID) else {
                    throw MLError.status(404, "Model group not found")
                }
                existing = group
            } else {
                existing = try await groups.find(named: modelName)
            }
            let claim: GroupClaim
            let groupWrite: StoreWrite
            if let existing {
                if let user, !ModelGroupAccess.permits(existing.source, principal: user) { throw ModelGroupAccess.denied(.registerIntoGroup) }
                var source = existing.source
                let next = (source["latest_version"]?.intValue ?? 0) + 1
                source["latest_version"] = .int(next)
                source["last_updated_time"] = .int(nowMillis())
                claim = GroupClaim(groupID: existing.id, version: next, createdForModel: false)
                groupWrite = .put(index: Indices.modelGroup, id: existing.id, source: source,
                                  condition: .ifMatch(seqNo: existing.seqNo, primaryTerm: existing.primaryTerm))
            } else {
                let id = Identifiers.newID()
                claim = GroupClaim(groupID: id, version: 1, createdForModel: true)
                groupWrite = .put(index: Indices.modelGroup, id: id,
                                  source: ModelGroupService.newGroupSource(name: modelName, description: description, access: access, latestVersion: 1),
                                  condition: .mustNotExist)
            }
            do {
                try await groups.store.write([groupWrite] + using(claim))
                return claim
            } catch StoreError.versionConflict(let index, _, _) where index == Indices.modelGroup {
                continue  // the group changed since it was read: read it again
            } catch StoreError.uniqueViolation(let index, _, _, _) where index == Indices.modelGroup {
                continue  // created by a concurrent registration: join it
            }
        }
        throw MLError.generic("Failed to find or create a model group named \(modelName): too many concurrent updates")
    }

    /// The write that gives the claim back: deletes a group created for the model when no other model
    /// joined it, or gives back the version when no later one was taken; nil when neither applies.
    /// Conditional on the group as read, so a batch holding it fails (and is rebuilt) if the group changes.
    func rollbackWrite(store: any DocumentStore, modelID: String?) async throws -> StoreWrite? {
        guard let group = try await store.get(index: Indices.modelGroup, id: groupID) else { return nil }
        let condition = WriteCondition.ifMatch(seqNo: group.seqNo, primaryTerm: group.primaryTerm)
        if createdForModel {
            let members = try await store.all(index: Indices.model, query: .and(.term("model_group_id", .string(groupID)), .not(ModelDocument.isChunk)))
            if members.allSatisfy({ $0.id == modelID }) {
                return .delete(index: Indices.modelGroup, id: groupID, condition: condition)
            }
        }
        guard group.source["latest_version"]?.intValue == version else { return nil }
        var source = group.source
        source["latest_version"] = .int(version - 1)
        return .put(index: Indices.modelGroup, id: groupID, source: source, condition: condition)
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
