import Foundation
@testable import Inference
import OrderedJSON
import Testing

/// Hostile model files: each must be refused with an error that says what is wrong, never trap,
/// hang, read outside the file or allocate without bound (issue 11). Inputs are built in code.
@Suite struct HostileArtifactTests {
    typealias P = HostileFiles.Pickle

    static func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch let error as WeightError { return error.message } catch let error as TokenizerError { return error.message } catch {
            return "\(error)"
        }
        return nil
    }

    // MARK: zip container

    @Test func zipFieldsThatCannotFitTheFileAreRefused() throws {
        let good = HostileFiles.zip([("a.txt", Array("hello".utf8))])
        #expect(try ZipDirectory(ByteRegion(copying: Data(good))).contents("a.txt")?.data == Data("hello".utf8))
        let end = good.count - 22
        // An entry count of 65535 with a one-entry directory.
        var count = good
        count.replaceSubrange((end + 10)..<(end + 12), with: [0xFF, 0xFF])
        #expect(Self.message { _ = try ZipDirectory(ByteRegion(copying: Data(count))) }?.contains("entries") == true)
        // A directory offset past the end of the file.
        var offset = good
        offset.replaceSubrange((end + 16)..<(end + 20), with: HostileFiles.le(0xFFFF_FFF0, 4))
        #expect(Self.message { _ = try ZipDirectory(ByteRegion(copying: Data(offset))) }?.contains("truncated") == true)
        // A local header offset pointing past the file, and a size past it.
        let centralStart = good.count - 22 - (46 + 5)
        var header = good
        header.replaceSubrange((centralStart + 42)..<(centralStart + 46), with: HostileFiles.le(0x7FFF_FFFF, 4))
        #expect(Self.message { _ = try ZipDirectory(ByteRegion(copying: Data(header))).contents("a.txt") }?.contains("local header") == true)
        var size = good
        size.replaceSubrange((centralStart + 20)..<(centralStart + 28), with: HostileFiles.le(0xFFFF_FFFE, 4) + HostileFiles.le(0xFFFF_FFFE, 4))
        #expect(Self.message { _ = try ZipDirectory(ByteRegion(copying: Data(size))).contents("a.txt") }?.contains("past the end") == true)
    }

    @Test func zip64LocatorWithANegativeOffsetIsRefused() throws {
        let good = HostileFiles.zip([("a.txt", Array("hello".utf8))])
        // A zip64 locator before the end record, its record offset 2⁶³ (negative as an Int).
        let locator = HostileFiles.le(0x0706_4B50, 4) + HostileFiles.le(0, 4) + HostileFiles.le(1 << 63, 8) + HostileFiles.le(1, 4)
        let bytes = Array(good[..<(good.count - 22)]) + locator + Array(good[(good.count - 22)...])
        let message = Self.message { _ = try ZipDirectory(ByteRegion(copying: Data(bytes))) }
        #expect(message?.contains("zip64 end record offset") == true)
        // The same locator pointing inside the file at a record claiming 2⁶³ entries.
        let record = HostileFiles.le(0x0606_4B50, 4) + HostileFiles.le(44, 8) + [UInt8](repeating: 0, count: 20) + HostileFiles.le(1 << 63, 8)
            + HostileFiles.le(0, 8) + HostileFiles.le(0, 8)
        let recordOffset = UInt64(good.count - 22)
        let withRecord = Array(good[..<(good.count - 22)]) + record + HostileFiles.le(0x0706_4B50, 4) + HostileFiles.le(0, 4)
            + HostileFiles.le(recordOffset, 8) + HostileFiles.le(1, 4) + Array(good[(good.count - 22)...])
        #expect(Self.message { _ = try ZipDirectory(ByteRegion(copying: Data(withRecord))) }?.contains("zip64 entry count") == true)
    }

    @Test func zipBombIsRefusedBeforeItsMemoryIsAllocated() throws {
        // 256 KB of deflate data claiming 556 MB: more than DEFLATE's 1032:1 can produce.
        let region = ByteRegion(copying: Data(repeating: 0, count: 256 << 10))
        let message = Self.message { _ = try region.inflated(size: 556 << 20) }
        #expect(message?.contains("zip bomb") == true)
        // An entry that inflates to more than it declares stops at the declared size.
        let stream = HostileFiles.deflateStored(Array(repeating: 7, count: 2_000))
        let zip = HostileFiles.zip([("big", stream)], declaredSizes: ["big": 1_000], methods: ["big": 8])
        #expect(Self.message { _ = try ZipDirectory(ByteRegion(copying: Data(zip))).contents("big") }?.contains("more than its declared") == true)
        // And an honest one inflates.
        let honest = HostileFiles.zip([("ok", stream)], declaredSizes: ["ok": 2_000], methods: ["ok": 8])
        #expect(try ZipDirectory(ByteRegion(copying: Data(honest))).contents("ok")?.count == 2_000)
    }

    @Test func byteRegionSlicesCannotOverflow() throws {
        let region = ByteRegion(copying: Data(count: 16))
        #expect(throws: WeightError.self) { try region.slice(Int.max, 1) }
        #expect(throws: WeightError.self) { try region.slice(8, Int.max) }
        #expect(throws: WeightError.self) { try region.slice(-1, 1) }
        #expect(throws: WeightError.self) { try region.u64(12, atMost: .max, "field") }
        #expect(try region.slice(16, 0).count == 0)
    }

    // MARK: pickles

    @Test func deepPickleIsRefusedWithoutOverflowingTheStack() throws {
        let depth = 100_000
        let bytes = P.proto + [UInt8](repeating: UInt8(ascii: "]"), count: depth) + [UInt8](repeating: UInt8(ascii: "a"), count: depth - 1) + P.stop
        var unpickler = Unpickler(Data(bytes))
        let message = Self.message { _ = try unpickler.load() }
        #expect(message?.contains("nests deeper than \(ArtifactLimits.maxPickleDepth)") == true)
        // Tuples built from marks nest the same way.
        let tuples = P.proto + [UInt8](repeating: UInt8(ascii: "("), count: depth) + [UInt8](repeating: UInt8(ascii: "t"), count: depth) + P.stop
        var second = Unpickler(Data(tuples))
        #expect(Self.message { _ = try second.load() }?.contains("nests deeper") == true)
    }

    @Test func pickleDAGWithExponentiallyManyPathsIsRefusedInLinearWork() throws {
        // d0 = {}; d(i) = {"a": d(i-1), "b": d(i-1)}: 41 dicts, 2⁴⁰ paths from the root.
        var bytes = P.proto + [UInt8(ascii: "}")] + P.memoPut(0)
        for i in 1...40 {
            bytes += P.dict([("a", P.memoGet(UInt32(i - 1))), ("b", P.memoGet(UInt32(i - 1)))]) + P.memoPut(UInt32(i))
        }
        bytes += P.stop
        let message = Self.message { _ = try TorchScriptReader.read(HostileFiles.torchScript(pickle: bytes)) }
        #expect(message?.contains("repeats shared parts") == true)
    }

    @Test func longPickledListsGrowInLinearTime() throws {
        // 200k APPENDs onto one list: quadratic copying would take minutes.
        let count = 200_000
        let bytes = P.proto + [UInt8(ascii: "]")] + (0..<count).flatMap { _ in [UInt8(ascii: "N"), UInt8(ascii: "a")] } + P.stop
        var unpickler = Unpickler(Data(bytes))
        #expect(try unpickler.load().items?.count == count)
    }

    @Test func tensorViewsOutsideTheirStorageAreRefused() throws {
        func read(offset: Int64, sizes: [Int64], strides: [Int64], count: Int64 = 4) -> String? {
            let pickle = P.proto + P.dict([("w", P.tensor(key: "0", count: count, offset: offset, sizes: sizes, strides: strides))]) + P.stop
            return Self.message { _ = try TorchScriptReader.read(HostileFiles.torchScript(pickle: pickle, storages: ["0": [UInt8](repeating: 0, count: 16)])) }
        }
        #expect(read(offset: 0, sizes: [2, 2], strides: [2, 1]) == nil)
        #expect(read(offset: Int64.max, sizes: [2], strides: [1])?.contains("past the end of its storage") == true)
        #expect(read(offset: -1, sizes: [2], strides: [1])?.contains("negative") == true)
        #expect(read(offset: 0, sizes: [1 << 40, 1 << 40], strides: [1, 1])?.contains("impossible shape") == true)
        #expect(read(offset: 0, sizes: [2, 2], strides: [Int64.max, 1])?.contains("past the end") == true)
        #expect(read(offset: 0, sizes: [2], strides: [-1])?.contains("negative") == true)
        // A storage claiming more values than its record holds, or a negative count.
        #expect(read(offset: 0, sizes: [2], strides: [1], count: Int64.max / 2)?.contains("truncated") == true)
        #expect(read(offset: 0, sizes: [2], strides: [1], count: -4)?.contains("truncated") == true)
        // A broadcast view (stride 0) may not hold more elements than its storage.
        #expect(read(offset: 0, sizes: [1 << 15, 1 << 15], strides: [0, 0])?.contains("its storage only") == true)
    }

    // MARK: ONNX protobuf

    @Test func protobufLengthsBeyondTheMessageAreRefused() throws {
        let huge = HostileFiles.Proto.varint(7 << 3 | 2) + HostileFiles.Proto.varint(1 << 63)
        #expect(Self.message { _ = try ONNXReader.read(Data(huge)) }?.contains("more than the message holds") == true)
        let tooLong = HostileFiles.Proto.varint(7 << 3 | 2) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]
        #expect(throws: WeightError.self) { try ONNXReader.read(Data(tooLong)) }
    }

    @Test func onnxTensorDataMustMatchItsShape() throws {
        typealias Proto = HostileFiles.Proto
        func read(_ tensor: [UInt8], external: Data? = nil) -> String? {
            Self.message { _ = try ONNXReader.read(Proto.model(graph: Proto.bytes(5, tensor)), externalData: { _ in external }) }
        }
        #expect(read(Proto.tensor(name: "w", dims: [2], raw: [UInt8](repeating: 0, count: 8))) == nil)
        #expect(read(Proto.tensor(name: "w", dims: [4], raw: [UInt8](repeating: 0, count: 8)))?.contains("8 bytes for 4") == true)
        // int64 data of a length that is not a whole number of values.
        #expect(read(Proto.tensor(name: "i", dims: [1], raw: [UInt8](repeating: 0, count: 7), type: 7))?.contains("7 bytes") == true)
        #expect(read(Proto.tensor(name: "w", dims: [-1, 2], raw: []))?.contains("negative") == true)
        #expect(read(Proto.tensor(name: "w", dims: [Int64.max, 2], raw: []))?.contains("impossible") == true)
        let external = Data(count: 16)
        #expect(read(Proto.tensor(name: "w", dims: [2], raw: [], external: [("location", "d"), ("offset", "9223372036854775807"), ("length", "8")]),
                     external: external)?.contains("outside") == true)
        #expect(read(Proto.tensor(name: "w", dims: [2], raw: [], external: [("location", "d"), ("offset", "8"), ("length", "9223372036854775807")]),
                     external: external)?.contains("outside") == true)
        #expect(read(Proto.tensor(name: "w", dims: [2], raw: [], external: [("location", "d"), ("offset", "8"), ("length", "8")]), external: external) == nil)
    }

    @Test func onnxGraphOf100kNodesIsReadInLinearTime() throws {
        typealias Proto = HostileFiles.Proto
        // A chain of 100k Softmax nodes: looking each producer up by scanning the nodes is 10¹⁰ steps.
        var graph: [UInt8] = []
        for i in 0..<100_000 {
            graph += Proto.bytes(1, Proto.string(1, "v\(i)") + Proto.string(2, "v\(i + 1)") + Proto.string(4, "Softmax"))
        }
        graph += Proto.bytes(12, Proto.string(1, "v100000"))
        let parsed = try ONNXReader.read(Proto.model(graph: graph))
        #expect(parsed.nodes.count == 100_000)
        #expect(parsed.producer(of: "v100000")?.inputs == ["v99999"])
        #expect(parsed.consumers(of: "v0").count == 1)
        let message = Self.message { _ = try ONNXEncoderGraph(parsed).config(given: nil) }
        #expect(message?.contains("rank 3") == true || message?.contains("no known encoder") == true)
    }

    // MARK: safetensors

    @Test func safetensorsOffsetsOutsideTheDataAreRefused() throws {
        func read(_ entry: String, payload: Int = 16) throws -> String? {
            let url = try WeightFileTests.safetensors(#"{"w":\#(entry)}"#, [UInt8](repeating: 0, count: payload))
            defer { try? FileManager.default.removeItem(at: url) }
            return Self.message { _ = try Safetensors.read(url) }
        }
        #expect(try read(#"{"dtype":"F32","shape":[4],"data_offsets":[0,16]}"#) == nil)
        #expect(try read(#"{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}"#)?.contains("outside") == true)
        #expect(try read(#"{"dtype":"F32","shape":[2],"data_offsets":[0,9223372036854775807]}"#)?.contains("outside") == true)
        #expect(try read(#"{"dtype":"F32","shape":[2],"data_offsets":[8,0]}"#)?.contains("outside") == true)
        #expect(try read(#"{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}"#)?.contains("impossible") == true)
        #expect(try read(#"{"dtype":"F32","shape":[2, "x"],"data_offsets":[0,8]}"#)?.contains("malformed") == true)
        #expect(try read(#"{"dtype":"F16","shape":[3],"data_offsets":[0,8]}"#)?.contains("8 bytes for 3") == true)
        // A header length beyond the file.
        let file = HostileFiles.le(UInt64.max, 8) + Array("{}".utf8)
        let url = try HostileFiles.write(file, name: "w.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(Self.message { _ = try Safetensors.read(url) }?.contains("exceeds the file") == true)
    }

    // MARK: config.json

    @Test func encoderConfigsOutOfRangeAreRefused() throws {
        let base: JSONObject = ["model_type": "bert", "hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 64]
        func error(_ key: String, _ value: JSON) -> String? {
            var config = base
            config[key] = value
            return Self.message { _ = try EncoderConfig(json: .object(config)) }
        }
        #expect(Self.message { _ = try EncoderConfig(json: .object(base)) } == nil)
        #expect(error("num_attention_heads", -4)?.contains("num_attention_heads") == true)
        #expect(error("num_attention_heads", 0)?.contains("num_attention_heads") == true)
        #expect(error("num_attention_heads", 5)?.contains("not a multiple") == true)
        #expect(error("num_hidden_layers", 100_000)?.contains("num_hidden_layers") == true)
        // Found by fuzz-artifacts on the old reader: -1 layers trapped on `0..<-1`, 2³¹ layers tried to allocate 206 GB,
        // Int64.min positions overflowed.
        #expect(error("num_hidden_layers", -1)?.contains("num_hidden_layers") == true)
        #expect(error("num_hidden_layers", .int(1 << 31))?.contains("num_hidden_layers") == true)
        #expect(error("max_position_embeddings", .int(Int64.min))?.contains("max_position_embeddings") == true)
        #expect(error("hidden_size", .int(Int64.max))?.contains("hidden_size") == true)
        #expect(error("intermediate_size", -1)?.contains("intermediate_size") == true)
        #expect(error("max_position_embeddings", .int(1 << 40))?.contains("max_position_embeddings") == true)
        #expect(error("pad_token_id", .int(1 << 40))?.contains("pad_token_id") == true)
        #expect(error("layer_norm_eps", .double(.nan))?.contains("layer_norm_eps") == true)
        #expect(error("relative_attention_num_buckets", 1)?.contains("relative_attention_num_buckets") == true)
        #expect(error("num_attention_heads", "four")?.contains("num_attention_heads") == true)
    }

    /// `all_config` of a fixture's registration body.
    static func allConfig(_ name: String) throws -> JSON {
        try JSON.parse(JSON.parse(Data(contentsOf: Fixtures.url(name)))["model_config"]!["all_config"]!.stringValue!)
    }

    @Test func negativeHeadCountInAllConfigIsRefusedAtLoad() throws {
        let zip = try Fixtures.url("architectures/bert/bert-torch_script.zip")
        guard case .object(var config) = try Self.allConfig("architectures/bert/config.json") else { Issue.record("no config"); return }
        let hidden = try #require(config["hidden_size"]?.intValue)
        config["num_attention_heads"] = -12
        let options = ModelOptions(encoderConfig: .object(config))
        let load = #expect(throws: InferenceError.self) { _ = try NativeEngine().load(artifact: zip, format: .torchScript, functionName: "TEXT_EMBEDDING", options: options) }
        #expect(load?.message.contains("num_attention_heads") == true)
        let validation = #expect(throws: InferenceError.self) {
            try NativeEngine.validateArtifact(zip: zip, format: .torchScript, functionName: "TEXT_EMBEDDING", options: options)
        }
        #expect(validation?.message.contains("num_attention_heads") == true)
        // A config whose sizes disagree with the weights fails on the weight's shape, before any kernel runs.
        config["num_attention_heads"] = 1
        config["hidden_size"] = .int(hidden * 2)
        let shape = #expect(throws: InferenceError.self) {
            try NativeEngine.validateArtifact(zip: zip, format: .torchScript, functionName: "TEXT_EMBEDDING", options: ModelOptions(encoderConfig: .object(config)))
        }
        #expect(shape?.message.contains("has shape") == true)
    }

    @Test func validateArtifactAcceptsEveryFixture() throws {
        for family in ["bert", "distilbert", "roberta", "mpnet", "xlm-roberta"] {
            try NativeEngine.validateArtifact(zip: Fixtures.url("architectures/\(family)/\(family)-torch_script.zip"), format: .torchScript,
                                              functionName: "TEXT_EMBEDDING", options: ModelOptions(encoderConfig: Self.allConfig("architectures/\(family)/config.json")))
        }
        for name in ["legacy-onnx", "legacy-onnx-external"] {
            try NativeEngine.validateArtifact(zip: Fixtures.url("onnx/\(name).zip"), format: .onnx, functionName: "TEXT_EMBEDDING", options: ModelOptions())
        }
        for family in ["distilbert", "roberta", "xlm-roberta", "mpnet"] {
            try NativeEngine.validateArtifact(zip: Fixtures.url("onnx/\(family)-onnx.zip"), format: .onnx, functionName: "TEXT_EMBEDDING",
                                              options: ModelOptions(encoderConfig: Self.allConfig("onnx/\(family)-config.json")))
        }
        try NativeEngine.validateArtifact(zip: Fixtures.url("heads/sparse-bert/sparse-bert-torch_script.zip"), format: .torchScript,
                                          functionName: "SPARSE_ENCODING", options: ModelOptions())
        try NativeEngine.validateArtifact(zip: Fixtures.url("heads/sparse-tokenizer/sparse-tokenizer-torch_script.zip"), format: .torchScript,
                                          functionName: "SPARSE_TOKENIZE", options: ModelOptions())
        let notAZip = try HostileFiles.write(Array("not a zip at all, just text".utf8), name: "a.zip")
        defer { try? FileManager.default.removeItem(at: notAZip) }
        let error = #expect(throws: InferenceError.self) {
            try NativeEngine.validateArtifact(zip: notAZip, format: .torchScript, functionName: "TEXT_EMBEDDING", options: ModelOptions())
        }
        #expect(error?.message.contains("not a readable zip file") == true)
    }

    // MARK: tokenizer.json

    @Test func tokenizerIdsOutsideInt32AreRefused() throws {
        func load(_ json: String) -> String? { Self.message { _ = try Tokenizer.load(Data(json.utf8)) } }
        #expect(load(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1}}}"#) == nil)
        #expect(load(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":2147483648}}}"#)?.contains("0...2147483647") == true)
        #expect(load(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":-1}}}"#)?.contains("0...2147483647") == true)
        #expect(load(#"{"model":{"type":"BPE","vocab":{"a":2147483648},"merges":[]}}"#)?.contains("0...2147483647") == true)
        #expect(load(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"added_tokens":[{"id":4294967296,"content":"x"}]}"#)?.contains("id") == true)
        #expect(load(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"post_processor":{"type":"BertProcessing","cls":["[CLS]",-5],"sep":["[SEP]",1]}}"#)?
            .contains("cls and sep") == true)
        #expect(load(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"post_processor":{"type":"TemplateProcessing","single":[{"Sequence":{"id":"A","type_id":9999999999}}],"pair":[],"special_tokens":{}}}"#)?
            .contains("type_id") == true)
        #expect(load(#"{"model":{"type":"Unigram","unk_id":-1,"vocab":[["a",0.0]]}}"#)?.contains("unk_id") == true)
        // 1e400 is refused by the JSON parser itself (no double holds it); a NaN-producing score cannot be written in JSON.
        #expect(load(#"{"model":{"type":"Unigram","unk_id":0,"vocab":[["a",1e400]]}}"#)?.contains("out of range of double") == true)
        #expect(load(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":0},"max_input_chars_per_word":1000000000}}"#)?.contains("max_input_chars_per_word") == true)
    }

    @Test func specialTokensBeyondTheModelVocabularyAreRefusedAtLoad() throws {
        let tokenizer = try Tokenizer.load(Data(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"added_tokens":[{"id":5000000,"content":"[X]"}]}"#.utf8))
        #expect(Self.message { try TransformerEncoder.check(tokenizer, vocabularySize: 100) }?.contains("beyond the model's vocabulary") == true)
    }

    // MARK: found by fuzz-artifacts

    /// Fuzzer: a Unigram piece of 100k bytes made a 100k-deep chain of trie objects, whose release overflowed the stack.
    @Test func unigramPieceOf100kBytesLoads() throws {
        let piece = String(repeating: "x", count: 100_000)
        let tokenizer = try Tokenizer.load(Data(#"{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["\#(piece)",-1.0],["x",-2.0]]}}"#.utf8))
        #expect(tokenizer.tokenize("xx") == [2, 2])
    }

    /// Fuzzer: `max_seq_length` of Int64.min (sentence_bert_config.json) or a truncation `max_length` of
    /// Int64.min (tokenizer.json) overflowed the truncation arithmetic.
    @Test func negativeSequenceLimitsAreRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-folder-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Fixtures.url("architectures/bert/folder"), to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"max_seq_length": -9223372036854775808}"#.utf8).write(to: folder.appendingPathComponent("sentence_bert_config.json"))
        #expect(Self.message { _ = try TextEmbedder.load(folder: folder) }?.contains("max_seq_length") == true)
        let truncating = #"{"model":{"type":"WordPiece","vocab":{"[UNK]":0}},"truncation":{"max_length":-9223372036854775808}}"#
        #expect(Self.message { _ = try Tokenizer.load(Data(truncating.utf8)) }?.contains("max_length") == true)
        let tokenizer = try Tokenizer.load(Data(#"{"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}"#.utf8))
        #expect(tokenizer.encode("a b", maxLength: Int.min).ids.isEmpty)
    }

    @Test func backtrackingRegexesInTokenizersAreRefused() throws {
        func load(_ regex: String) -> String? {
            let json: JSON = ["model": ["type": "WordPiece", "vocab": ["[UNK]": 0]],
                              "normalizer": ["type": "Replace", "pattern": ["Regex": .string(regex)], "content": " "]]
            return Self.message { _ = try Tokenizer.load(Data(json.serialized.utf8)) }
        }
        #expect(load(" {2,}") == nil)
        #expect(load(#"\s+"#) == nil)
        #expect(load("(a|b)+") == nil)
        #expect(load("(a+)+$")?.contains("exponential") == true)
        #expect(load("((a*))*")?.contains("exponential") == true)
        #expect(load(#"(a)\1"#)?.contains("refers back") == true)
        #expect(load(String(repeating: "a", count: 600))?.contains("512") == true)
    }

    /// The allocation ceiling: many tensors viewing one half-precision storage each decode a copy;
    /// together they may not ask for more than a small multiple of the file.
    /// Two references to one storage claiming different counts: the second's span is proven against
    /// the values actually decoded (the first decoded only as many as it claimed).
    @Test func referencesDisagreeingOnAStoragesCount() throws {
        let pickle = P.proto + P.dict([("a", P.tensor(key: "0", count: 2, offset: 0, sizes: [2], strides: [1])),
                                       ("b", P.tensor(key: "0", count: 8, offset: 5, sizes: [3], strides: [1]))]) + P.stop
        let half = pickle.replacing(Array("FloatStorage".utf8), with: Array("HalfStorage".utf8))
        let weights = try TorchScriptReader.read(HostileFiles.torchScript(pickle: half, storages: ["0": [UInt8](repeating: 0, count: 16)])).weights
        #expect(weights["b"]?.values == [0, 0, 0])
    }

    @Test func tensorsSharingOneStorageCannotMultiplyMemory() throws {
        let values: Int64 = 1 << 20
        let tensors = (0..<200).map { ("w\($0)", P.tensor(key: "0", count: values, offset: 0, sizes: [values], strides: [1])) }
        var pickle = P.proto + P.dict(tensors) + P.stop
        // Half-precision storages are widened (copied) rather than read in place.
        pickle = pickle.replacing(Array("FloatStorage".utf8), with: Array("HalfStorage".utf8))
        let file = HostileFiles.torchScript(pickle: pickle, storages: ["0": [UInt8](repeating: 0, count: Int(values) * 2)])
        let message = Self.message { _ = try TorchScriptReader.read(file) }
        #expect(message?.contains("more than a file of this size can honestly need") == true)
        // A few views of it are fine.
        let few = P.proto + P.dict(Array(tensors.prefix(3))) + P.stop
        let small = HostileFiles.torchScript(pickle: few.replacing(Array("FloatStorage".utf8), with: Array("HalfStorage".utf8)),
                                             storages: ["0": [UInt8](repeating: 0, count: Int(values) * 2)])
        #expect(try TorchScriptReader.read(small).weights.count == 3)
    }

    /// The config regexes scan to the end of a line from every `torch.view(`: a file of one huge line of
    /// them would take quadratic time, so lines over 1000 characters are not searched.
    @Test func tracedCodeSearchSkipsHugeLines() {
        let huge = String(repeating: "torch.view(", count: 200_000)
        let searchable = TracedCode.searchable(["a = 1\n" + huge + "\nb = torch.view(x, [1, 2, 12, 32])"])
        #expect(searchable == "a = 1\nb = torch.view(x, [1, 2, 12, 32])")
    }
}
