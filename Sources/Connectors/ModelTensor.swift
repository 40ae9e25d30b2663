import OrderedJSON

/// One tensor of an ML Commons prediction (§5.2); absent fields are omitted from the JSON.
public struct ModelTensor: Sendable, Equatable {
    public var name: String
    public var dataType: String?
    public var shape: [Int]?
    public var data: [JSON]?
    public var result: String?
    public var dataAsMap: JSONObject?

    public init(name: String, dataType: String? = nil, shape: [Int]? = nil, data: [JSON]? = nil,
                result: String? = nil, dataAsMap: JSONObject? = nil) {
        self.name = name
        self.dataType = dataType
        self.shape = shape
        self.data = data
        self.result = result
        self.dataAsMap = dataAsMap
    }

    public var json: JSON {
        var object: JSONObject = ["name": .string(name)]
        if let dataType { object["data_type"] = .string(dataType) }
        if let shape { object["shape"] = .array(shape.map { JSON($0) }) }
        if let data { object["data"] = .array(data) }
        if let result { object["result"] = .string(result) }
        if let dataAsMap { object["dataAsMap"] = .object(dataAsMap) }
        return .object(object)
    }
}

/// One `inference_results` element: the tensors of one remote call and its HTTP status.
public struct ModelTensors: Sendable, Equatable {
    public var output: [ModelTensor]
    public var statusCode: Int?

    public init(output: [ModelTensor], statusCode: Int? = nil) {
        self.output = output
        self.statusCode = statusCode
    }

    public var json: JSON {
        var object: JSONObject = [:]
        if !output.isEmpty { object["output"] = .array(output.map(\.json)) }
        if let statusCode { object["status_code"] = JSON(statusCode) }
        return .object(object)
    }
}

/// The predict response body, `{"inference_results": [...]}`.
public struct ModelTensorOutput: Sendable, Equatable {
    public var inferenceResults: [ModelTensors]

    public init(inferenceResults: [ModelTensors]) { self.inferenceResults = inferenceResults }

    public var json: JSON { ["inference_results": .array(inferenceResults.map(\.json))] }
}
