"""The by-name helpers of opensearch-py-ml's MLCommonClient, with names that share parts.

The helpers search with `{"match": {"name": <name>}}` and take the first hit, so which object they
touch depends on the standard analyzer (`alpha_beta` is one token, `alpha-beta` two) and on ranking
(the shortest matching name first; among `beta` and `Beta`, the exact one).
"""

import pytest
from opensearchpy.exceptions import NotFoundError

from opensearch_py_ml.ml_commons import MLCommonClient

from test_opensearch_py import client_for

# Created in an order where index order alone would pick the wrong group first.
NAMES = ["alpha_beta", "alpha-beta", "Beta", "beta"]


def register_groups(client):
    """With opensearch-py: MLCommonClient's register_model_group always sends `add_all_backend_roles`,
    which ML Commons (and this server) refuse while model access control is off."""
    return {name: client.plugins.ml.register_model_group(body={"name": name, "description": f"group {name}"})["model_group_id"]
            for name in NAMES}


def groups_by_name(client):
    hits = client.transport.perform_request(
        "POST", "/_plugins/_ml/model_groups/_search", body={"query": {"match_all": {}}, "size": 100})["hits"]["hits"]
    return {hit["_source"]["name"]: hit["_id"] for hit in hits}


def test_model_group_by_name_helpers_touch_only_the_named_group(server):
    client = client_for(server)
    groups = MLCommonClient(client).model_access_control
    ids = register_groups(client)
    assert len(set(ids.values())) == len(NAMES)

    # search_model_group_by_name: analysed as OpenSearch does; `alpha_beta` never matches `beta`.
    hits = groups.search_model_group_by_name("beta", size=10)["hits"]["hits"]
    assert [hit["_source"]["name"] for hit in hits] == ["beta", "Beta", "alpha-beta"]
    assert hits[0]["_score"] == hits[1]["_score"] > hits[2]["_score"]
    only = groups.search_model_group_by_name("alpha_beta", _source=["name"], size=10)["hits"]["hits"]
    assert [(hit["_id"], hit["_source"]) for hit in only] == [(ids["alpha_beta"], {"name": "alpha_beta"})]

    # get_model_group_id_by_name: each full name finds its own group.
    for name in NAMES:
        assert groups.get_model_group_id_by_name(name) == ids[name], name
    assert groups.get_model_group_id_by_name("gamma") is None
    # A part of a name is a full-text match too, as on OpenSearch: `alpha` is a token of `alpha-beta` only.
    assert groups.get_model_group_id_by_name("alpha") == ids["alpha-beta"]

    # delete_model_group_by_name: deletes exactly the named group, each time.
    assert groups.delete_model_group_by_name("beta")["result"] == "deleted"
    assert groups_by_name(client) == {name: ids[name] for name in ["alpha_beta", "alpha-beta", "Beta"]}
    assert groups.delete_model_group_by_name("alpha_beta")["result"] == "deleted"
    assert groups_by_name(client) == {name: ids[name] for name in ["alpha-beta", "Beta"]}
    assert groups.delete_model_group_by_name("Beta")["result"] == "deleted"
    assert groups_by_name(client) == {"alpha-beta": ids["alpha-beta"]}
    with pytest.raises(NotFoundError):
        groups.delete_model_group_by_name("gamma")
    assert groups_by_name(client) == {"alpha-beta": ids["alpha-beta"]}


def test_keyword_name_search_is_exact(server):
    client = client_for(server)
    groups = MLCommonClient(client).model_access_control
    ids = register_groups(client)
    for name in NAMES:
        hits = groups.search_model_group({"query": {"term": {"name.keyword": name}}})["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == [ids[name]]
        hits = groups.search_model_group({"query": {"match": {"name.keyword": name}}})["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == [ids[name]]
