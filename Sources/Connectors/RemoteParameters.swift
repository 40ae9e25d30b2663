import OrderedJSON

/// The parameters of one remote call (§6.4 steps 1-2): the connector's own parameters, then what
/// the pre-process function produced, then the request's parameters, which win.
public struct RemoteParameters: Sendable {
    private(set) var connectorValues: [String: String]
    private(set) var dataValues: [String: JSON]
    /// Keys whose value came from the request (and not from pre-processing): their placeholders are filled once.
    private var requestKeys: Set<String> = []

    public init(connector: ConnectorDefinition, preProcessed: JSONObject = [:], request: JSONObject = [:]) {
        connectorValues = [:]
        for (key, value) in connector.parameters { connectorValues[key] = value.parameterText }
        dataValues = [:]
        for (key, value) in preProcessed { dataValues[key] = value }
        for (key, value) in request { dataValues[key] = value }
        requestKeys = Set(request.keys)
    }

    /// A parameter's string form, whoever supplied it.
    public subscript(key: String) -> String? { dataValues[key]?.parameterText ?? connectorValues[key] }

    public func flag(_ key: String) -> Bool { self[key]?.lowercased() == "true" }

    var templateValues: [String: TemplateRenderer.Value] {
        var values = connectorValues.mapValues(TemplateRenderer.Value.template)
        for (key, value) in dataValues { values[key] = requestKeys.contains(key) ? .request(value) : .data(value) }
        return values
    }

    /// `no_escape_params` counts only when the connector sets it: letting a request choose which
    /// of its own values skip escaping would let it rewrite the body.
    var verbatimKeys: Set<String> {
        Set((connectorValues["no_escape_params"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }
}
