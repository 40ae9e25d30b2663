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
}
