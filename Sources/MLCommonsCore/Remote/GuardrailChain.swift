import Connectors
import OrderedJSON

/// `model` guardrails call another model, whose own guardrails may call a third: a model that
/// reaches itself that way would recurse on every predict until the server runs out of stack or
/// time. Cycles are refused at register and update time, and the chain's depth is bounded at
/// predict time too (for models stored before the check existed).
enum GuardrailChain {
    /// Guard models called within one predict, counting nested ones.
    static let maxDepth = 4

    @TaskLocal static var depth = 0

    /// Refuses `guardrails` on `modelID` when following guard models from it leads back to it.
    static func checkNoCycle(modelID: String?, guardrails json: JSON?, models: ModelRepository) async throws {
        guard let json, !json.isNull else { return }
        let guardrails = try connectorCall { () throws(ConnectorError) in try Guardrails(json: json) }
        var pending = guardrails.guardModelIDs
        var seen: Set<String> = []
        while let next = pending.popLast() {
            if next == modelID {
                throw MLError.illegalArgument("A guardrail cannot use model \(next): it leads back to the model it guards")
            }
            guard seen.insert(next).inserted, seen.count <= 64 else { continue }
            guard let document = try await models.meta(next), let nested = document.source["guardrails"], !nested.isNull,
                  let parsed = try? Guardrails(json: nested) else { continue }
            pending += parsed.guardModelIDs
        }
    }

    /// Runs a guard model one level deeper, refusing beyond `maxDepth`.
    static func nested<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        guard depth < maxDepth else {
            throw MLError.illegalArgument("guardrail models call each other more than \(maxDepth) levels deep")
        }
        return try await $depth.withValue(depth + 1) { try await body() }
    }
}
