import Foundation
import OrderedJSON

// Tokenizer speed: CPU seconds to tokenize every "text" of a JSON-lines corpus `rounds` times, best of 5.
//   bench_tokenizers <tokenizer.json> <corpus.jsonl> [rounds]   (built by scripts/bench_tokenizers.sh)
let arguments = CommandLine.arguments
let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: arguments[1]))
let texts = try Data(contentsOf: URL(fileURLWithPath: arguments[2])).split(separator: UInt8(ascii: "\n"))
    .map { try JSON.parse(Data($0))["text"]?.stringValue ?? "" }
let rounds = arguments.count > 3 ? Int(arguments[3]) ?? 10 : 10
var best = Double.infinity
var tokens = 0
for _ in 0..<5 {
    let start = clock()
    tokens = 0
    for _ in 0..<rounds { for text in texts { tokens += tokenizer.tokenize(text).count } }
    best = min(best, Double(clock() - start) / Double(CLOCKS_PER_SEC))
}
let megabytes = Double(texts.reduce(0) { $0 + $1.utf8.count } * rounds) / 1e6
print(String(format: "%@: %.3f s CPU, %.2f MB/s, %d tokens", URL(fileURLWithPath: arguments[1]).lastPathComponent, best, megabytes / best, tokens))
