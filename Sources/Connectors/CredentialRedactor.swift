/// Replaces credential values in text meant for errors, logs and responses.
public struct CredentialRedactor: Sendable {
    public static let mask = "******"
    private let secrets: [String]

    public init<S: Sequence>(secrets: S) where S.Element == String {
        // Longest first, so a secret that contains another is masked whole.
        self.secrets = Set(secrets.filter { !$0.isEmpty }).sorted { $0.count > $1.count }
    }

    public init(credential: [String: String]) { self.init(secrets: credential.values) }

    public func redact(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: Self.mask) }
    }

    public func redact(_ error: ConnectorError) -> ConnectorError {
        ConnectorError(status: error.status, type: error.type, message: redact(error.message))
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        return components(separatedBy: target).joined(separator: replacement)
    }
}
