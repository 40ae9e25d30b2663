import Foundation
import OrderedJSON
import ProviderFakes
import Testing

/// The outbound rules end to end (docs/hardening-outbound.md): model downloads, connector updates,
/// redaction and guardrail cycles, against the real server and real loopback servers.
@Suite struct OutboundTests {
    static let ml = "/_plugins/_ml"

    static func allowURLs(_ client: TestClient, privateAddresses: Bool) async throws {
        try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_url": true, MirrorAccess.setting: .bool(privateAddresses)])
    }

    @Test func modelDownloadsToPrivateAddressesAreRefusedByDefault() async throws {
        try await withServer { client, _, mirror in
            try await Self.allowURLs(client, privateAddresses: false)
            let zip = try Fixtures.torchScriptZip()
            try mirror.put("custom/m.zip", zip)
            let hash = Fixtures.sha256(zip)
            for url in [mirror.url("custom/m.zip"), "http://localhost:\(mirror.port)/custom/m.zip", "http://LOCALHOST.:\(mirror.port)/custom/m.zip"] {
                let task = try await client.registerAndWait(CustomModelTests.urlBody(url, hash: hash))
                #expect(task["state"] == "FAILED")
                let error = task["error"]?.stringValue ?? ""
                #expect(error.contains("private, loopback or link-local") && error.contains(MirrorAccess.setting), "\(url): \(error)")
            }
            for url in ["http://2130706433:\(mirror.port)/custom/m.zip", "http://0177.0.0.1:\(mirror.port)/custom/m.zip",
                        "http://127.1:\(mirror.port)/custom/m.zip"] {
                let task = try await client.registerAndWait(CustomModelTests.urlBody(url, hash: hash))
                #expect(task["error"]?.stringValue?.contains("unusual form") == true, "\(url): \(task.serialized)")
            }
            // Pretrained artifacts come through the same check.
            try mirror.publishPretrained(name: miniLMName, version: "1.0.2", format: "ONNX", zip: zip)
            let pretrained = try await client.registerAndWait(["name": .string(miniLMName), "version": "1.0.2", "model_format": "ONNX"])
            #expect(pretrained["error"]?.stringValue?.contains("private, loopback or link-local") == true)
            #expect(!mirror.requestedPaths.contains("/custom/m.zip"))
            #expect(!mirror.requestedPaths.contains("/models/ml-models/\(miniLMName)/1.0.2/onnx/config.json"))
            #expect(try await client.count("models") == 0)

            // Allowed: the same URL registers.
            try await Self.allowURLs(client, privateAddresses: true)
            let allowed = try await client.registerAndWait(CustomModelTests.urlBody(mirror.url("custom/m.zip"), hash: hash))
            #expect(allowed["state"] == "COMPLETED", "\(allowed.serialized)")
        }
    }

