import Foundation
import Testing
@testable import Connectors

@Suite struct CredentialTests {
    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("connectors-\(UUID().uuidString)")
    }

    @Test func keyFileIsCreatedOnceWithMode0600() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try MasterKey.load(environment: [:], dataDirectory: directory)
        let file = directory.appendingPathComponent(MasterKey.fileName)
        let permissions = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        let second = try MasterKey.load(environment: [:], dataDirectory: directory)
        let encrypted = try CredentialCipher(masterKey: first).encrypt("sk-abc")
        #expect(try CredentialCipher(masterKey: second).decrypt(encrypted) == "sk-abc")
    }

    @Test func environmentKeyWinsAndWrongKeysFail() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let base64 = Data(repeating: 7, count: 32).base64EncodedString()
        let key = try MasterKey.load(environment: [MasterKey.environmentVariable: base64], dataDirectory: directory)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(MasterKey.fileName).path))
        let cipher = CredentialCipher(masterKey: key)
        let stored = try cipher.encrypt(["openAI_key": "sk-1", "other": "ünï"])
        let again = try cipher.encrypt("sk-1")
        #expect(stored["openAI_key"] != "sk-1" && stored["openAI_key"] != again)
        #expect(try cipher.decrypt(stored) == ["openAI_key": "sk-1", "other": "ünï"])
        let other = CredentialCipher(masterKey: try MasterKey(base64: Data(repeating: 8, count: 32).base64EncodedString()))
        #expect(throws: ConnectorError.self) { try other.decrypt(stored["openAI_key"]!) }
        #expect(throws: ConnectorError.self) { try MasterKey(base64: Data(repeating: 1, count: 16).base64EncodedString()) }
    }

    @Test func redaction() {
        let redactor = CredentialRedactor(credential: ["a": "secret", "b": "secret-longer", "c": ""])
        #expect(redactor.redact("x secret-longer y secret z") == "x ****** y ****** z")
        #expect(redactor.redact(ConnectorError.status(401, "bad secret")).message == "bad ******")
    }
}
