import Foundation

/// Follows the wrapper's statements: each variable holds what it denotes (an input, the encoder,
/// a step of the program …). Tensors live in storages so that `index_put_` through a view
/// (`torch.slice(values, 0, 0, MAX)`) changes what every name of that tensor reads afterwards.
struct SparseWrapperCompiler {
    /// What a name or expression denotes.
    indirect enum Value {
        case module, input(String), maskColumn, none, opaque(String)
        case tokenLogits(masked: Bool)
        case tensor(storage: Int)
        case constant(Tensor)
        case literal(String)
        case list([Value])
        case tuple([Value])
    }

    enum Shape { case scalar, row(kept: Bool), vocabulary }

    let constants: [Tensor?]
    let vocabularySize: Int
    private(set) var steps: [SparseWrapper.Step] = []
    private var shapes: [Shape] = []
    private var storages: [Int] = []
    private var variables: [String: Value] = [:]
    private var parameters: Set<String> = []
    private var encoderCalled = false

    init(constants: [Tensor?], vocabularySize: Int) {
        self.constants = constants
        self.vocabularySize = vocabularySize
    }

    /// The step the forward returns as `"output"`.
    mutating func compile(_ forward: TracedForward) throws -> Int {
        parameters = Set(forward.parameters.dropFirst())  // the first is self
        for statement in forward.statements {
            let value = try evaluate(statement.value)
            if statement.isReturn {
                guard case .dict(let entries) = statement.value, let output = entries.first(where: { $0.0 == "output" }) else {
                    throw WeightError("the sparse wrapper returns something other than {\"output\": …}")
                }
                _ = value
                guard case .tensor(let storage) = try evaluate(output.1), case .vocabulary = shapes[storages[storage]] else {
                    throw WeightError("the sparse wrapper's \"output\" is not a vector over the vocabulary")
                }
                guard encoderCalled else { throw WeightError("the sparse wrapper's output does not come from its encoder") }
                return storages[storage]
            }
            if statement.targets.count == 1 {
                variables[statement.targets[0]] = value
            } else {
                guard case .tuple(let items) = value, items.count == statement.targets.count else {
                    throw WeightError("the sparse wrapper unpacks \(statement.targets.count) values from something that is not a tuple of as many")
                }
                for (name, item) in zip(statement.targets, items) { variables[name] = item }
            }
        }
        throw WeightError("the sparse wrapper's forward has no return")
    }

    private mutating func add(_ step: SparseWrapper.Step, _ shape: Shape) throws -> Value {
        guard steps.count < SparseWrapper.maxSteps else { throw WeightError("the sparse wrapper computes more than \(SparseWrapper.maxSteps) steps") }
        steps.append(step)
        shapes.append(shape)
        storages.append(steps.count - 1)
        return .tensor(storage: storages.count - 1)
    }

    /// The step a value reads now (a constant scalar becomes a step of its own).
    private mutating func operand(_ value: Value, of operation: String) throws -> Int {
        switch value {
        case .tensor(let storage): return storages[storage]
        case .constant(let tensor) where tensor.count == 1: return try operand(add(.constant(tensor.values[0]), .scalar), of: operation)
        case .literal(let text):
            guard let number = Double(text), number.isFinite else { throw WeightError("\(operation) of the sparse wrapper takes \(text), not a number") }
            return try operand(add(.constant(Float(number)), .scalar), of: operation)
        default: throw WeightError("\(operation) of the sparse wrapper is applied to \(describe(value)), which the engine does not implement")
        }
    }

    private func describe(_ value: Value) -> String {
        switch value {
        case .module: return "a module"
        case .input(let key): return "input[\"\(key)\"]"
        case .tokenLogits: return "the per-token logits"
        case .constant: return "a constant tensor"
        case .opaque(let what): return what
        case .maskColumn: return "the attention mask"
        case .tensor: return "a tensor"
        case .literal(let text): return text
        case .none: return "None"
        case .list, .tuple: return "a list"
        }
    }

    private func integer(_ value: Value) -> Int64? {
        if case .literal(let text) = value { return Int64(text) }
        return nil
    }

