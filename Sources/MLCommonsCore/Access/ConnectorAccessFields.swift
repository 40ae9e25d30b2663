import OrderedJSON
import Security

/// The access fields of a connector under connector access control, validated as ML Commons'
/// connector create action does (its order and wording differ from model groups'): the owner is
/// the user, `access_mode` defaults to `restricted` with roles and `private` without.
enum ConnectorAccessFields {
    static func validated(_ request: JSONObject, user: Principal) throws -> (mode: String, backendRoles: [String]) {
        let requested = GroupAccess.Request(request)
        if user.isAdmin && requested.addAll { throw MLError.illegalArgument("Admin can't add all backend roles") }
        let mode = requested.mode ?? (requested.roles.isEmpty && !requested.addAll ? "private" : "restricted")
        guard mode == "restricted" else {
            if !requested.roles.isEmpty || requested.addAll {
                throw MLError.illegalArgument("You can specify backend roles only for a connector with the restricted access mode.")
            }
            return (mode, [])
        }
        if requested.addAll {
            if !requested.roles.isEmpty {
                throw MLError.illegalArgument("You can't specify backend roles and add all backend roles to true at same time.")
            }
            if user.backendRoles.isEmpty { throw MLError.illegalArgument("You must have at least one backend role to create a connector.") }
            return (mode, user.backendRoles)
        }
        if requested.roles.isEmpty {
            throw MLError.illegalArgument("You must specify at least one backend role or make the connector public/private for registering it.")
        }
        if !user.isAdmin && !Set(requested.roles).isSubset(of: user.backendRoles) {
            throw MLError.illegalArgument("You don't have the backend roles specified.")
        }
        return (mode, requested.roles)
    }

    /// Writes the fields into a stored connector source (`backend_roles` only when there are some).
    static func write(mode: String, backendRoles: [String], owner: JSONObject?, into source: inout JSONObject) {
        source["backend_roles"] = backendRoles.isEmpty ? nil : JSON(backendRoles)
        if let owner { source["owner"] = .object(owner) }
        source["access"] = .string(mode)
    }
}
