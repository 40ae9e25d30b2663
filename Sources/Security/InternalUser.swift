import OrderedJSON

/// A user of the internal user database (`internalusers`). `hash` is the PBKDF2 hash of the password;
/// it is stored but never rendered.
public struct InternalUser: Sendable, Equatable {
    public var name: String
    public var hash: String
    public var backendRoles: [String]
    /// Roles given to the user directly (`opendistro_security_roles`), besides the role mappings.
    public var securityRoles: [String]
    public var attributes: JSONObject
    public var description: String?

    public init(name: String, hash: String, backendRoles: [String] = [], securityRoles: [String] = [],
                attributes: JSONObject = [:], description: String? = nil) {
        self.name = name
        self.hash = hash
        self.backendRoles = backendRoles
        self.securityRoles = securityRoles
        self.attributes = attributes
        self.description = description
    }

    /// The fields of a `PUT internalusers/<name>` body apart from the password (validated and bounded).
    public struct Update: Sendable, Equatable {
        public var password: String?
        public var backendRoles: [String]
        public var securityRoles: [String]
        public var attributes: JSONObject
        public var description: String?

        static let keys: Set<String> = ["password", "backend_roles", "opendistro_security_roles", "attributes", "description"]

        /// Parses a `PUT internalusers/<name>` body. A `hash` given directly is refused: passwords only.
        public init(body: JSONObject) throws(SecurityError) {
            if body["hash"] != nil { throw .badRequest("Set a [password]; a [hash] cannot be given") }
            try Validation.onlyKnownKeys(body, Self.keys)
            if let password = body["password"], !password.isNull {
                guard let text = password.stringValue else { throw .badRequest("[password] must be a string") }
                self.password = text
            }
            backendRoles = try Validation.strings(body["backend_roles"], field: "backend_roles")
            securityRoles = try Validation.strings(body["opendistro_security_roles"], field: "opendistro_security_roles")
            attributes = try Validation.attributes(body["attributes"])
            description = try Validation.description(body["description"])
        }
    }

    /// The security plugin's `GET internalusers/<name>` entry: the hash is always blank.
    public var rendered: JSONObject {
        var object: JSONObject = [
            "hash": "", "reserved": false, "hidden": false,
            "backend_roles": JSON(backendRoles), "attributes": .object(attributes),
            "opendistro_security_roles": JSON(securityRoles), "static": false,
        ]
        if let description { object["description"] = .string(description) }
        return object
    }

    var document: JSONObject {
        var object: JSONObject = [
            "type": "internaluser", "name": .string(name), "hash": .string(hash),
            "backend_roles": JSON(backendRoles), "opendistro_security_roles": JSON(securityRoles),
            "attributes": .object(attributes),
        ]
        if let description { object["description"] = .string(description) }
        return object
    }

    init?(document: JSONObject) {
        guard let name = document["name"]?.stringValue, let hash = document["hash"]?.stringValue else { return nil }
        self.init(name: name, hash: hash,
                  backendRoles: document["backend_roles"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  securityRoles: document["opendistro_security_roles"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  attributes: document["attributes"]?.objectValue ?? [:],
                  description: document["description"]?.stringValue)
    }
}
