import Crypto
import CryptoExtras
import Foundation

/// Salted slow password hashes: PBKDF2-HMAC-SHA512, stored with their parameters as
/// `$pbkdf2-sha512$i=<iterations>$<salt base64>$<hash base64>` so the cost can be raised later
/// (`needsRehash` tells which stored hashes are below the current cost).
public struct PasswordHasher: Sendable {
    /// OWASP's 2023 figure for PBKDF2-HMAC-SHA512.
    public static let minimumIterations = 210_000
    /// Upper bound when reading a stored hash, so a tampered document cannot stall a login.
    static let maximumIterations = 10_000_000
    static let saltBytes = 16
    static let hashBytes = 64
    static let prefix = "$pbkdf2-sha512$"

    public let iterations: Int

    public init(iterations: Int = PasswordHasher.minimumIterations) {
        precondition(iterations >= Self.minimumIterations, "PBKDF2 below \(Self.minimumIterations) iterations is not allowed")
        self.iterations = iterations
    }

    /// A fresh hash with a new random salt: two hashes of one password differ.
    public func hash(_ password: String) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<Self.saltBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let derived = try Self.derive(password, salt: salt, iterations: iterations)
        return "\(Self.prefix)i=\(iterations)$\(Data(salt).base64EncodedString())$\(Data(derived).base64EncodedString())"
    }

    /// Whether `password` matches `encoded`; false (never a crash) for a malformed or foreign hash.
    /// The comparison takes the same time wherever the first differing byte is.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard let parsed = Self.parse(encoded),
              let derived = try? Self.derive(password, salt: parsed.salt, iterations: parsed.iterations) else { return false }
        return Self.constantTimeEqual(derived, parsed.hash)
    }

    /// True when the stored hash is malformed or cheaper than this hasher's cost.
    public func needsRehash(_ encoded: String) -> Bool {
        guard let parsed = Self.parse(encoded) else { return true }
        return parsed.iterations < iterations
    }

    static func derive(_ password: String, salt: [UInt8], iterations: Int) throws -> [UInt8] {
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha512,
                                                    outputByteCount: hashBytes, rounds: iterations)
        return key.withUnsafeBytes { Array($0) }
    }

    static func parse(_ encoded: String) -> (iterations: Int, salt: [UInt8], hash: [UInt8])? {
        guard encoded.utf8.count <= 512, encoded.hasPrefix(prefix) else { return nil }
        let parts = encoded.dropFirst(prefix.count).split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].hasPrefix("i="),
              let iterations = Int(parts[0].dropFirst(2)), (minimumIterations...maximumIterations).contains(iterations),
              let salt = Data(base64Encoded: String(parts[1])), salt.count >= saltBytes,
              let hash = Data(base64Encoded: String(parts[2])), hash.count == hashBytes else { return nil }
        return (iterations, Array(salt), Array(hash))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
