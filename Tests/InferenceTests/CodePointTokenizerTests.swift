import Foundation
@testable import Inference
import OrderedJSON
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

extension CodePointTokenizerTests {
    /// The normalizers one by one, as `tokenizers` has them, on "a" + c + "b" for every code point but
    /// the surrogates and U+000A (the strings are normalized as one text, a line each).
    @Test(arguments: ["NFD", "NFKD", "NFC", "NFKC", "Lowercase", "StripAccents"])
    func everyCodePointNormalizesAsHuggingFace(form: String) throws {
        let normalizer = try Normalizers.make(JSON.parse(Data(#"{"type": "\#(form)"}"#.utf8)))
        let points = Self.codePoints.filter { $0 != "\n" }
        var input = String.UnicodeScalarView()
        for point in points {
            if !input.isEmpty { input.append("\n") }
            input.append("a")
            input.append(point)
            input.append("b")
        }
        let expected = String(decoding: try ReferenceRun.output(of: "codepoint_normalized.py", arguments: [form], key: Data()), as: UTF8.self)
        let got = normalizer.normalize(String(input)).unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        let want = expected.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        try #require(want.count == points.count, "the reference has \(want.count) lines for \(points.count) code points")
        try #require(got.count == points.count, "\(form) made \(got.count) lines of \(points.count)")
        let differing = points.indices.filter { !got[$0].elementsEqual(want[$0]) }
        let report = differing.prefix(12).map { index in
            "U+\(String(points[index].value, radix: 16, uppercase: true)): got \(got[index].map { String($0.value, radix: 16) }), "
                + "want \(want[index].map { String($0.value, radix: 16) })"
        }
        #expect(differing.isEmpty, "\(form): \(differing.count) code points differ from Hugging Face:\n\(report.joined(separator: "\n"))")
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
/// from scripts/fixtures/codepoint_references.py.
struct CodePointReferences {
    static let wordStart: UInt32 = 1 << 31

    private var ids: [UInt32] = []
    private var starts: [Int] = [0]

    init(for tokenizerFile: URL, first: String) throws {
        let data = try ReferenceRun.output(of: "codepoint_references.py", arguments: [tokenizerFile.path, first],
                                           key: Data(contentsOf: tokenizerFile))
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
}

/// A reference script of scripts/fixtures run with the Python that has Hugging Face `tokenizers`
/// (`TOKENIZERS_PYTHON`, else Debian's /usr/bin/python3) as `script <first argument> <output file> <other arguments>`, its output
/// argument) kept in the temporary folder under a hash of the script, the arguments and `key` (the
/// contents of an input file), and reused on the next run.
enum ReferenceRun {
    static var python: String { ProcessInfo.processInfo.environment["TOKENIZERS_PYTHON"] ?? "/usr/bin/python3" }
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/fixtures")

    static func output(of scriptName: String, arguments: [String], key: Data) throws -> Data {
        let script = scripts.appendingPathComponent(scriptName)
        let input = try Data(contentsOf: script) + Data(arguments.joined(separator: "\u{0}").utf8) + key
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in input { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let cached = FileManager.default.temporaryDirectory.appendingPathComponent("hf-reference-\(String(hash, radix: 16))")
        if let data = try? Data(contentsOf: cached), !data.isEmpty { return data }
        let partial = cached.appendingPathExtension("\(ProcessInfo.processInfo.processIdentifier).part")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path] + arguments.prefix(1) + [partial.path] + arguments.dropFirst()
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureMissing("\(python) \(scriptName) failed (it needs Hugging Face tokenizers 0.19): " + String(decoding: message, as: UTF8.self))
        }
        try? FileManager.default.removeItem(at: cached)
        try FileManager.default.moveItem(at: partial, to: cached)
        return try Data(contentsOf: cached)
    }
}
