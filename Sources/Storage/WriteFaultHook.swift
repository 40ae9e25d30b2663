import Foundation

/// TEST-ONLY fault hook: kills the process with SIGKILL at the Nth write transaction of the store,
/// so crash-consistency tests can stop the server at every write of an operation and check what the
/// next start makes of it. Off unless the environment asks for it:
///
/// - `MLCOMMONS_FAULT_KILL_AT_WRITE=N` (N ≥ 1): the Nth write transaction since the process started
///   (puts, deletes, deletes by query and batches each count one; reads and the schema set-up do not).
/// - `MLCOMMONS_FAULT_KILL_PHASE=before-commit` (the default: the transaction is lost) or
///   `after-commit` (the transaction is durable, but nothing after it ran).
/// - `MLCOMMONS_FAULT_KILL_DELAY_MS=D` (after-commit only): die D ms after the commit instead of at
///   once; meanwhile reads are served and every later write waits, so a client can see what the
///   transaction committed (e.g. a COMPLETED task) before the crash, and nothing more is written.
///
/// Never set these in production: the process dies on purpose.
struct WriteFaultHook: Sendable {
    enum Phase: String, Sendable {
        case beforeCommit = "before-commit", afterCommit = "after-commit"
    }

    let killAt: Int?
    let phase: Phase
    let delayMilliseconds: Int
    private let dying = DyingFlag()

    static func fromEnvironment() -> WriteFaultHook {
        let environment = ProcessInfo.processInfo.environment
        let killAt = environment["MLCOMMONS_FAULT_KILL_AT_WRITE"].flatMap { Int($0) }.flatMap { $0 >= 1 ? $0 : nil }
        let phase = environment["MLCOMMONS_FAULT_KILL_PHASE"].flatMap(Phase.init(rawValue:)) ?? .beforeCommit
        let delay = environment["MLCOMMONS_FAULT_KILL_DELAY_MS"].flatMap { Int($0) }.map { min(max($0, 0), 60_000) } ?? 0
        return WriteFaultHook(killAt: killAt, phase: phase, delayMilliseconds: delay)
    }

    /// Kills the process if write number `write` (1-based) reached the armed phase.
    func reached(_ phase: Phase, ofWrite write: Int) {
        guard let killAt, killAt == write, phase == self.phase else { return }
        guard phase == .afterCommit, delayMilliseconds > 0 else {
            kill(getpid(), SIGKILL)
            return
        }
        dying.set()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delayMilliseconds)) { kill(getpid(), SIGKILL) }
    }

    /// Called before a write takes the store's lock: once the process is about to die, writes never start.
    func holdWritesIfDying() async {
        while dying.isSet { try? await Task.sleep(for: .seconds(1)) }
    }

    /// Called under the store's lock: a write that was already waiting for it fails instead.
    func refuseWriteIfDying() throws {
        if dying.isSet { throw StoreError.storage("the process is being killed by MLCOMMONS_FAULT_KILL_AT_WRITE") }
    }
}

private final class DyingFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// The number of write transactions begun; only touched under the store's lock.
final class WriteCounter: @unchecked Sendable {
    private(set) var value = 0
    func next() -> Int {
        value += 1
        return value
    }
}
