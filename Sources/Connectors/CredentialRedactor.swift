import Foundation
import OrderedJSON

/// Replaces credential values in text meant for errors, logs and responses.
///
/// A provider (or an attacker posing as one) can echo a key back in many spellings. Each secret is
/// masked as written, JSON-escaped (`\/`, `\uXXXX`, as our writer and common others write it),
/// percent-encoded and base64-encoded. A JSON reply is also redacted structurally: its strings
/// are read with every escape decoded, so any mix of `\uXXXX` escapes is caught. Text that still
/// holds a secret after decoding JSON and percent escapes, in a spelling none of these covers, is
/// withheld whole.
public struct CredentialRedactor: Sendable {
    public static let mask = "******"
    public static let withheld = "[content withheld: it contained a credential]"
    private let secrets: [String]
    /// Every spelling of every secret, longest first, so a secret that contains another is masked whole.
    private let spellings: [String]

    public init<S: Sequence>(secrets: S) where S.Element == String {
        self.secrets = Set(secrets.filter { !$0.isEmpty }).sorted { $0.count > $1.count }
        spellings = Set(self.secrets.flatMap(Self.spellings(of:))).sorted { $0.count > $1.count }
    }

    public init(credential: [String: String]) { self.init(secrets: credential.values) }

    public var isEmpty: Bool { secrets.isEmpty }

    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        let masked = spellings.reduce(text) { $0.replacingOccurrences(of: $1, with: Self.mask) }
        let decoded = Self.decodingEscapes(masked)
        return secrets.contains(where: { decoded.contains($0) }) ? Self.withheld : masked
    }

    public func redact(_ error: ConnectorError) -> ConnectorError {
        ConnectorError(status: error.status, type: error.type, message: redact(error.message))
    }

    /// A provider's reply body: a JSON document with a secret in any string (or key) is rewritten
    /// with those strings masked; other text goes through `redact(_:)`. Bodies without a secret are
    /// returned as they came.
    public func redactReply(_ body: String) -> String {
        guard !secrets.isEmpty else { return body }
        if let json = JSON.parseOrNil(body) {
            guard containsSecret(json) else { return body }
            return redact(json).serialized
        }
        return redact(body)
    }

    private func containsSecret(_ json: JSON) -> Bool {
        switch json {
        case .string(let text): return spellings.contains { text.contains($0) } || secrets.contains { Self.decodingEscapes(text).contains($0) }
        case .array(let items): return items.contains(where: containsSecret)
        case .object(let object): return object.contains { containsSecret(.string($0.key)) || containsSecret($0.value) }
        default: return false
        }
    }

    private func redact(_ json: JSON) -> JSON {
        switch json {
        case .string(let text): return .string(redact(text))
        case .array(let items): return .array(items.map(redact))
        case .object(let object): return .object(JSONObject(object.map { (key: redact($0.key), value: redact($0.value)) }))
        default: return json
        }
    }

    static func spellings(of secret: String) -> [String] {
        var forms = [secret]
        let jsonEscaped = String(JSON.string(secret).serialized.dropFirst().dropLast())
        forms.append(jsonEscaped)
        forms.append(jsonEscaped.replacingOccurrences(of: "/", with: "\\/"))
        forms.append(secret.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? String($0) : unicodeEscape($0) }.joined())
        for form in [TemplateRenderer.percentEncoded(secret), secret.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)] {
            if let form { forms.append(form); forms.append(form.lowercased()) }
        }
        let base64 = Data(secret.utf8).base64EncodedString()
        forms.append(base64)
        forms.append(base64.replacingOccurrences(of: "=", with: ""))
        forms.append(base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: ""))
        // Short secrets' encodings (a 3-byte base64) would mask unrelated text; the secret itself is always masked.
        return forms.filter { $0 == secret || $0.count >= 8 }
    }

    private static func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        func hex(_ unit: UInt16) -> String { "\\u" + String(unit, radix: 16).leftPadded(4) }
        return String(scalar).utf16.map(hex).joined()
    }

    /// `\uXXXX` (with surrogate pairs), `\/`, `\"`, `\\` and `%XX` escapes decoded; anything malformed kept.
    static func decodingEscapes(_ text: String) -> String {
        guard text.contains("\\") || text.contains("%") else { return text }
        var units: [UInt16] = []
        let source = Array(text.utf16)
        var index = 0
        func hexValue(_ start: Int, _ count: Int) -> UInt16? {
            guard start + count <= source.count else { return nil }
            var value: UInt16 = 0
            for unit in source[start..<start + count] {
                guard let digit = Character(Unicode.Scalar(unit) ?? "g").hexDigitValue else { return nil }
                value = value << 4 | UInt16(digit)
            }
            return value
        }
        var percentBytes: [UInt8] = []
        func flushPercent() {
            guard !percentBytes.isEmpty else { return }
            units += Array(String(decoding: percentBytes, as: UTF8.self).utf16)
            percentBytes = []
        }
        while index < source.count {
            let unit = source[index]
            if unit == UInt16(UInt8(ascii: "%")), let value = hexValue(index + 1, 2) {
                percentBytes.append(UInt8(value))
                index += 3
                continue
            }
            flushPercent()
            if unit == UInt16(UInt8(ascii: "\\")), index + 1 < source.count {
                let next = source[index + 1]
                if next == UInt16(UInt8(ascii: "u")), let value = hexValue(index + 2, 4) {
                    units.append(value)
                    index += 6
                    continue
                }
                if next == UInt16(UInt8(ascii: "/")) || next == UInt16(UInt8(ascii: "\"")) || next == UInt16(UInt8(ascii: "\\")) {
                    units.append(next)
                    index += 2
                    continue
                }
            }
            units.append(unit)
            index += 1
        }
        flushPercent()
        return String(decoding: units, as: UTF16.self)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        return components(separatedBy: target).joined(separator: replacement)
    }
}
