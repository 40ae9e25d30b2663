import OrderedJSON

/// A `tokenizer.json` post-processor: adds the special tokens around one or two sequences.
protocol PostProcessor: Sendable {
    func addedTokenCount(pair: Bool) -> Int
    func process(_ first: [Int32], _ second: [Int32]?) -> Encoding
    /// The ids of the special tokens it adds.
    var specialIDs: [Int32] { get }
}

enum PostProcessors {
    static func make(_ json: JSON, vocabulary: any TokenModel, added: AddedTokens) throws -> (any PostProcessor)? {
        let type = json["type"]?.stringValue ?? ""
        func special(_ value: JSON?) throws -> Int32 {
            guard let pair = value?.arrayValue, pair.count == 2, let id = pair[1].tokenID else {
                throw TokenizerError("\(type) needs [token, id] pairs for cls and sep (ids in 0...\(Int32.max))")
            }
            return id
        }
        switch type {
        case "TemplateProcessing": return try Template(json)
        case "BertProcessing":
            let cls = try special(json["cls"]), sep = try special(json["sep"])
            return Template(single: [.special([cls], 0), .sequenceA(0), .special([sep], 0)],
                            pair: [.special([cls], 0), .sequenceA(0), .special([sep], 0), .sequenceB(1), .special([sep], 1)])
        case "RobertaProcessing":
            let cls = try special(json["cls"]), sep = try special(json["sep"])
            return Template(single: [.special([cls], 0), .sequenceA(0), .special([sep], 0)],
                            pair: [.special([cls], 0), .sequenceA(0), .special([sep], 0), .special([sep], 0), .sequenceB(0), .special([sep], 0)])
        case "ByteLevel": return nil  // only trims offsets
        case "Sequence":
            let steps = try (json["processors"]?.arrayValue ?? []).compactMap { try make($0, vocabulary: vocabulary, added: added) }
            guard steps.count <= 1 else { throw TokenizerError("a Sequence of more than one special-token post-processor is not supported") }
            return steps.first
        default:
            throw TokenizerError("unsupported post-processor type '\(type)'")
        }
    }
}

/// `TemplateProcessing` (and the BERT / RoBERTa processors expressed as templates).
struct Template: PostProcessor {
    enum Item: Sendable {
        case special([Int32], Int32)
        case sequenceA(Int32)
        case sequenceB(Int32)
    }

    let single: [Item]
    let pair: [Item]

    init(single: [Item], pair: [Item]) {
        self.single = single
        self.pair = pair
    }

    init(_ json: JSON) throws {
        var specials: [String: [Int32]] = [:]
        for (name, value) in json["special_tokens"]?.objectValue ?? [:] {
            specials[name] = try (value["ids"]?.arrayValue ?? []).map { id in
                guard let id = id.tokenID else { throw TokenizerError("special token \(name.prefix(64)) has id \(id.serialized.prefix(32)); ids are integers in 0...\(Int32.max)") }
                return id
            }
        }
        func typeID(_ value: JSON?) throws -> Int32 {
            guard let value, !value.isNull else { return 0 }
            guard let id = value.tokenID else { throw TokenizerError("template type_id \(value.serialized.prefix(32)) is not an integer in 0...\(Int32.max)") }
            return id
        }
        func items(_ list: JSON?) throws -> [Item] {
            try (list?.arrayValue ?? []).map { item in
                if let special = item["SpecialToken"] {
                    guard let name = special["id"]?.stringValue, let ids = specials[name] else {
                        throw TokenizerError("template names an unknown special token")
                    }
                    return .special(ids, try typeID(special["type_id"]))
                }
                let sequence = item["Sequence"]
                let type = try typeID(sequence?["type_id"])
                return sequence?["id"]?.stringValue == "B" ? .sequenceB(type) : .sequenceA(type)
            }
        }
        single = try items(json["single"])
        pair = try items(json["pair"])
    }

    var specialIDs: [Int32] {
        (single + pair).flatMap { item -> [Int32] in
            if case .special(let ids, _) = item { return ids }
            return []
        }
    }

    func addedTokenCount(pair isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { count, item in
            if case .special(let ids, _) = item { return count + ids.count }
            return count
        }
    }

    func process(_ first: [Int32], _ second: [Int32]?) -> Encoding {
        var encoding = Encoding(ids: [], typeIDs: [], specialTokens: [])
        for item in second == nil ? single : pair {
            switch item {
            case .special(let ids, let typeID):
                encoding.ids += ids
                encoding.typeIDs += ids.map { _ in typeID }
                encoding.specialTokens += ids.map { _ in true }
            case .sequenceA(let typeID):
                encoding.ids += first
                encoding.typeIDs += first.map { _ in typeID }
                encoding.specialTokens += first.map { _ in false }
            case .sequenceB(let typeID):
                let tokens = second ?? []
                encoding.ids += tokens
                encoding.typeIDs += tokens.map { _ in typeID }
                encoding.specialTokens += tokens.map { _ in false }
            }
        }
        return encoding
    }
}
