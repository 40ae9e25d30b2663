import Synchronization
import Foundation

/// One tokenized input of the encoder.
public struct TokenSequence: Sendable {
    public var ids: [Int32]
    public var typeIDs: [Int32]

    public init(ids: [Int32], typeIDs: [Int32]) {
        self.ids = ids
        self.typeIDs = typeIDs
    }

    public init(_ encoding: Encoding) { self.init(ids: encoding.ids, typeIDs: encoding.typeIDs) }
}

/// Token embeddings of several sequences packed one after another, [total tokens × width]:
/// sequence `i` is rows `offsets[i]..<offsets[i + 1]`.
public struct PackedTokens: Sendable {
    public let values: [Float]
    public let offsets: [Int]
    public let width: Int

    public var count: Int { offsets.count - 1 }

    init(values: [Float], offsets: [Int], width: Int) {
        self.values = values
        self.offsets = offsets
        self.width = width
    }

    /// The sequences of `parts`, one part after another.
    init(joining parts: [PackedTokens]) {
        var values: [Float] = [], offsets = [0]
        values.reserveCapacity(parts.reduce(0) { $0 + $1.values.count })
        for part in parts {
            values += part.values
            offsets += part.offsets.dropFirst().map { $0 + offsets.last! }
        }
        self.init(values: values, offsets: offsets, width: parts.first?.width ?? 0)
    }
    public func length(of sequence: Int) -> Int { offsets[sequence + 1] - offsets[sequence] }
    public func tokens(of sequence: Int) -> [Float] { Array(values[offsets[sequence] * width..<offsets[sequence + 1] * width]) }
}

extension TransformerEncoder {
    /// Token embeddings [L × H] of one sequence (every token attends to every token).
    public func forward(ids: [Int32], typeIDs: [Int32], parallelism: Parallelism = .serial) throws -> [Float] {
        try forward([TokenSequence(ids: ids, typeIDs: typeIDs)], parallelism: parallelism).values
    }

    /// Token embeddings of a batch. The tokens of all sequences are packed without padding for the
    /// linear layers (one matrix product per projection for the whole batch); attention runs per
    /// sequence and head, so each token sees only its own sequence and results do not depend on
    /// what else is in the batch.
    ///
    /// A batch with enough tokens for every worker is cut into one run of whole sequences per worker,
    /// each going through every layer on its worker alone: no step waits for another thread. A
    /// smaller batch (a lone query) splits each step over the workers instead.
    public func forward(_ batch: [TokenSequence], parallelism: Parallelism = .serial) throws -> PackedTokens {
        for sequence in batch { try validate(sequence) }
        let groups = Self.workerGroups(batch.map(\.ids.count), workers: parallelism.threads)
        guard groups.count > 1 else { return forwardValidated(batch, parallelism: parallelism) }
        var parts = [PackedTokens?](repeating: nil, count: groups.count)
        parts.withUnsafeMutableBufferPointer { results in
            parallelism.forEach(parts: groups.count) { group in
                results[group] = forwardValidated(Array(batch[groups[group]]), parallelism: .serial)
            }
        }
        return PackedTokens(joining: parts.map { $0! })
    }

    /// Tokens each worker needs before a batch is cut into one run per worker: below it, the
    /// workers would each stream the whole weight for a handful of rows.
    static let tokensPerWorkerGroup = 192

    /// Consecutive runs of sequences with about equal numbers of tokens (none more than 1/8 above its
    /// share), one per worker, or the whole batch as one run when it cannot be shared out so.
    static func workerGroups(_ lengths: [Int], workers: Int) -> [Range<Int>] {
        let total = lengths.reduce(0, +)
        guard workers > 1, lengths.count >= workers, total >= workers * tokensPerWorkerGroup else { return [0..<lengths.count] }
        var groups: [Range<Int>] = [], start = 0, seen = 0
        for (index, length) in lengths.enumerated() {
            seen += length
            let sequencesLeft = lengths.count - index - 1, groupsLeft = workers - groups.count - 1
            // Close the group at its share of the tokens, keeping at least one sequence for each later group.
            if groupsLeft > 0, seen * workers >= total * (groups.count + 1) || sequencesLeft == groupsLeft {
                groups.append(start..<index + 1)
                start = index + 1
            }
        }
        groups.append(start..<lengths.count)
        // A few long sequences cannot be shared out evenly (five passages on two workers): then
        // splitting each step keeps both workers busy to the end.
        let largest = groups.map { lengths[$0].reduce(0, +) }.max() ?? 0
        return largest * workers * 8 <= total * 9 ? groups : [0..<lengths.count]
    }

