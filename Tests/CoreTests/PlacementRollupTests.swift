@testable import MLCommonsCore
import OrderedJSON
import Testing

/// How placements add up to a model's state and a deploy task's end (§3.1, §3.5).
@Suite struct PlacementRollupTests {
    static func placement(_ node: String, _ state: Placement.State, task: String = "t", error: String? = nil) -> Placement {
        Placement(modelID: "m", nodeID: node, state: state, taskID: task, error: error)
    }

    static func byNode(_ placements: [Placement]) -> [String: Placement] {
        Dictionary(uniqueKeysWithValues: placements.map { ($0.nodeID, $0) })
    }

    @Test func theModelsStateFollowsItsLivePlacements() {
        let planned = ["a", "b", "c"]
        func state(_ placements: [Placement], current: ModelState = .deploying) -> (ModelState, Int) {
            let result = PlacementRollup.model(planned: planned, placements: Self.byNode(placements), current: current)
            return (result.state, result.workers)
        }
        #expect(state([Self.placement("a", .deploying), Self.placement("b", .deploying)]) == (.deploying, 0))
        #expect(state([Self.placement("a", .deployed), Self.placement("b", .deploying)]) == (.deploying, 1))
        #expect(state([Self.placement("a", .deployed), Self.placement("b", .deployed), Self.placement("c", .deployed)]) == (.deployed, 3))
        #expect(state([Self.placement("a", .deployed), Self.placement("b", .failed), Self.placement("c", .deployed)]) == (.partiallyDeployed, 2))
        #expect(state([Self.placement("a", .failed), Self.placement("b", .failed), Self.placement("c", .failed)]) == (.deployFailed, 0))
        // A node counted out lost its placement: fewer than planned, and none left is DEPLOY_FAILED.
        #expect(state([Self.placement("a", .deployed)], current: .deployed) == (.partiallyDeployed, 1))
        #expect(state([], current: .deployed) == (.deployFailed, 0))
        // A node joining a deployed model does not send it back to DEPLOYING.
        #expect(state([Self.placement("a", .deployed), Self.placement("b", .deploying)], current: .partiallyDeployed) == (.partiallyDeployed, 1))
    }

    @Test func aDeployTaskEndsWhenEveryTargetAnswered() throws {
        func outcome(_ placements: [Placement], targets: [String] = ["a", "b"]) -> (TaskState, String?)? {
            PlacementRollup.task("t", targets: targets, placements: Self.byNode(placements)).map { ($0.state, $0.error) }
        }
        #expect(outcome([Self.placement("a", .deployed), Self.placement("b", .deploying)]) == nil)
        #expect(outcome([Self.placement("a", .deployed), Self.placement("b", .deployed)])?.0 == .completed)
        let partial = try #require(outcome([Self.placement("a", .deployed), Self.placement("b", .failed, error: "no memory")]))
        #expect(partial.0 == .completedWithError)
        #expect(try JSON.parse(partial.1 ?? "") == ["b": "no memory"])
        #expect(outcome([Self.placement("a", .failed), Self.placement("b", .failed)])?.0 == .failed)
        // A target counted out while loading (its placement failed with the reason); one whose
        // placement belongs to a later deploy is done.
        let died = try #require(outcome([Self.placement("a", .deployed), Self.placement("b", .failed, error: "node b left the cluster")]))
        #expect(died.0 == .completedWithError && died.1?.contains("left the cluster") == true)
        #expect(outcome([Self.placement("a", .deployed), Self.placement("b", .deploying, task: "later")])?.0 == .completed)
        // A target whose placement was removed (undeployed while loading) failed.
        #expect(outcome([Self.placement("a", .deployed)])?.0 == .completedWithError)
    }
}
