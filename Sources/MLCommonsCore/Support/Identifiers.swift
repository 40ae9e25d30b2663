import Foundation

enum Identifiers {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    /// A 20-character URL-safe id, the shape of OpenSearch's auto-generated document ids.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt8(64)))] })
    }

    /// Validates a caller-chosen id (`model_id`, `model_group_id` in request bodies).
    static func validateCustomID(_ id: String, label: String) throws {
        let pattern = #"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"#
        guard id.range(of: pattern, options: .regularExpression) != nil, id.utf8.count <= 512 else {
            throw MLError.illegalArgument("Invalid \(label) '\(id)': it must start with a letter or digit, contain only letters, digits, '_' and '-', and be at most 512 bytes")
        }
    }
}

/// Epoch milliseconds, the unit of every timestamp in the API.
func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
