import Foundation

/// A raw-socket HTTP server on 127.0.0.1 whose answers are scripted per path prefix, to play a
/// tarpit (one byte every interval), a stalled server (headers, then silence) or a redirector.
public final class SlowServer: @unchecked Sendable {
    public enum Script: Sendable {
        /// `Content-Length: total`, then one byte every `interval`.
        case trickle(total: Int, interval: Duration)
        /// Headers announcing `total` bytes, then nothing until the client gives up.
        case stall(total: Int)
        /// A redirect to `location`.
        case redirect(status: Int, location: String)
        /// A complete 200 answer.
        case body([UInt8])
    }

    public private(set) var port = 0
    private var listener: Int32 = -1
    private let lock = NSLock()
    private var scripts: [(prefix: String, script: Script)] = []
    private var seen: [String] = []
    private var open = 0

    public init() {}

    /// Paths requested so far, in order.
    public var requestedPaths: [String] { lock.withLock { seen } }
    /// Connections being served right now (a tarpit the client left still counts until it notices).
    public var openConnections: Int { lock.withLock { open } }

    public func script(_ prefix: String, _ script: Script) { lock.withLock { scripts.append((prefix, script)) } }

    public func start() throws {
        (listener, port) = LoopbackListener.open()
        LoopbackListener.acceptLoop(listener) { [self] client in
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    public func stop() { LoopbackListener.close(listener) }

    private func serve(_ client: Int32) {
        lock.withLock { open += 1 }
        defer {
            close(client)
            lock.withLock { open -= 1 }
        }
        guard let path = readRequestPath(client) else { return }
        let script = lock.withLock { () -> Script? in
            seen.append(path)
            return scripts.last { path.hasPrefix($0.prefix) }?.script
        }
        switch script {
        case .trickle(let total, let interval)?:
            guard send(client, "HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\nConnection: close\r\n\r\n") else { return }
            for _ in 0..<total {
                Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
                guard send(client, "x") else { return }
            }
        case .stall(let total)?:
            guard send(client, "HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\nConnection: close\r\n\r\n") else { return }
            // Wait until the client closes: recv returns 0 or fails.
            var byte: UInt8 = 0
            while recv(client, &byte, 1, 0) > 0 {}
        case .redirect(let status, let location)?:
            _ = send(client, "HTTP/1.1 \(status) Redirect\r\nLocation: \(location)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        case .body(let bytes)?:
            guard send(client, "HTTP/1.1 200 OK\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n") else { return }
            _ = bytes.withUnsafeBytes { Foundation.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        case nil:
            _ = send(client, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
    }

    private func send(_ client: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Foundation.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Reads the request head and returns its path.
    private func readRequestPath(_ client: Int32) -> String? {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while head.count < 65_536 {
            let count = recv(client, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            head += buffer[0..<count]
            if let text = String(bytes: head, encoding: .utf8), text.contains("\r\n\r\n") {
                let parts = text.split(separator: " ", maxSplits: 2)
                return parts.count >= 2 ? String(parts[1]) : nil
            }
        }
        return nil
    }
}
