import ArgumentParser
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

    func tokenizer() throws -> Tokenizer {
        if isFolder { return try Tokenizer.load(contentsOf: url.appendingPathComponent("tokenizer.json")) }
        let archive = try Archive(url: url, accessMode: .read)
        guard let entry = archive["tokenizer.json"] else { throw ValidationError("\(model) has no tokenizer.json") }
        var data = Data()
        _ = try archive.extract(entry) { data.append($0) }
        return try Tokenizer.load(data)
    }
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

    @Option(help: "What the model computes: TEXT_EMBEDDING, SPARSE_ENCODING, SPARSE_TOKENIZE or TEXT_SIMILARITY.")
    var functionName: String = "TEXT_EMBEDDING"

    func run() throws {
        let mode = try pooling.map { text in
            guard let mode = PoolingMode(parsing: text) else { throw ValidationError("unknown pooling mode \(text)") }
            return mode
        }
        let function = functionName.uppercased()
        if location.isFolder {
            guard function == "TEXT_EMBEDDING" else { throw ValidationError("a model folder can only be a TEXT_EMBEDDING model for now") }
            let model = try TextEmbedder.load(folder: location.url, pooling: mode, normalize: normalize)
            return try transformLines { ["embedding": json(try model.embed([$0])[0])] }
        }
        let loaded = try NativeEngine().load(artifact: location.url, format: location.zipFormat(), functionName: function,
                                             options: ModelOptions(pooling: mode, normalize: normalize))
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
