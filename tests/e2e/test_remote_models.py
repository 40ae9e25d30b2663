"""A remote model through opensearch-py and opensearch-py-ml against a fake OpenAI-style provider."""

import http.server
import json
import threading

import pytest
from opensearchpy.exceptions import TransportError
from opensearch_py_ml.ml_commons import MLCommonClient

from test_opensearch_py import client_for

SECRET = "sk-e2e-SECRET-5d1c"


def vector(text):
    """What the fake provider answers for a text, so the test can check which doc went where."""
    return [float(len(text)), float(sum(map(ord, text)) % 997), 0.5]


class FakeOpenAI(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body})
        if body.get("input") == ["fail please"]:
            return self.reply(503, {"error": {"message": "The server is overloaded"}})
        data = [{"object": "embedding", "index": i, "embedding": vector(text)} for i, text in enumerate(body["input"])]
        self.reply(200, {"object": "list", "data": data, "model": body["model"]})

    def reply(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    FakeOpenAI.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_connector_and_remote_model(server, provider):
    client = client_for(server)
    client.cluster.put_settings(body={"persistent": {
        "plugins.ml_commons.trusted_connector_endpoints_regex": [r"^http://127\.0\.0\.1:[0-9]+/.*$"],
        "plugins.ml_commons.connector.private_ip_enabled": True,
    }})
    connector_id = client.plugins.ml.create_connector(body={
        "name": "OpenAI embedding connector", "description": "e2e", "version": 1, "protocol": "http",
        "parameters": {"model": "text-embedding-ada-002", "endpoint": provider},
        "credential": {"openAI_key": SECRET},
        "actions": [{
            "action_type": "predict", "method": "POST", "url": "${parameters.endpoint}/v1/embeddings",
            "headers": {"Authorization": "Bearer ${credential.openAI_key}"},
            "request_body": '{ "input": ${parameters.input}, "model": "${parameters.model}" }',
            "pre_process_function": "connector.pre_process.openai.embedding",
            "post_process_function": "connector.post_process.openai.embedding",
        }],
    })["connector_id"]
    connector = client.plugins.ml.get_connector(connector_id=connector_id)
    assert connector["name"] == "OpenAI embedding connector" and "credential" not in connector

    registered = client.plugins.ml.register_model(body={
        "name": "openai-embedding", "function_name": "remote", "description": "e2e model", "connector_id": connector_id})
    assert registered["status"] == "CREATED"
    model_id = registered["model_id"]

    ml = MLCommonClient(client)
    ml.deploy_model(model_id, wait_until_deployed=True)
    assert ml.get_model_info(model_id)["model_state"] == "DEPLOYED"

    texts = ["today is sunny", "a second sentence"]
    result = ml.generate_embedding(model_id, texts)
    (row,) = result["inference_results"]
    assert row["status_code"] == 200
    assert [tensor["data"] for tensor in row["output"]] == [vector(t) for t in texts]
    assert FakeOpenAI.requests[-1]["authorization"] == f"Bearer {SECRET}"
    assert FakeOpenAI.requests[-1]["body"] == {"input": texts, "model": "text-embedding-ada-002"}

    direct = client.plugins.ml.predict_model(model_id=model_id, body={"parameters": {"input": ["direct"]}})
    assert direct["inference_results"][0]["output"][0]["data"] == vector("direct")

    with pytest.raises(TransportError) as failure:
        ml.generate_embedding(model_id, ["fail please"])
    assert failure.value.status_code == 503
    assert "The server is overloaded" in json.dumps(failure.value.info)

    undeployed = client.plugins.ml.undeploy_model(model_id=model_id)
    assert list(undeployed.values())[0]["stats"][model_id] == "undeployed"
    assert ml.delete_model(model_id)["result"] == "deleted"
    assert client.plugins.ml.delete_connector(connector_id=connector_id)["result"] == "deleted"
    assert SECRET not in server.log_path.read_text()
