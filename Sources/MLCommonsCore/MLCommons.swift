import Foundation
import Logging
import OrderedJSON
import Storage
import Synchronization

/// Start-up options of the domain layer.
public struct MLCommonsConfiguration: Sendable {
    public var dataDir: URL
    public var nodeName: String
    /// Overrides the default of `plugins.ml_commons.artifacts_base_url` (the `--artifacts-url` flag).
    public var artifactsBaseURL: String?
    /// Further setting defaults given at start-up (full keys, `plugins.ml_commons.*`).
    public var settingOverrides: [String: JSON]
    public var engine: any InferenceEngine
    /// Where documents live: the embedded SQLite file in the data dir, or a shared PostgreSQL database.
    public var store: StoreChoice
    /// This node's roles (`--node-roles`); `ml` work goes to nodes with role `ml` (`only_run_on_ml_node`).
    public var nodeRoles: [String] = ["ml"]
    /// Heartbeat interval and the silence after which a node is counted out (a shared store only).
    public var clusterTiming = ClusterTiming()

    public enum StoreChoice: Sendable, Equatable {
        case sqlite
        case postgres(PostgresLocation)
    }

    public init(dataDir: URL, nodeName: String = "mlcommons-node", artifactsBaseURL: String? = nil,
                settingOverrides: [String: JSON] = [:], engine: any InferenceEngine = NativeInferenceEngine(),
                store: StoreChoice = .sqlite) {
        self.dataDir = dataDir
        self.store = store
        self.nodeName = nodeName
        self.artifactsBaseURL = artifactsBaseURL
        self.settingOverrides = settingOverrides
        self.engine = engine
    }
}

/// The ML Commons domain: one entry point for the HTTP layer, over one document store.
public final class MLCommons: Sendable {
    let context: CoreContext
    let deployment: Deployment
    let registration: ModelRegistration
    let chunkedUpload: ChunkedUpload
    let modelService: ModelService
    let observability: StatsAndProfile
    let prediction: PredictionService
    let openAI: OpenAIEmbeddings
    let stats = NodeStats()
    /// Remote models, connectors, controllers and the document API (`MLCommons+Remote.swift`).
    let remote: RemoteModels
    /// Held from open to close: no second process on the same data dir.
    private let lock: DataDirLock

    /// The version this server reports as OpenSearch's (`GET /`, `_nodes`).
    public static let version = "3.9.0"
    /// The heartbeat and sync loop of a node sharing its store (`startCluster`).
    private let clusterLoop = Mutex<Task<Void, Never>?>(nil)

    public var node: NodeIdentity { context.node }
    public var cluster: ClusterMembership { context.cluster }
    /// The cluster's id, the same on every node of a shared store.
    public let clusterUUID: String
    public var store: any DocumentStore { context.store }
    public var settings: ClusterSettings { context.settings }
    public var groups: ModelGroupService { context.groups }
    public var tasks: TaskService { context.tasks }

    /// Opens the data dir (SQLite file unless the store is PostgreSQL, node id) and recovers from the last stop.
    public static func open(_ configuration: MLCommonsConfiguration, logger: Logger) async throws -> MLCommons {
        let dataDir = configuration.dataDir
        try DataDirectory.prepare(dataDir)
        let lock = try DataDirLock.acquire(dataDir: dataDir)
        let store: any DocumentStore
        do {
            switch configuration.store {
            case .sqlite:
                store = try await SQLiteDocumentStore.open(
                    path: dataDir.appendingPathComponent("mlcommons.sqlite").path, uniqueFields: Indices.uniqueFields,
                    mappings: Indices.mappings, logger: logger)
            case .postgres(let location):
                store = try await PostgresDocumentStore.open(location, uniqueFields: Indices.uniqueFields, mappings: Indices.mappings, logger: logger)
                logger.info("documents in the PostgreSQL store \(location)")
            }
        } catch {
            lock.release()
            throw error
        }
        var overrides = configuration.settingOverrides
        if let url = configuration.artifactsBaseURL { overrides[MLSettings.prefix + MLSettings.artifactsBaseURL] = .string(url) }
        do {
            // Inside the `do`: a failure after the store opened closes it (an open SQLite connection
            // must not be dropped).
            let node = try NodeIdentity.load(dataDir: dataDir, name: configuration.nodeName)
            let cluster = ClusterMembership(store: store, node: node, shared: configuration.store != .sqlite,
                                            timing: configuration.clusterTiming, roles: configuration.nodeRoles, version: MLCommons.version)
            let context = CoreContext(store: store, settings: ClusterSettings(store: store, startupOverrides: overrides),
                                      node: node, cluster: cluster, dataDir: dataDir, logger: logger)
            let commons = MLCommons(context: context, engine: configuration.engine,
                                    remote: try RemoteRuntime.open(dataDir: dataDir, logger: logger), lock: lock,
                                    clusterUUID: try await cluster.clusterUUID())
            try await commons.recover()
            return commons
        } catch {
            try? await store.close()
            lock.release()
            throw error
        }
    }

