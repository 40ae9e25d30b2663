"""Deploy of a real traced TorchScript model through opensearch-py (the engine's tiny BERT fixture)."""

import time

from conftest import MINILM
from test_opensearch_py import client_for, wait_for_task


def test_deploy_and_undeploy_a_traced_model(server, mirror):
    mirror.publish_traced_bert()
    client = client_for(server)
    task = wait_for_task(client, client.plugins.ml.register_model(
        body={"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"})["task_id"])
    model_id = task["model_id"]
    deploy = client.plugins.ml.deploy_model(model_id=model_id)
    assert wait_for_task(client, deploy["task_id"])["state"] == "COMPLETED"
    # As opensearch-py-ml's deploy_model(wait_until_deployed=True) does: wait on the model's state.
    deadline = time.monotonic() + 30
    while client.plugins.ml.get_model(model_id=model_id)["model_state"] != "DEPLOYED":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    profile = client.plugins.ml.get_profile()
    (node,) = profile["nodes"].values()
    assert node["models"][model_id]["model_state"] == "DEPLOYED"
    undeployed = client.plugins.ml.undeploy_model(model_id=model_id)
    assert list(undeployed.values())[0]["stats"][model_id] == "undeployed"
    assert client.plugins.ml.delete_model(model_id=model_id)["result"] == "deleted"
