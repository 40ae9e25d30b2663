"""Three `mlcommons serve` nodes on one real PostgreSQL, driven by opensearch-py and opensearch-py-ml's
MLCommonClient as a user would drive an OpenSearch cluster: any node lists the others, settings are shared,
a model deployed to one node answers on every node, and it moves when that node is killed."""

import pathlib
import tempfile
import time
import uuid

import openai
import pytest
from opensearch_py_ml.ml_commons import MLCommonClient

from conftest import MINILM, Mirror, Postgres, Server
from test_opensearch_py import client_for, wait_for_task
from test_opensearch_py_ml import assert_embeddings, references

NAMES = ["node-0", "node-1", "node-2"]
ML = "/_plugins/_ml"
# A node silent this long is counted out; short, so the kill below is noticed within seconds.
NODE_TIMEOUT_SECONDS = 3


class Cluster:
    def __init__(self, mirror: Mirror, postgres: Postgres, nodes: list):
        self.mirror = mirror
        self.postgres = postgres
        self.nodes = nodes
        self.clients = [client_for(node) for node in nodes]
        self.ids = {}  # node name -> node id, filled in by `node_ids`

    def node_ids(self) -> dict:
        if not self.ids:
            info = wait_for("three nodes in _nodes", lambda: self._names_by_id(self.clients[0]))
            self.ids = {name: node_id for node_id, name in info.items()}
        return self.ids

    @staticmethod
    def _names_by_id(client):
        nodes = client.nodes.info()["nodes"]
        names = {node_id: node["name"] for node_id, node in nodes.items()}
        return names if sorted(names.values()) == NAMES else None

    def restart(self, index: int):
        """Starts node `index` again with its data dir (so its node id); it listens on a new port."""
        self.nodes[index].start()
        self.clients[index] = client_for(self.nodes[index])

    def failure_logs(self):
        """Shown by conftest's report hook when a test using the cluster fails."""
        for name, node in zip(NAMES, self.nodes):
            yield f"{name} log (last 8000 characters)", node.log()[-8000:]
        yield "PostgreSQL log (last 3000 characters)", self.postgres.log()[-3000:]


