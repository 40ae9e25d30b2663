import OrderedJSON
import Storage

/// `ModelGroupAccess.permits` as a search filter, so a search of model groups or connectors
/// leaves out what the user may not see inside the query itself (totals, sorting and paging stay
/// right), as ML Commons ANDs its backend-role filter into the user's query (§1.5).
public enum ResourceVisibility {
    /// Nil when everything is visible (no principal, or an admin). Otherwise: no `owner` (made
    /// before access control), `public`, `private` owned by the user, or `restricted` to one of the
    /// user's backend roles.
    public static func filter(principal: Principal?) -> Query? {
        guard let principal, !principal.isAdmin else { return nil }
        var visible: [Query] = [
            .not(.exists(field: "owner")),
            .term("access", "public"),
            .and(.term("access", "private"), .term("owner.name.keyword", .string(principal.name))),
        ]
        if !principal.backendRoles.isEmpty {
            visible.append(.and(.term("access", "restricted"),
                                .terms(field: "backend_roles.keyword", values: principal.backendRoles.map(JSON.string))))
        }
        return .bool(BoolQuery(should: visible, minimumShouldMatch: 1))
    }

    /// `query` ANDed with the filter (which does not score), or `query` itself when all is visible.
    public static func restrict(_ query: Query, principal: Principal?) -> Query {
        guard let filter = filter(principal: principal) else { return query }
        return .bool(BoolQuery(must: [query], filter: [filter]))
    }
}