    private func forwardValidated(_ batch: [TokenSequence], parallelism: Parallelism) -> PackedTokens {
        var offsets = [0]
        for sequence in batch { offsets.append(offsets.last! + sequence.ids.count) }
        let h = config.hiddenSize
        let workspace = Workspace(config: config, tokens: offsets.last!, longest: batch.map(\.ids.count).max() ?? 0, workers: parallelism.threads,
                                  cache: workspaces)
        defer { workspace.release() }
        embed(batch, offsets: offsets, into: workspace.hidden, parallelism: parallelism)
        let positionBias = relativeAttentionBias.map {
            RelativePositions.biasByOffset($0, longest: workspace.longest, heads: config.heads, buckets: config.relativeBuckets)
        }
        for layer in layers {
            block(layer, offsets: offsets, workspace: workspace, positionBias: positionBias, parallelism: parallelism)
        }
        return PackedTokens(values: Array(UnsafeBufferPointer(start: workspace.hidden, count: offsets.last! * h)), offsets: offsets, width: h)
    }

    private func validate(_ sequence: TokenSequence) throws {
        guard !sequence.ids.isEmpty else { throw WeightError("nothing to encode: the text gave no tokens") }
        if let bad = sequence.ids.first(where: { $0 < 0 || Int($0) >= vocabularySize }) { throw WeightError("token id \(bad) is outside the vocabulary") }
        guard sequence.typeIDs.count == sequence.ids.count, !sequence.typeIDs.contains(where: { $0 < 0 }) else {
            throw WeightError("the token type ids do not match the tokens (one non-negative type id per token)")
        }
        let positionRows = positionEmbeddings.count / config.hiddenSize
        guard (positionIDs(sequence.ids).max() ?? 0) < positionRows else {
            throw WeightError("a sequence of \(sequence.ids.count) tokens needs more than the model's \(positionRows) positions")
        }
    }

    /// Word + position (+ token type) embeddings, then layer norm, for every token of the batch.
    private func embed(_ batch: [TokenSequence], offsets: [Int], into hidden: UnsafeMutablePointer<Float>, parallelism: Parallelism) {
        let h = config.hiddenSize
        let word = wordEmbeddings.storage.pointer, position = positionEmbeddings.storage.pointer
        let typeRows = (tokenTypeEmbeddings?.count ?? 0) / h
        parallelism.forRanges(batch.count) { sequences, _ in
            for s in sequences {
                let sequence = batch[s], positions = positionIDs(sequence.ids)
                for t in 0..<sequence.ids.count {
                    let row = hidden + (offsets[s] + t) * h
                    let w = word + Int(sequence.ids[t]) * h, p = position + positions[t] * h
                    for i in 0..<h { row[i] = w[i] + p[i] }
                    if let types = tokenTypeEmbeddings?.storage.pointer, typeRows > 0 {
                        let type = types + min(Int(sequence.typeIDs[t]), typeRows - 1) * h
                        for i in 0..<h { row[i] += type[i] }
                    }
                }
                Kernels.layerNorm(hidden + offsets[s] * h, rows: sequence.ids.count, width: h, gamma: embeddingNormGamma.pointer,
                                  beta: embeddingNormBeta.pointer, epsilon: config.layerNormEpsilon)
            }
        }
    }

