import AsyncHTTPClient
import NIOCore

/// One AsyncHTTPClient per (client config, host) whose DNS is pinned to the address that passed
/// the endpoint check. When the host resolves elsewhere, the old client is retired and shut
/// down once its last request finishes.
actor PinnedClientPool {
    struct Key: Hashable {
        let config: ClientConfig
        let host: String
    }

    struct Lease: Sendable {
        let key: Key
        let generation: Int
        let client: HTTPClient
    }

    private struct Entry {
        let address: IPAddress
        let generation: Int
        let client: HTTPClient
        var inFlight = 0
    }

    private let eventLoopGroup: any EventLoopGroup
    private var current: [Key: Entry] = [:]
    private var retired: [Int: Entry] = [:]
    private var nextGeneration = 0

    init(eventLoopGroup: any EventLoopGroup) { self.eventLoopGroup = eventLoopGroup }

    func lease(host: String, address: IPAddress, config: ClientConfig) -> Lease {
        let key = Key(config: config, host: host)
        if var entry = current[key], entry.address == address {
            entry.inFlight += 1
            current[key] = entry
            return Lease(key: key, generation: entry.generation, client: entry.client)
        }
        if let stale = current.removeValue(forKey: key) { retire(stale) }
        nextGeneration += 1
        var entry = Entry(address: address, generation: nextGeneration, client: makeClient(host: host, address: address, config: config))
        entry.inFlight = 1
        current[key] = entry
        return Lease(key: key, generation: entry.generation, client: entry.client)
    }

    func release(_ lease: Lease) {
        if var entry = current[lease.key], entry.generation == lease.generation {
            entry.inFlight -= 1
            current[lease.key] = entry
        } else if var entry = retired[lease.generation] {
            entry.inFlight -= 1
            retired[lease.generation] = nil
            retire(entry)
        }
    }

    func shutdown() async {
        let clients = current.values.map(\.client) + retired.values.map(\.client)
        current = [:]
        retired = [:]
        for client in clients { try? await client.shutdown() }
    }

    private func retire(_ entry: Entry) {
        if entry.inFlight > 0 {
            retired[entry.generation] = entry
        } else {
            let client = entry.client
            Task { try? await client.shutdown() }
        }
    }

    private func makeClient(host: String, address: IPAddress, config: ClientConfig) -> HTTPClient {
        var configuration = PinnedHTTPClient.configuration(host: host, address: address,
                                                           connectTimeout: .seconds(Int64(config.connectionTimeoutSeconds)),
                                                           readTimeout: .seconds(Int64(config.readTimeoutSeconds)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60),
                                             concurrentHTTP1ConnectionsPerHostSoftLimit: config.maxConnection)
        return HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }
}

/// An HTTP client that connects to one checked address for one host name (kept for the `Host`
/// header and TLS), and never follows redirects itself.
public enum PinnedHTTPClient {
    /// `host` must be `ParsedURL.host` and requests must use `ParsedURL.canonical`: the override
    /// is looked up by the request's host spelling, and any other spelling would resolve afresh.
    public static func configuration(host: String, address: IPAddress, connectTimeout: TimeAmount,
                                     readTimeout: TimeAmount) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: connectTimeout, read: readTimeout)
        configuration.dnsOverride = [host: address.description]
        return configuration
    }
}
