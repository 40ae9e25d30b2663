import Foundation
@testable import Inference
import Testing

/// Every code point, as Hugging Face `tokenizers` 0.19 tokenizes it: "a" + c + "b" for c in
/// U+0000…U+10FFFF gives the same ids here as there, for the three model families; and "²" + c + "b"
/// for the Unigram one, whose Precompiled normalizer replaces "²" with the grapheme cluster it starts
/// (so that where clusters end shows). Surrogates
/// (U+D800…U+DFFF) are skipped: a Swift String cannot hold one (nor can Python hand one to Rust).
/// The words must match too (where the pre-tokenizer splits), not only the ids. The reference comes
/// from scripts/fixtures/codepoint_references.py, run here with the Python that has `tokenizers`
/// (`TOKENIZERS_PYTHON`, else Debian's /usr/bin/python3).
@Suite struct CodePointTokenizerTests {
    static let codePoints: [Unicode.Scalar] = (0...0x10FFFF).compactMap { Unicode.Scalar(UInt32($0)) }

    static func tokenizerFile(_ kind: String) throws -> URL {
        kind == "wordpiece" ? try RealModels.miniLMFolder().appendingPathComponent("tokenizer.json")
            : try Fixtures.url("tokenizers/\(kind)-tokenizer.json")
    }

    @Test(arguments: zip(["wordpiece", "bpe", "unigram", "unigram"], ["a", "a", "a", "²"]))
    func everyCodePointMatchesHuggingFace(kind: String, first: String) throws {
        let file = try Self.tokenizerFile(kind)
        let tokenizer = try Tokenizer.load(contentsOf: file)
        let expected = try CodePointReferences(for: file, first: first)
        let firstScalars = Array(first.unicodeScalars)
        try #require(expected.count == Self.codePoints.count, "the reference has \(expected.count) code points, not \(Self.codePoints.count)")

        // Chunks of code points in parallel; each chunk keeps its first mismatches.
        let chunks = 64
        let found = MismatchLog()
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let range = (Self.codePoints.count * chunk / chunks)..<(Self.codePoints.count * (chunk + 1) / chunks)
            var mismatches: [(Int, [UInt32])] = []
            var count = 0
            for index in range {
                var text = String.UnicodeScalarView()
                text.append(contentsOf: firstScalars)
                text.append(Self.codePoints[index])
                text.append("b")
                var ids: [UInt32] = []
                tokenizer.forEachWord(of: String(text)) { word in
                    for (n, id) in word.enumerated() { ids.append(UInt32(id) | (n == 0 ? CodePointReferences.wordStart : 0)) }
                }
                if !ids.elementsEqual(expected[index]) {
                    count += 1
                    if mismatches.count < 8 { mismatches.append((index, ids)) }
                }
            }
            found.add(count: count, mismatches)
        }
        let (count, mismatches) = found.result()
        let report = mismatches.prefix(12).map { index, got in
            "U+\(String(Self.codePoints[index].value, radix: 16, uppercase: true)): got \(CodePointReferences.describe(got)), "
                + "want \(CodePointReferences.describe(expected[index]))"
        }
        #expect(count == 0, "\(kind), \(first) + c + b: \(count) of \(Self.codePoints.count) code points differ from Hugging Face:\n\(report.joined(separator: "\n"))")
    }
}

/// Mismatches collected from the parallel chunks.
private final class MismatchLog: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var mismatches: [(Int, [UInt32])] = []

    func add(count: Int, _ found: [(Int, [UInt32])]) {
        lock.withLock {
            self.count += count
            mismatches.append(contentsOf: found)
        }
    }

    func result() -> (Int, [(Int, [UInt32])]) { lock.withLock { (count, mismatches.sorted { $0.0 < $1.0 }) } }
}

/// Hugging Face's ids for first + c + "b", per code point in order (bit 31 marks a word's first id),
/// made by the reference script and kept in the temporary folder under a name that hashes the
/// tokenizer file, the script and the first character.
struct CodePointReferences {
    static let wordStart: UInt32 = 1 << 31
    static var python: String { ProcessInfo.processInfo.environment["TOKENIZERS_PYTHON"] ?? "/usr/bin/python3" }
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/fixtures/codepoint_references.py")

    private var ids: [UInt32] = []
    private var starts: [Int] = [0]

    init(for tokenizerFile: URL, first: String) throws {
        let data = try Self.reference(for: tokenizerFile, first: first)
        ids.reserveCapacity(data.count / 4)
        starts.reserveCapacity(0x110000)
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let count = Int(raw[offset])
                guard offset + 1 + 4 * count <= raw.count else { throw FixtureMissing("the reference ids are truncated") }
                for n in 0..<count { ids.append(raw.loadUnaligned(fromByteOffset: offset + 1 + 4 * n, as: UInt32.self).littleEndian) }
                offset += 1 + 4 * count
                starts.append(ids.count)
            }
        }
    }

    var count: Int { starts.count - 1 }
    subscript(index: Int) -> ArraySlice<UInt32> { ids[starts[index]..<starts[index + 1]] }

    /// Ids with "|" before each word: [|0, 5, |9].
    static func describe<C: Collection>(_ ids: C) -> String where C.Element == UInt32 {
        "[" + ids.map { ($0 & wordStart != 0 ? "|" : "") + String($0 & ~wordStart) }.joined(separator: ", ") + "]"
    }

    private static func reference(for tokenizerFile: URL, first: String) throws -> Data {
        let input = try Data(contentsOf: tokenizerFile) + Data(contentsOf: script) + Data(first.utf8)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in input { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let cached = FileManager.default.temporaryDirectory.appendingPathComponent("codepoint-ids-\(String(hash, radix: 16)).bin")
        if let data = try? Data(contentsOf: cached), !data.isEmpty { return data }
        let partial = cached.appendingPathExtension("\(ProcessInfo.processInfo.processIdentifier).part")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, tokenizerFile.path, partial.path, first]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureMissing("\(python) \(script.lastPathComponent) failed (it needs Hugging Face tokenizers 0.19): "
                + String(decoding: message, as: UTF8.self))
        }
        try? FileManager.default.removeItem(at: cached)
        try FileManager.default.moveItem(at: partial, to: cached)
        return try Data(contentsOf: cached)
    }
}
