import Foundation
import OrderedJSON

/// A JSON Schema subset (draft 7 / 2020-12 keywords): type (or a list of types), properties,
/// required, items, enum, const, pattern, minimum/maximum, exclusiveMinimum/exclusiveMaximum,
/// minLength/maxLength, minItems/maxItems, additionalProperties (bool or schema), and `$ref` to
/// `#/definitions/…` or `#/$defs/…`. Messages follow networknt's wording, which the reference prints.
public struct JSONSchemaValidator: Sendable {
    public let schema: JSON

    public init(schema: JSON) { self.schema = schema }

    /// Every violation, as `$.path: message`, in document order.
    public func errors(for instance: JSON) -> [String] {
        var errors: [String] = []
        validate(instance, against: schema, path: "$", depth: 0, errors: &errors)
        return errors
    }

    private func validate(_ value: JSON, against schema: JSON, path: String, depth: Int, errors: inout [String]) {
        guard depth < 64 else { return }
        if case .bool(let allowed) = schema {
            if !allowed { errors.append("\(path): schema for this location is false") }
            return
        }
        guard let rules = schema.objectValue else { return }
        if let reference = rules["$ref"]?.stringValue {
            if let target = resolve(reference) {
                validate(value, against: target, path: path, depth: depth + 1, errors: &errors)
            } else {
                errors.append("\(path): cannot resolve reference \(reference)")
            }
        }
        if let type = rules["type"] {
            let allowed = type.arrayValue?.compactMap(\.stringValue) ?? type.stringValue.map { [$0] } ?? []
            if !allowed.isEmpty && !allowed.contains(where: { Self.value(value, hasType: $0) }) {
                errors.append("\(path): \(Self.typeName(value)) found, \(allowed.joined(separator: ", ")) expected")
                return
            }
        }
        if let options = rules["enum"]?.arrayValue, !options.contains(where: { Self.same($0, value) }) {
            errors.append("\(path): does not have a value in the enumeration [\(options.map(Self.display).joined(separator: ", "))]")
        }
        if let constant = rules["const"], !Self.same(constant, value) {
            errors.append("\(path): must be the constant value '\(Self.display(constant))'")
        }
        switch value {
        case .string(let text): checkString(text, rules, path, &errors)
        case .int, .double: checkNumber(value.doubleValue ?? 0, rules, path, &errors)
        case .array(let items): checkArray(items, rules, path, depth, &errors)
        case .object(let object): checkObject(object, rules, path, depth, &errors)
        default: break
        }
    }

    private func checkString(_ text: String, _ rules: JSONObject, _ path: String, _ errors: inout [String]) {
        let length = text.unicodeScalars.count
        if let min = rules["minLength"]?.intValue, length < min { errors.append("\(path): must be at least \(min) characters long") }
        if let max = rules["maxLength"]?.intValue, length > max { errors.append("\(path): must be at most \(max) characters long") }
        if let pattern = rules["pattern"]?.stringValue {
            // A pattern matches anywhere in the text (JSON Schema), on the linear-time engine:
            // interfaces come from whoever registers the model, like guardrails.
            guard let regex = try? LinearRegex("(?s:.*)(?:\(pattern))(?s:.*)") else {
                errors.append("\(path): the regex pattern \(pattern) is not supported")
                return
            }
            if regex.wholeMatch(text) != true {
                errors.append("\(path): does not match the regex pattern \(pattern)")
            }
        }
    }

    private func checkNumber(_ number: Double, _ rules: JSONObject, _ path: String, _ errors: inout [String]) {
        func bound(_ key: String) -> (Double, String)? { rules[key].flatMap { json in json.doubleValue.map { ($0, json.serialized) } } }
        if let (min, text) = bound("minimum"), number < min { errors.append("\(path): must have a minimum value of \(text)") }
        if let (max, text) = bound("maximum"), number > max { errors.append("\(path): must have a maximum value of \(text)") }
        if let (min, text) = bound("exclusiveMinimum"), number <= min { errors.append("\(path): must have an exclusive minimum value of \(text)") }
        if let (max, text) = bound("exclusiveMaximum"), number >= max { errors.append("\(path): must have an exclusive maximum value of \(text)") }
    }

    private func checkArray(_ items: [JSON], _ rules: JSONObject, _ path: String, _ depth: Int, _ errors: inout [String]) {
        if let min = rules["minItems"]?.intValue, items.count < min { errors.append("\(path): must have at least \(min) items but found \(items.count)") }
        if let max = rules["maxItems"]?.intValue, items.count > max { errors.append("\(path): must have at most \(max) items but found \(items.count)") }
        if let itemSchema = rules["items"] {
            for (index, item) in items.enumerated() {
                validate(item, against: itemSchema, path: "\(path)[\(index)]", depth: depth + 1, errors: &errors)
            }
        }
    }

    private func checkObject(_ object: JSONObject, _ rules: JSONObject, _ path: String, _ depth: Int, _ errors: inout [String]) {
        for name in rules["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object[name] == nil {
            errors.append("\(path): required property '\(name)' not found")
        }
        let properties = rules["properties"]?.objectValue ?? [:]
        for (key, value) in object {
            let childPath = "\(path).\(key)"
            if let propertySchema = properties[key] {
                validate(value, against: propertySchema, path: childPath, depth: depth + 1, errors: &errors)
            } else if let additional = rules["additionalProperties"] {
                if additional == .bool(false) {
                    errors.append("\(path): property '\(key)' is not defined in the schema and the schema does not allow additional properties")
                } else {
                    validate(value, against: additional, path: childPath, depth: depth + 1, errors: &errors)
                }
            }
        }
    }

    private func resolve(_ reference: String) -> JSON? {
        guard reference.hasPrefix("#/") else { return reference == "#" ? schema : nil }
        var current: JSON? = schema
        for part in reference.dropFirst(2).split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            current = current?[key]
        }
        return current
    }

    static func value(_ value: JSON, hasType type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
             ("number", .int), ("number", .double), ("integer", .int): return true
        case ("integer", .double(let number)): return number.rounded() == number
        default: return false
        }
    }

    static func typeName(_ value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// JSON equality where 1 and 1.0 are the same number.
    static func same(_ a: JSON, _ b: JSON) -> Bool {
        if a.isNumber && b.isNumber { return a.doubleValue == b.doubleValue }
        return a == b
    }

    static func display(_ value: JSON) -> String { value.stringValue ?? value.serialized }
}