    /// One encoder block, in place on `workspace.hidden`.
    private func block(_ layer: Layer, offsets: [Int], workspace w: Workspace, positionBias: [Float]?, parallelism: Parallelism) {
        let tokens = offsets.last!
        Kernels.packedLinear(w.hidden, rows: tokens, weight: layer.qkv, bias: layer.qkvBias.pointer, into: w.qkv, parallelism: parallelism)
        attention(offsets: offsets, workspace: w, positionBias: positionBias, parallelism: parallelism)
        Kernels.packedLinear(w.context, rows: tokens, weight: layer.attentionOut, bias: layer.attentionOutBias.pointer, into: w.attended,
                             parallelism: parallelism)
        addAndNorm(w.attended, residual: w.hidden, tokens: tokens, gamma: layer.attentionNormGamma, beta: layer.attentionNormBeta, parallelism: parallelism)
        Kernels.packedLinear(w.attended, rows: tokens, weight: layer.intermediate, bias: layer.intermediateBias.pointer, activation: .gelu,
                             into: w.intermediate, parallelism: parallelism)
        // The block's input is no longer needed: its buffer takes the output.
        Kernels.packedLinear(w.intermediate, rows: tokens, weight: layer.output, bias: layer.outputBias.pointer, into: w.hidden, parallelism: parallelism)
        addAndNorm(w.hidden, residual: w.attended, tokens: tokens, gamma: layer.outputNormGamma, beta: layer.outputNormBeta, parallelism: parallelism)
    }

    private func addAndNorm(_ x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>, tokens: Int, gamma: FloatBuffer, beta: FloatBuffer,
                            parallelism: Parallelism) {
        let h = config.hiddenSize
        parallelism.forRanges(tokens, minimumPerPart: 16) { rows, _ in
            Kernels.layerNorm(x + rows.lowerBound * h, rows: rows.count, width: h, gamma: gamma.pointer, beta: beta.pointer,
                              epsilon: config.layerNormEpsilon, adding: residual + rows.lowerBound * h)
        }
    }

    /// Scaled dot-product attention of every (sequence, head) pair, reading query, key and value
    /// from `qkv` [T × 3H] and writing each head's context into its columns of `context` [T × H].
    private func attention(offsets: [Int], workspace w: Workspace, positionBias: [Float]?, parallelism: Parallelism) {
        let h = config.hiddenSize, heads = config.heads, d = h / heads
        let scale = 1 / Float(d).squareRoot()
        let sequences = offsets.count - 1
        parallelism.forRanges(sequences * heads) { units, worker in
            let scratch = w.scratch(worker: worker)
            for unit in units {
                let s = unit / heads, head = unit % heads
                let start = offsets[s], length = offsets[s + 1] - start
                let q = w.qkv + start * 3 * h + head * d, k = q + h, v = q + 2 * h
                (positionBias ?? []).withUnsafeBufferPointer { table in
                    // The bias depends on key − query only: row i reads the head's table from offset −i.
                    let headTable = positionBias == nil ? nil : table.baseAddress! + head * (2 * w.longest - 1) + (w.longest - 1)
                    let rowBias = headTable.map { table in { (i: Int) in table - i } }
                    if Kernels.attentionHeadFits(d) {
                        Kernels.attentionHead(query: q, key: k, value: v, stride: 3 * h, length: length, headSize: d, scale: scale, rowBias: rowBias,
                                              scratch: scratch, into: w.context + start * h + head * d, contextStride: h)
                    } else {
                        blasAttentionHead(q, k, v, stride: 3 * h, length: length, headSize: d, scale: scale, rowBias: rowBias,
                                          scores: scratch, into: w.context + start * h + head * d, contextStride: h)
                    }
                }
            }
        }
    }

