import Crypto
import Foundation

/// The 256-bit key credentials are encrypted under (§6.7).
public struct MasterKey: Sendable {
    public static let environmentVariable = "MLCOMMONS_CONNECTOR_MASTER_KEY"
    public static let fileName = "connector-master.key"

    let key: SymmetricKey

    public init(key: SymmetricKey) throws(ConnectorError) {
        guard key.bitCount == 256 else { throw .mlException("The connector master key must be 256 bits") }
        self.key = key
    }

    public init(base64 text: String) throws(ConnectorError) {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw .mlException("The connector master key is not valid base64")
        }
        try self.init(key: SymmetricKey(data: data))
    }

    /// The key from `environmentVariable` if set; else from `<dataDirectory>/connector-master.key`,
    /// created (random, mode 0600) on first use.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            dataDirectory: URL) throws(ConnectorError) -> MasterKey {
        if let text = environment[environmentVariable], !text.isEmpty { return try MasterKey(base64: text) }
        let file = dataDirectory.appendingPathComponent(fileName)
        if let existing = try? String(contentsOf: file, encoding: .utf8) { return try MasterKey(base64: existing) }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() }
        do {
            try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
            // Created with 0600 from the start, so the key is never readable by others, even briefly.
            guard FileManager.default.createFile(atPath: file.path, contents: Data(text.utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
        } catch {
            // Another process may have created it first; use theirs.
            if let existing = try? String(contentsOf: file, encoding: .utf8) { return try MasterKey(base64: existing) }
            throw .mlException("Could not create the connector master key in \(dataDirectory.path)")
        }
        return try MasterKey(key: key)
    }
}

/// AES-256-GCM encryption of credential values: each stored value is
/// base64(nonce ‖ ciphertext ‖ tag).
public struct CredentialCipher: Sendable {
    let masterKey: MasterKey

    public init(masterKey: MasterKey) { self.masterKey = masterKey }

    public func encrypt(_ value: String) throws(ConnectorError) -> String {
        do {
            let sealed = try AES.GCM.seal(Data(value.utf8), using: masterKey.key)
            guard let combined = sealed.combined else { throw CocoaError(.coderInvalidValue) }
            return combined.base64EncodedString()
        } catch {
            throw .mlException("Failed to encrypt credential")
        }
    }

    public func decrypt(_ stored: String) throws(ConnectorError) -> String {
        guard let data = Data(base64Encoded: stored),
              let box = try? AES.GCM.SealedBox(combined: data),
              let plain = try? AES.GCM.open(box, using: masterKey.key),
              let text = String(data: plain, encoding: .utf8)
        else { throw .mlException("Failed to decrypt credential") }
        return text
    }

    public func encrypt(_ credential: [String: String]) throws(ConnectorError) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in credential { out[key] = try encrypt(value) }
        return out
    }

    public func decrypt(_ credential: [String: String]) throws(ConnectorError) -> [String: String] {
        var out: [String: String] = [:]
        for (key, value) in credential { out[key] = try decrypt(value) }
        return out
    }
}