    private func unsupported(_ name: String) -> WeightError {
        WeightError("the sparse wrapper's code uses \(name), which the engine does not implement")
    }

    private mutating func evaluate(_ expression: TracedExpr) throws -> Value {
        switch expression {
        case .name(let name):
            if name == "None" { return .none }
            if name == "True" || name == "False" { return .literal(name) }
            guard let value = variables[name] else {
                if parameters.contains(name) { return .opaque("the forward's input") }
                throw WeightError("the sparse wrapper reads \(name) before assigning it")
            }
            return value
        case .number(let text): return .literal(text)
        case .string(let text): return .opaque("the string \"\(text.prefix(40))\"")
        case .attribute(let base, let name):
            if case .name("self") = base { return .module }
            if case .name("CONSTANTS") = base {
                guard name.hasPrefix("c"), let index = Int(name.dropFirst()), index >= 0, index < constants.count else {
                    throw WeightError("the sparse wrapper refers to CONSTANTS.\(name), which constants.pkl lacks")
                }
                guard let tensor = constants[index] else { throw WeightError("CONSTANTS.\(name) of the sparse wrapper is not a number tensor") }
                return .constant(tensor)
            }
            throw unsupported(expression.dotted ?? "an attribute")
        case .subscript(let base, let keys):
            if case .name(let name) = base, parameters.contains(name), keys.count == 1, case .string(let key) = keys[0] {
                return .input(key)
            }
            throw unsupported("subscripting")
        case .list(let items): return .list(try items.map { try evaluate($0) })
        case .dict(let entries):
            for (_, item) in entries { _ = try evaluate(item) }
            return .opaque("a dict")
        case .call(let callee, let arguments, let keywords):
            guard keywords.isEmpty else { throw unsupported("\(callee.dotted ?? "a call") with keyword arguments (\(keywords.joined(separator: ", ")))") }
            if case .attribute(let base, "forward") = callee {
                guard case .module = try evaluate(base) else { throw unsupported("forward of something other than a module") }
                return try callEncoder(arguments.map { try evaluate($0) })
            }
            guard let name = callee.dotted else { throw unsupported("a call of a computed function") }
            if name == "annotate", arguments.count == 2 { return try evaluate(arguments[1]) }
            return try call(name, arguments.map { try evaluate($0) })
        }
    }

    private mutating func callEncoder(_ arguments: [Value]) throws -> Value {
        guard !encoderCalled else { throw unsupported("a second module call") }
        guard case .input("input_ids")? = arguments.first,
              arguments.dropFirst().allSatisfy({ if case .input("attention_mask") = $0 { return true }; return false }) else {
            throw WeightError("the sparse wrapper calls its encoder with inputs other than input_ids and attention_mask")
        }
        encoderCalled = true
        return .tokenLogits(masked: false)
    }

