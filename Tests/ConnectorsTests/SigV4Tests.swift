import Foundation
import ProviderFakes
import Testing
@testable import Connectors

@Suite struct SigV4Tests {
    static let credentials = AWSCredentials(accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                            sessionToken: "FQoGZXIvYXdzEJr//////////session+token=", region: "us-east-1",
                                            serviceName: "bedrock")

    @Test(arguments: [
        ("https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-v2:1/invoke", #"{"prompt":"Grüße, 世界 😀 \"q\""}"#, true),
        ("https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v1/invoke?b=2&a=1&a=0", #"{"inputText":"hello"}"#, false),
        ("http://127.0.0.1:8443/a/b/c%20d/invoke", "", true), // dot segments are refused before signing (ParsedURL)
    ])
    func matchesBotocore(url: String, body: String, withToken: Bool) throws {
        var credentials = Self.credentials
        if !withToken { credentials.sessionToken = nil }
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let request = PreparedRequest(method: .POST, url: url,
                                      headers: [("Content-Type", "application/json"), ("X-Amz-Target", "  a   b ")], body: body)
        let signed = try AWSSigV4Signer(credentials: credentials).sign(request, date: date)
        #expect(signed.header("X-Amz-Date") == "20231114T221320Z")
        #expect(signed.header("X-Amz-Security-Token") == credentials.sessionToken)
        let expected = try Botocore.authorization(
            method: "POST", url: url, headers: signed.headers.filter { $0.name != "Authorization" }, body: body,
            accessKey: credentials.accessKey, secretKey: credentials.secretKey, sessionToken: credentials.sessionToken,
            region: credentials.region, service: credentials.serviceName, timestamp: "20231114T221320Z")
        #expect(signed.header("Authorization") == expected)
    }

    @Test func signatureChangesWithTheBody() throws {
        let signer = AWSSigV4Signer(credentials: Self.credentials)
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke"
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let a = try signer.sign(PreparedRequest(method: .POST, url: url, headers: [], body: "{}"), date: date)
        let b = try signer.sign(PreparedRequest(method: .POST, url: url, headers: [], body: "{ }"), date: date)
        #expect(a.header("Authorization") != b.header("Authorization"))
        #expect(a.header("Authorization")?.contains(Self.credentials.secretKey) == false)
    }
}
