import Foundation
@testable import Security
import Testing

@Suite struct PasswordTests {
    let hasher = PasswordHasher()

    @Test func aHashVerifiesItsPasswordOnlyAndTwoHashesDiffer() throws {
        let first = try hasher.hash("Correct-Horse-7")
        let second = try hasher.hash("Correct-Horse-7")
        #expect(first != second)
        #expect(first.hasPrefix("$pbkdf2-sha512$i=210000$"))
        #expect(hasher.verify("Correct-Horse-7", against: first))
        #expect(hasher.verify("Correct-Horse-7", against: second))
        #expect(!hasher.verify("Correct-Horse-8", against: first))
        #expect(!hasher.verify("", against: first))
        #expect(!hasher.needsRehash(first))
    }

    @Test func theStoredParametersAreTheOnesUsed() throws {
        // A hash made at a higher cost verifies with the default hasher and is not due for rehashing;
        // a default one is due once the cost is raised.
        let stronger = PasswordHasher(iterations: 250_000)
        let encoded = try stronger.hash("Tr0ubadour&3")
        #expect(encoded.contains("$i=250000$"))
        #expect(hasher.verify("Tr0ubadour&3", against: encoded))
        #expect(!hasher.needsRehash(encoded))
        #expect(stronger.needsRehash(try hasher.hash("Tr0ubadour&3")))
    }

    @Test func malformedOrTamperedHashesNeverVerify() throws {
        let good = try hasher.hash("Tr0ubadour&3")
        let parts = good.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        let cheap = "$pbkdf2-sha512$i=1$\(parts[3])$\(parts[4])"
        let huge = "$pbkdf2-sha512$i=999999999999$\(parts[3])$\(parts[4])"
        for bad in ["", "plain", cheap, huge, "$pbkdf2-sha512$i=210000$!!$!!", "$2y$12$abcdefghijklmnopqrstuv", String(good.dropLast(4))] {
            #expect(!hasher.verify("Tr0ubadour&3", against: bad), "\(bad)")
            #expect(hasher.needsRehash(bad))
        }
    }

    @Test(arguments: [
        ("short1A", "at least 8 characters"),
        ("alllowercaseletters", "mix at least two"),
        ("12345678901", "mix at least two"),
        ("Password1", "most common"),
        ("P@ssw0rd", "most common"),
        ("aaaaaaaaaaaa", "too few different"),
        ("alice-2024!", "similar to the user name"),
        ("ALICE", "at least 8 characters"),
    ])
    func weakPasswordsAreRefused(password: String, reason: String) {
        #expect {
            try PasswordPolicy.check(password, userName: "alice")
        } throws: { error in
            guard let error = error as? SecurityError else { return false }
            return error.status == 400 && error.reason.contains(reason) && (reason.contains("8") || error.reason.hasPrefix("Weak password"))
        }
    }

    @Test func strongPasswordsPassTheCheck() throws {
        try PasswordPolicy.check("Correct-Horse-7", userName: "alice")
        try PasswordPolicy.check("blue whale 42 swims", userName: "bob")
        #expect(throws: SecurityError.self) { try PasswordPolicy.check(String(repeating: "aB1", count: 400), userName: "bob") }
    }

    /// The derived key is PBKDF2-HMAC-SHA512 as Python's `hashlib` computes it, for the stored salt and count.
    @Test func theHashIsStandardPBKDF2() throws {
        let encoded = try hasher.hash("Correct-Horse-7 ✓")
        let parts = encoded.split(separator: "$").map(String.init)  // pbkdf2-sha512, i=…, salt, hash
        let script = """
            import base64, hashlib, sys
            salt = base64.b64decode(sys.argv[2])
            print(base64.b64encode(hashlib.pbkdf2_hmac('sha512', sys.argv[1].encode(), salt, int(sys.argv[3]), 64)).decode())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PYTHON"] ?? "/usr/bin/python3")
        process.arguments = ["-c", script, "Correct-Horse-7 ✓", parts[2], String(parts[1].dropFirst(2))]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let python = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0)
        #expect(python.trimmingCharacters(in: .whitespacesAndNewlines) == parts[3])
        #expect(parts[1] == "i=210000")
    }
}