    private mutating func call(_ name: String, _ arguments: [Value]) throws -> Value {
        func shape(_ value: Value) -> Shape? {
            if case .tensor(let storage) = value { return shapes[storages[storage]] }
            return nil
        }
        /// Elementwise with broadcasting; a per-text maximum meets the vocabulary only with its dimension kept.
        func broadcast(_ a: Value, _ b: Value) throws -> Shape {
            let shapes = [shape(a) ?? .scalar, shape(b) ?? .scalar]
            if shapes.contains(where: { if case .vocabulary = $0 { return true }; return false }) {
                guard !shapes.contains(where: { if case .row(kept: false) = $0 { return true }; return false }) else {
                    throw WeightError("\(name) of the sparse wrapper broadcasts a per-text maximum against the vocabulary without keeping its dimension")
                }
                return .vocabulary
            }
            return shapes.first { if case .row = $0 { return true }; return false } ?? .scalar
        }
        switch (name, arguments.count) {
        case ("torch.unsqueeze", 2):
            let dim = integer(arguments[1])
            if case .input("attention_mask") = arguments[0], dim == -1 || dim == 2 { return .maskColumn }
            if case .row(kept: false)? = shape(arguments[0]), dim == 1 || dim == -1 {
                return try add(.view(operand(arguments[0], of: name)), .row(kept: true))
            }
            throw unsupported("torch.unsqueeze of \(describe(arguments[0])) along \(dim.map(String.init) ?? "?")")
        case ("torch.mul", 2):
            switch (arguments[0], arguments[1]) {
            case (.tokenLogits(false), .maskColumn), (.maskColumn, .tokenLogits(false)): return .tokenLogits(masked: true)
            default:
                let result = try broadcast(arguments[0], arguments[1])
                return try add(.mul(operand(arguments[0], of: name), operand(arguments[1], of: name)), result)
            }
        case ("torch.add", 2):
            let result = try broadcast(arguments[0], arguments[1])
            return try add(.add(operand(arguments[0], of: name), operand(arguments[1], of: name)), result)
        case ("torch.gt", 2):
            let result = try broadcast(arguments[0], arguments[1])
            return try add(.greater(operand(arguments[0], of: name), operand(arguments[1], of: name)), result)
        case ("torch.relu", 1), ("torch.log", 1), ("torch.log1p", 1):
            let a = try operand(arguments[0], of: name)
            let step: SparseWrapper.Step = name == "torch.relu" ? .relu(a) : name == "torch.log" ? .log(a) : .log1p(a)
            return try add(step, shapes[a])
        case ("torch.max", 2), ("torch.max", 3):
            let dim = integer(arguments[1])
            let keep: Bool
            switch arguments.count == 3 ? arguments[2] : .literal("False") {
            case .literal("True"): keep = true
            case .literal("False"): keep = false
            default: throw unsupported("torch.max with a keepdim that is not a constant")
            }
            // over the tokens [batch, tokens, vocabulary]: the head's largest logits
            if case .tokenLogits = arguments[0], dim == 1 || dim == -2, !keep {
                return .tuple([try add(.maxLogits, .vocabulary), .opaque("the indices of a maximum")])
            }
            if case .vocabulary? = shape(arguments[0]), dim == 1 || dim == -1 {
                return .tuple([try add(.rowMax(operand(arguments[0], of: name)), .row(kept: keep)), .opaque("the indices of a maximum")])
            }
            throw unsupported("torch.max of \(describe(arguments[0])) along \(dim.map(String.init) ?? "?")")
        case ("torch.slice", 4):  // the whole tensor (a view of it): `values[:, …]`
            guard shape(arguments[0]) != nil, integer(arguments[2]) == 0, integer(arguments[3]) == Int64.max,
                  let dim = integer(arguments[1]), dim == 0 || dim == 1 else {
                throw unsupported("torch.slice other than of a whole tensor")
            }
            return arguments[0]
        case ("torch.to", 2), ("torch.to", 3):
            guard case .constant = arguments[0] else { throw unsupported("torch.to of \(describe(arguments[0]))") }
            return arguments[0]
        case ("torch.device", 1): return .opaque("a device")
        case ("torch.index_put_", 3), ("torch.index_put", 3):
            return try indexPut(name, arguments)
        default:
            throw unsupported(name)
        }
    }

    /// `values[:, ids] = v`: `index_put_(view, [None, ids], v)`, the ids a constant within the vocabulary.
    private mutating func indexPut(_ name: String, _ arguments: [Value]) throws -> Value {
        guard case .tensor(let storage) = arguments[0], case .vocabulary = shapes[storages[storage]],
              case .list(let indexes) = arguments[1], indexes.count == 2, case .none = indexes[0], case .constant(let ids) = indexes[1],
              case .constant(let fill) = arguments[2], fill.count == 1 else {
            throw unsupported("\(name) other than of constant vocabulary ids in every text")
        }
        let positions = try ids.values.map { id -> Int in
            guard id >= 0, id < Float(vocabularySize), id == id.rounded() else {
                throw WeightError("the sparse wrapper sets vocabulary entry \(id), outside its \(vocabularySize) entries")
            }
            return Int(id)
        }
        let result = try add(.fill(storages[storage], ids: positions, value: fill.values[0]), .vocabulary)
        guard case .tensor(let new) = result else { return result }
        if name == "torch.index_put_" { storages[storage] = storages[new] }  // in place: every view sees it
        return name == "torch.index_put_" ? .tensor(storage: storage) : result
    }
}
