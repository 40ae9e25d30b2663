import Foundation
import OrderedJSON
import ProviderFakes
import Testing

/// Remote models end to end: the real server binary calls fake providers (real HTTP servers on
/// loopback) through connectors.
@Suite struct RemoteModelTests {
    static let ml = "/_plugins/_ml"

    static func embeddings(_ reply: JSON) -> [[Double]] {
        (reply["inference_results"]?.arrayValue ?? []).flatMap { result in
            (result["output"]?.arrayValue ?? []).map { $0["data"]?.arrayValue?.compactMap(\.doubleValue) ?? [] }
        }
    }

    static func expected(_ texts: [String]) -> [[Double]] {
        texts.map { FakeProvider.vector(for: $0).arrayValue?.compactMap(\.doubleValue) ?? [] }
    }

    static let rotatedSecret = "sk-rotated-SECRET-0c11"

    @Test func openAIEmbeddingsLifecycleWithAStandAloneConnector() async throws {
        try await withRemoteServer { client, server, provider in
            let connectorID = try await client.createConnector(Connectors.openAI(provider))
            let connector = try await client.expect(200, "GET", "\(Self.ml)/connectors/\(connectorID)")
            #expect(connector["name"] == "OpenAI embedding connector")
            #expect(connector["version"] == "1")
            #expect(connector["credential"] == nil)
            #expect(connector["actions"]?.arrayValue?.count == 1)
            let hits = try await client.expect(200, "POST", "\(Self.ml)/connectors/_search", ["query": ["match_all": [:]]])
            #expect(hits["hits"]?["total"]?["value"] == 1)
            #expect(hits["hits"]?["hits"]?.arrayValue?.first?["_source"]?["credential"] == nil)
            #expect(hits["hits"]?["hits"]?.arrayValue?.first?["_source"]?["name"] == "OpenAI embedding connector")

            // The body of §2.4.3, with a group.
            let group = try await client.expect(200, "POST", "\(Self.ml)/model_groups/_register", ["name": "remote_group", "description": "remote models"])
            let groupID = try #require(group["model_group_id"]?.stringValue)
            let modelID = try await client.registerRemote([
                "name": "openAI-embedding", "function_name": "remote", "model_group_id": .string(groupID),
                "description": "test model", "connector_id": .string(connectorID),
            ])
            let model = try await client.expect(200, "GET", "\(Self.ml)/models/\(modelID)")
            #expect(model["algorithm"] == "REMOTE")
            #expect(model["model_state"] == "REGISTERED")
            #expect(model["model_group_id"]?.stringValue == groupID)
            #expect(model["connector_id"]?.stringValue == connectorID)
            #expect(model["description"] == "test model")
            let tasks = try await client.client.search("tasks", ["query": ["term": ["model_id": .string(modelID)]]])
            #expect(tasks.first?["_source"]?["state"] == "COMPLETED")
            #expect(tasks.first?["_source"]?["function_name"] == "REMOTE")

            let deploy = try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_deploy")
            #expect(deploy["status"] == "COMPLETED")
            #expect(deploy["task_type"] == "DEPLOY_MODEL")
            #expect(try await client.expect(200, "GET", "\(Self.ml)/models/\(modelID)")["model_state"] == "DEPLOYED")

            let texts = ["today is sunny", "That is a happy person"]
            let reply = try await client.expect(200, "POST", "\(Self.ml)/_predict/text_embedding/\(modelID)", ["text_docs": JSON(texts)])
            let results = try #require(reply["inference_results"]?.arrayValue)
            #expect(results.count == 1)  // one remote call for all docs, as ML Commons batches OpenAI
            #expect(results[0]["status_code"] == 200)
            #expect(results[0]["output"]?.arrayValue?.allSatisfy { $0["name"] == "sentence_embedding" && $0["data_type"] == "FLOAT32" } == true)
            #expect(Self.embeddings(reply) == Self.expected(texts))
            let sent = try #require(provider.requests.last)
            #expect(sent.header("Authorization") == "Bearer \(Connectors.openAISecret)")
            #expect(try JSON.parse(sent.body)["input"] == JSON(texts))

            // In use: the connector cannot be updated while the model is deployed, nor deleted while the model exists.
            try await client.expectError(400, "PUT", "\(Self.ml)/connectors/\(connectorID)", ["description": "new"],
                                         reason: "1 models are still using this connector, please undeploy the models first: [\(modelID)]")
            try await client.expectError(409, "DELETE", "\(Self.ml)/connectors/\(connectorID)",
                                         reason: "1 models are still using this connector, please delete or update the models first: [\(modelID)]")
            try await client.expectError(400, "DELETE", "\(Self.ml)/models/\(modelID)", reason: "undeploy")

            let undeploy = try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_undeploy")
            #expect(undeploy.objectValue?.entries.first?.value["stats"]?[modelID] == "undeployed")
            #expect(try await client.expect(200, "GET", "\(Self.ml)/models/\(modelID)")["model_state"] == "UNDEPLOYED")
            let updated = try await client.expect(200, "PUT", "\(Self.ml)/connectors/\(connectorID)",
                                                  ["description": "updated", "parameters": ["model": "text-embedding-3-small"],
                                                   "credential": ["openAI_key": .string(Self.rotatedSecret)]])
            #expect(updated["result"] == "updated")
            let afterUpdate = try await client.expect(200, "GET", "\(Self.ml)/connectors/\(connectorID)")
            #expect(afterUpdate["description"] == "updated")
            #expect(afterUpdate["parameters"]?["model"] == "text-embedding-3-small")
            #expect(afterUpdate["parameters"]?["endpoint"]?.stringValue == provider.baseURL)  // parameters merge

            // Auto-deploy on predict, then the updated connector is used.
            _ = try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["text_docs": ["again"]])
            #expect(try await client.expect(200, "GET", "\(Self.ml)/models/\(modelID)")["model_state"] == "DEPLOYED")
            #expect(try JSON.parse(provider.requests.last?.body ?? "")["model"] == "text-embedding-3-small")
            #expect(provider.requests.last?.header("Authorization") == "Bearer \(Self.rotatedSecret)")
            try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_undeploy")
            #expect(try await client.expect(200, "DELETE", "\(Self.ml)/models/\(modelID)")["result"] == "deleted")
            #expect(try await client.expect(200, "DELETE", "\(Self.ml)/connectors/\(connectorID)")["result"] == "deleted")
            try await client.expect(404, "GET", "\(Self.ml)/connectors/\(connectorID)")

            // The secret is in no answer and no log line, and not in clear in the data dir; the key file is 0600.
            for secret in [Connectors.openAISecret, Self.rotatedSecret] {
                #expect(!client.replies.contains { $0.containsAnyForm(of: secret) })
                #expect(!server.log().containsAnyForm(of: secret))
            }
            let database = try Data(contentsOf: server.dataDir.appendingPathComponent("mlcommons.sqlite"))
            #expect(database.range(of: Data(Connectors.openAISecret.utf8)) == nil)
            #expect(database.range(of: Data(Self.rotatedSecret.utf8)) == nil)
            let attributes = try FileManager.default.attributesOfItem(atPath: server.dataDir.appendingPathComponent("connector-master.key").path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        }
    }

