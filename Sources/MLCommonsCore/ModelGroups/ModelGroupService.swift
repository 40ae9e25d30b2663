import OrderedJSON
import Security
import Storage

/// Model groups: named, versioned containers of models (§1 of the API reference).
public struct ModelGroupService: Sendable {
    let store: any DocumentStore
    let settings: ClusterSettings

    func accessControlEnabled() async throws -> Bool {
        try await settings.current().bool(MLSettings.modelAccessControl)
    }

    var access: AccessControl { AccessControl(store: store, settings: settings) }

    public func register(_ body: JSON?) async throws -> JSON {
        guard let body = body?.objectValue, !body.isEmpty else { throw MLError.parse("Model group request has empty body") }
        guard let name = body["name"]?.stringValue, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw MLError.illegalArgument("model group name must not be null or blank")
        }
        let access = try GroupAccess.forNewGroup(body, controlEnabled: try await accessControlEnabled(), user: Caller.principal)
        let id = try body["model_group_id"]?.stringValue.map { id in
            try Identifiers.validateCustomID(id, label: "model_group_id")
            return id
        }
        let groupID = try await create(name: name, description: body["description"]?.stringValue, access: access, id: id)
        return ["model_group_id": .string(groupID), "status": "CREATED"]
    }

    /// Creates a group; the store's unique constraint on `name` makes concurrent creations safe.
    func create(name: String, description: String?, access: GroupAccess, id customID: String? = nil) async throws -> String {
        let id = customID ?? Identifiers.newID()
        do {
            try await store.put(index: Indices.modelGroup, id: id, source: Self.newGroupSource(name: name, description: description, access: access),
                                condition: .mustNotExist)
        } catch StoreError.uniqueViolation(_, _, _, let existing) {
            throw MLError.illegalArgument("The name you provided is already being used by a model group with ID: \(existing).")
        } catch StoreError.versionConflict {
            throw MLError(status: 409, type: "status_exception", reason: "Model group '\(id)' already exists")
        }
        return id
    }

    static func newGroupSource(name: String, description: String?, access: GroupAccess, latestVersion: Int64 = 0) -> JSONObject {
        let now = nowMillis()
        var source: JSONObject = ["name": .string(name), "latest_version": .int(latestVersion)]
        if let description { source["description"] = .string(description) }
        source["created_time"] = .int(now)
        source["last_updated_time"] = .int(now)
        return access.write(into: source)
    }

    public func get(_ id: String) async throws -> JSON {
        guard let document = try await store.get(index: Indices.modelGroup, id: id) else {
            if try await !store.indexExists(Indices.modelGroup) { throw MLError.status(404, "Failed to find model group index") }
            throw MLError.status(404, "Failed to find model group with the provided model group id: \(id)")
        }
        try access.checkGroup(document, .getGroup, user: try await access.modelUser())
        return .object(document.source)
    }

    /// `_search` of groups: with access control ON, the query is ANDed with what the user may see (§1.5).
    public func search(_ request: SearchRequest) async throws -> SearchHits {
        var request = request
        request.query = ResourceVisibility.restrict(request.query, principal: try await access.modelUser())
        return try await store.search(index: Indices.modelGroup, request: request)
    }

    func find(named name: String) async throws -> StoredDocument? {
        try await store.all(index: Indices.modelGroup, query: .term("name.keyword", .string(name))).first
    }

    public func update(_ id: String, body: JSON?) async throws -> JSON {
        guard let body = body?.objectValue, !body.isEmpty else { throw MLError.parse("Model group update request has empty body") }
        let controlEnabled = try await accessControlEnabled()
        let user = controlEnabled ? Caller.principal : nil
        for attempt in 0..<10 {
            guard let document = try await store.get(index: Indices.modelGroup, id: id) else {
                throw MLError.status(404, "Failed to find model group with the provided model group id: \(id)")
            }
            var source = document.source
            if let user {
                // ML Commons' order: changing access is for the owner or an admin; any change needs access.
                if GroupAccess.touchesAccess(body), !ModelGroupAccess.mayChangeAccess(source, principal: user) {
                    throw ModelGroupAccess.changeAccessDenied
                }
                try access.checkGroup(document, .updateGroup, user: user)
            }
            if let access = try GroupAccess.updated(body, current: GroupAccess(stored: source), controlEnabled: controlEnabled, user: user) {
                source = access.write(into: source)
            }
            if let name = body["name"]?.stringValue, !name.trimmingCharacters(in: .whitespaces).isEmpty { source["name"] = .string(name) }
            if let description = body["description"]?.stringValue, !description.trimmingCharacters(in: .whitespaces).isEmpty {
                source["description"] = .string(description)
            }
            source["last_updated_time"] = .int(nowMillis())
            do {
                try await store.put(index: Indices.modelGroup, id: id, source: source,
                                    condition: .ifMatch(seqNo: document.seqNo, primaryTerm: document.primaryTerm))
                return ["status": "Updated"]
            } catch StoreError.uniqueViolation(_, _, _, let existing) {
                throw MLError.illegalArgument("The name you provided is already being used by another model with ID: \(existing). Please provide a different name")
            } catch StoreError.versionConflict where attempt < 9 {
                continue
            }
        }
        throw MLError.validation("Failed to update Model Group")
    }

    /// Deletes an empty group. The delete is conditional on the group as read when its members were
    /// counted: a registration claims a version of the group (a write to it) in the same transaction
    /// that stores its model, so no model can join a group between the count and the delete.
    public func delete(_ id: String) async throws -> WriteResult {
        if try await !store.indexExists(Indices.modelGroup) { throw MLError.status(404, "Failed to find model group") }
        let user = try await access.modelUser()
        for _ in 0..<20 {
            let group = try await store.get(index: Indices.modelGroup, id: id)
            // With access control ON the check comes first, and a missing group fails it (§1.6).
            try access.checkGroup(group, .deleteGroup, user: user)
            guard let group else { return .notFound(index: Indices.modelGroup, id: id) }
            let members = try await store.count(index: Indices.model, query: .term("model_group_id", .string(id)))
            if members > 0 {
                throw MLError.status(409, "Cannot delete the model group when it has associated model versions")
            }
            do {
                let outcome = try await store.write([.delete(index: Indices.modelGroup, id: id,
                                                             condition: .ifMatch(seqNo: group.seqNo, primaryTerm: group.primaryTerm))])
                guard let deleted = outcome.first?.deletedDocument else { return .notFound(index: Indices.modelGroup, id: id) }
                return WriteResult(index: Indices.modelGroup, id: id, version: deleted.version, seqNo: deleted.seqNo,
                                   primaryTerm: deleted.primaryTerm, outcome: .deleted)
            } catch StoreError.versionConflict {
                continue  // the group changed (a model may have joined): count again
            }
        }
        throw MLError.generic("Failed to delete model group \(id): too many concurrent updates")
    }
}
