@testable import Security
import Testing

/// Built-in roles against every action family of ML Commons (§8), wildcards and the 403 wording.
@Suite struct PermissionTests {
    static let ml = "cluster:admin/opensearch/ml/"
    /// The §8 action names, with whether the read-only role may use them.
    static let actions: [(String, Bool)] = [
        ("register_model_group", false), ("update_model_group", false), ("model_groups/get", true),
        ("model_groups/search", true), ("model_groups/delete", false), ("register_model", false),
        ("register_model_meta", false), ("upload_model_chunk", false), ("models/get", true), ("models/search", true),
        ("models/update", false), ("models/delete", false), ("deploy_model", false), ("undeploy_models", false),
        ("tasks/get", true), ("tasks/search", true), ("tasks/delete", false), ("predict", false),
        ("create_connector", false), ("connectors/get", true), ("connectors/search", true), ("connectors/update", false),
        ("connectors/delete", false), ("controllers/create", false), ("controllers/get", true),
        ("controllers/update", false), ("controllers/delete", false), ("stats/nodes", true), ("profile/nodes", true),
        ("train", false), ("execute", false),
    ]

    static func roles(_ names: String...) -> [String: Role] {
        Dictionary(uniqueKeysWithValues: names.compactMap(BuiltInRoles.role(named:)).map { ($0.name, $0) })
    }

    @Test func eachBuiltInRoleAgainstEveryActionFamily() {
        let roles = Self.roles(BuiltInRoles.allAccess, BuiltInRoles.mlFullAccess, BuiltInRoles.mlReadonlyAccess, BuiltInRoles.mlReadAccess)
        let admin = Principal(name: "admin", roles: ["all_access"])
        let full = Principal(name: "f", roles: ["ml_full_access"])
        let reader = Principal(name: "r", roles: ["ml_readonly_access"])
        let pluginReader = Principal(name: "p", roles: ["ml_read_access"])
        let nobody = Principal(name: "n", roles: ["no_such_role"])
        for (suffix, readable) in Self.actions {
            let action = Self.ml + suffix
            #expect(Authorization.permits(admin, action: action, roles: roles), "\(action)")
            #expect(Authorization.permits(full, action: action, roles: roles), "\(action)")
            #expect(Authorization.permits(reader, action: action, roles: roles) == readable, "\(action)")
            #expect(Authorization.permits(pluginReader, action: action, roles: roles) == readable, "\(action)")
            #expect(!Authorization.permits(nobody, action: action, roles: roles), "\(action)")
        }
        // Outside ML Commons: all_access only; ml_full_access also monitors the cluster.
        #expect(Authorization.permits(admin, action: "restapi:admin/internalusers", roles: roles))
        #expect(!Authorization.permits(full, action: "restapi:admin/internalusers", roles: roles))
        #expect(Authorization.permits(full, action: "cluster:monitor/health", roles: roles))
        #expect(!Authorization.permits(reader, action: "cluster:monitor/health", roles: roles))
    }

    @Test func customRolesUseWildcards() {
        let roles: [String: Role] = [
            "models": Role(name: "models", clusterPermissions: ["cluster:admin/opensearch/ml/models/*", "cluster:admin/opensearch/ml/?redict"]),
        ]
        let user = Principal(name: "u", roles: ["models"])
        #expect(Authorization.permits(user, action: Self.ml + "models/get", roles: roles))
        #expect(Authorization.permits(user, action: Self.ml + "models/delete", roles: roles))
        #expect(Authorization.permits(user, action: Self.ml + "predict", roles: roles))
        #expect(!Authorization.permits(user, action: Self.ml + "model_groups/get", roles: roles))
        #expect(!Authorization.permits(user, action: Self.ml + "models", roles: roles))
    }

    @Test(arguments: [
        ("*", "", true), ("*", "anything", true), ("a*c", "abbbc", true), ("a*c", "abbbd", false), ("a?c", "abc", true),
        ("a?c", "ac", false), ("*/get", "x/y/get", true), ("*/get", "x/get/y", false), ("a*b*c", "aXbYc", true),
        ("a*b*c", "aXcYb", false), ("exact", "exact", true), ("exact", "exactly", false), ("", "", true), ("", "x", false),
    ])
    func wildcardMatching(pattern: String, text: String, expected: Bool) {
        #expect(Wildcard.matches(pattern, text) == expected)
    }

    @Test func hostilePatternsStayFast() {
        // Greedy matching with one backtrack point: quadratic at worst, never exponential.
        let pattern = String(repeating: "*a", count: 100) + "b"
        let text = String(repeating: "a", count: 250)
        let started = ContinuousClock.now
        #expect(!Wildcard.matches(pattern, text))
        #expect(ContinuousClock.now - started < .seconds(5))  // exponential matching would take ages, not seconds
    }

    @Test func theDenialIsWordedAsTheSecurityPlugin() {
        let user = Principal(name: "bob", backendRoles: ["IT", "HR"], roles: ["ml_readonly_access"])
        #expect(throws: SecurityError.forbidden(
            "no permissions for [cluster:admin/opensearch/ml/predict] and User [name=bob, backend_roles=[IT, HR], requestedTenant=null]")) {
            try Authorization.require(user, action: Self.ml + "predict", roles: Self.roles("ml_readonly_access"))
        }
        #expect(Authorization.deniedMessage(Principal(name: "x"), action: "a") == "no permissions for [a] and User [name=x, backend_roles=[], requestedTenant=null]")
    }
}
