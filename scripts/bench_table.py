"""Prints scripts/bench's table from engine.json, ort.json and server.json, with issue 5's targets.

    python scripts/bench_table.py <model name> <threads> <artifact zip> <folder with the three JSON files>
"""

import json
import os
import sys
import zipfile

KINDS = ["short", "sentence", "passage", "mixed"]


def main(name, threads, artifact, folder):
    engine, ort, server = (json.load(open(os.path.join(folder, f"{part}.json"))) for part in ["engine", "ort", "server"])
    with zipfile.ZipFile(artifact) as archive:
        weights = max(info.file_size for info in archive.infolist() if info.filename.endswith(".onnx"))
    e, o, s = engine["kinds"], ort["kinds"], server["kinds"]
    mb = lambda n: f"{n / 1e6:.0f} MB"

    print(f"\n### {name}: {threads} threads, weights {mb(weights)}, max length {engine['max_length']} tokens, "
          f"sgemm {engine['sgemm_gflops']:.0f} GFLOPS (OpenBLAS), packed product {engine.get('packed_gflops', 0):.0f} GFLOPS (own kernel), "
          + (f"best of {engine['rounds']} rounds\n" if engine.get("rounds", 1) > 1 else "one round\n"))
    print("| corpus | texts | tokens | engine texts/s | ORT texts/s | engine/ORT | engine tokens/s | ORT tokens/s | server texts/s | server/engine "
          "| engine GFLOPS (share of sgemm) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in KINDS:
        gflops = e[kind]["gflops"]
        print(f"| {kind} | {e[kind]['texts']} | {e[kind]['tokens']} | {e[kind]['texts_per_second']:.0f} | {o[kind]['texts_per_second']:.0f} | "
              f"{e[kind]['texts_per_second'] / o[kind]['texts_per_second']:.2f} | {e[kind]['tokens_per_second']:.0f} | {o[kind]['tokens_per_second']:.0f} | "
              f"{s[kind]['texts_per_second']:.0f} | "
              f"{s[kind]['texts_per_second'] / e[kind]['texts_per_second']:.2f} | {gflops:.0f} ({gflops / engine['sgemm_gflops']:.0%}) |")
    print("\n| one text at a time | engine p50 / p99 ms | ORT p50 / p99 ms | ORT p50 / engine p50 | server under 32 clients p50 / p99 ms |")
    print("|---|---|---|---|---|")
    for kind in KINDS[:3]:
        print(f"| {kind} | {e[kind]['p50_ms']:.2f} / {e[kind]['p99_ms']:.2f} | {o[kind]['p50_ms']:.2f} / {o[kind]['p99_ms']:.2f} | "
              f"{o[kind]['p50_ms'] / e[kind]['p50_ms']:.2f} | {s[kind]['p50_ms']:.1f} / {s[kind]['p99_ms']:.1f} |")
    throttled = sum(s[k]["throttled"] + s[k]["failed"] for k in KINDS)
    print(f"\n| memory and deploy | value |\n|---|---|\n"
          f"| server RSS, model deployed (restarted server) | {mb(server['rss_deployed_bytes'])} (before deploy {mb(server['rss_before_deploy_bytes'])}) |\n"
          f"| server RSS right after registering (download, chunking), before the restart | {mb(server['rss_after_registering_bytes'])} |\n"
          f"| server peak RSS under load | {mb(server['peak_rss_bytes'])} |\n"
          f"| engine peak RSS (bench, all batches) | {mb(engine['peak_rss_bytes'])} |\n"
          f"| ORT peak RSS (all batches) | {mb(ort['peak_rss_bytes'])} |\n"
          f"| deploy of the registered model | {server['deploy_seconds']:.2f} s |\n"
          f"| requests refused or failed under load | {throttled} |")

    targets = [
        ("engine mixed >= 1.2x ORT", e["mixed"]["texts_per_second"] / o["mixed"]["texts_per_second"], 1.2, True),
        ("engine passages >= 1.0x ORT", e["passage"]["texts_per_second"] / o["passage"]["texts_per_second"], 1.0, True),
        ("short query p50 <= ORT (ORT/engine)", o["short"]["p50_ms"] / e["short"]["p50_ms"], 1.0, True),
        ("server mixed >= 0.8x engine", s["mixed"]["texts_per_second"] / e["mixed"]["texts_per_second"], 0.8, True),
        ("deployed RSS <= 1.5x weights + 60 MB (MB)", server["rss_deployed_bytes"] / 1e6, (1.5 * weights + 60e6) / 1e6, False),
        ("deploy <= 1 s", server["deploy_seconds"], 1.0, False),
    ]
    print("\n| target | measured | bound | met |\n|---|---|---|---|")
    for label, value, bound, at_least in targets:
        met = value >= bound if at_least else value <= bound
        print(f"| {label} | {value:.3f} | {bound:.2f} | {'yes' if met else 'no'} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
