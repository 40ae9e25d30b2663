import Foundation

/// The model file formats ML Commons artifacts come in.
public enum ArtifactFormat: String, Sendable {
    case torchScript = "TORCH_SCRIPT"
    case onnx = "ONNX"

    var modelFileExtension: String { self == .torchScript ? "pt" : "onnx" }
    var otherExtension: String { self == .torchScript ? "onnx" : "pt" }
}

/// What a model zip holds, after the checks ML Commons makes before it accepts one.
public struct ArtifactContents: Sendable, Equatable {
    public let modelFile: String?
    public let tokenizerFile: String
    public let entries: [String]
}

public struct ArtifactError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum ArtifactLayout {
    static let forbiddenSuffixes = [".jar", ".class", ".so", ".dylib", ".dll"]

    /// Checks a model zip the way ML Commons does (same messages): no native code or Java classes,
    /// exactly one model file of the declared format, a `tokenizer.json` at the root.
    /// - Parameter modelFileOptional: a sparse tokenizer artifact has no model file.
    public static func inspect(zip: URL, format: ArtifactFormat, modelFileOptional: Bool = false) throws -> ArtifactContents {
        // The engine's own zip reader: it checks every offset and size the file gives against the file.
        let archive: ZipDirectory
        do {
            archive = try ZipDirectory(ByteRegion(file: MappedFile(zip)))
        } catch let error as WeightError {
            throw ArtifactError("The model artifact is not a readable zip file: \(error.message)")
        }
        var entries: [String] = []
        var modelFiles: [String] = []
        var tokenizer: String?
        for path in archive.names where archive.entries[path]?.isDirectory == false {
            let name = (path as NSString).lastPathComponent
            if path.hasPrefix("__MACOSX/") || name.hasPrefix("._") { continue }
            entries.append(path)
            let lower = name.lowercased()
            if let suffix = forbiddenSuffixes.first(where: { lower.hasSuffix($0) }) {
                throw ArtifactError("Found \(suffix) file in the model zip, which is not allowed: \(path)")
            }
            if lower.hasSuffix("." + format.otherExtension) {
                throw ArtifactError("Model format is \(format.rawValue), but find .\(format.otherExtension) file")
            }
            if lower.hasSuffix("." + format.modelFileExtension) { modelFiles.append(path) }
            if name == "tokenizer.json" && !path.contains("/") { tokenizer = path }
            if name == "serving.properties" { try checkServingProperties(archive: archive, path: path) }
        }
        if modelFiles.count > 1 { throw ArtifactError("Find multiple model files, but expected only one") }
        if modelFiles.isEmpty && !modelFileOptional { throw ArtifactError("Can't find model file") }
        guard let tokenizer else { throw ArtifactError("No tokenizer file") }
        return ArtifactContents(modelFile: modelFiles.first, tokenizerFile: tokenizer, entries: entries)
    }

    /// `serving.properties` may only name DJL's own classes (anything else could load foreign code).
    private static func checkServingProperties(archive: ZipDirectory, path: String) throws {
        let data: Data
        do { data = try archive.contents(path)?.data ?? Data() } catch let error as WeightError {
            throw ArtifactError("The model artifact is not a readable zip file: \(error.message)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let classPattern = try NSRegularExpression(pattern: #"\b[a-z][a-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){2,}\b"#)
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let value = line.split(separator: "=", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            let range = NSRange(value.startIndex..., in: value)
            for match in classPattern.matches(in: value, range: range) {
                let name = (value as NSString).substring(with: match.range)
                if !name.hasPrefix("ai.djl.") {
                    throw ArtifactError("serving.properties references \(name); only ai.djl classes are allowed")
                }
            }
        }
    }
}