    @Test func failedDownloadsRevealNoHashOrSize() async throws {
        try await withServer { client, server, mirror in
            try await Self.allowURLs(client, privateAddresses: true)
            let secretFile = try Fixtures.torchScriptZip(modelBytes: 3333, seed: 42)
            try mirror.put("internal/secret.zip", secretFile)
            let wrong = String(repeating: "cd", count: 32)
            let mismatch = try await client.registerAndWait(CustomModelTests.urlBody(mirror.url("internal/secret.zip"), hash: wrong))
            let error = mismatch["error"]?.stringValue ?? ""
            #expect(error == "model content changed: the downloaded file does not have the SHA-256 given in model_content_hash_value (\(wrong))")
            // The operator still finds the real hash in the server log.
            #expect(server.log().contains(Fixtures.sha256(secretFile)))

            let missing = try await client.registerAndWait(CustomModelTests.urlBody(mirror.url("internal/none.zip"), hash: wrong))
            #expect(missing["error"]?.stringValue == "Failed to download \(mirror.url("internal/none.zip")): HTTP 404")

            try await client.setPersistent(["plugins.ml_commons.max_model_download_bytes": 1000])
            let big = try await client.registerAndWait(CustomModelTests.urlBody(mirror.url("internal/secret.zip"), hash: wrong))
            #expect(big["error"]?.stringValue == "Model file size exceeds the limit of 1000 bytes (plugins.ml_commons.max_model_download_bytes): "
                + mirror.url("internal/secret.zip"))
        }
    }

    @Test func tarpitsAndStalledDownloadsTimeOutAndFreeTheRegisterSlot() async throws {
        let tarpit = SlowServer()
        tarpit.script("/trickle", .trickle(total: 10_000, interval: .milliseconds(300)))
        tarpit.script("/stall", .stall(total: 10_000))
        try tarpit.start()
        defer { tarpit.stop() }
        try await withServer { client, _, mirror in
            try await Self.allowURLs(client, privateAddresses: true)
            try await client.setPersistent([
                // Long enough for the second request below to reach the server while the first holds the slot.
                "plugins.ml_commons.model_download.total_timeout_seconds": 10,
                "plugins.ml_commons.model_download.idle_timeout_seconds": 3,
                "plugins.ml_commons.max_register_model_tasks_per_node": 1,
            ])
            let trickle = CustomModelTests.urlBody("http://127.0.0.1:\(tarpit.port)/trickle/m.zip", hash: "ab")
            let start = ContinuousClock.now
            let reply = try await client.expect(200, "POST", "\(Self.ml)/models/_register", trickle)
            // The one slot is taken while the tarpit holds the download…
            let busy = try await client.send("POST", "\(Self.ml)/models/_register", json: trickle)
            #expect(busy.status == 500 && busy.text.contains("exceed max running task limit"))
            let task = try await client.waitForTask(try #require(reply["task_id"]?.stringValue))
            #expect(start.duration(to: .now) < .seconds(40))
            #expect(task["error"]?.stringValue?.contains("did not finish within 10 seconds") == true, "\(task.serialized)")
            // … and free again once the total timeout ended it; the tarpit's connection was closed.
            let stalled = try await client.registerAndWait(CustomModelTests.urlBody("http://127.0.0.1:\(tarpit.port)/stall/m.zip", hash: "ab"))
            #expect(stalled["error"]?.stringValue?.contains("no data received for 3 seconds") == true, "\(stalled.serialized)")
            for _ in 0..<50 where tarpit.openConnections > 0 { try await Task.sleep(for: .milliseconds(100)) }
            #expect(tarpit.openConnections == 0)
            // The slot serves a healthy download again; the deadlines go back to generous ones so a
            // loaded machine cannot make this last download the slow one.
            try await client.setPersistent([
                "plugins.ml_commons.model_download.total_timeout_seconds": 600,
                "plugins.ml_commons.model_download.idle_timeout_seconds": 60,
            ])
            let zip = try Fixtures.torchScriptZip()
            try mirror.put("custom/ok.zip", zip)
            let ok = try await client.registerAndWait(CustomModelTests.urlBody(mirror.url("custom/ok.zip"), hash: Fixtures.sha256(zip)))
            #expect(ok["state"] == "COMPLETED", "\(ok.serialized)")
        }
    }

    @Test func redirectsAreFollowedAFewTimesAndNeverToFileURLs() async throws {
        let redirector = SlowServer()
        try redirector.start()
        defer { redirector.stop() }
        try await withServer { client, _, mirror in
            try await Self.allowURLs(client, privateAddresses: true)
            let zip = try Fixtures.torchScriptZip()
            try mirror.put("custom/m.zip", zip)
            redirector.script("/once", .redirect(status: 302, location: mirror.url("custom/m.zip")))
            redirector.script("/loop", .redirect(status: 307, location: "/loop"))
            redirector.script("/file", .redirect(status: 301, location: "file:///etc/passwd"))
            let once = try await client.registerAndWait(CustomModelTests.urlBody("http://127.0.0.1:\(redirector.port)/once", hash: Fixtures.sha256(zip)))
            #expect(once["state"] == "COMPLETED", "\(once.serialized)")
            let loop = try await client.registerAndWait(CustomModelTests.urlBody("http://127.0.0.1:\(redirector.port)/loop", hash: "ab"))
            #expect(loop["error"]?.stringValue?.contains("more than 5 redirects") == true, "\(loop.serialized)")
            #expect(redirector.requestedPaths.filter { $0 == "/loop" }.count == 6)
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            let file = try await client.registerAndWait(CustomModelTests.urlBody("http://127.0.0.1:\(redirector.port)/file", hash: "ab"))
            #expect(file["error"]?.stringValue?.contains("without a usable Location") == true, "\(file.serialized)")
        }
    }

    @Test func fileArtifactsBaseURLNeedsTheLocalFileSetting() async throws {
        try await withServer { client, _, mirror in
            let zip = try Fixtures.torchScriptZip()
            try mirror.publishPretrained(name: miniLMName, version: "1.0.1", format: "TORCH_SCRIPT", zip: zip, modelConfig: Fixtures.miniLMConfig)
            try await client.setPersistent(["plugins.ml_commons.artifacts_base_url": .string("file://\(mirror.root.path)/models/ml-models")])
            let body: JSON = ["name": .string(miniLMName), "version": "1.0.1", "model_format": "TORCH_SCRIPT"]
            let refused = try await client.registerAndWait(body)
            #expect(refused["error"]?.stringValue?.contains("allow_registering_model_via_local_file") == true, "\(refused.serialized)")
            try await client.setPersistent(["plugins.ml_commons.allow_registering_model_via_local_file": true])
            #expect(try await client.registerAndWait(body)["state"] == "COMPLETED")
        }
    }

    // MARK: - Connectors

    @Test func movingAConnectorToAnotherHostNeedsTheCredentialAgain() async throws {
        try await withRemoteServer { client, server, provider in
            let id = try await client.createConnector(Connectors.openAI(provider))
            let path = "\(Self.ml)/connectors/\(id)"
            let elsewhere = "http://127.0.0.1:\(provider.port == 1 ? 2 : provider.port - 1)"
            try await client.expectError(400, "PUT", path, ["parameters": ["endpoint": .string(elsewhere)]], reason: "give the credential again")
            var actions = try #require(Connectors.openAI(provider)["actions"]?.arrayValue)
            var action = try #require(actions[0].objectValue)
            action["url"] = .string("\(elsewhere)/v1/embeddings")
            actions[0] = .object(action)
            try await client.expectError(400, "PUT", path, ["actions": .array(actions)], reason: "new host")
            // Same host, other path: no credential needed. New host with the credential: accepted.
            action["url"] = "${parameters.endpoint}/v2/embeddings"
            actions[0] = .object(action)
            try await client.expect(200, "PUT", path, ["actions": .array(actions)])
            try await client.expect(200, "PUT", path, ["parameters": ["endpoint": .string(elsewhere)], "credential": ["openAI_key": "sk-new"]])
            _ = server
        }
    }

    @Test func theDefaultTrustedPatternsRefuseAHostHiddenInThePath() async throws {
        try await withServer { client, _, _ in
            var body = try #require(Connectors.bedrock(FakeProvider(), accessKey: "AKIA", secretKey: "s", sessionToken: "t").objectValue)
            for url in ["https://bedrock-runtime.attacker.test/x.amazonaws.com/model/${parameters.model}/invoke",
                        "https://bedrock-runtime.${parameters.region}.amazonaws.com/model/${parameters.model}/invoke"] {
                var actions = try #require(body["actions"]?.arrayValue)
                var action = try #require(actions[0].objectValue)
                action["url"] = .string(url)
                actions[0] = .object(action)
                body["actions"] = .array(actions)
                for region in ["us-east-1", "attacker.test/a"] {
                    body["parameters"] = ["region": .string(region), "service_name": "bedrock", "model": "amazon.titan-embed-text-v1"]
                    let reply = try await client.send("POST", "\(Self.ml)/connectors/_create", json: .object(body))
                    let trusted = !url.contains("attacker") && region == "us-east-1"
                    #expect(reply.status == (trusted ? 200 : 400), "\(url) \(region): \(reply.text)")
                }
            }
        }
    }

    @Test func aHugeHeaderValueFromRequestParametersIsA400AndTheServerStaysUp() async throws {
        try await withRemoteServer { client, _, provider in
            var connector = try #require(Connectors.chat(provider).objectValue)
            var actions = try #require(connector["actions"]?.arrayValue)
            var action = try #require(actions[0].objectValue)
            action["headers"] = ["Authorization": "Bearer ${credential.openAI_key}", "X-Trace": "${parameters.trace}"]
            actions[0] = .object(action)
            connector["actions"] = .array(actions)
            let id = try await client.createConnector(.object(connector))
            let model = try await client.registerRemote(["name": "chat", "function_name": "remote", "connector_id": .string(id)])
            try await client.expectError(400, "POST", "\(Self.ml)/models/\(model)/_predict",
                                         ["parameters": ["prompt": "hi", "trace": .string(String(repeating: "a", count: 64 << 10))]],
                                         reason: "longer than 16384 bytes")
            try await client.expect(200, "POST", "\(Self.ml)/models/\(model)/_predict", ["parameters": ["prompt": "hi", "trace": "t-1"]])
            #expect(provider.requests.count == 1)
        }
    }

    @Test func clientConfigNumbersGetA400() async throws {
        try await withRemoteServer { client, _, provider in
            for config: JSON in [["read_timeout": .int(Int64.max)], ["connection_timeout": -5], ["max_connection": 1e30], ["max_retry_times": "NaN"]] {
                var body = try #require(Connectors.openAI(provider).objectValue)
                body["client_config"] = config
                try await client.expectError(400, "POST", "\(Self.ml)/connectors/_create", .object(body), reason: "must be")
            }
        }
    }

    @Test func echoedSecretsNeverReachRepliesOrLogs() async throws {
        try await withRemoteServer { client, server, provider in
            let secret = "sk-echo/SECRET+é\"42"
            let id = try await client.createConnector(Connectors.chat(provider, key: secret))
            let modelID = try await client.registerRemote(["name": "chat", "function_name": "remote", "connector_id": .string(id)])
            let jsonEscaped = String(JSON.string(secret).serialized.dropFirst().dropLast())
            let forms = [jsonEscaped, jsonEscaped.replacingOccurrences(of: "/", with: "\\/"),
                         secret.utf16.map { String(format: "\\u%04x", $0) }.joined(),
                         secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, Data(secret.utf8).base64EncodedString()]
            for form in forms {
                provider.behave(.status(200, body: #"{"choices":[{"message":{"content":"your key is \#(form)"}}]}"#))
                _ = try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["parameters": ["prompt": "hi"]])
                provider.behave(.status(401, body: #"{"error":"bad key \#(form)"}"#))
                _ = try await client.send("POST", "\(Self.ml)/models/\(modelID)/_predict", json: ["parameters": ["prompt": "hi"]])
            }
            #expect(provider.requests.count == 2 * forms.count)
            for text in client.replies + server.log().split(separator: "\n").map(String.init) {
                #expect(!text.containsAnyForm(of: secret), "\(text.prefix(300))")
            }
            // The check itself finds every form the provider sent.
            for form in forms { #expect("x \(form) y".containsAnyForm(of: secret), "\(form)") }
        }
    }

    // MARK: - Guardrails

    @Test func guardrailCyclesAndHostilePatternsAreRefused() async throws {
        try await withRemoteServer { client, _, provider in
            let id = try await client.createConnector(Connectors.chat(provider))
            func body(_ modelID: String, guardModel: String? = nil, regex: String? = nil) -> JSON {
                var object: JSONObject = ["name": .string(modelID), "function_name": "remote", "connector_id": .string(id), "model_id": .string(modelID)]
                if let guardModel {
                    object["guardrails"] = ["type": "model", "input_guardrail": ["model_id": .string(guardModel), "response_validation_regex": "^\"accept\"$"]]
                }
                if let regex { object["guardrails"] = ["type": "local_regex", "input_guardrail": ["regex": [.string(regex)]]] }
                return .object(object)
            }
            try await client.expectError(400, "POST", "\(Self.ml)/models/_register", body("self-guard", guardModel: "self-guard"), reason: "leads back")
            _ = try await client.registerRemote(body("model-a"))
            _ = try await client.registerRemote(body("model-b", guardModel: "model-a"))
            try await client.expectError(400, "PUT", "\(Self.ml)/models/model-a",
                                         ["guardrails": ["type": "model", "input_guardrail": ["model_id": "model-b", "response_validation_regex": ".*"]]],
                                         reason: "leads back")
            try await client.expectError(400, "POST", "\(Self.ml)/models/_register", body("backref", regex: #"(a)\1"#), reason: "back-references")
            // A catastrophic pattern is accepted and runs in linear time.
            let slow = try await client.registerRemote(body("slow-regex", regex: "(a+)+$"))
            let start = ContinuousClock.now
            try await client.expect(200, "POST", "\(Self.ml)/models/\(slow)/_predict",
                                    ["parameters": ["prompt": .string(String(repeating: "a", count: 30_000) + "!")]])
            #expect(start.duration(to: .now) < .seconds(15))
        }
    }
}
