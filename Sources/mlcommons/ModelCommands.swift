import ArgumentParser
import Crypto
import Foundation
import Inference
import OrderedJSON
import ZIPFoundation

/// Where a model is: a Hugging Face / sentence-transformers folder or an OpenSearch artifact zip.
struct ModelLocation: ParsableArguments {
    @Option(help: "A model folder (config.json, model.safetensors, tokenizer.json) or an OpenSearch artifact zip (.pt or .onnx + tokenizer.json).")
    var model: String

    var url: URL { URL(fileURLWithPath: model) }

    func validate() throws {
        guard FileManager.default.fileExists(atPath: model) else { throw ValidationError("\(model) does not exist") }
    }

    var isFolder: Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: model, isDirectory: &directory) && directory.boolValue
    }

    /// The artifact's format, from the model file inside the zip.
    func zipFormat() throws -> ArtifactFormat {
        let archive = try Archive(url: url, accessMode: .read)
        return archive.contains { $0.path.lowercased().hasSuffix(".onnx") } ? .onnx : .torchScript
    }

    /// The load options a config file gives: the one named, else `config.json` beside the zip.
    func configFile(explicit path: String?) throws -> (options: ModelOptions, functionName: String?) {
        let beside = url.deletingLastPathComponent().appendingPathComponent("config.json")
        guard let file = path.map(URL.init(fileURLWithPath:)) ?? (FileManager.default.fileExists(atPath: beside.path) ? beside : nil) else {
            return (ModelOptions(), nil)
        }
        // A config file is small; a larger one is not what it claims to be. Read at most one byte past
        // the limit (the size a file claims says nothing for a pipe or a device such as /dev/zero).
        let limit = 16 << 20
        let handle = try FileHandle(forReadingFrom: file)
        let data = try handle.read(upToCount: limit + 1) ?? Data()
        try? handle.close()
        guard data.count <= limit else { throw ValidationError("\(file.path) is larger than 16 MiB: not a model config") }
        do {
            let json = try JSON.parse(data)
            // A config.json found beside the zip may describe another artifact of the folder: its hash says.
            if path == nil, let hash = json["model_content_hash_value"]?.stringValue, try hash.lowercased() != sha256() {
                printError("note: \(file.path) is for another artifact (its model_content_hash_value differs); not used")
                return (ModelOptions(), nil)
            }
            if path == nil { printError("note: using the model config in \(file.path)") }
            return try ModelOptions.fromConfigFile(json)
        } catch let error as InferenceError {
            throw ValidationError("\(file.path): \(error.message)")
        } catch {
            throw ValidationError("\(file.path) is not a model config: \(error)")
        }
    }

    /// The zip's SHA-256 (hex), read in 1 MiB pieces.
    func sha256() throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty { hasher.update(data: piece) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    func tokenizer() throws -> Tokenizer {
        if isFolder { return try Tokenizer.load(contentsOf: url.appendingPathComponent("tokenizer.json")) }
        let archive = try Archive(url: url, accessMode: .read)
        guard let entry = archive["tokenizer.json"] else { throw ValidationError("\(model) has no tokenizer.json") }
        var data = Data()
        _ = try archive.extract(entry) { data.append($0) }
        return try Tokenizer.load(data)
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Reads standard input one line at a time and writes one JSON line per input line.
func transformLines(_ transform: (String) throws -> JSON) throws {
    while let line = readLine(strippingNewline: true) {
        print(try transform(line).serialized)
    }
}

func json(_ vector: [Float]) -> JSON { .array(vector.map { .double(Double("\($0)") ?? Double($0)) }) }

func json(_ terms: [SparseTerm]) -> JSON {
    .object(JSONObject(terms.map { (key: $0.token, value: .double(Double("\($0.weight)") ?? Double($0.weight))) }))
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of each line of standard input: {\"ids\": [...]} per line.")

    @OptionGroup var location: ModelLocation

    @Option(help: "Truncate to this many tokens (special tokens included); default: the tokenizer's own limit.")
    var maxLength: Int?

    func run() throws {
        let tokenizer = try location.tokenizer()
        try transformLines { line in
            ["ids": .array(tokenizer.encode(line, maxLength: maxLength).ids.map { .int(Int64($0)) })]
        }
    }
}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on each line of standard input.",
        discussion: """
            Writes one JSON object per line: {"embedding": [...]} for TEXT_EMBEDDING, {"sparse": {token: weight}} \
            for SPARSE_ENCODING and SPARSE_TOKENIZE, {"score": x} for TEXT_SIMILARITY (lines are "query<TAB>document").
            """)

    @OptionGroup var location: ModelLocation

    @Option(help: "Pooling when the model does not say: cls, mean, max, mean_sqrt_len or weighted_mean.")
    var pooling: String?

    @Option(help: "Normalize to unit length (true / false) when the model does not say.")
    var normalize: Bool?

    @Option(help: "What the model computes: TEXT_EMBEDDING, SPARSE_ENCODING, SPARSE_TOKENIZE or TEXT_SIMILARITY (default: the config's function_name, else TEXT_EMBEDDING).")
    var functionName: String?

    @Option(help: ArgumentHelp(
        "The model's config for a zip: a register body or the config.json published beside an artifact, a model_config object, or a Hugging Face config.json.",
        discussion: "Without it, a config.json beside the zip is read when there is one."))
    var modelConfig: String?

    func run() throws {
        let mode = try pooling.map { text in
            guard let mode = PoolingMode(parsing: text) else { throw ValidationError("unknown pooling mode \(text)") }
            return mode
        }
        if location.isFolder {
            guard (functionName?.uppercased() ?? "TEXT_EMBEDDING") == "TEXT_EMBEDDING" else {
                throw ValidationError("a model folder can only be a TEXT_EMBEDDING model for now")
            }
            guard modelConfig == nil else { throw ValidationError("--model-config is for artifact zips; a folder has its own config.json") }
            let model = try TextEmbedder.load(folder: location.url, pooling: mode, normalize: normalize)
            return try transformLines { ["embedding": json(try model.embed([$0])[0])] }
        }
        var (options, configFunction) = try location.configFile(explicit: modelConfig)
        options.pooling = mode ?? options.pooling
        options.normalize = normalize ?? options.normalize
        let function = (functionName ?? configFunction ?? "TEXT_EMBEDDING").uppercased()
        let loaded: any NativeModel
        do {
            loaded = try NativeEngine().load(artifact: location.url, format: location.zipFormat(), functionName: function, options: options)
        } catch let error as InferenceError where options.encoderConfig == nil {
            throw ValidationError("\(error.message) (the zip alone does not say everything about some models: pass --model-config)")
        }
        switch loaded {
        case let model as TextEmbedder:
            try transformLines { ["embedding": json(try model.embed([$0])[0])] }
        case let model as SparseEncoder:
            try transformLines { ["sparse": json(try model.encode([$0])[0])] }
        case let model as SparseTokenizer:
            try transformLines { ["sparse": json(model.encode([$0])[0])] }
        case let model as CrossEncoder:
            try transformLines { line in
                let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("TEXT_SIMILARITY lines are \"query<TAB>document\"") }
                return ["score": json(try model.score(query: parts[0], documents: [parts[1]])[0])[0] ?? .null]
            }
        default:
            throw ValidationError("\(function) models cannot be run from the command line yet")
        }
    }
}

private extension JSON {
    subscript(index: Int) -> JSON? { arrayValue.flatMap { index < $0.count ? $0[index] : nil } }
}
