import OrderedJSON

/// A `tokenizer.json` post-processor: adds the special tokens around one or two sequences.
protocol PostProcessor: Sendable {
    func addedTokenCount(pair: Bool) -> Int
    func process(_ first: [Int32], _ second: [Int32]?) -> Encoding
}

enum PostProcessors {
    static func make(_ json: JSON, vocabulary: any TokenModel, added: AddedTokens) throws -> (any PostProcessor)? {
        let type = json["type"]?.stringValue ?? ""
        func special(_ value: JSON?) throws -> Int32 {
            guard let pair = value?.arrayValue, pair.count == 2, let id = pair[1].intValue else {
                throw TokenizerError("\(type) needs [token, id] pairs for cls and sep")
            }
            return Int32(id)
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
            specials[name] = value["ids"]?.arrayValue?.compactMap { $0.intValue.map(Int32.init) } ?? []
        }
        func items(_ list: JSON?) throws -> [Item] {
            try (list?.arrayValue ?? []).map { item in
                if let special = item["SpecialToken"] {
                    guard let name = special["id"]?.stringValue, let ids = specials[name] else {
                        throw TokenizerError("template names an unknown special token")
                    }
                    return .special(ids, Int32(special["type_id"]?.intValue ?? 0))
                }
                let sequence = item["Sequence"]
                let typeID = Int32(sequence?["type_id"]?.intValue ?? 0)
                return sequence?["id"]?.stringValue == "B" ? .sequenceB(typeID) : .sequenceA(typeID)
            }
        }
        single = try items(json["single"])
        pair = try items(json["pair"])
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
