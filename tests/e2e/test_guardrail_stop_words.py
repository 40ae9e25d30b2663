"""OpenSearch's guardrails page (stop words and regex), step by step with opensearch-py, against a
fake completion provider: clean prompts are answered, stop words and phrases are refused."""

import json

import pytest
from opensearchpy.exceptions import RequestError

from conftest import serving
from test_opensearch_py import client_for
from test_remote_models import FakeOpenAI


class FakeCompletions(FakeOpenAI):
    """A completion endpoint (`{"prompt": ...}` → `{"completion": ...}`), answering with FakeOpenAI's reply."""
    prompts = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeCompletions.prompts.append(body["prompt"])
        self.reply(200, {"completion": " Thank you for the test."})


@pytest.fixture
def completions():
    FakeCompletions.prompts = []
    with serving(FakeCompletions) as url:
        yield url


def test_guardrails_page_stop_words(server, completions):
    client = client_for(server)
    client.cluster.put_settings(body={"persistent": {
        "plugins.ml_commons.trusted_connector_endpoints_regex": [r"^http://127\.0\.0\.1:[0-9]+/.*$"],
        "plugins.ml_commons.connector.private_ip_enabled": True,
    }})
    # Step 1: the guardrail index, with a percolator field.
    created = client.indices.create(index="words0", body={"mappings": {"properties": {
        "title": {"type": "text"}, "query": {"type": "percolator"}}}})
    assert created == {"acknowledged": True, "shards_acknowledged": True, "index": "words0"}
    assert client.indices.exists(index="words0")
    with pytest.raises(RequestError) as again:
        client.indices.create(index="words0")
    assert again.value.error == "resource_already_exists_exception"
    # Step 2: excluded words and phrases as query_string queries.
    client.index(index="words0", id="1", body={"query": {"query_string": {"query": "title: blacklist"}}}, refresh=True)
    client.index(index="words0", id="2", body={"query": {"query_string": {"query": 'title: "Master slave architecture"'}}}, refresh=True)
    # Steps 3-5: model group, connector, model with guardrails.
    group_id = client.plugins.ml.register_model_group(body={"name": "bedrock", "description": "This is a public model group."})["model_group_id"]
    connector_id = client.plugins.ml.create_connector(body={
        "name": "test claude Connector", "description": "completions", "version": 1, "protocol": "http",
        "credential": {"api_key": "unused"},
        "parameters": {"endpoint": completions, "max_tokens_to_sample": 8000, "temperature": 0.0001, "response_filter": "$.completion"},
        "actions": [{
            "action_type": "predict", "method": "POST", "url": "${parameters.endpoint}/v1/complete",
            "headers": {"content-type": "application/json"},
            "request_body": '{"prompt":"${parameters.prompt}", "max_tokens_to_sample":${parameters.max_tokens_to_sample}, '
                            '"temperature":${parameters.temperature}}',
        }],
    })["connector_id"]
    side = {"stop_words": [{"index_name": "words0", "source_fields": ["title"]}], "regex": [".*abort.*", ".*kill.*"]}
    model_id = client.plugins.ml.register_model(body={
        "name": "Claude model", "function_name": "remote", "model_group_id": group_id, "description": "test model",
        "connector_id": connector_id,
        "guardrails": {"type": "local_regex", "input_guardrail": side, "output_guardrail": side},
    })["model_id"]
    client.plugins.ml.deploy_model(model_id=model_id)

    # Step 6: clean input is answered; stop words, the stop phrase and the regexes are refused.
    def predict(prompt):
        return client.plugins.ml.predict_model(model_id=model_id, body={"parameters": {"prompt": prompt}})

    answer = predict("\\n\\nHuman:this is a test\\n\\nnAssistant:")
    assert answer["inference_results"][0]["output"][0]["dataAsMap"]["response"] == " Thank you for the test."
    assert predict("slave architecture of a master")["inference_results"][0]["status_code"] == 200
    answered = len(FakeCompletions.prompts)
    for prompt in ["\\n\\nHuman:this is a test of Master slave architecture\\n\\nnAssistant:", "my Blacklist", "abort it"]:
        with pytest.raises(RequestError) as refused:
            predict(prompt)
        assert refused.value.info["error"]["reason"] == "guardrails triggered for user input"
    assert len(FakeCompletions.prompts) == answered

    # The search DSL takes the same query_string.
    hits = client.search(index="words0", body={"query": {"query_string": {"query": "_exists_:query"}}})["hits"]["hits"]
    assert sorted(hit["_id"] for hit in hits) == ["1", "2"]
    assert client.indices.delete(index="words0") == {"acknowledged": True}
    assert not client.indices.exists(index="words0")
