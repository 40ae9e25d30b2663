import Foundation
import OrderedJSON

/// SigV4 as Python's botocore computes it, for cross-checking the Swift signer. Needs a Python
/// with botocore (tests/e2e/requirements.txt puts it in `.venv-e2e`): `SIGV4_PYTHON`, else
/// `$PYTHON` (scripts/test sets it), else `<package>/.venv-e2e/bin/python`, else python3.
public enum Botocore {
    public struct Unavailable: Error, CustomStringConvertible { public let description: String }

    public static var python: String {
        let environment = ProcessInfo.processInfo.environment
        if let configured = environment["SIGV4_PYTHON"] ?? environment["PYTHON"] { return configured }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for candidate in [".venv-e2e/bin/python"] {
            let path = package.appendingPathComponent(candidate).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/python3"
    }

    static let script = """
    import json, sys
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    d = json.load(sys.stdin)
    request = AWSRequest(method=d["method"], url=d["url"], data=d["body"].encode("utf-8"), headers=d["headers"])
    auth = SigV4Auth(Credentials(d["access_key"], d["secret_key"], d.get("session_token")), d["service"], d["region"])
    request.context["timestamp"] = d["timestamp"]
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    auth._inject_signature_to_request(request, signature)
    print(request.headers["Authorization"])
    """

    /// The Authorization header botocore computes for the request at `timestamp` (yyyyMMddTHHmmssZ).
    public static func authorization(method: String, url: String, headers: [(name: String, value: String)], body: String,
                              accessKey: String, secretKey: String, sessionToken: String?, region: String,
                              service: String, timestamp: String) throws -> String {
        var headerObject = JSONObject()
        for header in headers { headerObject[header.name] = .string(header.value) }
        var input: JSONObject = [
            "method": .string(method), "url": .string(url), "headers": .object(headerObject), "body": .string(body),
            "access_key": .string(accessKey), "secret_key": .string(secretKey), "service": .string(service),
            "region": .string(region), "timestamp": .string(timestamp),
        ]
        if let sessionToken { input["session_token"] = .string(sessionToken) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(JSON.object(input).serialized.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Unavailable(description: "botocore failed with \(python) (scripts/install-deps puts botocore into .venv-e2e): "
                + String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A fake provider's `signatureCheck` for Bedrock requests: botocore recomputes the Authorization
    /// header over the headers the request says it signed; nil when they agree, else why not.
    public static func bedrockSignatureCheck(accessKey: String, secretKey: String, region: String = "us-east-1")
        -> @Sendable (ReceivedRequest) -> String? {
        { request in
            guard let authorization = request.header("Authorization"),
                  let signedList = authorization.components(separatedBy: "SignedHeaders=").last?.components(separatedBy: ",").first
            else { return "unsigned" }
            let signed = Set(signedList.split(separator: ";").map(String.init))
            let headers = request.headers.filter { signed.contains($0.name.lowercased()) }
            let expected = try? Botocore.authorization(
                method: request.method, url: "http://\(request.header("Host") ?? "")\(request.path)", headers: headers, body: request.body,
                accessKey: accessKey, secretKey: secretKey, sessionToken: request.header("X-Amz-Security-Token"),
                region: region, service: "bedrock", timestamp: request.header("X-Amz-Date") ?? "")
            return expected == authorization ? nil : "signature mismatch"
        }
    }
}
