import Foundation

/// The post-encoder part of OpenSearch's traced `NeuralSparseModel`, read from the wrapper's code as
/// a small program over each text's vocabulary vector (the largest logit of each entry over the
/// tokens): activation (`log(1 + relu(·))`, twice for "l0"), special tokens zeroed (`index_put_`),
/// pruning below `ratio × max`. The statements are followed through their variables and
/// `CONSTANTS.cN`, however the tracer spelled them (inline or over several statements); an
/// operation the engine does not implement refuses the model, naming it.
struct SparseWrapper: Sendable {
    static let maxSteps = 64

    /// What one step computes; operands are earlier steps.
    enum Step: Sendable {
        case maxLogits
        case constant(Float)
        case relu(Int), log(Int), log1p(Int)
        case add(Int, Int), mul(Int, Int), greater(Int, Int)
        /// The largest value of a vocabulary vector (a per-text scalar).
        case rowMax(Int)
        /// `index_put_`: the vector with `ids` set to `value`.
        case fill(Int, ids: [Int], value: Float)
        /// The same values in another shape (`unsqueeze`).
        case view(Int)
    }

    let steps: [Step]
    let output: Int
    /// Logarithms the activation applies (1, or 2 for "l0"), and the prune ratio (0 when none),
    /// as far as the program has the usual shape: for reporting, not for computing.
    let logarithms: Int
    let pruneRatio: Float

    init(_ module: TorchScriptModule, vocabularySize: Int) throws {
        let sources = module.code.sorted { $0.key < $1.key }.map(\.value)
        guard let (lines, index) = Self.returnOfOutput(in: sources) else {
            throw WeightError("the TorchScript model is not an OpenSearch neural sparse model (no wrapper returning \"output\")")
        }
        var compiler = SparseWrapperCompiler(constants: module.constants, vocabularySize: vocabularySize)
        output = try compiler.compile(TracedForward(lines: lines, endingAt: index))
        let steps = compiler.steps
        self.steps = steps
        logarithms = steps.filter { if case .log = $0 { return true }; if case .log1p = $0 { return true }; return false }.count
        func unview(_ index: Int) -> SparseWrapper.Step {
            if case .view(let inner) = steps[index] { return steps[inner] }
            return steps[index]
        }
        pruneRatio = steps.lazy.compactMap { step -> Float? in
            guard case .greater(_, let threshold) = step, case .mul(let a, let b) = unview(threshold) else { return nil }
            for (row, ratio) in [(a, b), (b, a)] {
                if case .rowMax = unview(row), case .constant(let value) = steps[ratio] { return value }
            }
            return nil
        }.first ?? 0
    }

    /// The lines of the first code file with `return {"output": …}`, and that line's index.
    private static func returnOfOutput(in sources: [String]) -> ([Substring], Int)? {
        for source in sources where source.contains("{\"output\":") {
            let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
            if let index = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("return {\"output\":") }) {
                return (lines, index)
            }
        }
        return nil
    }

    /// The wrapper's output for one text, from the largest logit of each vocabulary entry.
    func run(_ maxLogits: [Float]) -> [Float] {
        var values: [[Float]] = []
        values.reserveCapacity(steps.count)
        func elementwise(_ a: Int, _ b: Int, _ f: (Float, Float) -> Float) -> [Float] {
            let x = values[a], y = values[b]
            if x.count == y.count { return zip(x, y).map(f) }
            return x.count == 1 ? y.map { f(x[0], $0) } : x.map { f($0, y[0]) }
        }
        for step in steps {
            switch step {
            case .maxLogits: values.append(maxLogits)
            case .view(let a): values.append(values[a])
            case .constant(let value): values.append([value])
            case .relu(let a): values.append(values[a].map { $0 > 0 || $0.isNaN ? $0 : 0 })
            case .log(let a): values.append(values[a].map(logf))
            case .log1p(let a): values.append(values[a].map(log1pf))
            case .add(let a, let b): values.append(elementwise(a, b, +))
            case .mul(let a, let b): values.append(elementwise(a, b, *))
            case .greater(let a, let b): values.append(elementwise(a, b) { $0 > $1 ? 1 : 0 })
            case .rowMax(let a):  // torch.max propagates NaN
                values.append([values[a].reduce(-Float.infinity) { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }])
            case .fill(let a, let ids, let value):
                var vector = values[a]
                for id in ids { vector[id] = value }
                values.append(vector)
            }
        }
        return values[output]
    }
}
