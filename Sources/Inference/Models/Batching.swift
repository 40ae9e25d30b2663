/// How many texts run together in one forward pass.
public enum Batching {
    /// Indices of the inputs grouped into batches of at most `tokenBudget` tokens (a longer input
    /// runs alone), after sorting by length so that a batch holds inputs of similar lengths.
    public static func lengthSortedBatches(lengths: [Int], tokenBudget: Int) -> [[Int]] {
        let order = lengths.indices.sorted { lengths[$0] < lengths[$1] }
        var batches: [[Int]] = [], current: [Int] = [], tokens = 0
        for index in order {
            if !current.isEmpty && tokens + lengths[index] > tokenBudget {
                batches.append(current)
                current = []
                tokens = 0
            }
            current.append(index)
            tokens += lengths[index]
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    /// `pass` (one forward pass, one output per sequence) over the length-sorted batches of
    /// `sequences`; the outputs come back in the order of the inputs.
    static func run<Output>(_ sequences: [TokenSequence], tokenBudget: Int, _ pass: ([TokenSequence]) throws -> [Output]) rethrows -> [Output] {
        var outputs = [Output?](repeating: nil, count: sequences.count)
        for batch in lengthSortedBatches(lengths: sequences.map(\.ids.count), tokenBudget: tokenBudget) {
            for (index, output) in zip(batch, try pass(batch.map { sequences[$0] })) { outputs[index] = output }
        }
        return outputs.map { $0! }
    }
}
