import OrderedJSON

/// The access fields of a model group (`access`, `backend_roles`), checked as ML Commons checks them.
///
/// There is no security plugin, so no user: with `model_access_control_enabled` off (the default)
/// the fields are refused and groups are `public`; with it on they are validated and stored, so the
/// data is right when access enforcement arrives. Rules that depend on the calling user (admin,
/// the user's own roles) cannot apply without users; `add_all_backend_roles` has no roles to add.
struct GroupAccess: Sendable, Equatable {
    var mode: String
    var backendRoles: [String]

    static let fields = ["access_mode", "backend_roles", "add_all_backend_roles"]
    static let everyone = GroupAccess(mode: "public", backendRoles: [])
    static let disabledMessage = "You cannot specify model access control parameters because the Security plugin or model access control is disabled on your cluster."

    /// Access of a new group, from a register request.
    static func forNewGroup(_ request: JSONObject, controlEnabled: Bool) throws -> GroupAccess {
        guard controlEnabled else {
            if fields.contains(where: { request[$0] != nil && request[$0] != .null }) { throw MLError.illegalArgument(disabledMessage) }
            return everyone
        }
        let requested = Request(request)
        let mode = requested.mode ?? (requested.roles.isEmpty && !requested.addAll ? "private" : "restricted")
        return try validated(mode: mode, roles: requested.roles, addAll: requested.addAll)
    }

    /// Access after an update request; nil when the request does not touch access.
    static func updated(_ request: JSONObject, current: GroupAccess, controlEnabled: Bool) throws -> GroupAccess? {
        guard fields.contains(where: { request[$0] != nil && request[$0] != .null }) else { return nil }
        guard controlEnabled else { throw MLError.illegalArgument(disabledMessage) }
        let requested = Request(request)
        // Roles without a mode make the group restricted; a non-restricted mode clears the roles.
        let mode = requested.mode ?? (requested.roles.isEmpty && !requested.addAll ? current.mode : "restricted")
        let roles = mode == "restricted" && requested.roles.isEmpty && !requested.addAll ? current.backendRoles : requested.roles
        return try validated(mode: mode, roles: roles, addAll: requested.addAll)
    }

    private static func validated(mode: String, roles: [String], addAll: Bool) throws -> GroupAccess {
        if mode != "restricted" {
            if !roles.isEmpty || addAll {
                throw MLError.illegalArgument("You can specify backend roles only for a model group with the restricted access mode.")
            }
            return GroupAccess(mode: mode, backendRoles: [])
        }
        if !roles.isEmpty && addAll {
            throw MLError.illegalArgument("You cannot specify backend roles and add all backend roles at the same time.")
        }
        if addAll { throw MLError.illegalArgument("You must have at least one backend role to register a restricted model group.") }
        if roles.isEmpty {
            throw MLError.illegalArgument("You must specify one or more backend roles or add all backend roles to register a restricted model group.")
        }
        return GroupAccess(mode: mode, backendRoles: roles)
    }

    private struct Request {
        let mode: String?
        let roles: [String]
        let addAll: Bool

        init(_ object: JSONObject) {
            // An unknown access_mode counts as not given, as in ML Commons.
            mode = object["access_mode"]?.stringValue.map { $0.lowercased() }.flatMap { ["public", "private", "restricted"].contains($0) ? $0 : nil }
            roles = object["backend_roles"]?.arrayValue?.compactMap(\.stringValue) ?? []
            addAll = object["add_all_backend_roles"]?.boolValue ?? false
        }
    }

    init(mode: String, backendRoles: [String]) {
        self.mode = mode
        self.backendRoles = backendRoles
    }

    init(stored source: JSONObject) {
        mode = source["access"]?.stringValue ?? "public"
        backendRoles = source["backend_roles"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Writes the fields in ML Commons' order: name, latest_version, description, backend_roles, owner, access, times.
    func write(into source: JSONObject) -> JSONObject {
        var result = JSONObject()
        for (key, value) in source where ["name", "latest_version", "description"].contains(key) { result[key] = value }
        if !backendRoles.isEmpty { result["backend_roles"] = JSON(backendRoles) }
        if let owner = source["owner"] { result["owner"] = owner }
        result["access"] = .string(mode)
        for (key, value) in source where result[key] == nil && !["backend_roles", "access"].contains(key) { result[key] = value }
        return result
    }
}
