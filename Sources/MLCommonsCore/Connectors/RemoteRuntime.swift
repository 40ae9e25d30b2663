import Connectors
import Foundation
import Logging
import OrderedJSON

/// What every remote-model service shares: the credential cipher (master key in the data dir or
/// the environment), the pinned HTTP client, and the one rate limiter of this node (model level and
/// per user, for local and remote models alike).
struct RemoteRuntime: Sendable {
    let cipher: CredentialCipher
    let client: RemoteHTTPClient
    let limiter: RateLimiter

    static func open(dataDir: URL, logger: Logger) throws -> RemoteRuntime {
        let key = try connectorCall { () throws(ConnectorError) in try MasterKey.load(dataDirectory: dataDir) }
        return RemoteRuntime(cipher: CredentialCipher(masterKey: key),
                             client: RemoteHTTPClient(logger: logger), limiter: RateLimiter())
    }

    /// The endpoint policy the cluster settings describe, read per call so updates apply at once.
    static func endpointPolicy(_ settings: EffectiveSettings) -> EndpointPolicy {
        func list(_ key: String) -> [String] {
            let value = settings.value(key)
            return value.arrayValue?.compactMap(\.scalarText) ?? value.scalarText.map { [$0] } ?? []
        }
        return EndpointPolicy(trustedEndpointsRegex: list(MLSettings.trustedConnectorEndpoints),
                              privateIPEnabled: settings.bool(MLSettings.connectorPrivateIPEnabled),
                              trustedPrivateEndpointsRegex: list(MLSettings.trustedConnectorPrivateEndpoints))
    }

    static func checkRemoteEnabled(_ settings: EffectiveSettings) throws {
        if !settings.bool(MLSettings.remoteInferenceEnabled) {
            throw MLError.illegalArgument("Remote Inference is currently disabled. To enable it, update the setting \"plugins.ml_commons.remote_inference.enabled\" to true.")
        }
    }
}
