import Connectors
import Foundation

/// What a model download may do: where it may connect, how long it may take, how much it may bring.
///
/// Threats: a model URL pointing at an internal service (`http://127.0.0.1:9200/…`, cloud metadata
/// at `169.254.169.254`), a name that resolves to one (or does so only on the second lookup), a
/// redirect to one, and a tarpit that sends a byte every few seconds to hold a register slot.
struct DownloadPolicy: Sendable {
    /// `plugins.ml_commons.allow_private_model_url`: private, loopback and link-local addresses
    /// (offline mirrors, tests) are refused unless this is set.
    var allowPrivateAddresses = false {
        didSet { isAllowed = Self.addressRule(allowPrivate: allowPrivateAddresses) }
    }
    /// The address rule itself; tests narrow it to tell two loopback addresses apart.
    var isAllowed: @Sendable (IPAddress) -> Bool = DownloadPolicy.addressRule(allowPrivate: false)
    /// `plugins.ml_commons.allow_registering_model_via_local_file`, for `file://` URLs of any origin.
    var allowFileURLs = false
    var maxBytes: Int64 = 4 << 30
    var connectTimeout: Duration = .seconds(10)
    /// No byte received for this long ends the download.
    var idleTimeout: Duration = .seconds(30)
    /// The whole download, redirects included, ends after this long.
    var totalTimeout: Duration = .seconds(3600)
    var resolver: any HostResolver = SystemHostResolver()

    static let maxRedirects = 5

    init() {}

    static func addressRule(allowPrivate: Bool) -> @Sendable (IPAddress) -> Bool {
        { allowPrivate || !$0.isPrivateOrLocal }
    }

    init(_ settings: EffectiveSettings) {
        allowPrivateAddresses = settings.bool(MLSettings.allowPrivateModelURL)
        isAllowed = Self.addressRule(allowPrivate: allowPrivateAddresses) // observers do not run in an initializer
        allowFileURLs = settings.bool(MLSettings.allowLocalFile)
        maxBytes = settings.int(MLSettings.maxDownloadBytes)
        connectTimeout = .seconds(settings.int(MLSettings.downloadConnectTimeout))
        idleTimeout = .seconds(settings.int(MLSettings.downloadIdleTimeout))
        totalTimeout = .seconds(settings.int(MLSettings.downloadTotalTimeout))
    }

    /// The address to connect to for `url`, or why not. Messages name the URL the caller gave and
    /// nothing learnt from the network beyond "private".
    func address(for url: ParsedURL, original: String) async throws -> IPAddress {
        do {
            return try await AddressCheck.address(of: url, resolver: resolver, allowed: isAllowed)
        } catch {
            switch error {
            case .unresolvable:
                throw MLError.illegalArgument("Failed to download \(original): host \(url.host) can't be resolved")
            case .privateAddress:
                throw MLError.illegalArgument("Failed to download \(original): host \(url.host) has a private, loopback or link-local address; "
                    + "set plugins.ml_commons.allow_private_model_url to true to allow it")
            }
        }
    }
}
