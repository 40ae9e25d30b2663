import OrderedJSON

/// ML Commons' per-resource access rules (§8) over a stored model group or connector document
/// (`owner`, `access`, `backend_roles`), as pure decisions the routes call.
public enum ModelGroupAccess {
    /// What a request does with a group or a model in it; each has its own §8 denial.
    public enum Operation: Sendable, Equatable {
        case getGroup
        case updateGroup
        case deleteGroup
        case registerIntoGroup
        /// get / deploy / undeploy / update / delete of a model.
        case model
        case predict
    }

    /// Whether `principal` may use the resource: no principal (security off) → yes; admin → yes;
    /// a resource without `owner` (made before security) → yes; `public` → yes; `private` → only the
    /// owner; `restricted` → when backend roles intersect. Anything else (an unknown `access`) → no.
    public static func permits(_ resource: JSONObject, principal: Principal?) -> Bool {
        guard let principal, !principal.isAdmin else { return true }
        guard let owner = resource["owner"], !owner.isNull else { return true }
        switch resource["access"]?.stringValue?.lowercased() {
        case "public": return true
        case "private": return owner["name"]?.stringValue == principal.name
        case "restricted":
            let allowed = resource["backend_roles"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return principal.backendRoles.contains { allowed.contains($0) }
        default: return false
        }
    }

    /// The check for a model operation: a model without a group (legacy) is allowed; `group` is the
    /// loaded group document, nil when the model's group id names no document. Nil means allowed.
    public static func denial(modelGroupID: String?, group: JSONObject?, principal: Principal?,
                              operation: Operation) -> SecurityError? {
        guard principal != nil, let modelGroupID, !modelGroupID.isEmpty else { return nil }
        guard let group else {
            return operation == .predict
                ? SecurityError(status: 404, type: "status_exception", reason: "Fail to find model group")
                : SecurityError(status: 500, type: "m_l_resource_not_found_exception", reason: "Fail to find model group")
        }
        return permits(group, principal: principal) ? nil : denied(operation)
    }

    /// The §8 refusal for an operation the principal may not do.
    public static func denied(_ operation: Operation) -> SecurityError {
        switch operation {
        case .getGroup:
            .forbidden("User doesn't have privilege to perform this operation on this model group")
        case .updateGroup:
            .badRequest("You don't have permission to update this model group.")
        case .deleteGroup:
            SecurityError(status: 500, type: "m_l_validation_exception", reason: "User doesn't have privilege to delete this model group")
        case .registerIntoGroup:
            .badRequest("You don't have permissions to perform this operation on this model.")
        case .model, .predict:
            .forbidden("User doesn't have privilege to perform this operation on this model")
        }
    }

    /// Only the owner or an admin may change `access_mode` / `backend_roles` of a group.
    public static func mayChangeAccess(_ group: JSONObject, principal: Principal?) -> Bool {
        guard let principal, !principal.isAdmin else { return true }
        guard let owner = group["owner"], !owner.isNull else { return true }
        return owner["name"]?.stringValue == principal.name
    }

    /// ML Commons throws this as an `IllegalArgumentException`, so the answer is a 400.
    public static let changeAccessDenied = SecurityError.badRequest("Only owner or admin can update access control data.")
}
