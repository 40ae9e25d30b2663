import Connectors

extension MLError {
    /// A connector failure as the HTTP layer reports it: same status, type and (already redacted) message.
    init(_ error: ConnectorError) {
        self.init(status: error.status, type: error.type, reason: error.message)
    }
}

/// Runs connector-library code, turning its typed errors into `MLError`s.
func connectorCall<T>(_ body: () throws(ConnectorError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw MLError(error)
    }
}

func connectorCall<T>(_ body: () async throws(ConnectorError) -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        throw MLError(error)
    }
}