    init(context: CoreContext, engine: any InferenceEngine, remote runtime: RemoteRuntime, lock: DataDirLock, clusterUUID: String) {
        self.context = context
        self.clusterUUID = clusterUUID
        self.lock = lock
        let deployed = DeployedModels()
        deployment = Deployment(context: context, engine: engine, deployed: deployed)
        let latencies = LatencyMonitor()
        observability = StatsAndProfile(context: context, stats: stats, deployed: deployed, latencies: latencies)
        prediction = PredictionService(context: context, deployed: deployed, latencies: latencies)
        openAI = OpenAIEmbeddings(context: context, deployed: deployed)
        registration = ModelRegistration(context: context, deployment: deployment, running: RunningJobs())
        chunkedUpload = ChunkedUpload(context: context, registration: registration)
        modelService = ModelService(context: context, deployment: deployment)
        remote = RemoteModels(context: context, deployed: deployed, runtime: runtime)
    }

    /// After a stop (clean or not), in this order; each step is idempotent, so a crash during
    /// recovery is recovered by the next start: roll back interrupted registrations, delete orphan
    /// chunks, fail interrupted tasks, apply the deploy-attempt rules (a crashed load's task gets the
    /// crash as its error), redeploy models.
    private func recover() async throws {
        try? FileManager.default.removeItem(at: context.dataDir.appendingPathComponent("tmp"))
        // Artifacts are rebuilt from the chunks at every deploy; what a stop left is stale.
        try? FileManager.default.removeItem(at: context.dataDir.appendingPathComponent("models"))
        try await registration.rollbackInterrupted()
        try await deleteOrphanChunks()
        let failed = try await context.tasks.failInterrupted(on: context.node.id)
        if !failed.isEmpty { context.logger.warning("marked \(failed.count) task(s) interrupted by the last stop as FAILED") }
        try await deployment.redeployAfterRestart()
        try await remote.deployment.redeployAfterRestart()
    }

    /// Chunks whose model document is gone (left by versions that deleted them one write at a time).
    private func deleteOrphanChunks() async throws {
        let chunks = try await context.store.all(index: Indices.model, query: ModelDocument.isChunk)
        let owners = Set(chunks.compactMap { $0.source["model_id"]?.stringValue })
        for owner in owners where try await context.models.meta(owner) == nil {
            let count = try await context.store.deleteByQuery(index: Indices.model, query: ModelDocument.chunks(of: owner))
            context.logger.warning("deleted \(count) orphan chunk(s) of model \(owner), which no longer exists")
        }
    }

    /// Stops background jobs (waiting at most `jobTimeout` for them), then closes the store and
    /// releases the data dir. Loads still running are recorded as interrupted (retried at the next
    /// start, not counted as crashes); a job that did not end in time is abandoned and the next start
    /// recovers what it left.
    public func close(jobTimeout: Duration = .seconds(10)) async throws {
        if let loop = clusterLoop.withLock({ $0.take() }) {
            loop.cancel()
            await loop.value
            await context.cluster.leave()
        }
        ActiveDownloads.shared.cancelAll(owner: context.downloader.scratchDir)
        if await !context.jobs.stop(timeout: jobTimeout) {
            context.logger.warning("stopping with \(context.jobs.count) register or deploy job(s) still running; the next start recovers them")
        }
        await remote.runtime.client.shutdown()
        try? await deployment.attempts.markInterrupted()
        try await context.store.close()
        lock.release()
    }

    // MARK: - Cluster

