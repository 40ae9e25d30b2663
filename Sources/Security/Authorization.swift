/// Cluster-permission decisions: does any of the principal's roles allow an action?
public enum Authorization {
    /// Whether one of `roles` (the principal's, resolved) allows `action`. Unknown role names allow nothing.
    public static func permits(_ principal: Principal, action: String, roles: [String: Role]) -> Bool {
        principal.roles.contains { name in
            guard let role = roles[name] else { return false }
            return role.clusterPermissions.contains { permission in
                patterns(of: permission).contains { Wildcard.matches($0, action) }
            }
        }
    }

    /// Throws the security plugin's 403 when `action` is not allowed.
    public static func require(_ principal: Principal, action: String, roles: [String: Role]) throws(SecurityError) {
        if !permits(principal, action: action, roles: roles) { throw .forbidden(deniedMessage(principal, action: action)) }
    }

    /// `no permissions for [<action>] and User [name=<n>, backend_roles=[...], requestedTenant=null]`.
    public static func deniedMessage(_ principal: Principal, action: String) -> String {
        "no permissions for [\(action)] and User [name=\(principal.name), backend_roles=[\(principal.backendRoles.joined(separator: ", "))], requestedTenant=null]"
    }

    private static func patterns(of permission: String) -> [String] {
        BuiltInRoles.actionGroups[permission] ?? [permission]
    }
}