def wait_for(what: str, check, timeout: float = 20):
    """Polls `check` until it returns something truthy, which is returned; the last error or value is
    in the failure message."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
            last = value
        except Exception as error:  # a node may refuse while the cluster settles; retried until the deadline
            last = error
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def cat_names(client) -> list:
    return sorted(row["name"] for row in client.cat.nodes(format="json"))


@pytest.fixture(scope="module")
def cluster():
    with tempfile.TemporaryDirectory() as directory:
        root = pathlib.Path(directory)
        (root / "mirror").mkdir()
        mirror = Mirror(root / "mirror")
        # Not under `root`: PostgreSQL runs as another user, who cannot enter a root-only temporary directory.
        postgres = Postgres(pathlib.Path(tempfile.gettempdir()) / f"mlcommons-pg-{uuid.uuid4().hex[:8]}")
        nodes = []
        try:
            url = postgres.database_url("cluster")
            nodes = [Server(root / name, mirror.base_url,
                            ["--store", url, "--node-name", name, "--node-timeout", str(NODE_TIMEOUT_SECONDS)])
                     for name in NAMES]
            for node in nodes:
                node.start()
            yield Cluster(mirror, postgres, nodes)
        finally:
            for node in nodes:
                node.stop()
            postgres.stop()
            mirror.close()


def test_every_node_lists_the_cluster_and_shares_settings(cluster):
    for node, client in zip(cluster.nodes, cluster.clients):
        wait_for("three nodes in _cat/nodes", lambda: cat_names(client) == NAMES)
        info = client.nodes.info()
        assert info["_nodes"]["total"] == 3 and info["_nodes"]["successful"] == 3, info["_nodes"]
        assert sorted(n["name"] for n in info["nodes"].values()) == NAMES
    ids = cluster.node_ids()
    for name, node in zip(NAMES, cluster.nodes):
        # Every node reads the same ids, and each node's address is the one it listens on.
        assert {n["name"]: i for i, n in cluster.clients[2].nodes.info()["nodes"].items()} == ids
        published = cluster.clients[1].nodes.info(node_id=ids[name])["nodes"][ids[name]]
        assert published["http"]["publish_address"] == f"127.0.0.1:{node.port}", published
    rows = cluster.clients[1].cat.nodes(format="json", h="name,id")
    assert len(rows) == 3 and all(set(row) == {"name", "id"} for row in rows), rows

    setting = "plugins.ml_commons.allow_custom_deployment_plan"
    cluster.clients[0].cluster.put_settings(body={"persistent": {setting: True}})
    # Read back on another node, as OpenSearch answers them: strings, nested unless flat_settings.
    persistent = cluster.clients[2].cluster.get_settings()["persistent"]
    assert persistent["plugins"]["ml_commons"]["allow_custom_deployment_plan"] == "true", persistent
    assert cluster.clients[2].cluster.get_settings(flat_settings=True)["persistent"][setting] == "true"


def model_of(client, model_id) -> dict:
    return client.transport.perform_request("GET", f"{ML}/models/{model_id}")


def vectors(result) -> list:
    return [row["output"][0]["data"] for row in result["inference_results"]]


def test_a_model_on_one_node_answers_everywhere_and_moves_when_that_node_dies(cluster):
    ids = cluster.node_ids()
    id0, id1, id2 = (ids[name] for name in NAMES)
    clients = cluster.clients
    clients[0].cluster.put_settings(body={"persistent": {"plugins.ml_commons.allow_custom_deployment_plan": True}})
    cluster.mirror.publish_traced_bert()

    # Registered through node 1 with the client's own workflow, not deployed yet.
    ml = [MLCommonClient(client) for client in clients]
    model_id = ml[1].register_pretrained_model(MINILM, "1.0.1", "TORCH_SCRIPT", deploy_model=False)
    wait_for("the model registered", lambda: ml[1].get_model_info(model_id)["model_state"] == "REGISTERED", timeout=30)

    # MLCommonClient.deploy_model takes no node ids: the REST call, on node 1, for node 0 only.
    deploy = clients[1].transport.perform_request("POST", f"{ML}/models/{model_id}/_deploy", body={"node_ids": [id0]})
    task = wait_for_task(clients[1], deploy["task_id"])
    assert task["state"] == "COMPLETED" and task["worker_node"] == [id0], task
    model = wait_for("DEPLOYED on node 0", lambda: (m := model_of(clients[2], model_id))["model_state"] == "DEPLOYED" and m)
    assert model["planning_worker_nodes"] == [id0] and model["current_worker_node_count"] == 1, model

    # Node 2 does not hold it and forwards; the answer is node 0's, and the fixture's reference.
    expected = references(4)
    texts = [r["text"] for r in expected]
    forwarded = ml[2].generate_embedding(model_id, texts)
    direct = ml[0].generate_embedding(model_id, texts)
    assert_embeddings(direct, expected)
    assert vectors(forwarded) == vectors(direct)
    # The OpenAI route is forwarded too.
    openai_api = openai.OpenAI(base_url=f"http://127.0.0.1:{cluster.nodes[2].port}/v1", api_key="not-needed")
    response = openai_api.embeddings.create(model=model_id, input=texts)
    assert [item.index for item in response.data] == list(range(len(texts)))
    for item, vector in zip(response.data, vectors(direct)):
        assert max(abs(a - b) for a, b in zip(item.embedding, vector)) <= 1e-6

    profile = clients[2].transport.perform_request("GET", f"{ML}/profile/models")
    holders = {node_id for node_id, node in profile["nodes"].items() if model_id in node.get("models", {})}
    assert holders == {id0}, profile
    assert profile["nodes"][id0]["models"][model_id]["worker_nodes"] == [id0], profile
    stats = clients[1].transport.perform_request("GET", f"{ML}/stats")
    assert set(stats["nodes"]) == {id0, id1, id2}, stats

    # kill -9 node 0: counted out after the node timeout, and its share redeployed on another node.
    cluster.nodes[0].crash()
    wait_for("node-0 counted out", lambda: cat_names(clients[1]) == ["node-1", "node-2"], timeout=NODE_TIMEOUT_SECONDS + 15)
    assert set(clients[2].nodes.info()["nodes"]) == {id1, id2}

    def redeployed():
        m = model_of(clients[1], model_id)
        planned = m.get("planning_worker_nodes") or []
        return m["model_state"] == "DEPLOYED" and planned and id0 not in planned and m

    model = wait_for("the model DEPLOYED again without node 0", redeployed, timeout=45)
    new_holders = set(model["planning_worker_nodes"])
    assert new_holders <= {id1, id2}, model
    after = ml[1].generate_embedding(model_id, texts)
    assert_embeddings(after, expected)
    assert vectors(after) == vectors(direct)

    profile = clients[1].transport.perform_request("GET", f"{ML}/profile/models")
    assert id0 not in profile["nodes"], profile
    holders = {node_id for node_id, node in profile["nodes"].items() if model_id in node.get("models", {})}
    assert holders == new_holders, profile
    for holder in holders:
        assert set(profile["nodes"][holder]["models"][model_id]["worker_nodes"]) == new_holders, profile
    stats = clients[2].transport.perform_request("GET", f"{ML}/stats")
    assert set(stats["nodes"]) == {id1, id2}, stats

    # Node 0 restarts: live again, holding nothing (its share moved), and answers by forwarding.
    cluster.restart(0)
    wait_for("node-0 back", lambda: cat_names(clients[2]) == NAMES, timeout=20)
    assert set(model_of(clients[0], model_id)["planning_worker_nodes"]) == new_holders
    assert vectors(MLCommonClient(clients[0]).generate_embedding(model_id, texts)) == vectors(direct)

    # A holder killed and restarted at once (within the node timeout) loads its share again; whether
    # or not a peer counted it out meanwhile, the model ends DEPLOYED on live nodes and answers everywhere.
    holder = next(i for i, name in enumerate(NAMES) if ids[name] in new_holders)
    cluster.nodes[holder].crash()
    cluster.restart(holder)
    for client in cluster.clients:
        result = wait_for("an embedding", lambda: MLCommonClient(client).generate_embedding(model_id, texts), timeout=30)
        assert vectors(result) == vectors(direct)
    # And the model document agrees with what the nodes hold.
    model = model_of(clients[2], model_id)
    profile = clients[2].transport.perform_request("GET", f"{ML}/profile/models")
    holders = {node_id for node_id, node in profile["nodes"].items() if model_id in node.get("models", {})}
    assert model["model_state"] == "DEPLOYED" and set(model["planning_worker_nodes"]) == holders, (model, profile)
    assert model["current_worker_node_count"] == len(holders), model
