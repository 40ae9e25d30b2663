"""opensearch-py and opensearch-py-ml over HTTPS, verifying the server's certificate against a test CA
made by scripts/make-test-cert."""

import contextlib
import pathlib
import subprocess
import tempfile

import pytest
from opensearch_py_ml.ml_commons import MLCommonClient
from opensearchpy import OpenSearch
from opensearchpy.exceptions import SSLError

from conftest import MINILM, REPO, Server
from test_opensearch_py_ml import assert_embeddings, references


@pytest.fixture
def certificates():
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run(["bash", str(REPO / "scripts" / "make-test-cert"), directory, "2"], check=True, capture_output=True)
        yield pathlib.Path(directory)


@contextlib.contextmanager
def running_tls_server(mirror, certificates, **options):
    """The server on HTTPS with the test certificate, in a temporary data dir; stopped at the end."""
    with tempfile.TemporaryDirectory() as directory:
        s = Server(pathlib.Path(directory) / "data", mirror.base_url, ca_file=certificates / "ca.pem",
                   extra_args=["--tls-cert", str(certificates / "server.pem"), "--tls-key", str(certificates / "server.key")], **options)
        s.start()
        try:
            yield s
        finally:
            s.stop()


@pytest.fixture
def tls_server(mirror, certificates):
    with running_tls_server(mirror, certificates) as s:
        yield s


def https_client(server, **options):
    return OpenSearch(hosts=[{"host": "127.0.0.1", "port": server.port}], use_ssl=True, timeout=30, **options)


def test_opensearch_py_verifies_the_certificate(tls_server):
    client = https_client(tls_server, verify_certs=True, ca_certs=str(tls_server.ca_file))
    assert client.info()["tagline"] == "The OpenSearch Project: https://opensearch.org/"
    group = client.transport.perform_request("POST", "/_plugins/_ml/model_groups/_register", body={"name": "over-tls"})
    hits = client.transport.perform_request("POST", "/_plugins/_ml/model_groups/_search", body={"query": {"match_all": {}}})
    assert [hit["_id"] for hit in hits["hits"]["hits"]] == [group["model_group_id"]]
    settings = client.cluster.get_settings()
    assert settings["persistent"]["plugins"]["ml_commons"]["allow_private_model_url"] == "true"

    # Without the test CA (certifi's roots only) the certificate is not trusted.
    with pytest.raises(SSLError):
        https_client(tls_server, verify_certs=True, max_retries=0).info()
    # Plain HTTP to the HTTPS port is no conversation.
    with pytest.raises(Exception):
        OpenSearch(hosts=[{"host": "127.0.0.1", "port": tls_server.port}], use_ssl=False, timeout=10, max_retries=0).info()


def test_ml_commons_client_over_https(tls_server, mirror):
    mirror.publish_traced_bert()
    ml = MLCommonClient(https_client(tls_server, verify_certs=True, ca_certs=str(tls_server.ca_file)))
    model_id = ml.register_pretrained_model(MINILM, "1.0.1", "TORCH_SCRIPT", deploy_model=True, wait_until_deployed=True)
    assert ml.get_model_info(model_id)["model_state"] == "DEPLOYED"
    expected = references(3)
    assert_embeddings(ml.generate_embedding(model_id, [r["text"] for r in expected]), expected)
    assert list(ml.undeploy_model(model_id).values())[0]["stats"][model_id] == "undeployed"
    assert ml.delete_model(model_id)["result"] == "deleted"
