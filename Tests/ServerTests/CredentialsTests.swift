import Foundation
@testable import MLCommonsServer
import Testing

/// The Authorization header taken apart defensively (issue 13's edge reads credentials with it).
@Suite struct CredentialsTests {
    static func basic(_ text: String) -> String { "Basic " + Data(text.utf8).base64EncodedString() }

    @Test func basicAndBearerAreRead() {
        #expect(Credentials(authorization: Self.basic("admin:pa:ss wörd")) == .basic(user: "admin", password: "pa:ss wörd"))
        #expect(Credentials(authorization: "  basic " + Data("u:".utf8).base64EncodedString()) == .basic(user: "u", password: ""))
        #expect(Credentials(authorization: "Bearer mlc_abc-DEF.123~+/=") == .bearer("mlc_abc-DEF.123~+/="))
        #expect(Credentials(authorization: nil) == .none)
        #expect(Credentials(authorization: "   ") == .none)
        #expect(Credentials(authorization: Self.basic("alice:x")).claimedUser == "alice")
        #expect(Credentials(authorization: "Bearer k").claimedUser == nil)
    }

    @Test(arguments: [
        "Basic !!!notbase64", "Basic " + Data("no-colon".utf8).base64EncodedString(), "Basic " + Data(":pw".utf8).base64EncodedString(),
        "Basic " + Data("a\u{7}b:pw".utf8).base64EncodedString(), "Basic " + Data([0xFF, 0xFE, 0x3A]).base64EncodedString(),
        "Basic " + Data((String(repeating: "u", count: 2000) + ":p").utf8).base64EncodedString(),
        "Bearer ", "Bearer has space", "Bearer " + String(repeating: "k", count: 5000), "Bearer tok\u{0}en",
        "Digest username=x", "Negotiate abc",
    ])
    func unusableHeadersAreMalformedWithoutEchoingThem(header: String) {
        guard case .malformed(let reason) = Credentials(authorization: header) else {
            Issue.record("\(header.prefix(40)) was accepted")
            return
        }
        #expect(!reason.contains("notbase64") && !reason.contains("abc") && !reason.contains("pw"))
    }

    @Test func aHugeHeaderCostsNoDecoding() {
        let huge = "Basic " + String(repeating: "QUFB", count: 500_000)
        #expect(Credentials(authorization: huge) == .malformed("the Basic credentials are not base64 of UTF-8 text"))
    }
}
