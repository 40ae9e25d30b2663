import Foundation
@testable import Inference
import Testing

@Suite struct WeightFileTests {
    /// A safetensors file from raw parts.
    static func safetensors(_ header: String, _ payload: [UInt8]) throws -> URL {
        var file = Data(withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Data($0) })
        file.append(Data(header.utf8))
        file.append(contentsOf: payload)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("weights-\(UUID().uuidString).safetensors")
        try file.write(to: url)
        return url
    }

    @Test func halfAndBFloat16WeightsAreWidened() throws {
        // F16: 1.0 = 0x3C00, -2.0 = 0xC000; BF16: 1.0 = 0x3F80, 0.5 = 0x3F00; F32: 3.0 = 0x40400000.
        let url = try Self.safetensors(
            #"{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"f":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"i":{"dtype":"I64","shape":[1],"data_offsets":[12,20]}}"#,
            [0x00, 0x3C, 0x00, 0xC0, 0x80, 0x3F, 0x00, 0x3F, 0x00, 0x00, 0x40, 0x40] + [UInt8](repeating: 0, count: 8))
        defer { try? FileManager.default.removeItem(at: url) }
        let tensors = try Safetensors.read(url)
        #expect(tensors["h"]?.values == [1, -2])
        #expect(tensors["b"]?.values == [1, 0.5])
        #expect(tensors["f"]?.values == [3])
        #expect(tensors["i"] == nil)  // integer buffers are not weights
    }

    @Test func truncatedAndMalformedFilesAreErrors() throws {
        let truncated = try Self.safetensors(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, [0, 0, 0, 0])
        defer { try? FileManager.default.removeItem(at: truncated) }
        #expect(throws: WeightError.self) { try Safetensors.read(truncated) }
        let unknownType = try Self.safetensors(#"{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, [0])
        defer { try? FileManager.default.removeItem(at: unknownType) }
        #expect(throws: WeightError.self) { try Safetensors.read(unknownType) }
        let notJSON = try Self.safetensors("{oops", [])
        defer { try? FileManager.default.removeItem(at: notJSON) }
        #expect(throws: WeightError.self) { try Safetensors.read(notJSON) }
    }
}
