import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP connection to the server, for what an HTTP client library will not do: send half a
/// request head, stall inside a body, hang up without reading.
final class RawConnection: @unchecked Sendable {
    private let fd: Int32
    private var isOpen = true

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw TestFailure("connect() failed") }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads until the server closes the connection or `timeout` passes; nil if it is still open then.
    func readUntilClosed(timeout: Duration) async -> [UInt8]? {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            // Never block the test's cooperative thread: poll without waiting, sleep between polls.
            if poll(&poller, 1, 0) > 0 {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return received }
                received += buffer[0..<count]
            } else {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        return nil
    }

    func hangUp() {
        if isOpen { close(fd) }
        isOpen = false
    }

    deinit { hangUp() }
}
