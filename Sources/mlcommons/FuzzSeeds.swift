import Foundation
import ZIPFoundation

/// A file the fuzzer starts from, and how a mutant of it is run.
struct FuzzSeed {
    enum Kind: String {
        /// An OpenSearch artifact zip, run through `NativeEngine` (validate, load, one inference).
        case zip
        /// A Hugging Face folder (config.json, model.safetensors, tokenizer.json).
        case folder
        /// A lone tokenizer.json.
        case tokenizer
    }

    let kind: Kind
    let url: URL
    let function: String
    let format: String
    /// The registration body (`model_config.all_config`) a zip is registered with, if any.
    let config: URL?

    var name: String { url.pathComponents.suffix(2).joined(separator: "/") }

    /// Every artifact, folder and tokenizer under `root` (the test fixtures by default).
    static func discover(_ root: URL) throws -> [FuzzSeed] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        var seeds: [FuzzSeed] = []
        for case let url as URL in walker {
            let path = url.path, name = url.lastPathComponent
            if name.hasSuffix(".zip") {
                let isONNX = try Archive(url: url, accessMode: .read).contains { $0.path.lowercased().hasSuffix(".onnx") }
                seeds.append(FuzzSeed(kind: .zip, url: url, function: function(path), format: isONNX ? "ONNX" : "TORCH_SCRIPT",
                                      config: config(for: url, isONNX: isONNX)))
            } else if name == "model.safetensors", url.deletingLastPathComponent().lastPathComponent == "folder" {
                seeds.append(FuzzSeed(kind: .folder, url: url.deletingLastPathComponent(), function: "TEXT_EMBEDDING", format: "", config: nil))
            } else if name.hasSuffix("tokenizer.json"), !path.contains("/folder/") {
                seeds.append(FuzzSeed(kind: .tokenizer, url: url, function: "", format: "", config: nil))
            }
        }
        return seeds.sorted { $0.url.path < $1.url.path }
    }

    private static func function(_ path: String) -> String {
        if path.contains("sparse-tokenizer") { return "SPARSE_TOKENIZE" }
        if path.contains("/sparse-") { return "SPARSE_ENCODING" }
        if path.contains("cross-encoder") { return "TEXT_SIMILARITY" }
        if path.contains("question-answering") { return "QUESTION_ANSWERING" }
        return "TEXT_EMBEDDING"
    }

    /// `config.json` beside a TorchScript zip; `<family>-config.json` (or `config.json`) beside an ONNX one.
    private static func config(for zip: URL, isONNX: Bool) -> URL? {
        let folder = zip.deletingLastPathComponent()
        var candidates = [folder.appendingPathComponent("config.json")]
        if isONNX {
            let family = zip.deletingPathExtension().lastPathComponent.replacingOccurrences(of: "-onnx", with: "")
            candidates.insert(folder.appendingPathComponent("\(family)-config.json"), at: 0)
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}

/// Zip entries read whole and written back stored (or deflated), for mutants of one entry.
enum FuzzZip {
    static func entries(of url: URL) throws -> [(path: String, data: Data)] { try entries(of: Data(contentsOf: url)) }

    static func entries(of zip: Data) throws -> [(path: String, data: Data)] {
        let archive = try Archive(data: zip, accessMode: .read)
        return try archive.filter { $0.type == .file }.map { entry in
            var data = Data()
            _ = try archive.extract(entry, skipCRC32: true) { data.append($0) }
            return (entry.path, data)
        }
    }

    static func write(_ entries: [(path: String, data: Data)], to url: URL, deflate: Bool) throws {
        try archive(entries, deflate: deflate).write(to: url)
    }

    static func archive(_ entries: [(path: String, data: Data)], deflate: Bool) throws -> Data {
        let archive = try Archive(data: Data(), accessMode: .create)
        // A fixed date keeps the mutant's bytes the same for the same seed.
        let date = Date(timeIntervalSince1970: 1_000_000_000)
        for (path, data) in entries {
            try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), modificationDate: date,
                                 compressionMethod: deflate ? .deflate : .none) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
        guard let data = archive.data else { throw FuzzError("cannot build a zip in memory") }
        return data
    }
}
