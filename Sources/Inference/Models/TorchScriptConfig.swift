import Foundation
import OrderedJSON

/// What a traced model's own code and weights say of its encoder, for artifacts registered
/// without `model_config.all_config` (OpenSearch's sparse models have none).
enum TorchScriptConfig {
    static func infer(_ module: TorchScriptModule) throws -> JSON {
        let classes = Set(module.classes.values)
        let family: String
        if classes.contains(where: { $0.contains(".distilbert.") }) { family = "distilbert" }
        else if classes.contains(where: { $0.contains(".mpnet.") }) { family = "mpnet" }
        else if classes.contains(where: { $0.contains(".roberta.") || $0.contains(".xlm_roberta.") }) { family = "roberta" }
        else if classes.contains(where: { $0.contains(".bert.") }) { family = "bert" }
        else { throw WeightError("cannot tell the encoder family of the TorchScript model; give model_config.all_config") }

        guard let words = module.weights.first(where: { $0.key.hasSuffix("embeddings.word_embeddings.weight") })?.value, words.shape.count == 2 else {
            throw WeightError("the TorchScript model has no word embeddings")
        }
        let hidden = words.shape[1]
        let code = TracedCode.searchable(module.code.values.sorted())
        // Attention reshapes its projections to [batch, length, heads, head size].
        let viewPattern = try NSRegularExpression(pattern: #"torch\.view\([^\[\]]*\[[^,\[\]]+, *[^,\[\]]+, *(\d+), *(\d+)\]\)"#)
        let heads = viewPattern.matches(in: code, range: NSRange(code.startIndex..., in: code)).lazy.compactMap { match -> Int? in
            guard let h = Int((code as NSString).substring(with: match.range(at: 1))),
                  let d = Int((code as NSString).substring(with: match.range(at: 2))),
                  h.multipliedReportingOverflow(by: d) == (hidden, false) else { return nil }
            return h
        }.first
        guard let heads else { throw WeightError("cannot find the number of attention heads in the TorchScript code; give model_config.all_config") }
        let epsilonPattern = try NSRegularExpression(pattern: #"torch\.layer_norm\([^\n]*, ([0-9.]+e-[0-9]+)\)"#)
        let epsilon = epsilonPattern.firstMatch(in: code, range: NSRange(code.startIndex..., in: code))
            .flatMap { Double((code as NSString).substring(with: $0.range(at: 1))) } ?? (family == "bert" || family == "distilbert" ? 1e-12 : 1e-5)
        let layerPattern = family == "distilbert" ? "transformer.layer." : "encoder.layer."
        let layers = Set(module.weights.keys.compactMap { key -> Int? in
            guard let range = key.range(of: layerPattern) else { return nil }
            return Int(key[range.upperBound...].prefix { $0.isNumber })
        }).count
        let innerName = family == "distilbert" ? "transformer.layer.0.ffn.lin1.weight" : "encoder.layer.0.intermediate.dense.weight"
        let inner = module.weights.first { $0.key.hasSuffix(innerName) }?.value.shape.first ?? 4 * hidden
        let positions = module.weights.first { $0.key.hasSuffix("embeddings.position_embeddings.weight") }?.value.shape.first ?? 512
        var config: JSONObject = [
            "model_type": .string(family), "hidden_size": .int(Int64(hidden)), "num_attention_heads": .int(Int64(heads)),
            "num_hidden_layers": .int(Int64(layers)), "intermediate_size": .int(Int64(inner)),
            "max_position_embeddings": .int(Int64(positions)), "layer_norm_eps": .double(epsilon), "hidden_act": "gelu",
        ]
        if let buckets = module.weights.first(where: { $0.key.hasSuffix("relative_attention_bias.weight") })?.value.shape.first {
            config["relative_attention_num_buckets"] = .int(Int64(buckets))
        }
        return .object(config)
    }
}

/// The part of a traced model's code the engine searches with regexes. The patterns scan to the
/// end of a line (or bracket) from every candidate start, so their time grows with line length ×
/// occurrences: lines over 1000 characters (never written by the tracer for the statements looked
/// for) are left out, and at most 8 MiB of code is searched.
enum TracedCode {
    static let maxLineLength = 1_000
    static let maxBytes = 8 << 20

    static func searchable(_ sources: [String]) -> String {
        var kept: [Substring] = [], total = 0
        for source in sources {
            for line in source.split(separator: "\n", omittingEmptySubsequences: true) where line.utf8.count <= maxLineLength {
                total += line.utf8.count + 1
                guard total <= maxBytes else { return kept.joined(separator: "\n") }
                kept.append(line)
            }
        }
        return kept.joined(separator: "\n")
    }
}
