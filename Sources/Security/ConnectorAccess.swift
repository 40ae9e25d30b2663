/// ML Commons' connector refusals (`ConnectorAccessControlHelper` and the connector transport
/// actions); whether a user may use a connector is `ModelGroupAccess.permits` over the connector.
public enum ConnectorAccess {
    public enum Operation: Sendable, Equatable {
        case get, update, delete
        /// Naming the connector in a remote model's registration.
        case use
    }

    public static func denied(_ operation: Operation, connectorID: String) -> SecurityError {
        switch operation {
        case .get: .forbidden("You don't have permission to access this connector")
        case .update: .badRequest("You don't have permission to update the connector, connector id: \(connectorID)")
        case .delete: SecurityError(status: 500, type: "m_l_validation_exception", reason: "You are not allowed to delete this connector")
        case .use: .badRequest("You don't have permission to use the connector provided, connector id: \(connectorID)")
        }
    }
}