    /// Once the server listens: sets the address other nodes reach this node at and, when the store
    /// is shared, beats (writing this node's record) and syncs every heartbeat interval until `close`.
    public func startCluster(publishURL: String) async {
        context.cluster.announce(publishURL: publishURL)
        guard context.cluster.shared else { return }
        let deployment = self.deployment
        let registration = self.registration
        let logger = context.logger
        let interval = context.cluster.timing.heartbeatInterval
        let loop = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            try await deployment.beat()
                        } catch where !(error is CancellationError) {
                            logger.warning("heartbeat failed (retried at the next one): \(error)")
                        } catch {}
                        try? await Task.sleep(for: interval)
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            try await deployment.syncWithCluster(registration: registration)
                        } catch where !(error is CancellationError) {
                            logger.warning("cluster sync failed (retried at the next heartbeat): \(error)")
                        } catch {}
                        try? await Task.sleep(for: interval)
                    }
                }
            }
        }
        clusterLoop.withLock { $0 = loop }
    }

    /// Where a predict of a model goes when this node does not hold it: the live nodes that do, in
    /// a random order (the load spreads); empty when this node answers itself (it holds the model,
    /// the model is remote, or no node holds it and the local answer is the error).
    public func forwardTargets(modelID: String) async throws -> [NodeRecord] {
        guard context.cluster.shared, await !deployment.isDeployed(modelID) else { return [] }
        guard let document = try await context.models.meta(modelID), !RemoteDeployment.isRemote(document) else { return [] }
        let holders = Set(try await ModelPlacements(store: context.store).holders(of: modelID))
        return try await context.cluster.liveNodes().filter { holders.contains($0.id) && $0.id != context.node.id }.shuffled()
    }

    // MARK: - Models

    public func registerModel(_ body: JSON?, deploy: Bool) async throws -> JSON {
        let function = body?["function_name"]?.stringValue?.uppercased() ?? FunctionName.textEmbedding.rawValue
        return try await counted("register", function: function, modelID: nil) {
            if RemoteModels.isRemoteRequest(body) { return try await remote.registration.register(body, deploy: deploy) }
            return try await registration.register(body, deploy: deploy)
        }
    }
    public func registerModelMeta(_ body: JSON?) async throws -> JSON { try await chunkedUpload.registerMeta(body) }
    public func uploadChunk(modelID: String, chunkNumber: String, bytes: [UInt8]) async throws -> JSON {
        try await context.access.checkModel(modelID, .model)
        return try await chunkedUpload.uploadChunk(modelID: modelID, number: chunkNumber, bytes: bytes)
    }
    public func getModel(_ id: String, returnContent: Bool) async throws -> JSON {
        try await context.access.checkModel(id, .model)
        return try await modelService.get(id, returnContent: returnContent)
    }
    public func updateModel(_ id: String, body: JSON?) async throws -> WriteResult {
        try await context.access.checkModel(id, .model)
        return try await modelService.update(id, body: try await remoteUpdateBody(id, body: body))
    }
    public func deleteModel(_ id: String) async throws -> WriteResult {
        try await context.access.checkModel(id, .model)
        return try await modelService.delete(id)
    }
    public func searchModels(_ request: SearchRequest) async throws -> SearchHits { try await modelService.search(request) }

    // MARK: - Deploy

    public func deployModel(_ id: String, body: JSON?) async throws -> JSON {
        try await counted("deploy", function: try? await algorithm(of: id), modelID: id) {
            try await context.access.checkModel(id, .model)
            if let reply = try await deployRemote(id, body: body) { return reply }
            return try await deployment.deploy(id, body: body)
        }
    }

    public func undeployModel(_ id: String, body: JSON?) async throws -> JSON {
        try await counted("undeploy", function: try? await algorithm(of: id), modelID: id) {
            try await context.access.checkModel(id, .model)
            return try await deployment.undeploy(id, body: body)
        }
    }
    /// Every named model is checked before any is undeployed (one refusal undeploys nothing).
    public func undeployModels(body: JSON?) async throws -> JSON {
        for id in body?["model_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] { try await context.access.checkModel(id, .model) }
        return try await deployment.undeployMany(body: body)
    }

    // MARK: - Predict

    /// `algorithm` is the path's function name (it selects the input parser in ML Commons), if any.
    /// `user` is who the request authenticated as (controllers limit per user).
    public func predict(modelID: String, algorithm pathAlgorithm: String?, body: JSON?, user: String? = nil) async throws -> JSON {
        try await counted("predict", function: try? await algorithm(of: modelID), modelID: modelID) {
            if let algorithm = pathAlgorithm, FunctionName(parsing: algorithm) == nil { throw MLError.illegalArgument("Wrong function name") }
            try await context.access.checkModel(modelID, .predict)
            if let user { try await remote.controllers.admit(modelID: modelID, user: user) }
            if let reply = try await predictRemote(modelID: modelID, algorithm: pathAlgorithm, body: body) { return reply }
            return try await prediction.predict(modelID: modelID, algorithm: pathAlgorithm, body: body)
        }
    }

    /// `POST /v1/embeddings` (OpenAI-compatible).
    public func openAIEmbeddings(_ body: JSON?) async throws -> JSON { try await openAI.embed(body) }

    // MARK: - Stats and profile

    public func stats(nodeIDs: [String]?, statNames: [String]?) async throws -> JSON {
        try await observability.stats(nodeIDs: nodeIDs, statNames: statNames)
    }

    public func profile(modelIDs: [String]?, taskIDs: [String]?, nodeIDs: [String]?, includeModels: Bool, includeTasks: Bool,
                        modelView: Bool) async throws -> JSON {
        try await observability.profile(modelIDs: modelIDs, taskIDs: taskIDs, nodeIDs: nodeIDs, includeModels: includeModels,
                                        includeTasks: includeTasks, modelView: modelView)
    }

    private func algorithm(of modelID: String) async throws -> String? {
        try await context.models.meta(modelID)?.source["algorithm"]?.stringValue
    }

    /// Runs an ML request and counts it (and its failure) in the node's stats.
    private func counted<T: Sendable>(_ action: String, function: String?, modelID: String?,
                                      _ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            await stats.record(action: action, function: function, modelID: modelID, failed: false)
            return result
        } catch {
            await stats.record(action: action, function: function, modelID: modelID, failed: true)
            if (error as? MLError)?.type == "circuit_breaking_exception" { await stats.recordCircuitBreakerTrip() }
            throw error
        }
    }

    // MARK: - Search of the other indices

    /// Model groups and connectors are searched with the caller's visibility filter.
    public func search(index: String, _ request: SearchRequest) async throws -> SearchHits {
        switch index {
        case Indices.modelGroup: try await groups.search(request)
        case Indices.connector: try await searchConnectors(request)
        default: try await context.store.search(index: index, request: request)
        }
    }
}
