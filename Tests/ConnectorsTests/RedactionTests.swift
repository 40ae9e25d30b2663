import Foundation
import OrderedJSON
import ProviderFakes
import Testing
@testable import Connectors

/// Every spelling of a secret a provider (or a hostile endpoint) can echo back.
@Suite(.serialized) struct RedactionTests {
    static let secret = "sk-TOPSECRET-42/é+\"x"

    /// Spellings a reply may carry, as they would appear in its raw text.
    static func echoedForms(_ secret: String) -> [String] {
        let jsonEscaped = String(JSON.string(secret).serialized.dropFirst().dropLast())
        let allEscaped = secret.utf16.map { "\\u" + String(format: "%04x", $0) }.joined()
        let mixed = secret.unicodeScalars.enumerated().map { $0.offset % 2 == 0 ? String(format: "\\u%04X", $0.element.value) : String(JSON.string(String($0.element)).serialized.dropFirst().dropLast()) }.joined()
        return [
            jsonEscaped, jsonEscaped.replacingOccurrences(of: "/", with: "\\/"), allEscaped, mixed,
            secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, Data(secret.utf8).base64EncodedString(),
        ]
    }

    /// Forms a finished reply or log line must not contain (decoded ones included).
    static func forbidden(_ secret: String) -> [String] {
        [secret, Data(secret.utf8).base64EncodedString(), secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
         String(JSON.string(secret).serialized.dropFirst().dropLast())]
    }

    static func leaks(_ text: String, _ secret: String) -> Bool {
        let decoded = CredentialRedactor.decodingEscapes(text)
        return forbidden(secret).contains { text.contains($0) || decoded.contains($0) }
    }

    @Test func everyEchoedFormIsMaskedInRepliesAndErrors() {
        let redactor = CredentialRedactor(credential: ["key": Self.secret])
        for form in Self.echoedForms(Self.secret) {
            let reply = #"{"echo": "\#(form)", "n": 1.5}"#
            let redacted = redactor.redactReply(reply)
            #expect(!Self.leaks(redacted, Self.secret), "\(form) -> \(redacted)")
            #expect(JSON.parseOrNil(redacted)?["n"] == 1.5)
            let message = redactor.redact(ConnectorError.status(500, "Error from remote service: \(reply)")).message
            #expect(!Self.leaks(message, Self.secret), "\(form) -> \(message)")
        }
        // Replies without the secret are passed through byte for byte.
        let clean = #"{"data":[{"embedding":[0.10000000000000001,2e-7]}]}"#
        #expect(redactor.redactReply(clean) == clean)
    }

    @Test func aSuccessfulEchoIsRedactedBeforeTheCallerSeesIt() async throws {
        try await RemoteCallTests.withProvider { provider, executor in
            var connector = try RemoteCallTests.openAIConnector(provider)
            connector.credential["openAI_key"] = Self.secret
            connector.actions[0].preProcessFunction = nil
            connector.actions[0].postProcessFunction = nil
            connector.actions[0].requestBody = #"{"input": ["x"]}"#
            for form in Self.echoedForms(Self.secret) {
                provider.behave(.status(200, body: #"{"echo": "\#(form)", "headers_seen": "Bearer \#(form)"}"#))
                let output = try await executor.predict(connector: connector, request: RemotePredictRequest())
                let text = output.json.serialized
                #expect(!Self.leaks(text, Self.secret), "\(form) -> \(text)")
                #expect(text.contains(CredentialRedactor.mask) || text.contains(CredentialRedactor.withheld))
            }
        }
    }
}
