import Foundation

/// An IPv4 or IPv6 address as bytes, with the ranges a connector must not reach by default.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(_ text: String) {
        var trimmed = text
        if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") { trimmed = String(trimmed.dropFirst().dropLast()) }
        if let zone = trimmed.firstIndex(of: "%") { trimmed = String(trimmed[..<zone]) }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, trimmed, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, trimmed, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    public var isIPv4: Bool { bytes.count == 4 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        let family = isIPv4 ? AF_INET : AF_INET6
        _ = inet_ntop(family, &copy, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) or IPv4-compatible IPv6 address.
    var embeddedIPv4: IPAddress? {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }) else { return nil }
        let mapped = bytes[10] == 0xFF && bytes[11] == 0xFF
        let compatible = bytes[10] == 0 && bytes[11] == 0 && !bytes[12..<16].allSatisfy { $0 == 0 }
        return mapped || compatible ? IPAddress(bytes: Array(bytes[12..<16])) : nil
    }

    /// Loopback, private, link-local, unspecified, CGNAT and unique-local addresses.
    public var isPrivateOrLocal: Bool {
        if let inner = embeddedIPv4 { return inner.isPrivateOrLocal }
        if isIPv4 {
            let (a, b) = (bytes[0], bytes[1])
            return a == 0 || a == 10 || a == 127 || (a == 169 && b == 254) || (a == 172 && (16...31).contains(b))
                || (a == 192 && b == 168) || (a == 100 && (64...127).contains(b))
        }
        let allZeroPrefix = bytes[0..<15].allSatisfy { $0 == 0 }
        return (allZeroPrefix && (bytes[15] == 0 || bytes[15] == 1)) // :: and ::1
            || bytes[0] & 0xFE == 0xFC                                 // fc00::/7
            || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80)           // fe80::/10
            || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0xC0)           // fec0::/10 (deprecated site-local)
    }
}
