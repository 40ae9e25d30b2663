import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OrderedJSON
import ZIPFoundation

/// A real loopback HTTP server laid out like the official artifact site:
/// `<base>/<name>/<version>/<format>/config.json` and the model zip beside it.
final class ArtifactMirror: @unchecked Sendable {
    let root: URL
    private(set) var port = 0
    private var task: Task<Void, any Error>?
    /// Paths whose answer never comes (to catch a register task mid-download).
    let stalledPaths = LockedSet()
    /// Every path requested so far.
    let requestedPaths = LockedSet()

    var baseURL: String { "http://127.0.0.1:\(port)/models/ml-models" }

    init() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("mirror-\(UUID().uuidString)")
    }

    func start() async throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let root = self.root
        let stalled = stalledPaths
        let requested = requestedPaths
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in
                let path = request.uri.path
                requested.insert(path)
                if stalled.contains(path) {
                    try await Task.sleep(for: .seconds(3600))
                }
                let file = root.appendingPathComponent(String(path.dropFirst()))
                guard path.hasPrefix("/"), !path.contains(".."), let data = FileManager.default.contents(atPath: file.path) else {
                    return Response(status: .notFound)
                }
                return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        task = Task { try await app.run() }
        for await bound in stream {
            port = bound
            break
        }
    }

    func stop() {
        task?.cancel()
        try? FileManager.default.removeItem(at: root)
    }

    /// Writes a file at a mirror path such as `models/ml-models/<name>/…/config.json`.
    func put(_ relativePath: String, _ data: Data) throws {
        let file = root.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
    }

    /// Publishes a pretrained model the way the official site lays it out; returns the zip's hash.
    @discardableResult
    func publishPretrained(name: String, version: String, format: String, function: String = "TEXT_EMBEDDING",
                           zip: Data, modelConfig: JSON? = nil, hashOverride: String? = nil) throws -> String {
        let folder = "models/ml-models/\(name)/\(version)/\(format.lowercased())"
        let stem = name.split(separator: "/").dropFirst().joined(separator: "_")
        try put("\(folder)/\(stem)-\(version)-\(format.lowercased()).zip", zip)
        let hash = Fixtures.sha256(zip)
        var config: JSONObject = [
            "name": .string(name), "version": .string(version), "description": "fixture", "model_format": .string(format.uppercased()),
            "function_name": .string(function), "model_content_size_in_bytes": .int(Int64(zip.count)),
            "model_content_hash_value": .string(hashOverride ?? hash),
        ]
        if let modelConfig { config["model_config"] = modelConfig }
        try put("\(folder)/config.json", Data(JSON.object(config).serialized.utf8))
        return hash
    }

    /// The URL of a file put at `relativePath`.
    func url(_ relativePath: String) -> String { "http://127.0.0.1:\(port)/\(relativePath)" }
}

final class LockedSet: @unchecked Sendable {
    private var items: Set<String> = []
    private let lock = NSLock()
    func insert(_ item: String) { lock.lock(); items.insert(item); lock.unlock() }
    func contains(_ item: String) -> Bool { lock.lock(); defer { lock.unlock() }; return items.contains(item) }
}

/// Model zips shaped like ML Commons artifacts. Registration checks that the engine would load an
/// artifact, so these hold the engine tests' small traced BERT (hidden size 16), with deterministic
/// filler beside it to give each its own size and hash.
enum Fixtures {
    static let bertFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("InferenceTests/Fixtures/architectures/bert")

    /// The traced BERT's Hugging Face config, as `model_config.all_config` carries it.
    static let bertAllConfig: String = {
        let config = try? JSON.parse(Data(contentsOf: bertFolder.appendingPathComponent("config.json")))
        return config?["model_config"]?["all_config"]?.stringValue ?? "{}"
    }()

    static let miniLMConfig: JSON = [
        "model_type": "bert", "embedding_dimension": 384, "framework_type": "sentence_transformers",
        "pooling_mode": "MEAN", "normalize_result": true,
        "all_config": .string(bertAllConfig),
        "additional_config": ["space_type": "l2"],
    ]

    /// The traced BERT's `.pt` and `tokenizer.json`.
    static let bertEntries: [(String, Data)] = {
        guard let archive = try? Archive(url: bertFolder.appendingPathComponent("bert-torch_script.zip"), accessMode: .read) else { return [] }
        return archive.compactMap { entry -> (String, Data)? in
            var data = Data()
            guard (try? archive.extract(entry, consumer: { data.append($0) })) != nil else { return nil }
            return (entry.path, data)
        }
    }()

    static var tokenizerJSON: Data { bertEntries.first { $0.0 == "tokenizer.json" }?.1 ?? Data() }

    /// A zip with `files` (name → content), stored uncompressed.
    static func zip(_ files: [(String, Data)]) throws -> Data {
        let archive = try Archive(data: Data(), accessMode: .create)
        for (name, content) in files {
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(content.count), compressionMethod: .none) { position, size in
                content.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return archive.data!
    }

    /// A loadable TorchScript artifact: the traced BERT plus `modelBytes` of filler (by `seed`).
    static func torchScriptZip(modelBytes: Int = 4096, seed: UInt8 = 7, extra: [(String, Data)] = []) throws -> Data {
        try zip(bertEntries + [("filler.bin", filler(modelBytes, seed: seed))] + extra)
    }

    static func filler(_ count: Int, seed: UInt8) -> Data {
        var state = UInt32(seed) &* 2_654_435_761 | 1
        return Data((0..<count).map { _ in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        })
    }

    static func sha256(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}
