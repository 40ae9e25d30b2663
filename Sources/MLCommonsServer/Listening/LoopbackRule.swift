import Foundation

/// Without security, anyone who reaches the port can do everything; with security but without TLS,
/// passwords and keys cross the network in clear. Either way the server listens only on loopback
/// unless the operator says, with `--insecure`, that this is what they want.
public enum LoopbackRule {
    /// `localhost`, 127.0.0.0/8 or ::1, as literal addresses (a name other than `localhost` could
    /// resolve anywhere, so it does not count).
    public static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        return false
    }

    /// Nil if `host` may be listened on; else why not.
    public static func refusal(host: String, insecure: Bool, security: Bool, tls: Bool) -> String? {
        guard !insecure, !isLoopback(host) else { return nil }
        if !security {
            return "refusing to listen on \(host) without --security: anyone who reaches the port could do everything; "
                + "turn security on (--security, env MLCOMMONS_SECURITY=true), bind to 127.0.0.1, "
                + "or pass --insecure to accept that anyone who reaches the port can do everything"
        }
        if !tls {
            return "refusing to listen on \(host) with security but without TLS: passwords and API keys would cross the network "
                + "in clear; give --tls-cert and --tls-key, bind to 127.0.0.1, or pass --insecure to accept that"
        }
        return nil
    }
}
