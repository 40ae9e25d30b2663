@testable import MLCommonsCore
import Testing

/// Node records come from the shared store: extreme times must not trap the nodes that read them.
@Suite struct NodeRecordTests {
    @Test(arguments: [Int64.min, Int64.max, 0, -1])
    func extremeTimesAreSaturated(time: Int64) {
        let record = NodeRecord(id: "n", name: "n", publishURL: "http://127.0.0.1:1", roles: ["ml"], version: "x",
                                startedTime: time == .min ? .max : -time, heartbeatTime: time)
        let now: Int64 = 1_800_000_000_000
        #expect(record.isAlive(now: now, timeoutMillis: 10_000) == (time == Int64.max))
        #expect(record.uptimeMillis >= 0)
        _ = record.millisSinceHeartbeat(now: Int64.min)
    }
}
