"""The server driven by the real opensearch-py client (its `plugins.ml` namespace)."""

import json
import time

import pytest
from opensearchpy import NotFoundError, OpenSearch, RequestError

from conftest import MINILM, traced_bert_all_config, traced_bert_zip


def client_for(server) -> OpenSearch:
    return OpenSearch(hosts=[{"host": "127.0.0.1", "port": server.port}], use_ssl=False, timeout=30)


def wait_for_task(client, task_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.plugins.ml.get_task(task_id=task_id)
        if task["state"] not in ("CREATED", "RUNNING"):
            return task
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} did not finish")


def test_model_lifecycle_survives_a_restart(server, mirror):
    digest = mirror.publish(MINILM, "1.0.2", "TORCH_SCRIPT")
    client = client_for(server)
    assert client.info()["version"]["distribution"] == "opensearch"

    group = client.plugins.ml.register_model_group(body={"name": "e2e_group", "description": "end to end"})
    assert group["status"] == "CREATED"
    group_id = group["model_group_id"]
    with pytest.raises(RequestError) as duplicate:
        client.plugins.ml.register_model_group(body={"name": "e2e_group"})
    assert "already being used by a model group" in duplicate.value.info["error"]["reason"]

    registered = client.plugins.ml.register_model(
        body={"name": MINILM, "version": "1.0.2", "model_group_id": group_id, "model_format": "TORCH_SCRIPT"})
    assert registered["status"] == "CREATED"
    task = wait_for_task(client, registered["task_id"])
    assert task["state"] == "COMPLETED", task
    assert task["task_type"] == "REGISTER_MODEL"
    model_id = task["model_id"]

    model = client.plugins.ml.get_model(model_id=model_id)
    assert model["model_state"] == "REGISTERED"
    assert model["model_group_id"] == group_id
    assert model["model_version"] == "1"
    assert model["model_content_hash_value"] == digest
    assert model["model_config"]["embedding_dimension"] == 384

    hits = client.plugins.ml.search_models(
        body={"query": {"bool": {"must": [{"term": {"model_group_id": group_id}}],
                                 "must_not": [{"exists": {"field": "chunk_number"}}]}}})["hits"]
    assert hits["total"]["value"] == 1
    assert hits["hits"][0]["_id"] == model_id
    assert {"_version", "_seq_no", "_primary_term"} <= set(hits["hits"][0])

    # Deploy: the fixture's config promises 384 dimensions and its BERT gives 16, so the engine refuses
    # it; the task says why and the model is DEPLOY_FAILED (test_deploy.py deploys a real traced model).
    deploy = client.plugins.ml.deploy_model(model_id=model_id)
    assert deploy["task_type"] == "DEPLOY_MODEL"
    deploy_task = wait_for_task(client, deploy["task_id"])
    assert deploy_task["state"] == "FAILED"
    (node_message,) = json.loads(deploy_task["error"]).values()
    assert "embedding_dimension is 384 but the model produces 16-dimensional embeddings" in node_message
    assert client.plugins.ml.get_model(model_id=model_id)["model_state"] == "DEPLOY_FAILED"

    with pytest.raises(NotFoundError) as missing:
        client.plugins.ml.get_model(model_id="no-such-model")
    assert missing.value.status_code == 404

    # Restart: nothing registered is lost.
    server.stop()
    server.start()
    client = client_for(server)
    assert client.plugins.ml.get_model_group(model_group_id=group_id)["latest_version"] == 1
    restarted = client.plugins.ml.get_model(model_id=model_id)
    assert restarted["model_group_id"] == group_id
    assert restarted["model_version"] == "1"
    assert restarted["model_content_hash_value"] == digest
    assert client.plugins.ml.get_task(task_id=registered["task_id"])["state"] == "COMPLETED"
    tasks = client.plugins.ml.search_tasks(body={"query": {"term": {"model_id": model_id}}})["hits"]["hits"]
    assert {hit["_source"]["task_type"] for hit in tasks} == {"REGISTER_MODEL", "DEPLOY_MODEL"}

    # Delete the model, then its group.
    undeployed = client.plugins.ml.undeploy_model(model_id=model_id)
    assert list(undeployed.values())[0]["stats"][model_id] == "not_found"
    assert client.plugins.ml.delete_model(model_id=model_id)["result"] == "deleted"
    assert client.plugins.ml.delete_model_group(model_group_id=group_id)["result"] == "deleted"
    with pytest.raises(NotFoundError):
        client.plugins.ml.get_model(model_id=model_id)


def test_chunked_upload_through_the_client(server, mirror):
    import hashlib
    import os

    client = client_for(server)
    client.cluster.put_settings(body={"persistent": {"plugins.ml_commons.allow_registering_model_via_local_file": True}})
    content = traced_bert_zip(filler=os.urandom(25_000))
    chunks = [content[i:i + 100_000] for i in range(0, len(content), 100_000)]
    meta = client.plugins.ml.register_model_meta(body={
        "name": "uploaded", "version": "1.0.0", "model_format": "TORCH_SCRIPT",
        "model_content_hash_value": hashlib.sha256(content).hexdigest(), "model_content_size_in_bytes": len(content),
        "total_chunks": len(chunks),
        "model_config": {"model_type": "bert", "embedding_dimension": 16, "framework_type": "sentence_transformers",
                         "all_config": traced_bert_all_config()},
    })
    assert meta["status"] == "CREATED"
    for number, chunk in enumerate(chunks):
        upload = client.plugins.ml.upload_chunk if number % 2 == 0 else client.plugins.ml.chunk_model
        assert upload(model_id=meta["model_id"], chunk_number=number, body=chunk) == {"status": "Uploaded"}
    assert client.plugins.ml.get_model(model_id=meta["model_id"])["model_state"] == "REGISTERED"
    stats = client.plugins.ml.get_stats()
    assert stats["ml_model_count"] == 1
