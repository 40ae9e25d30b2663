import Foundation

/// Name resolution, replaceable so callers (and tests) can decide what a name resolves to.
public protocol HostResolver: Sendable {
    func resolve(host: String, port: Int) async throws -> [IPAddress]
}

/// `getaddrinfo`, run off the cooperative thread pool because it blocks.
public struct SystemHostResolver: HostResolver {
    public init() {}

    public func resolve(host: String, port: Int) async throws -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        // getaddrinfo cannot be interrupted: a cancelled caller (a download's total timeout, a
        // stopping server) gets CancellationError at once and the lookup's answer is dropped.
        let once = ResumeOnce()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                once.set(continuation)
                DispatchQueue.global().async {
                    once.resume(with: Result { try Self.lookup(host: host, port: port) })
                }
            }
        } onCancel: {
            once.resume(with: .failure(CancellationError()))
        }
    }

    /// A continuation resumed by whichever comes first, the lookup or the cancellation.
    private final class ResumeOnce: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<[IPAddress], any Error>?
        private var early: Result<[IPAddress], any Error>?
        private var done = false

        func set(_ continuation: CheckedContinuation<[IPAddress], any Error>) {
            let pending: Result<[IPAddress], any Error>? = lock.withLock {
                if done, let early { self.early = nil; return early }
                self.continuation = continuation
                return nil
            }
            if let pending { continuation.resume(with: pending) }
        }

        func resume(with result: Result<[IPAddress], any Error>) {
            let target: CheckedContinuation<[IPAddress], any Error>? = lock.withLock {
                guard !done else { return nil }
                done = true
                guard let continuation else { early = result; return nil }
                self.continuation = nil
                return continuation
            }
            target?.resume(with: result)
        }
    }

    struct LookupFailed: Error, CustomStringConvertible {
        let host: String
        let code: Int32
        var description: String { "Failed to resolve host \(host): \(String(cString: gai_strerror(code)))" }
    }

    static func lookup(host: String, port: Int) throws -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0, let first = list else { throw LookupFailed(host: host, code: code) }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let sockaddr = entry.pointee.ai_addr {
                switch Int32(entry.pointee.ai_family) {
                case AF_INET:
                    var address = sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.append(IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }))
                case AF_INET6:
                    var address = sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(IPAddress(bytes: withUnsafeBytes(of: &address) { Array($0) }))
                default: break
                }
            }
            cursor = entry.pointee.ai_next
        }
        var seen = Set<IPAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}
