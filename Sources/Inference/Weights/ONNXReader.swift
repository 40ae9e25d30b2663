import Foundation

/// The parts of an ONNX model the engine uses: initializers, nodes and graph outputs.
struct ONNXGraph {
    struct Node {
        let opType: String
        let inputs: [String]
        let outputs: [String]
        /// The `value` tensor of a Constant node; float or integer scalars of other attributes.
        let tensor: Tensor?
        let floatAttributes: [String: Float]
    }

    struct Output {
        let name: String
        let elementType: Int
        let rank: Int
    }

    let initializers: [String: Tensor]
    let nodes: [Node]
    let outputs: [Output]
    let inputNames: [String]
    /// Indexes of the nodes by the values they produce and consume, built once so every lookup
    /// is constant time (a graph of 100k nodes must not cost 100k² scans).
    private let producers: [String: Int]
    private let consumerIndexes: [String: [Int]]
    private let opTypes: Set<String>

    init(initializers: [String: Tensor], nodes: [Node], outputs: [Output], inputNames: [String]) {
        self.initializers = initializers
        self.nodes = nodes
        self.outputs = outputs
        self.inputNames = inputNames
        var producers: [String: Int] = [:], consumerIndexes: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for output in node.outputs where producers[output] == nil { producers[output] = index }
            for input in Set(node.inputs) { consumerIndexes[input, default: []].append(index) }
        }
        self.producers = producers
        self.consumerIndexes = consumerIndexes
        opTypes = Set(nodes.map(\.opType))
    }

    /// The node producing a value, and the nodes consuming it.
    func producer(of value: String) -> Node? { producers[value].map { nodes[$0] } }
    func consumers(of value: String) -> [Node] { (consumerIndexes[value] ?? []).map { nodes[$0] } }
    func has(_ opType: String) -> Bool { opTypes.contains(opType) }

    /// A scalar constant (initializer or Constant node output).
    func scalar(_ name: String) -> Float? {
        if let tensor = initializers[name], tensor.count == 1 { return tensor.values[0] }
        if let node = producer(of: name), node.opType == "Constant", let tensor = node.tensor, tensor.count == 1 { return tensor.values[0] }
        return nil
    }
}

/// Reads `.onnx` files (protobuf `ModelProto`), with initializers in raw or typed fields and
/// external data files beside the model.
enum ONNXReader {
    static let floatType = 1

    /// - Parameter externalData: the bytes of an external data file named by an initializer
    ///   (`location`, relative to the model file), or nil when there is none.
    static func read(_ data: Data, externalData readExternal: (String) throws -> Data? = { _ in nil }) throws -> ONNXGraph {
        let bytes = [UInt8](data)
        var model = ProtoReader(bytes[...])
        var graphBytes: ArraySlice<UInt8>?
        while let (field, value) = try model.next() {
            if field == 7 { graphBytes = value.message }
        }
        guard let graphBytes else { throw WeightError("the ONNX file has no graph (is it an ONNX model?)") }
        // Each external file is read once (many initializers share one), and what the tensors decode
        // is bounded by the bytes of the model and its external files.
        var budget = AllocationBudget(fileBytes: data.count)
        var externalFiles: [String: Data] = [:]
        let externalData = { (location: String) throws -> Data? in
            if let known = externalFiles[location] { return known }
            guard let file = try readExternal(location) else { return nil }
            externalFiles[location] = file
            budget.allow(fileBytes: file.count)
            return file
        }

        var initializers: [String: Tensor] = [:]
        var nodes: [ONNXGraph.Node] = []
        var outputs: [ONNXGraph.Output] = []
        var inputs: [String] = []
        var graph = ProtoReader(graphBytes)
        while let (field, value) = try graph.next() {
            guard let message = value.message else { continue }
            switch field {
            case 1:
                let node = try node(message, externalData: externalData)
                try budget.take(node.tensor?.count ?? 0, for: "of node \(node.opType)")
                nodes.append(node)
            case 5:
                guard initializers.count < ArtifactLimits.maxTensors else { throw WeightError("the ONNX graph has more than \(ArtifactLimits.maxTensors) initializers") }
                let (name, tensor) = try self.tensor(message, externalData: externalData)
                if let tensor {
                    try budget.take(tensor.count, for: name)
                    initializers[name] = tensor
                }
            case 11: inputs.append(try valueInfo(message).name)
            case 12: outputs.append(try valueInfo(message))
            default: continue
            }
        }
        return ONNXGraph(initializers: initializers, nodes: nodes, outputs: outputs, inputNames: inputs)
    }

    private static func node(_ bytes: ArraySlice<UInt8>, externalData: (String) throws -> Data?) throws -> ONNXGraph.Node {
        var reader = ProtoReader(bytes)
        var inputs: [String] = [], outputs: [String] = [], opType = ""
        var tensor: Tensor?
        var floats: [String: Float] = [:]
        while let (field, value) = try reader.next() {
            switch field {
            case 1: inputs.append(value.string ?? "")
            case 2: outputs.append(value.string ?? "")
            case 4: opType = value.string ?? ""
            case 5:
                guard let attribute = value.message else { continue }
                var attributeReader = ProtoReader(attribute)
                var name = ""
                while let (attributeField, attributeValue) = try attributeReader.next() {
                    switch attributeField {
                    case 1: name = attributeValue.string ?? ""
                    case 2: if case .fixed32(let bits) = attributeValue { floats[name] = Float(bitPattern: bits) }
                    case 3: if let integer = attributeValue.integer { floats[name] = Float(integer) }
                    case 5:
                        // Constants the engine never reads may use types it does not decode; skip those.
                        if let message = attributeValue.message { tensor = (try? self.tensor(message, externalData: externalData))?.1 }
                    default: continue
                    }
                }
            default: continue
            }
        }
        return ONNXGraph.Node(opType: opType, inputs: inputs, outputs: outputs, tensor: tensor, floatAttributes: floats)
    }

