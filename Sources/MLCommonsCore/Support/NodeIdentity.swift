import Foundation

/// This process's node: a stable id kept in the data dir, as an OpenSearch node keeps its id.
public struct NodeIdentity: Sendable {
    public let id: String
    public let name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }

    /// Reads the node id from `<dataDir>/node_id`, creating it on first start.
    public static func load(dataDir: URL, name: String) throws -> NodeIdentity {
        let file = dataDir.appendingPathComponent("node_id")
        if let existing = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            return NodeIdentity(id: existing, name: name)
        }
        let id = String(Identifiers.newID().prefix(22))
        try id.write(to: file, atomically: true, encoding: .utf8)
        return NodeIdentity(id: id, name: name)
    }
}
