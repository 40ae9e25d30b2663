import Crypto
import Foundation
import OrderedJSON

/// An API key for services and OpenAI-style clients. The key handed out once is `mlk_<id>_<secret>`;
/// only a SHA-256 of the 256-bit random secret is stored (a slow hash is for guessable passwords, a
/// random secret needs none). The key acts with its owner's roles, as they are at each request.
public struct APIKey: Sendable, Equatable {
    public var id: String
    public var name: String
    public var owner: String
    public var createdTime: Int64
    public var revoked: Bool
    var secretHash: String

    static let prefix = "mlk_"
    static let maximumPresentedLength = 200

    /// The `GET` shape of a key: never its secret or hash.
    public var rendered: JSONObject {
        ["id": .string(id), "name": .string(name), "owner": .string(owner), "created_time": .int(createdTime), "revoked": .bool(revoked)]
    }

    var document: JSONObject {
        ["type": "apikey", "id": .string(id), "name": .string(name), "owner": .string(owner),
         "created_time": .int(createdTime), "revoked": .bool(revoked), "secret_hash": .string(secretHash)]
    }

    init(id: String, name: String, owner: String, createdTime: Int64, revoked: Bool, secretHash: String) {
        self.id = id
        self.name = name
        self.owner = owner
        self.createdTime = createdTime
        self.revoked = revoked
        self.secretHash = secretHash
    }

    init?(document: JSONObject) {
        guard let id = document["id"]?.stringValue, let owner = document["owner"]?.stringValue,
              let secretHash = document["secret_hash"]?.stringValue else { return nil }
        self.init(id: id, name: document["name"]?.stringValue ?? "", owner: owner,
                  createdTime: document["created_time"]?.intValue ?? 0, revoked: document["revoked"]?.boolValue ?? true,
                  secretHash: secretHash)
    }

    /// A new key: its record and the one-time secret string to give the client.
    static func generate(name: String, owner: String, now: Int64) -> (key: APIKey, secret: String) {
        let id = randomHex(bytes: 12)
        let secret = randomHex(bytes: 32)
        let key = APIKey(id: id, name: name, owner: owner, createdTime: now, revoked: false, secretHash: hashSecret(secret))
        return (key, "\(prefix)\(id)_\(secret)")
    }

    /// Splits a presented key into id and secret; nil for anything not of our shape.
    static func parse(_ presented: String) -> (id: String, secret: String)? {
        guard presented.utf8.count <= maximumPresentedLength, presented.hasPrefix(prefix) else { return nil }
        let parts = presented.dropFirst(prefix.count).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 24, parts[1].count == 64,
              parts.allSatisfy({ $0.allSatisfy(\.isHexDigit) }) else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    func matches(secret: String) -> Bool {
        PasswordHasher.constantTimeEqual(Array(Self.hashSecret(secret).utf8), Array(secretHash.utf8))
    }

    static func hashSecret(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }
}
