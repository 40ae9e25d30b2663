import Foundation
import OrderedJSON

/// One `ModelTensor` of a predict response, serialized in ML Commons' field order with null fields left out.
struct ModelTensor {
    var name: String?
    var dataType: String?
    var shape: [Int]?
    var data: [JSON]?
    var byteBuffer: [UInt8]?
    var result: String?
    var dataAsMap: JSON?

    var json: JSON {
        var object = JSONObject()
        if let name { object["name"] = .string(name) }
        if let dataType { object["data_type"] = .string(dataType) }
        if let shape { object["shape"] = .array(shape.map { .int(Int64($0)) }) }
        if let data { object["data"] = .array(data) }
        if let byteBuffer { object["byte_buffer"] = ["array": .string(Data(byteBuffer).base64EncodedString()), "order": "LITTLE_ENDIAN"] }
        if let result { object["result"] = .string(result) }
        if let dataAsMap { object["dataAsMap"] = dataAsMap }
        return .object(object)
    }

    /// Java prints floats with the shortest text that reads back as the same float32.
    static func number(_ value: Float) -> JSON { value.isFinite ? .double(Double("\(value)") ?? Double(value)) : .null }

    static func float32Tensor(_ name: String, shape: [Int], values: [Float], withBytes: Bool, withNumbers: Bool = true) -> ModelTensor {
        var bytes: [UInt8]?
        if withBytes {
            bytes = values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        }
        return ModelTensor(name: name, dataType: "FLOAT32", shape: shape, data: withNumbers ? values.map(number) : nil, byteBuffer: bytes)
    }

    static func int64Tensor(_ name: String, values: [Int32], withBytes: Bool, withNumbers: Bool = true) -> ModelTensor {
        var bytes: [UInt8]?
        if withBytes { bytes = values.flatMap { value in withUnsafeBytes(of: Int64(value).littleEndian) { Array($0) } } }
        return ModelTensor(name: name, dataType: "INT64", shape: [values.count], data: withNumbers ? values.map { .int(Int64($0)) } : nil, byteBuffer: bytes)
    }
}
