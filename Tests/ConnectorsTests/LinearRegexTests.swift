import Foundation
import OrderedJSON
import Testing
@testable import Connectors

/// The guardrails' regex engine: Java `matches()` semantics, linear time, clear refusals.
@Suite struct LinearRegexTests {
    static let patterns = [
        ".*rob.*", "bank", #".*\bpassword\b.*"#, #"^"\s*[Aa]ccept\s*"$"#, "(?i).*SECRET.*", "a|b|cd", "(ab)+c?", "[^a-c]*",
        #"\d{3}-\d{2,4}"#, "x{2,}", "(?:foo|bar){1,3}baz", #"[\w.]+@[\w-]+\.com"#, "(?i:ab)c", "a.c", "(?s)a.c", #"\Qa.b\E"#,
        #"[a\-z]+"#, #"\x41\u0042"#, "colou?r", "(a|ab)(c|bcd)(d*)", #"^\S+\s\S+$"#, "(a*)*b", #"\W+"#, "", "(?ms).*^b$", "ab$\n", "(?m)a$", "ab\\Z\n?",
    ]
    static let texts = [
        "how to rob a bank", "bank", "my password is x", "the passwords", "\"  accept \"", "\"Accepted\"", "a secret", "cd",
        "ababc", "xyz", "123-4567", "xxx", "foobarbaz", "me@some-host.com", "ABc", "abc", "a\nc", "a.b", "a-z", "AB", "color",
        "abcd", "one two", "aaab", "!!", "", "ab\n", "naïve café", "Ünïcödé SECRET", "a\nb", "ab\r\n",
    ]

    @Test func agreesWithICUOnTheSupportedSubset() throws {
        for pattern in Self.patterns {
            let linear = try LinearRegex(pattern)
            let icu = try NSRegularExpression(pattern: "\\A(?:\(pattern))\\z")
            for text in Self.texts {
                let expected = icu.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
                #expect(linear.wholeMatch(text) == expected, "\(pattern) on \(text.debugDescription)")
            }
        }
    }

    @Test func catastrophicPatternsRunInLinearTime() throws {
        let text = String(repeating: "a", count: 20_000) + "!"
        let start = ContinuousClock.now
        for pattern in ["(a+)+$", "(a|a)*b", "(a*)*(a*)*(a*)*c", "(.*a){20}"] {
            #expect(try LinearRegex(pattern).wholeMatch(text) == false, "\(pattern)")
        }
        #expect(start.duration(to: .now) < .seconds(60))  // loose: a starved test process; exponential matching would take ages
        // A budget too small to decide gives nil, which guardrails count as a violation.
        #expect(try LinearRegex(".*a.*").wholeMatch(String(repeating: "b", count: 10_000), budget: 1000) == nil)
    }

    @Test func aMegabytePayloadIsCheckedQuickly() throws {
        let payload = String(repeating: #"{"role": "user", "content": "tell me about banks"} "#, count: 20_000)
        let start = ContinuousClock.now
        for pattern in [".*rob.*", #".*\bpassword\b.*"#, "(?i).*(secret|token|key)=.*"] {
            #expect(try LinearRegex(pattern).wholeMatch(payload) == false)
        }
        let elapsed = start.duration(to: .now)
        print("LinearRegex: 3 patterns over \(payload.utf8.count) bytes in \(elapsed)")
        #expect(elapsed < .seconds(60))  // loose, as above
    }

    @Test(arguments: [
        (#"(a)\1"#, "back-references"), ("(?=a)a", "lookahead"), ("(?<=a)b", "lookbehind"), ("(?!a)b", "lookahead"),
        ("(?>a)", "atomic"), ("a*+", "possessive"), (#"\p{L}"#, "properties"), ("[a[b]]", "nested"), ("[a&&b]", "intersections"),
        ("a{1001}", "larger than 1000"), ("(a{1000}){1000}", "too large"), ("(a", "unclosed group"), ("a)", "unmatched"),
        ("*a", "dangling"), ("[z-a]", "range"), (#"\q"#, "unsupported escape"), (String(repeating: "a", count: 1025), "longer than"),
    ])
    func unsupportedOrHostilePatternsAreRefused(pattern: String, reason: String) {
        let error = #expect(throws: LinearRegex.PatternError.self) { try LinearRegex(pattern) }
        #expect(error?.description.contains(reason) == true, "\(pattern): \(error?.description ?? "")")
    }

    @Test func guardrailsRefuseBadPatternsAndTooManyAtParseTime() {
        let backReference = #expect(throws: ConnectorError.self) {
            try Guardrails(json: ["type": "local_regex", "input_guardrail": ["regex": [#"(a)\1"#]]])
        }
        #expect(backReference?.status == 400 && backReference?.message.contains("back-references") == true)
        #expect(throws: ConnectorError.self) {
            try Guardrails(json: ["type": "local_regex", "input_guardrail": ["regex": .array((0..<33).map { JSON.string("a\($0)") })]])
        }
        #expect(throws: ConnectorError.self) {
            try Guardrails(json: ["type": "model", "input_guardrail": ["model_id": "g", "response_validation_regex": "(?=x)"]])
        }
    }

    @Test func aHostileRegexGuardrailStillAnswersQuickly() async throws {
        let guardrails = try Guardrails(json: ["type": "local_regex", "input_guardrail": ["regex": ["(a+)+$", "(x|x)*y"]]])
        let evaluator = GuardrailEvaluator(guardrails: guardrails)
        let start = ContinuousClock.now
        try await evaluator.checkInput(payload: String(repeating: "a", count: 50_000) + "!", parameters: GuardrailTests.parameters())
        #expect(start.duration(to: .now) < .seconds(60))  // loose: a starved test process; exponential matching would take ages
    }
}
