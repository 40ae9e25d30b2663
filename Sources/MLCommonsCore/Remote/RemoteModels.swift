import Connectors
import OrderedJSON
import Storage

/// Everything about remote models, connectors and controllers, over the shared context.
struct RemoteModels: Sendable {
    let runtime: RemoteRuntime
    let connectors: ConnectorService
    let deployment: RemoteDeployment
    let registration: RemoteRegistration
    let prediction: RemotePrediction
    let controllers: ControllerService
    let documents: DocumentService

    init(context: CoreContext, deployed: DeployedModels, runtime: RemoteRuntime) {
        self.runtime = runtime
        connectors = ConnectorService(context: context, runtime: runtime, deployed: deployed)
        deployment = RemoteDeployment(context: context, deployed: deployed)
        registration = RemoteRegistration(context: context, connectors: connectors, deployment: deployment)
        prediction = RemotePrediction(context: context, runtime: runtime, connectors: connectors, deployment: deployment)
        controllers = ControllerService(context: context, limiter: runtime.limiter)
        documents = DocumentService(store: context.store)
    }

    static func isRemoteRequest(_ body: JSON?) -> Bool {
        body?["function_name"]?.stringValue?.uppercased() == FunctionName.remote.rawValue
    }
}
