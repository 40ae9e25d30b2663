import OrderedJSON

/// What one predict request may ask of a local model: how many texts (`native.max_text_docs_per_request`)
/// and how long each may be (`native.max_text_length`, in Unicode scalars). The engine truncates to the
/// model's window anyway, but tokenizing, holding and answering for an unbounded input is memory
/// and time every other client waits for; past a limit the request is refused with a 400 that says which.
struct InputLimits: Sendable {
    let maxDocuments: Int
    let maxTextLength: Int

    init(_ settings: EffectiveSettings) {
        maxDocuments = Int(settings.int(MLSettings.maxTextDocsPerRequest))
        maxTextLength = Int(settings.int(MLSettings.maxTextLength))
    }

    func check(count: Int, field: String) throws {
        guard count <= maxDocuments else {
            throw MLError.illegalArgument("\(field) holds \(count) texts, more than the \(maxDocuments) a request may send (plugins.ml_commons.\(MLSettings.maxTextDocsPerRequest))")
        }
    }

    func check(text: String, field: String) throws {
        // Counting stops at the limit: a huge text costs no more than the limit to refuse.
        var length = 0
        for _ in text.unicodeScalars {
            length += 1
            if length > maxTextLength {
                throw MLError.illegalArgument("a text in \(field) is longer than the \(maxTextLength) characters a text may have (plugins.ml_commons.\(MLSettings.maxTextLength))")
            }
        }
    }

    func check(texts: [String], field: String) throws {
        try check(count: texts.count, field: field)
        for text in texts { try check(text: text, field: field) }
    }
}
