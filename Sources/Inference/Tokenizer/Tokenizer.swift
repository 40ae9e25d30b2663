import Foundation
import OrderedJSON

public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Token ids of one encoded input, as Hugging Face `tokenizers` produces them.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int32]
    public var typeIDs: [Int32]
    /// True for tokens the post-processor added (`[CLS]`, `</s>`, …).
    public var specialTokens: [Bool]
}

/// A tokenizer loaded from a Hugging Face `tokenizer.json`: added tokens, normalizer,
/// pre-tokenizer, model, post-processor and truncation, applied in that order.
public struct Tokenizer: Sendable {
    let addedTokens: AddedTokens
    let normalizer: (any Normalizer)?
    let preTokenizer: (any PreTokenizer)?
    let model: any TokenModel
    let postProcessor: (any PostProcessor)?
    /// `truncation.max_length` of the file, if it truncates.
    public let truncationLength: Int?
    let truncateLeft: Bool

    public static func load(contentsOf url: URL) throws -> Tokenizer {
        try load(Data(contentsOf: url))
    }

    public static func load(_ data: Data) throws -> Tokenizer {
        let json: JSON
        do { json = try JSON.parse(data) } catch { throw TokenizerError("tokenizer.json is not valid JSON: \(error)") }
        guard let root = json.objectValue else { throw TokenizerError("tokenizer.json must hold a JSON object") }
        guard let modelJSON = root["model"] else { throw TokenizerError("tokenizer.json has no model") }
        let model = try TokenModels.make(modelJSON)
        let added = try AddedTokens(root["added_tokens"]?.arrayValue ?? [])
        let truncation = root["truncation"]?.objectValue
        let truncationLength = try truncation?["max_length"].flatMap { value -> Int? in
            if value.isNull { return nil }
            guard let length = value.intValue, (0...Int64(Int32.max)).contains(length) else {
                throw TokenizerError("truncation.max_length is \(value.serialized.prefix(32)); it must be an integer in 0...\(Int32.max)")
            }
            return Int(length)
        }
        return Tokenizer(
            addedTokens: added,
            normalizer: try root["normalizer"].flatMap { $0.isNull ? nil : try Normalizers.make($0) },
            preTokenizer: try root["pre_tokenizer"].flatMap { $0.isNull ? nil : try PreTokenizers.make($0) },
            model: model,
            postProcessor: try root["post_processor"].flatMap { $0.isNull ? nil : try PostProcessors.make($0, vocabulary: model, added: added) },
            truncationLength: truncationLength,
            truncateLeft: truncation?["direction"]?.stringValue == "Left")
    }

    /// Encodes one text (or a pair, for cross-encoders) with special tokens, truncated to
    /// `maxLength` (default: the file's truncation length) counting the special tokens.
    public func encode(_ text: String, pair: String? = nil, maxLength: Int? = nil) -> Encoding {
        var first = tokenize(text)
        var second = pair.map(tokenize)
        if let limit = maxLength ?? truncationLength {
            let budget = max(0, max(limit, 0) - (postProcessor?.addedTokenCount(pair: second != nil) ?? 0))
            Self.truncate(&first, &second, to: budget, left: truncateLeft)
        }
        if let postProcessor { return postProcessor.process(first, second) }
        let ids = first + (second ?? [])
        return Encoding(ids: ids, typeIDs: first.map { _ in 0 } + (second ?? []).map { _ in 1 },
                        specialTokens: ids.map { _ in false })
    }

    /// Token ids of a text, without special tokens or truncation.
    public func tokenize(_ text: String) -> [Int32] {
        var ids: [Int32] = []
        forEachWord(of: text) { ids.append(contentsOf: $0) }
        return ids
    }

    /// The ids of each word of a text in turn: an added token, or a word of the pre-tokenizer.
    func forEachWord(of text: String, _ body: ([Int32]) -> Void) {
        for piece in addedTokens.split(text, normalizer: normalizer) {
            switch piece {
            case .token(let id): body([id])
            case .text(let normalized):
                for word in preTokenizer?.split(normalized) ?? [normalized] where !word.isEmpty {
                    body(model.tokenize(word))
                }
            }
        }
    }

    /// The vocabulary string of one id (`##ing` stays `##ing`), as decoding a single id does.
    public func token(for id: Int32) -> String? { addedTokens.content(of: id) ?? model.token(for: id) }

    public func id(for token: String) -> Int32? { addedTokens.id(of: token) ?? model.id(for: token) }

    /// The ids every encoding may contain whatever the text: the post-processor's special tokens and
    /// the added tokens. A model must have an embedding for each (checked when it loads).
    var fixedIDs: [Int32] { (postProcessor?.specialIDs ?? []) + addedTokens.tokens.map(\.id) }

    /// Ids of the special tokens, which decoding with `skip_special_tokens` drops.
    public var specialTokenIDs: Set<Int32> { addedTokens.specialIDs }

    /// Decodes one id as Hugging Face does with `skip_special_tokens`: the raw vocabulary string
    /// (`##ing` keeps its prefix), or nil for a special token or an unknown id.
    public func decodeSingle(_ id: Int32) -> String? {
        if addedTokens.specialIDs.contains(id) { return nil }
        return token(for: id)
    }

    /// `LongestFirst` as `tokenizers` computes it: if only the longer sequence needs cutting it is cut
    /// to what the shorter leaves; if both do, the shorter gets half the budget and the longer the rest.
    static func truncate(_ first: inout [Int32], _ second: inout [Int32]?, to budget: Int, left: Bool) {
        func cut(_ tokens: inout [Int32], to count: Int) {
            guard tokens.count > count else { return }
            tokens = left ? Array(tokens.suffix(count)) : Array(tokens.prefix(count))
        }
        guard var other = second else {
            cut(&first, to: budget)
            return
        }
        guard first.count + other.count > budget else { return }
        let swapped = first.count > other.count
        var short = min(first.count, other.count), long = max(first.count, other.count)
        long = short > budget ? short : max(short, budget - short)
        if short + long > budget {
            short = budget / 2
            long = short + budget % 2
        }
        cut(&first, to: swapped ? long : short)
        cut(&other, to: swapped ? short : long)
        second = other
    }
}
