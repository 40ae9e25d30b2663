"""opensearch-py-ml's MLCommonClient running its own workflows against the server."""

import json

from opensearch_py_ml.ml_commons import MLCommonClient

from conftest import MINILM, TRACED_BERT as FIXTURES
from test_opensearch_py import client_for


def references(count):
    return [json.loads(line) for line in open(FIXTURES / "embeddings.jsonl", encoding="utf-8")][:count]


def assert_embeddings(result, expected):
    rows = result["inference_results"]
    assert len(rows) == len(expected)
    for row, reference in zip(rows, expected):
        (tensor,) = row["output"]
        assert tensor["name"] == "sentence_embedding" and tensor["data_type"] == "FLOAT32" and tensor["shape"] == [16]
        assert max(abs(a - b) for a, b in zip(tensor["data"], reference["embedding"])) <= 1e-4


def test_pretrained_workflow(server, mirror):
    mirror.publish_traced_bert()
    ml = MLCommonClient(client_for(server))

    model_id = ml.register_pretrained_model(MINILM, "1.0.1", "TORCH_SCRIPT", deploy_model=True, wait_until_deployed=True)
    assert ml.get_model_info(model_id)["model_state"] == "DEPLOYED"
    expected = references(4)
    assert_embeddings(ml.generate_embedding(model_id, [r["text"] for r in expected]), expected)

    hits = ml.search_model({"query": {"bool": {"must_not": {"exists": {"field": "chunk_number"}}}}})["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == [model_id]
    tasks = ml.search_task({"query": {"term": {"model_id": model_id}}})["hits"]["hits"]
    deploy_task = next(hit["_id"] for hit in tasks if hit["_source"]["task_type"] == "DEPLOY_MODEL")
    assert ml.get_task_info(deploy_task, wait_until_task_done=True)["state"] == "COMPLETED"
    assert list(ml.undeploy_model(model_id).values())[0]["stats"][model_id] == "undeployed"
    assert ml.delete_model(model_id)["result"] == "deleted"


def test_local_zip_workflow(server, mirror, tmp_path):
    client = client_for(server)
    client.cluster.put_settings(body={"persistent": {"plugins.ml_commons.allow_registering_model_via_local_file": True}})
    config = json.load(open(FIXTURES / "config.json"))
    config["name"] = "local-bert"
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    ml = MLCommonClient(client)

    # Uploaded through models/meta and models/<id>/chunk/<n>, then deployed and waited on.
    model_id = ml.register_model(str(FIXTURES / "bert-torch_script.zip"), str(config_path), deploy_model=True, wait_until_deployed=True)
    info = ml.get_model_info(model_id)
    assert info["model_state"] == "DEPLOYED" and info["name"] == "local-bert"
    expected = references(3)
    assert_embeddings(ml.generate_embedding(model_id, [r["text"] for r in expected]), expected)
    ml.undeploy_model(model_id)
    assert ml.delete_model(model_id)["result"] == "deleted"
