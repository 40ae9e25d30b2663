import Foundation

/// The host part of the default publish URL: the listening address, unless it listens on every
/// address (`0.0.0.0`, `::`), which no other node can dial; then this machine's host name.
enum PublishAddress {
    static func host(forListening host: String) -> String {
        switch host {
        case "0.0.0.0", "::", "[::]", "": return ProcessInfo.processInfo.hostName
        default: return host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
    }
}
