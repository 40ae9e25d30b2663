import Foundation
import OrderedJSON
import Testing

@Suite struct ModelGroupTests {
    @Test func lifecycle() async throws {
        try await withServer { client, _, _ in
            let created = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register",
                                                  ["name": "NLP_Group", "description": "Model group for NLP models."])
            #expect(created["status"] == "CREATED")
            let id = try #require(created["model_group_id"]?.stringValue)

            let group = try await client.expect(200, "GET", "/_plugins/_ml/model_groups/\(id)")
            #expect(group.objectValue?.keys == ["name", "latest_version", "description", "access", "created_time", "last_updated_time"])
            #expect(group["latest_version"] == 0)
            #expect(group["access"] == "public")

            let updated = try await client.expect(200, "PUT", "/_plugins/_ml/model_groups/\(id)", ["description": "new", "name": "NLP_Group_2"])
            #expect(updated == ["status": "Updated"])
            let renamed = try await client.expect(200, "GET", "/_plugins/_ml/model_groups/\(id)")
            #expect(renamed["name"] == "NLP_Group_2")
            #expect(renamed["description"] == "new")

            // The old name is free again; the new one is taken.
            try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "NLP_Group"])
            let clash = try await client.send("PUT", "/_plugins/_ml/model_groups/\(id)", json: ["name": "NLP_Group"])
            #expect(clash.status == 400)
            #expect(try clash.json["error"]?["reason"]?.stringValue?.hasPrefix("The name you provided is already being used by another model with ID:") == true)

            let hits = try await client.search("model_groups", ["query": ["term": ["name.keyword": "NLP_Group_2"]]])
            #expect(hits.map { $0["_id"] } == [.string(id)])
            // BM25 of a keyword term matching one of the index's two groups: idf ln(2) × 1 / (1 + k1), k1 = 1.2.
            #expect(hits.first?["_score"]?.doubleValue.map { abs($0 - log(2) / 2.2) < 1e-9 } == true)
            #expect(hits.first?["_seq_no"]?.intValue != nil)
            #expect(hits.first?["_primary_term"] == 1)
            #expect(hits.first?["_version"] == 2)

            let deleted = try await client.expect(200, "DELETE", "/_plugins/_ml/model_groups/\(id)")
            #expect(deleted["result"] == "deleted")
            #expect(deleted["_id"] == .string(id))
            let again = try await client.send("DELETE", "/_plugins/_ml/model_groups/\(id)")
            #expect(again.status == 404)
            #expect(try again.json["result"] == "not_found")
            let gone = try await client.send("GET", "/_plugins/_ml/model_groups/\(id)")
            #expect(gone.status == 404)
            #expect(try gone.json["error"]?["reason"] == .string("Failed to find model group with the provided model group id: \(id)"))
        }
    }

    @Test func badRequests() async throws {
        try await withServer { client, _, _ in
            let empty = try await client.send("POST", "/_plugins/_ml/model_groups/_register", text: "")
            #expect(empty.status == 400)
            #expect(try empty.json["error"]?["type"] == "parse_exception")
            #expect(try empty.json["error"]?["reason"] == "Model group request has empty body")

            let access = try await client.send("POST", "/_plugins/_ml/model_groups/_register", json: ["name": "g", "access_mode": "restricted"])
            #expect(access.status == 400)
            #expect(try access.json["error"]?["reason"] == "You cannot specify model access control parameters because the Security plugin or model access control is disabled on your cluster.")

            let duplicateID = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "a", "model_group_id": "my-group-1"])
            #expect(duplicateID["model_group_id"] == "my-group-1")
            let clash = try await client.send("POST", "/_plugins/_ml/model_groups/_register", json: ["name": "b", "model_group_id": "my-group-1"])
            #expect(clash.status == 409)
            let invalid = try await client.send("POST", "/_plugins/_ml/model_groups/_register", json: ["name": "c", "model_group_id": "_bad"])
            #expect(invalid.status == 400)
            #expect(try await client.count("model_groups") == 1)
        }
    }

    @Test func concurrentRegistrationsOfOneNameGiveOneGroup() async throws {
        try await withServer { client, _, _ in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await client.send("POST", "/_plugins/_ml/model_groups/_register", json: ["name": "same"]).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.filter { $0 == 400 }.count == 7)
            #expect(try await client.count("model_groups") == 1)
        }
    }

    @Test func accessFieldsAreValidatedAndStoredWhenAccessControlIsOn() async throws {
        try await withServer { client, _, _ in
            try await client.setPersistent(["plugins.ml_commons.model_access_control_enabled": true])
            let privateGroup = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register", ["name": "p"])
            #expect(try await client.expect(200, "GET", "/_plugins/_ml/model_groups/\(privateGroup["model_group_id"]!.stringValue!)")["access"] == "private")

            let restricted = try await client.expect(200, "POST", "/_plugins/_ml/model_groups/_register",
                                                     ["name": "r", "access_mode": "RESTRICTED", "backend_roles": ["IT", "HR"]])
            let restrictedID = try #require(restricted["model_group_id"]?.stringValue)
            let stored = try await client.expect(200, "GET", "/_plugins/_ml/model_groups/\(restrictedID)")
            #expect(stored.objectValue?.keys == ["name", "latest_version", "backend_roles", "access", "created_time", "last_updated_time"])
            #expect(stored["backend_roles"] == ["IT", "HR"])
            #expect(stored["access"] == "restricted")

            let refusals: [(JSON, String)] = [
                (["name": "a", "access_mode": "public", "backend_roles": ["IT"]], "You can specify backend roles only for a model group with the restricted access mode."),
                (["name": "b", "access_mode": "restricted"], "You must specify one or more backend roles or add all backend roles to register a restricted model group."),
                (["name": "c", "backend_roles": ["IT"], "add_all_backend_roles": true], "You cannot specify backend roles and add all backend roles at the same time."),
            ]
            for (body, message) in refusals {
                let reply = try await client.send("POST", "/_plugins/_ml/model_groups/_register", json: body)
                #expect(reply.status == 400)
                #expect(try reply.json["error"]?["reason"] == .string(message))
            }

            try await client.expect(200, "PUT", "/_plugins/_ml/model_groups/\(restrictedID)", ["access_mode": "public"])
            let opened = try await client.expect(200, "GET", "/_plugins/_ml/model_groups/\(restrictedID)")
            #expect(opened["access"] == "public")
            #expect(opened["backend_roles"] == nil)
            try await client.expect(200, "PUT", "/_plugins/_ml/model_groups/\(restrictedID)", ["backend_roles": ["Ops"]])
            let closed = try await client.expect(200, "GET", "/_plugins/_ml/model_groups/\(restrictedID)")
            #expect(closed["access"] == "restricted")
            #expect(closed["backend_roles"] == ["Ops"])
        }
    }
}
