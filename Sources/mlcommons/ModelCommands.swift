import ArgumentParser
import Foundation
import Inference
import OrderedJSON

/// Options shared by the commands that read a model: where it is.
struct ModelLocation: ParsableArguments {
    @Option(help: "A Hugging Face / sentence-transformers folder (config.json, model.safetensors, tokenizer.json).")
    var model: String

    var url: URL { URL(fileURLWithPath: model, isDirectory: true) }
}

/// Reads standard input one line at a time and writes one JSON line per input line.
func transformLines(_ transform: (String) throws -> JSON) throws {
    while let line = readLine(strippingNewline: true) {
        print(try transform(line).serialized)
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of each line of standard input: {\"ids\": [...]} per line.")

    @OptionGroup var location: ModelLocation

    @Option(help: "Truncate to this many tokens (special tokens included); default: the tokenizer's own limit.")
    var maxLength: Int?

    func run() throws {
        let folder = location.url
        let file = folder.hasDirectoryPath ? folder.appendingPathComponent("tokenizer.json") : folder
        let tokenizer = try Tokenizer.load(contentsOf: file)
        try transformLines { line in
            ["ids": .array(tokenizer.encode(line, maxLength: maxLength).ids.map { .int(Int64($0)) })]
        }
    }
}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the embedding of each line of standard input: {\"embedding\": [...]} per line.")

    @OptionGroup var location: ModelLocation

    @Option(help: "Pooling when the model does not say: cls, mean, max, mean_sqrt_len or weighted_mean.")
    var pooling: String?

    @Option(help: "Normalize to unit length (true / false) when the model does not say.")
    var normalize: Bool?

    @Option(help: "What the model computes; only TEXT_EMBEDDING for now.")
    var functionName: String = "TEXT_EMBEDDING"

    func run() throws {
        guard functionName.uppercased() == "TEXT_EMBEDDING" else {
            throw ValidationError("--function-name \(functionName) is not supported yet; only TEXT_EMBEDDING")
        }
        let mode = try pooling.map { text in
            guard let mode = PoolingMode(parsing: text) else { throw ValidationError("unknown pooling mode \(text)") }
            return mode
        }
        let model = try TextEmbedder.load(folder: location.url, pooling: mode, normalize: normalize)
        try transformLines { line in
            let vector = try model.embed([line])[0]
            return ["embedding": .array(vector.map { .double(Double("\($0)") ?? Double($0)) })]
        }
    }
}
