"""Merges several rounds of one side's benchmark JSON (engine or ONNX Runtime) into one: for every
kind, the round with the most texts/s gives the throughput numbers and the round with the lowest p50
gives the latencies. The machine is shared: a neighbour slows some rounds, never speeds one up.

    python scripts/bench_best.py <round.json>... > best.json
"""

import json
import sys


def main(paths):
    rounds = [json.load(open(path)) for path in paths]
    best = dict(rounds[0])
    best["rounds"] = len(rounds)
    best["kinds"] = {}
    for kind in rounds[0]["kinds"]:
        entries = [r["kinds"][kind] for r in rounds]
        merged = dict(max(entries, key=lambda e: e.get("texts_per_second", 0)))
        if "p50_ms" in merged:
            fastest = min(entries, key=lambda e: e["p50_ms"])
            merged["p50_ms"], merged["p99_ms"] = fastest["p50_ms"], fastest["p99_ms"]
        best["kinds"][kind] = merged
    for rate in ["sgemm_gflops", "packed_gflops"]:
        if rate in best:
            best[rate] = max(r[rate] for r in rounds)
    best["peak_rss_bytes"] = max(r["peak_rss_bytes"] for r in rounds)
    print(json.dumps(best))


if __name__ == "__main__":
    main(sys.argv[1:])
