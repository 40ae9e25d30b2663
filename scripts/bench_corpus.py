"""The benchmark corpus: real English of mixed lengths, from Debian's package descriptions.

    python scripts/bench_corpus.py <Translation-en file> <tokenizer.json> <output.jsonl>
Writes JSON lines {"kind", "text"}: `short` (package summaries of 6 to 10 tokens, like queries),
`sentence` (first sentences of descriptions, 20 to 32 tokens) and `passage` (whole descriptions
of 128 to 512 tokens), counted with the model's tokenizer, special tokens included.
Descriptions repeated across packages (library splits, -data packages) are kept once.
"""

import json
import re
import sys

from tokenizers import Tokenizer

COUNTS = {"short": 1024, "sentence": 1024, "passage": 256}
RANGES = {"short": (6, 10), "sentence": (20, 32), "passage": (128, 512)}


def descriptions(path):
    """(summary, long description) of every package in a Translation-en file."""
    summary, body = None, []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("Description-en: "):
            summary, body = line[len("Description-en: "):], []
        elif line.startswith(" ") and summary is not None:
            body.append("" if line.strip() == "." else line.strip())
        elif not line and summary is not None:
            yield summary, "\n".join(" ".join(part.split("\n")) for part in "\n".join(body).split("\n\n")).strip()
            summary = None


def main(translations, tokenizer_path, output):
    tokenizer = Tokenizer.from_file(tokenizer_path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    seen, chosen = set(), {kind: [] for kind in COUNTS}

    def offer(kind, text):
        text = text.strip()
        if text in seen or len(chosen[kind]) >= COUNTS[kind]:
            return
        low, high = RANGES[kind]
        if low <= len(tokenizer.encode(text).ids) <= high:
            seen.add(text)
            chosen[kind].append(text)

    for summary, body in descriptions(translations):
        offer("short", summary)
        first = re.split(r"(?<=[.!?])\s", body.replace("\n", " "), maxsplit=1)[0]
        offer("sentence", first)
        offer("passage", body.replace("\n", " "))
    with open(output, "w", encoding="utf-8") as out:
        for kind, texts in chosen.items():
            for text in texts:
                out.write(json.dumps({"kind": kind, "text": text}) + "\n")
    print(", ".join(f"{len(texts)} {kind}" for kind, texts in chosen.items()), "texts in", output, file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
