"""The OpenAI Python client on /v1/embeddings, against a deployed traced model."""

import json
import shutil

import openai
import pytest

from conftest import MINILM, REPO
from test_opensearch_py import client_for, wait_for_task

FIXTURES = REPO / "Tests" / "InferenceTests" / "Fixtures" / "architectures" / "bert"


def test_openai_embeddings(server, mirror):
    folder = mirror.root / "models" / "ml-models" / MINILM / "1.0.1" / "torch_script"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "bert-torch_script.zip", folder / "sentence-transformers_all-MiniLM-L6-v2-1.0.1-torch_script.zip")
    shutil.copy(FIXTURES / "config.json", folder / "config.json")
    client = client_for(server)
    task = wait_for_task(client, client.plugins.ml.register_model(
        body={"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}, params={"deploy": "true"})["task_id"])
    model_id = task["model_id"]
    deadline_loops = 300
    while client.plugins.ml.get_model(model_id=model_id)["model_state"] != "DEPLOYED":
        deadline_loops -= 1
        assert deadline_loops > 0
        import time
        time.sleep(0.05)

    references = [json.loads(line) for line in open(FIXTURES / "embeddings.jsonl", encoding="utf-8")][:8]
    api = openai.OpenAI(base_url=f"http://127.0.0.1:{server.port}/v1", api_key="not-needed")
    for model in (model_id, MINILM):  # by id and by name
        response = api.embeddings.create(model=model, input=[r["text"] for r in references])
        assert [item.index for item in response.data] == list(range(len(references)))
        for item, reference in zip(response.data, references):
            assert max(abs(a - b) for a, b in zip(item.embedding, reference["embedding"])) <= 1e-4
        assert response.usage.prompt_tokens > 0
    single = api.embeddings.create(model=model_id, input=references[0]["text"], encoding_format="float")
    assert len(single.data) == 1 and len(single.data[0].embedding) == 16

    with pytest.raises(openai.NotFoundError):
        api.embeddings.create(model="no-such-model", input="hello")
    with pytest.raises(openai.BadRequestError):
        api.embeddings.create(model=model_id, input=[])
