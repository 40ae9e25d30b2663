"""ONNX Runtime on the benchmark corpus, as a sentence-transformers user would run it.

    python scripts/bench_ort.py <model.onnx> <tokenizer.json> <corpus.jsonl> <threads>
Texts are sorted by length and run in batches of 32 padded to their longest text; tokenizing,
mean pooling and normalizing are timed with the model, as the engine's numbers include them.
Prints one JSON object shaped like `mlcommons bench`'s.
"""

import json
import resource
import sys
import time

import numpy
import onnxruntime
from tokenizers import Tokenizer

BATCH = 32


def rss_bytes():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main(onnx_path, tokenizer_path, corpus_path, threads):
    threads = int(threads)
    tokenizer = Tokenizer.from_file(tokenizer_path)
    # The model's own limit, as the engine applies it (the tokenizer file's truncation, else 512).
    if tokenizer.truncation is None:
        tokenizer.enable_truncation(512)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    start = time.perf_counter()
    session = onnxruntime.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    load_seconds = time.perf_counter() - start
    input_names = {i.name for i in session.get_inputs()}

    def embed(texts):
        tokenizer.enable_padding()
        encodings = tokenizer.encode_batch(texts)
        ids = numpy.array([e.ids for e in encodings], dtype=numpy.int64)
        mask = numpy.array([e.attention_mask for e in encodings], dtype=numpy.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in input_names:
            feeds["token_type_ids"] = numpy.zeros_like(ids)
        tokens = session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(numpy.float32)
        pooled = (tokens * weights).sum(axis=1) / numpy.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / numpy.clip(numpy.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def lengths(texts):
        tokenizer.no_padding()
        return [len(e.ids) for e in tokenizer.encode_batch(texts)]

    by_kind = {}
    for line in open(corpus_path, encoding="utf-8"):
        entry = json.loads(line)
        by_kind.setdefault(entry["kind"], []).append(entry["text"])
    rss_after_load = rss_bytes()
    embed([t for texts in by_kind.values() for t in texts][:BATCH])  # warm-up

    kinds = {}
    for kind, texts in list(by_kind.items()) + [("mixed", [t for texts in by_kind.values() for t in texts])]:
        counts = lengths(texts)
        order = sorted(range(len(texts)), key=lambda i: counts[i])
        start = time.perf_counter()
        for first in range(0, len(order), BATCH):
            embed([texts[i] for i in order[first:first + BATCH]])
        seconds = time.perf_counter() - start
        entry = {"texts": len(texts), "tokens": sum(counts), "texts_per_second": round(len(texts) / seconds, 1),
                 "tokens_per_second": round(sum(counts) / seconds)}
        if kind != "mixed":
            latencies = []
            for text in texts[:200]:
                t = time.perf_counter()
                embed([text])
                latencies.append((time.perf_counter() - t) * 1000)
            latencies.sort()
            entry["p50_ms"] = round(latencies[len(latencies) // 2], 2)
            entry["p99_ms"] = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2)
        kinds[kind] = entry
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"model_load_seconds": round(load_seconds, 3), "rss_after_load_bytes": rss_after_load, "kinds": kinds,
                      "peak_rss_bytes": peak, "threads": threads, "batch_size": BATCH}))


if __name__ == "__main__":
    main(*sys.argv[1:])
