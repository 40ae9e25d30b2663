import Foundation
import Logging
import Storage

/// What every domain service shares: the store, the settings, this node and its directories.
struct CoreContext: Sendable {
    let store: any DocumentStore
    let settings: ClusterSettings
    let node: NodeIdentity
    /// The nodes sharing the store (just this one with the embedded SQLite store).
    let cluster: ClusterMembership
    let dataDir: URL
    let logger: Logger
    /// Register and deploy tasks running after their request answered; stopped before the store closes.
    let jobs = BackgroundJobs()

    var groups: ModelGroupService { ModelGroupService(store: store, settings: settings) }
    var tasks: TaskService { TaskService(store: store) }
    var models: ModelRepository { ModelRepository(store: store) }
    var access: AccessControl { AccessControl(store: store, settings: settings) }
    var downloader: ArtifactDownloader { ArtifactDownloader(scratchDir: dataDir.appendingPathComponent("tmp"), logger: logger) }

    /// Where a deployed model's reassembled artifact lives while it is loaded.
    func artifactDir(for modelID: String) -> URL { dataDir.appendingPathComponent("models").appendingPathComponent(modelID) }
}