    private static func valueInfo(_ bytes: ArraySlice<UInt8>) throws -> ONNXGraph.Output {
        var reader = ProtoReader(bytes)
        var name = "", elementType = 0, rank = 0
        while let (field, value) = try reader.next() {
            if field == 1 { name = value.string ?? "" }
            guard field == 2, let type = value.message else { continue }
            var typeReader = ProtoReader(type)
            while let (typeField, typeValue) = try typeReader.next() {
                guard typeField == 1, let tensorType = typeValue.message else { continue }
                var tensorReader = ProtoReader(tensorType)
                while let (tensorField, tensorValue) = try tensorReader.next() {
                    if tensorField == 1 { elementType = Int(tensorValue.integer ?? 0) }
                    if tensorField == 2, let shape = tensorValue.message {
                        var shapeReader = ProtoReader(shape)
                        while let (dimField, _) = try shapeReader.next() {
                            if dimField == 1 { rank += 1 }
                        }
                    }
                }
            }
        }
        return ONNXGraph.Output(name: name, elementType: elementType, rank: rank)
    }

    /// A TensorProto as float32 (integer tensors widened too, for constants); nil for other types.
    private static func tensor(_ bytes: ArraySlice<UInt8>, externalData: (String) throws -> Data?) throws -> (String, Tensor?) {
        var reader = ProtoReader(bytes)
        var dims: [Int] = [], dataType = 0, name = ""
        var raw: ArraySlice<UInt8>?
        var floatData: [Float] = [], int64Data: [Int64] = [], int32Data: [Int64] = []
        var external: [String: String] = [:]
        while let (field, value) = try reader.next() {
            switch field {
            case 1:
                dims += try value.integers().map(Int.init)
                guard dims.count <= ArtifactLimits.maxTensorRank else { throw WeightError("tensor \(name) has more than \(ArtifactLimits.maxTensorRank) dimensions") }
            case 2: dataType = Int(value.integer ?? 0)
            case 4: floatData += value.floats()
            case 5: int32Data += try value.integers()
            case 7: int64Data += try value.integers()
            case 8: name = value.string ?? ""
            case 9: raw = value.message
            case 13:
                guard let entry = value.message else { continue }
                var entryReader = ProtoReader(entry)
                var key = "", text = ""
                while let (entryField, entryValue) = try entryReader.next() {
                    if entryField == 1 { key = entryValue.string ?? "" } else if entryField == 2 { text = entryValue.string ?? "" }
                }
                external[key] = text
            default: continue
            }
        }
        let count = try Shape.count(dims, name: name)
        if let location = external["location"] {
            guard let data = try externalData(location) else {
                throw WeightError("initializer \(name) refers to external data \(location), which is missing")
            }
            guard let offset = Int(external["offset"] ?? "0"), offset >= 0, offset <= data.count,
                  let length = Int(external["length"] ?? String(data.count - offset)), length >= 0, length <= data.count - offset else {
                throw WeightError("external data of \(name) (offset \(external["offset"] ?? "0"), length \(external["length"] ?? "-")) lies outside \(location)'s \(data.count) bytes")
            }
            raw = ArraySlice([UInt8](data[(data.startIndex + offset)..<(data.startIndex + offset + length)]))
        }
        // Integer tensors are read 8 or 4 bytes at a time: the bytes must be exactly the shape's.
        if let raw, dataType == 7 || dataType == 6, raw.count != count * (dataType == 7 ? 8 : 4) {
            throw WeightError("initializer \(name) holds \(raw.count) bytes for shape \(dims)")
        }
        let values: [Float]
        switch dataType {
        case 1, 10, 16:
            if let raw {
                values = try FloatDecoding.decode(Data(raw), dtype: dataType == 1 ? "F32" : (dataType == 10 ? "F16" : "BF16"), count: count, name: name)
            } else if dataType == 1 {
                values = floatData
            } else {
                values = int32Data.map { dataType == 10 ? Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0))) : Float(bitPattern: UInt32(truncatingIfNeeded: $0) << 16) }
            }
        case 7:
            if let raw {
                values = stride(from: raw.startIndex, to: raw.endIndex, by: 8).map { start in
                    Float(Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(raw[start + $1]) << (8 * UInt64($1)) }))
                }
            } else {
                values = int64Data.map(Float.init)
            }
        case 6:
            if let raw {
                values = stride(from: raw.startIndex, to: raw.endIndex, by: 4).map { start in
                    Float(Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(raw[start + $1]) << (8 * UInt32($1)) }))
                }
            } else {
                values = int32Data.map(Float.init)
            }
        default: return (name, nil)
        }
        guard values.count == count else {
            throw WeightError("initializer \(name) holds \(values.count) values for shape \(dims)")
        }
        return (name, Tensor(shape: dims, values: values))
    }
}
