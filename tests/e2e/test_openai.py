"""The OpenAI Python client on /v1/embeddings, against a deployed traced model."""

import json
import time

import openai
import pytest

from conftest import MINILM, TRACED_BERT
from test_opensearch_py import client_for, wait_for_task


def test_openai_embeddings(server, mirror):
    mirror.publish_traced_bert()
    client = client_for(server)
    task = wait_for_task(client, client.plugins.ml.register_model(
        body={"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"}, params={"deploy": "true"})["task_id"])
    model_id = task["model_id"]
    deadline_loops = 300
    while client.plugins.ml.get_model(model_id=model_id)["model_state"] != "DEPLOYED":
        deadline_loops -= 1
        assert deadline_loops > 0
        time.sleep(0.05)

    references = [json.loads(line) for line in open(TRACED_BERT / "embeddings.jsonl", encoding="utf-8")][:8]
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
