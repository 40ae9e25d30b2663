import Foundation
import OrderedJSON
import Security

/// A request as the route handlers see it.
public struct APIRequest: Sendable {
    public let method: String
    public let path: String
    public let parameters: [String: String]
    public let query: [String: String]
    public let body: [UInt8]
    public let headers: [String: String]
    /// Who sent it, once authenticated; nil while security is off.
    public var principal: Principal? = nil

    /// The body as JSON; nil when empty. Malformed JSON is a 400 with the parse position.
    public func json() throws -> JSON? {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        return try JSON.parse(body)
    }

    public func flag(_ name: String) -> Bool {
        guard let value = query[name] else { return false }
        return value.isEmpty || value.lowercased() == "true"
    }

    public func parameter(_ name: String) -> String { parameters[name] ?? "" }
}

/// What a handler answers: a status and a JSON body (or none, for HEAD).
public struct APIReply: Sendable {
    public var status: Int
    public var body: JSON?
    public var headers: [(String, String)] = []
    /// A plain-text body instead of JSON (the `_cat` APIs without `format=json`).
    public var text: String? = nil

    public static func ok(_ body: JSON) -> APIReply { APIReply(status: 200, body: body) }
}

typealias RouteHandler = @Sendable (APIRequest) async throws -> APIReply

/// One route: method and path pattern, `{name}` segments binding parameters.
struct Route: Sendable {
    let method: String
    /// The pattern as written (`/_plugins/_ml/models/{id}`): what permissions are looked up by.
    let pattern: String
    let segments: [Segment]
    let handler: RouteHandler
    /// What the route requires of its caller when security is on; nil: the permission
    /// `RoutePermissions` names for its method and pattern.
    let declaredAccess: RouteAccess?

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    init(_ method: String, _ pattern: String, access: RouteAccess? = nil, _ handler: @escaping RouteHandler) {
        self.method = method
        self.pattern = pattern
        self.declaredAccess = access
        self.segments = pattern.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        self.handler = handler
    }

    /// What a caller needs: the declared access, else the route's cluster action; a route neither
    /// names is for security administrators only (a test holds every route to having one).
    var access: RouteAccess {
        declaredAccess ?? RoutePermissions.action(method: method, pattern: pattern).map(RouteAccess.action) ?? .securityAdmin
    }

    /// Parameters bound by this route's pattern, or nil when the path does not fit.
    func match(_ parts: [String]) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var bound: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text): if text != part { return nil }
            case .parameter(let name): bound[name] = part
            }
        }
        return bound
    }

    /// Literal segments win over parameters, as in OpenSearch's path trie.
    var specificity: [Bool] { segments.map { if case .literal = $0 { true } else { false } } }
}

/// Resolves method + path to a route with OpenSearch's answers when none fits:
/// 405 when the path exists for other methods, otherwise 400 "no handler found".
struct RouteTable: Sendable {
    private(set) var routes: [Route] = []

    mutating func add(_ method: String, _ pattern: String, access: RouteAccess? = nil, _ handler: @escaping RouteHandler) {
        routes.append(Route(method, pattern, access: access, handler))
    }

    mutating func add(_ methods: [String], _ pattern: String, _ handler: @escaping RouteHandler) {
        for method in methods { add(method, pattern, handler) }
    }

    enum Resolution {
        case found(Route, [String: String])
        case wrongMethod(allowed: [String])
        case notFound
    }

    func resolve(method: String, path: String) -> Resolution {
        let parts = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        let candidates = routes.compactMap { route in route.match(parts).map { (route, $0) } }
        if candidates.isEmpty { return .notFound }
        let forMethod = candidates.filter { $0.0.method == method }
        if let best = forMethod.max(by: { Self.lessSpecific($0.0, $1.0) }) { return .found(best.0, best.1) }
        return .wrongMethod(allowed: Array(Set(candidates.map(\.0.method))).sorted())
    }

    private static func lessSpecific(_ a: Route, _ b: Route) -> Bool {
        for (x, y) in zip(a.specificity, b.specificity) where x != y { return !x && y }
        return false
    }
}
