import OrderedJSON

/// The JSONPath subset connectors use: `$`, `.name`, `['name']`, `[n]`, `[*]` and `.*`.
/// Like Jayway's JsonPath, a path with a wildcard yields the list of matches.
struct JSONPath: Sendable, Equatable {
    enum Step: Sendable, Equatable { case key(String), index(Int), wildcard }

    let steps: [Step]

    init?(_ text: String) {
        var steps: [Step] = []
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard rest.first == "$" else { return nil }
        rest.removeFirst()
        while let first = rest.first {
            if first == "." {
                rest.removeFirst()
                if rest.first == "*" { rest.removeFirst(); steps.append(.wildcard); continue }
                let name = rest.prefix { $0 != "." && $0 != "[" }
                guard !name.isEmpty else { return nil }
                steps.append(.key(String(name)))
                rest.removeFirst(name.count)
            } else if first == "[" {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                let inner = rest[rest.index(after: rest.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                rest = rest[rest.index(after: close)...]
                if inner == "*" {
                    steps.append(.wildcard)
                } else if let index = Int(inner) {
                    steps.append(.index(index))
                } else if inner.count >= 2, let quote = inner.first, quote == "'" || quote == "\"", inner.last == quote {
                    steps.append(.key(String(inner.dropFirst().dropLast())))
                } else {
                    return nil
                }
            } else {
                return nil
            }
        }
        self.steps = steps
    }

    var isDefinite: Bool { !steps.contains(.wildcard) }

    /// The value at the path; nil when a definite path misses.
    func evaluate(_ root: JSON) -> JSON? {
        var matches = [root]
        for step in steps {
            matches = matches.flatMap { value -> [JSON] in
                switch step {
                case .key(let key): return value[key].map { [$0] } ?? []
                case .index(let index):
                    guard let array = value.arrayValue else { return [] }
                    let position = index < 0 ? array.count + index : index
                    return array.indices.contains(position) ? [array[position]] : []
                case .wildcard:
                    if let array = value.arrayValue { return array }
                    return value.objectValue?.entries.map(\.value) ?? []
                }
            }
        }
        if isDefinite { return matches.first }
        return .array(matches)
    }
}
