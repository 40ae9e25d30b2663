import OrderedJSON

/// Fills `${parameters.<key>}` (and, for headers, `${credential.<key>}`) placeholders in one pass
/// over the template: text that a value brings in is never scanned for placeholders again, so a
/// `${…}` typed by a user stays literal text.
///
/// In a JSON body the position decides how a value goes in:
/// * inside a string literal (`"…${parameters.x}…"`): JSON-escaped without quotes, so quotes,
///   backslashes and control characters cannot end the literal;
/// * elsewhere: a non-string value as its JSON, a string that is one JSON document as that
///   document (it fills exactly one value position), any other string as a quoted JSON string.
///
/// Connector parameters are written by the connector's author and may hold placeholders of their
/// own (prompt templates such as `"Human: ${parameters.question}"`); those are expanded, with the
/// same escaping rules, before the value is inserted. A request's own parameters may hold
/// placeholders too (ML Commons' guardrails example sends `"prompt": "Human:${parameters.question}"`):
/// where the action's template names such a value, its placeholders are filled once, every value
/// they bring in taken as literal text and credentials never. So text that arrives inside another
/// value is never scanned for placeholders, and pre-process output (documents, queries) never is.
///
/// In a URL, caller-controlled values are percent-encoded whole (all but `A-Z a-z 0-9 - . _ ~`), so a
/// `region` of `attacker.test/a` or `x@evil` cannot change the host, and `../` cannot climb the
/// path (`.`/`..` segments are refused when the URL is parsed). Text the connector's author wrote
/// goes in as written.
struct TemplateRenderer {
    enum Mode { case jsonBody, plainText, url }

    enum Value {
        /// Caller-controlled data: request parameters and pre-process output.
        case data(JSON)
        /// Text the connector's author wrote; may contain placeholders.
        case template(String)
        /// A request parameter: caller-controlled, but its own placeholders are filled once, literally.
        case request(JSON)
    }

    let values: [String: Value]
    /// Credentials, offered only where the reference substitutes them (headers).
    private(set) var credential: [String: String]?
    /// Connector-configured parameter names inserted verbatim in bodies (`no_escape_params`).
    let verbatim: Set<String>
    static let maxNesting = 8
    /// Work one render may do (bytes produced, 16 per placeholder), beyond 4x the values' size:
    /// parameters referring to each other (`a` = 1000 x `${parameters.b}`, `b` = 1000 x …) would
    /// otherwise expand exponentially within the nesting limit.
    static let baseBudget = 16 << 20
    let budget: Int
    /// Set while filling a request parameter's placeholders: every value goes in as written.
    private var literalValues = false

    init(values: [String: Value], credential: [String: String]?, verbatim: Set<String>) {
        self.values = values
        self.credential = credential
        self.verbatim = verbatim
        var size = 0
        for value in values.values {
            switch value {
            case .data(.string(let text)), .request(.string(let text)), .template(let text): size += text.utf8.count
            case .data(let json), .request(let json): size += json.serialized.utf8.count
            }
        }
        budget = Self.baseBudget + 4 * size
    }

    /// The renderer for a request parameter's placeholders: values literal, no credentials.
    private var literal: TemplateRenderer {
        var renderer = self
        renderer.credential = nil
        renderer.literalValues = true
        return renderer
    }

    struct Result {
        var text: String
        var missingParameters: [String]
        var missingCredentials: [String]
        var budget: Int
        /// The budget ran out; `text` is incomplete and must not be used.
        var overflowed = false

        mutating func spend(_ amount: Int) {
            budget -= amount
            if budget < 0 { overflowed = true }
        }
    }

    func render(_ template: String, mode: Mode) -> Result {
        var result = Result(text: "", missingParameters: [], missingCredentials: [], budget: budget)
        render(template, mode: mode, depth: 0, into: &result)
        return result
    }

    private func render(_ template: String, mode: Mode, depth: Int, into result: inout Result) {
        var output = ""
        var inString = false
        var index = template.startIndex
        while index < template.endIndex, !result.overflowed {
            let character = template[index]
            if character == "$", let placeholder = Placeholder(in: template, at: index),
               placeholder.namespace == "parameters" || (placeholder.namespace == "credential" && credential != nil) {
                var next = placeholder.end
                result.spend(16)
                insert(placeholder, mode: mode, inString: inString, depth: depth, output: &output,
                       following: &next, template: template, result: &result)
                if next != placeholder.end { inString = false } // consumed the closing quote of `"${…:-null}"`
                index = next
                continue
            }
            if mode == .jsonBody {
                if character == "\"" { inString.toggle() }
                if character == "\\" && inString {
                    output.append(character)
                    index = template.index(after: index)
                    if index < template.endIndex { output.append(template[index]); index = template.index(after: index) }
                    continue
                }
            }
            output.append(character)
            index = template.index(after: index)
        }
        result.text = output
    }

