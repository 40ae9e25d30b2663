import Foundation

/// TEST-ONLY fault hooks of the domain layer (the store's own is `MLCOMMONS_FAULT_KILL_AT_WRITE`).
/// `MLCOMMONS_FAULT_CRASH_AT_LOAD=<model id>` kills the process with SIGKILL when a deploy of that
/// model is about to hand it to the inference engine, as a model that crashes the loader would.
/// Never set in production.
enum FaultHooks {
    static func crashAtLoadIfAsked(_ modelID: String) {
        guard let target = ProcessInfo.processInfo.environment["MLCOMMONS_FAULT_CRASH_AT_LOAD"], target == modelID else { return }
        kill(getpid(), SIGKILL)
    }
}
