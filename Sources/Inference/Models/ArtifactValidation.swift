import Foundation

extension NativeEngine {
    /// A check cheap enough for model registration, so a broken artifact fails its register task
    /// rather than a later deploy. It proves, without building the model:
    /// - the zip parses (every offset and size within the file) and has the layout ML Commons requires
    ///   (`ArtifactLayout.inspect`: one model file of the format, `tokenizer.json`, no native code);
    /// - `tokenizer.json` loads (ids in range, models and normalizers supported);
    /// - the model file's structure reads: the TorchScript zip, its pickled module tree and every
    ///   tensor's extent in its storage, or the ONNX protobuf and its initializers;
    /// - the encoder config (`model_config.all_config`, or what the file says) is within bounds, and
    ///   every weight the encoder reads is present with the shape that config requires;
    /// - the tokenizer's special and added token ids have embeddings;
    /// - for a sparse encoder, the wrapper's traced code uses only operations the engine implements.
    ///
    /// Stored float32 TorchScript weights are read in place, so this costs about one pass over the
    /// pickle; ONNX initializers are decoded (one copy of the weights). The heads' weights (sparse,
    /// cross-encoder, QA) are checked when the model loads. Throws `InferenceError` saying what is wrong.
    public static func validateArtifact(zip: URL, format: ArtifactFormat, functionName: String, options: ModelOptions) throws {
        try reportingErrors(format: format) {
            switch (functionName, format) {
            case ("SPARSE_TOKENIZE", _):
                let artifact = try OpenedArtifact(zip: zip, format: .torchScript, modelFileOptional: true)
                _ = try artifact.entry("idf.json").map(SparseTokenizer.parseIDF)
            case ("TEXT_EMBEDDING", .onnx):
                let artifact = try OpenedArtifact(zip: zip, format: .onnx)
                let graph = try ArtifactLoader.onnxGraph(artifact)
                try checkEncoder(config: graph.config(given: options.encoderConfig), weights: graph.weights, tokenizer: artifact.tokenizer)
            case ("TEXT_EMBEDDING", .torchScript), ("SPARSE_ENCODING", .torchScript), ("TEXT_SIMILARITY", .torchScript), ("QUESTION_ANSWERING", .torchScript):
                let artifact = try OpenedArtifact(zip: zip, format: .torchScript)
                let module = try TorchScriptReader.read(artifact.modelFile())
                let vocabulary = try checkEncoder(config: ArtifactLoader.encoderConfig(of: module, options: options), weights: module.weights,
                                                  tokenizer: artifact.tokenizer)
                if functionName == "SPARSE_ENCODING" { _ = try SparseWrapper(module, vocabularySize: vocabulary) }
            default:
                throw NativeEngine.unsupported(functionName, format)
            }
        }
    }

    /// The vocabulary size, once the encoder's weights and the tokenizer are proven to fit.
    @discardableResult
    private static func checkEncoder(config: EncoderConfig, weights: [String: Tensor], tokenizer: Tokenizer) throws -> Int {
        let (_, words) = try TransformerEncoder.checkWeights(config: config, weights: weights)
        try TransformerEncoder.check(tokenizer, vocabularySize: words.shape[0])
        return words.shape[0]
    }
}