    /// The predict of OpenSearch's guardrails page: the prompt the request sends names the question.
    @Test func aRequestPromptNamingTheQuestionIsFilledOnce() async throws {
        try await withRemoteServer { client, _, provider in
            let modelID = try await client.registerRemote(["name": "chat", "function_name": "remote", "connector": Connectors.chat(provider)],
                                                          query: "?deploy=true")
            let question = "what does ${parameters.model} cost? ${credential.openAI_key}"
            let reply = try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["parameters": [
                "prompt": "\n\nHuman:${parameters.question}\n\nAssistant:", "question": .string(question),
            ]])
            let sentBody = provider.requests.last?.body ?? ""
            let sent = try JSON.parse(sentBody)
            // The question goes in as typed: its own placeholders are text, and no credential comes out.
            #expect(sent["messages"]?[0]?["content"] == .string("\n\nHuman:\(question)\n\nAssistant:"))
            let leaked = sentBody.contains(Connectors.openAISecret)
            #expect(!leaked)
            #expect(reply["inference_results"]?[0]?["output"]?[0]?["dataAsMap"]?["choices"]?[0]?["message"]?["content"]
                    == .string("echo: \n\nHuman:\(question)\n\nAssistant:"))
        }
    }

    @Test func cohereWithAnInlineConnectorAutoDeploysOnPredict() async throws {
        try await withRemoteServer { client, server, provider in
            let secret = "cohere-SECRET-41b2"
            // The inline variant of §2.4.3.
            let modelID = try await client.registerRemote([
                "name": "cohere-embed", "function_name": "remote", "description": "test model",
                "connector": Connectors.cohere(provider, key: secret),
            ])
            let model = try await client.expect(200, "GET", "\(Self.ml)/models/\(modelID)")
            #expect(model["connector"]?["name"] == "Cohere embed connector")
            #expect(model["connector"]?["credential"] == nil)
            #expect(model["model_state"] == "REGISTERED")
            // A group was made for the model, by name.
            #expect(try await client.expect(200, "GET", "\(Self.ml)/model_groups/\(model["model_group_id"]?.stringValue ?? "")")["name"] == "cohere-embed")

            let texts = ["hello world", "the second document", "3"]
            let reply = try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["text_docs": JSON(texts)])
            #expect(Self.embeddings(reply) == Self.expected(texts))
            #expect(provider.requests.last?.header("Authorization") == "Bearer \(secret)")
            #expect(try JSON.parse(provider.requests.last?.body ?? "")["truncate"] == "END")
            #expect(try await client.expect(200, "GET", "\(Self.ml)/models/\(modelID)")["model_state"] == "DEPLOYED")

            let hits = try await client.expect(200, "POST", "\(Self.ml)/models/_search", ["query": ["term": ["algorithm": "REMOTE"]]])
            #expect(hits["hits"]?["hits"]?.arrayValue?.first?["_source"]?["connector"]?["credential"] == nil)

            // Parameters straight through, and a provider-side parameter override.
            let direct = try await client.expect(200, "POST", "\(Self.ml)/_predict/remote/\(modelID)",
                                                 ["parameters": ["texts": ["direct"], "truncate": "START"]])
            #expect(Self.embeddings(direct) == Self.expected(["direct"]))
            #expect(try JSON.parse(provider.requests.last?.body ?? "")["truncate"] == "START")

            // Auto-deploy can be turned off per model.
            let manual = try await client.registerRemote([
                "name": "cohere-manual", "function_name": "remote", "connector": Connectors.cohere(provider, key: secret),
                "deploy_setting": ["is_auto_deploy_enabled": false],
            ])
            try await client.expectError(400, "POST", "\(Self.ml)/models/\(manual)/_predict", ["text_docs": ["x"]],
                                         reason: "Auto deployment disabled for this model, please deploy model first Model ID: \(manual)")
            // ?deploy=true deploys at once.
            let deployed = try await client.registerRemote([
                "name": "cohere-deployed", "function_name": "remote", "connector": Connectors.cohere(provider, key: secret),
            ], query: "?deploy=true")
            #expect(try await client.expect(200, "GET", "\(Self.ml)/models/\(deployed)")["model_state"] == "DEPLOYED")

            // Disabled models answer 403.
            try await client.expect(200, "PUT", "\(Self.ml)/models/\(modelID)", ["is_enabled": false])
            try await client.expectError(403, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["text_docs": ["x"]], reason: "Model is disabled.")

            // After a restart the deployed remote model is held again.
            try await server.restart()
            let again = RecordingClient(client: TestClient(baseURL: server.baseURL))
            let restarted = try await again.expect(200, "POST", "\(Self.ml)/models/\(deployed)/_predict", ["text_docs": ["after restart"]])
            #expect(Self.embeddings(restarted) == Self.expected(["after restart"]))
            #expect(!(client.replies + again.replies).contains { $0.containsAnyForm(of: secret) })
            #expect(!server.log().containsAnyForm(of: secret))
        }
    }

    @Test func bedrockSigV4SignaturesVerifyWithBotocore() async throws {
        try await withRemoteServer { client, server, provider in
            let secret = "bedrock/SECRET+key-99"
            provider.signatureCheck = Botocore.bedrockSignatureCheck(accessKey: "AKIATEST", secretKey: secret)
            let connectorID = try await client.createConnector(
                Connectors.bedrock(provider, accessKey: "AKIATEST", secretKey: secret, sessionToken: "session/tok=="))
            let modelID = try await client.registerRemote(["name": "titan", "function_name": "remote", "connector_id": .string(connectorID)])
            try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_deploy")
            let texts = ["héllo 😀", "second \"doc\""]
            let reply = try await client.expect(200, "POST", "\(Self.ml)/_predict/text_embedding/\(modelID)", ["text_docs": JSON(texts)])
            #expect(reply["inference_results"]?.arrayValue?.count == 2)  // Bedrock embeds one doc per call
            #expect(Self.embeddings(reply) == Self.expected(texts))
            #expect(provider.requests.count == 2)
            #expect(provider.requests.allSatisfy { $0.header("X-Amz-Security-Token") == "session/tok==" })

            // A wrong secret: the provider refuses the signature and its 403 comes back.
            let wrong = try await client.createConnector(Connectors.bedrock(provider, accessKey: "AKIATEST", secretKey: "not-it-SECRET", sessionToken: "another-token"))
            let wrongModel = try await client.registerRemote(["name": "titan-wrong", "function_name": "remote", "connector_id": .string(wrong)])
            try await client.expectError(403, "POST", "\(Self.ml)/_predict/text_embedding/\(wrongModel)", ["text_docs": ["x"]],
                                         reason: "signature mismatch")
            #expect(!client.replies.contains { $0.containsAnyForm(of: secret) || $0.contains("not-it-SECRET") })
            #expect(!server.log().containsAnyForm(of: secret))
        }
    }

    @Test func providerErrorsComeBackWithTheProviderStatus() async throws {
        try await withRemoteServer { client, _, provider in
            let modelID = try await client.registerRemote(["name": "chat", "function_name": "remote", "connector": Connectors.chat(provider)])
            let ok = try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["parameters": ["prompt": "Say this is a test"]])
            let tensor = try #require(ok["inference_results"]?.arrayValue?.first?["output"]?.arrayValue?.first)
            #expect(tensor["name"] == "response")
            #expect(tensor["dataAsMap"]?["choices"]?.arrayValue?.first?["message"]?["content"] == "echo: Say this is a test")

            provider.behave(.status(429, body: #"{"error":{"message":"Rate limit reached for requests"}}"#), .status(500, body: #"{"error":"upstream broke"}"#), .normal)
            let throttled = try await client.expectError(429, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["parameters": ["prompt": "a"]],
                                                         reason: "Rate limit reached for requests")
            #expect(throttled["status"] == 429)
            #expect(throttled["error"]?["reason"]?.stringValue?.hasPrefix("Error from remote service") == true)
            try await client.expectError(500, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["parameters": ["prompt": "a"]], reason: "upstream broke")
            try await client.expect(200, "POST", "\(Self.ml)/models/\(modelID)/_predict", ["parameters": ["prompt": "a"]])
            #expect(!client.replies.contains { $0.containsAnyForm(of: Connectors.openAISecret) })
        }
    }

    @Test func untrustedAndPrivateEndpointsAreRefused() async throws {
        try await withRemoteServer(privateIP: false) { client, _, provider in
            var untrusted = Connectors.openAI(provider)
            untrusted["parameters"]?["endpoint"] = "https://evil.example.com"
            try await client.expectError(400, "POST", "\(Self.ml)/connectors/_create", untrusted,
                                         reason: "Connector URL is not matching the trusted connector endpoint regex")
            try await client.expectError(400, "POST", "\(Self.ml)/models/_register",
                                         ["name": "m", "function_name": "remote", "connector": untrusted],
                                         reason: "Connector URL is not matching the trusted connector endpoint regex")

            // Trusted by the regex, but 127.0.0.1 is a loopback address and private IPs are off.
            let connectorID = try await client.createConnector(Connectors.openAI(provider))
            let modelID = try await client.registerRemote(["name": "loopback", "function_name": "remote", "connector_id": .string(connectorID)])
            try await client.expectError(400, "POST", "\(Self.ml)/_predict/text_embedding/\(modelID)", ["text_docs": ["x"]],
                                         reason: "Remote inference host name has private ip address")
            #expect(provider.requests.isEmpty)
            try await client.client.setPersistent(["plugins.ml_commons.connector.private_ip_enabled": true])
            try await client.expect(200, "POST", "\(Self.ml)/_predict/text_embedding/\(modelID)", ["text_docs": ["x"]])
            #expect(provider.requests.count == 1)

            // The default list trusts only the providers' public endpoints.
            try await client.client.setPersistent(["plugins.ml_commons.trusted_connector_endpoints_regex": nil])
            try await client.expectError(400, "POST", "\(Self.ml)/connectors/_create", Connectors.openAI(provider),
                                         reason: "Connector URL is not matching the trusted connector endpoint regex")
            try await client.expectError(400, "POST", "\(Self.ml)/_predict/text_embedding/\(modelID)", ["text_docs": ["x"]],
                                         reason: "Connector URL is not matching the trusted connector endpoint regex")
            #expect(provider.requests.count == 1)
        }
    }
}