    /// The same through `sgemm`, for head sizes that are not whole panels of 16.
    private func blasAttentionHead(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, stride: Int, length: Int,
                                   headSize d: Int, scale: Float, rowBias: ((Int) -> UnsafePointer<Float>)?,
                                   scores: UnsafeMutablePointer<Float>, into context: UnsafeMutablePointer<Float>, contextStride: Int) {
        Kernels.matmulTransposed(q, lda: stride, k, ldb: stride, m: length, n: length, k: d, alpha: scale, into: scores, ldc: length)
        if let rowBias {
            for i in 0..<length { Kernels.add(rowBias(i), into: scores + i * length, count: length) }
        }
        Kernels.softmax(scores, rows: length, width: length)
        Kernels.matmul(scores, lda: length, v, ldb: stride, m: length, n: d, k: length, into: context, ldc: contextStride)
    }
}

/// The activations of one forward pass, in one block of memory for the whole batch, reused by every layer.
final class Workspace {
    let hidden, qkv, context, attended, intermediate: UnsafeMutablePointer<Float>
    let longest: Int
    private let scratchBlocks: UnsafeMutablePointer<Float>
    private let scratchSize: Int
    private let memory: MemoryBlock
    private let cache: WorkspaceCache

    init(config: EncoderConfig, tokens: Int, longest: Int, workers: Int, cache: WorkspaceCache) {
        let h = config.hiddenSize
        scratchSize = Kernels.attentionScratch(longest: longest, headSize: h / config.heads)
        let sizes = [tokens * h, tokens * 3 * h, tokens * h, tokens * h, tokens * config.intermediateSize, workers * scratchSize]
        memory = cache.take(capacity: sizes.reduce(0, +))
        var cursor = memory.start
        var regions: [UnsafeMutablePointer<Float>] = []
        for size in sizes {
            regions.append(cursor)
            cursor += size
        }
        (hidden, qkv, context, attended, intermediate, scratchBlocks) = (regions[0], regions[1], regions[2], regions[3], regions[4], regions[5])
        self.longest = longest
        self.cache = cache
    }

    /// One worker's scratch for attention: a head's scores and packed keys.
    func scratch(worker: Int) -> UnsafeMutablePointer<Float> { scratchBlocks + worker * scratchSize }

    func release() { cache.give(back: memory) }
}

struct MemoryBlock: @unchecked Sendable {
    let start: UnsafeMutablePointer<Float>
    let capacity: Int
}

/// Keeps the memory of recent forward passes for the next ones (one per worker when a batch is cut
/// into a run per worker), so a stream of requests does not fault fresh pages in every time; a block
/// larger than `largestKept` floats is returned to the system.
final class WorkspaceCache: Sendable {
    private let spare = Mutex<[MemoryBlock]>([])
    private let largestKept: Int
    private let blocksKept: Int

    init(largestKept: Int = 8 << 20, blocksKept: Int = 4) {
        self.largestKept = largestKept
        self.blocksKept = blocksKept
    }

    func take(capacity: Int) -> MemoryBlock {
        let cached = spare.withLock { spare -> MemoryBlock? in
            // The smallest block that is large enough.
            guard let index = spare.indices.filter({ spare[$0].capacity >= capacity }).min(by: { spare[$0].capacity < spare[$1].capacity }) else {
                return nil
            }
            return spare.remove(at: index)
        }
        return cached ?? MemoryBlock(start: .allocate(capacity: max(capacity, 1)), capacity: max(capacity, 1))
    }

    func give(back block: MemoryBlock) {
        let unused: MemoryBlock? = spare.withLock { spare in
            guard block.capacity <= largestKept else { return block }
            spare.append(block)
            guard spare.count > blocksKept, let smallest = spare.indices.min(by: { spare[$0].capacity < spare[$1].capacity }) else { return nil }
            return spare.remove(at: smallest)
        }
        unused?.start.deallocate()
    }

    deinit { spare.withLock { $0.forEach { $0.start.deallocate() } } }
}

extension TransformerEncoder {
    /// Floating-point operations of one forward pass over `length` tokens (a multiply-add counts two):
    /// the projections and feed-forward, plus attention's two products.
    public func flops(length: Int) -> Double {
        let h = Double(config.hiddenSize), inner = Double(config.intermediateSize), l = Double(length)
        return Double(config.layers) * (2 * l * (4 * h * h + 2 * h * inner) + 4 * l * l * h)
    }
}
