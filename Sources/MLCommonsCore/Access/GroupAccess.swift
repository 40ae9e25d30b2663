import OrderedJSON
import Security

/// The access fields of a model group (`access`, `backend_roles`, `owner`), checked as ML Commons
/// checks them (§1.2, §1.4).
///
/// Access control is ON when the request has a user (`Caller.principal`) and
/// `model_access_control_enabled` is true: the user's rules apply and the user becomes the owner.
/// Without a user the fields are validated as before users existed: refused when the setting is
/// off (groups are `public`), validated and stored without an owner when it is on.
struct GroupAccess: Sendable, Equatable {
    var mode: String
    var backendRoles: [String]
    /// The `owner` object of a new group (the requesting user); nil without a user.
    var owner: JSONObject?

    static let fields = ["access_mode", "backend_roles", "add_all_backend_roles"]
    static let everyone = GroupAccess(mode: "public", backendRoles: [])
    static let disabledMessage = "You cannot specify model access control parameters because the Security plugin or model access control is disabled on your cluster."

    static func touchesAccess(_ request: JSONObject) -> Bool {
        fields.contains(where: { request[$0] != nil && request[$0] != .null })
    }

    /// Access of a new group, from a register request.
    /// `user` is the request's principal (`Caller.principal`), read while the request runs.
    static func forNewGroup(_ request: JSONObject, controlEnabled: Bool, user: Principal?) throws -> GroupAccess {
        guard controlEnabled else {
            if touchesAccess(request) { throw MLError.illegalArgument(disabledMessage) }
            return everyone
        }
        let requested = Request(request)
        let mode = requested.mode ?? (requested.roles.isEmpty && !requested.addAll ? "private" : "restricted")
        guard let user else { return try validated(mode: mode, roles: requested.roles, addAll: requested.addAll) }
        var access = try validated(mode: mode, roles: requested.roles, addAll: requested.addAll, user: user)
        access.owner = user.ownerJSON
        return access
    }

    /// Access after an update request; nil when the request does not touch access.
    /// With a user, the caller has checked that the user may change access (owner or admin).
    static func updated(_ request: JSONObject, current: GroupAccess, controlEnabled: Bool, user: Principal?) throws -> GroupAccess? {
        guard touchesAccess(request) else { return nil }
        guard controlEnabled else { throw MLError.illegalArgument(disabledMessage) }
        let requested = Request(request)
        // Roles without a mode make the group restricted; a non-restricted mode clears the roles.
        let mode = requested.mode ?? (requested.roles.isEmpty && !requested.addAll ? current.mode : "restricted")
        let roles = mode == "restricted" && requested.roles.isEmpty && !requested.addAll ? current.backendRoles : requested.roles
        guard let user else { return try validated(mode: mode, roles: roles, addAll: requested.addAll) }
        return try validated(mode: mode, roles: roles, addAll: requested.addAll, user: user)
    }

    /// §1.2 rule 4, in ML Commons' order: the user's own backend roles bound what it may grant, and
    /// `add_all_backend_roles` grants exactly those.
    private static func validated(mode: String, roles: [String], addAll: Bool, user: Principal) throws -> GroupAccess {
        guard mode == "restricted" else { return try validated(mode: mode, roles: roles, addAll: addAll) }
        if user.isAdmin && addAll { throw MLError.illegalArgument("Admin users cannot add all backend roles to a model group.") }
        if !user.isAdmin && user.backendRoles.isEmpty {
            throw MLError.illegalArgument("You must have at least one backend role to register a restricted model group.")
        }
        if roles.isEmpty && !addAll {
            throw MLError.illegalArgument("You must specify one or more backend roles or add all backend roles to register a restricted model group.")
        }
        if !roles.isEmpty && addAll {
            throw MLError.illegalArgument("You cannot specify backend roles and add all backend roles at the same time.")
        }
        if !user.isAdmin && !addAll && !Set(roles).isSubset(of: user.backendRoles) {
            throw MLError.illegalArgument("You don't have the backend roles specified.")
        }
        return GroupAccess(mode: mode, backendRoles: addAll ? user.backendRoles : roles)
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

    struct Request {
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

    init(mode: String, backendRoles: [String], owner: JSONObject? = nil) {
        self.mode = mode
        self.backendRoles = backendRoles
        self.owner = owner
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
        if let owner = owner.map(JSON.object) ?? source["owner"] { result["owner"] = owner }
        result["access"] = .string(mode)
        for (key, value) in source where result[key] == nil && !["backend_roles", "access"].contains(key) { result[key] = value }
        return result
    }
}