    private func insert(_ placeholder: Placeholder, mode: Mode, inString: Bool, depth: Int, output: inout String,
                        following next: inout String.Index, template: String, result: inout Result) {
        if placeholder.namespace == "credential" {
            if let secret = credential?[placeholder.key] {
                output += secret
            } else {
                result.missingCredentials.append(placeholder.key)
                output += placeholder.source
            }
            return
        }
        guard let value = values[placeholder.key] else {
            guard let fallback = placeholder.defaultValue else {
                result.missingParameters.append(placeholder.key)
                output += placeholder.source
                return
            }
            // `"${parameters.x:-null}"`: the quotes go too, leaving a JSON null.
            if mode == .jsonBody, inString, fallback == "null", output.last == "\"",
               next < template.endIndex, template[next] == "\"" {
                output.removeLast()
                output += "null"
                next = template.index(after: next)
            } else {
                output += fallback
            }
            return
        }
        let resolved = resolve(value, mode: mode, inString: inString, depth: depth, result: &result)
        result.spend(resolved.text.utf8.count)
        if mode == .url {
            if case .template = value { output += resolved.text } else { output += Self.percentEncoded(resolved.text) }
            return
        }
        if placeholder.asString || (mode == .jsonBody && inString) {
            output += mode == .jsonBody || placeholder.asString ? jsonEscaped(resolved.text) : resolved.text
        } else if mode == .plainText || verbatim.contains(placeholder.key) {
            output += resolved.text
        } else if let json = resolved.json {
            output += json
        } else {
            output += JSON.string(resolved.text).serialized
        }
    }

    /// A value's text, and its JSON source when it is one JSON document.
    private func resolve(_ value: Value, mode: Mode, inString: Bool, depth: Int,
                         result: inout Result) -> (text: String, json: String?) {
        switch value {
        case .data(.string(let text)):
            return (text, JSON.parseOrNil(text) != nil ? text : nil)
        case .request(.string(let text)):
            // Only where the action's own template names it: inside another value it is that value's data.
            guard !literalValues, depth == 0, text.contains("${") else { return (text, JSON.parseOrNil(text) != nil ? text : nil) }
            return expand(text, with: literal, mode: mode, inString: inString, depth: depth, result: &result)
        case .data(let json), .request(let json):
            let text = json.serialized
            return (text, text)
        case .template(let text) where literalValues:
            return (text, JSON.parseOrNil(text) != nil ? text : nil)
        case .template(let text):
            guard depth < Self.maxNesting, text.contains("${") else {
                return (text, JSON.parseOrNil(text) != nil ? text : nil)
            }
            return expand(text, with: self, mode: mode, inString: inString, depth: depth, result: &result)
        }
    }

    /// Renders a value's own placeholders before it is inserted. Inside a string literal the
    /// expansion is plain text, escaped as a whole afterwards; in a JSON position it is JSON source
    /// with its own positions.
    private func expand(_ text: String, with renderer: TemplateRenderer, mode: Mode, inString: Bool, depth: Int,
                        result: inout Result) -> (text: String, json: String?) {
        let nestedMode: Mode = mode == .url ? .url : mode == .jsonBody && !inString ? .jsonBody : .plainText
        result.spend(text.utf8.count)
        var nested = Result(text: "", missingParameters: [], missingCredentials: [], budget: result.budget)
        if !result.overflowed { renderer.render(text, mode: nestedMode, depth: depth + 1, into: &nested) }
        result.budget = nested.budget
        result.overflowed = result.overflowed || nested.overflowed
        // A `${parameters.x}` a request typed that names nothing stays text, as user data would.
        if !renderer.literalValues { result.missingParameters += nested.missingParameters }
        return (nested.text, JSON.parseOrNil(nested.text) != nil ? nested.text : nil)
    }
}

extension TemplateRenderer {
    /// Every byte but the URL-unreserved ones as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                output += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return output
    }
}

/// `${namespace.key}`, `${namespace.key:-default}` or `${namespace.key.toString()}`.
struct Placeholder {
    let namespace: String
    let key: String
    let defaultValue: String?
    let asString: Bool
    let source: String
    let end: String.Index

    init?(in text: String, at start: String.Index) {
        guard text[start...].hasPrefix("${"), let close = text[start...].firstIndex(of: "}") else { return nil }
        let inner = text[text.index(start, offsetBy: 2)..<close]
        guard let dot = inner.firstIndex(of: ".") else { return nil }
        namespace = String(inner[..<dot])
        var name = String(inner[inner.index(after: dot)...])
        if let separator = name.range(of: ":-") {
            defaultValue = String(name[separator.upperBound...])
            name = String(name[..<separator.lowerBound])
        } else {
            defaultValue = nil
        }
        asString = name.hasSuffix(".toString()")
        if asString { name.removeLast(".toString()".count) }
        guard !name.isEmpty else { return nil }
        key = name
        source = String(text[start...close])
        end = text.index(after: close)
    }
}
