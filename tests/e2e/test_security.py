"""Security end to end, over HTTPS checked against a test CA, with the real clients: opensearch-py's
`client.security` managing users, roles and mappings; opensearch-py-ml's MLCommonClient as an
`ml_full_access` user; the openai client with an API key; a read-only user refused; and the refusals
(no or wrong credentials, a revoked key, a non-loopback host without security or TLS). After each test
no password or key it used may appear in the server's log, its data files or any answer it saw.

The login throttle delays a client address after 3 failed logins, so each test fails at most 3 times."""

import os
import pathlib
import secrets
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request

import openai
import pytest
from opensearch_py_ml.ml_commons import MLCommonClient
from opensearchpy import OpenSearch, Urllib3HttpConnection
from opensearchpy.exceptions import AuthenticationException, AuthorizationException, NotFoundError, RequestError

from conftest import MINILM, Server, binary
from test_opensearch_py_ml import assert_embeddings, references
from test_tls import certificates, running_tls_server  # noqa: F401 (certificates: a fixture, the test CA and the server's certificate)

ML = "cluster:admin/opensearch/ml/"


def strong_password() -> str:
    """A fresh password the policy accepts, unique so a grep finds only its own uses. Hex holds none of
    the letters i, l, n, o, p, r, s, t, u, so no user name below can be inside it."""
    return "Pw-Q7z-" + secrets.token_hex(12)


def denied(action: str, user: str, backend_roles=()) -> str:
    """The security plugin's words for a missing permission (ml-commons-api.md §8)."""
    return f"no permissions for [{action}] and User [name={user}, backend_roles=[{', '.join(backend_roles)}], requestedTenant=null]"


class Witness:
    """The passwords and keys a test uses and every answer body it saw; `check` says that none of the
    first shows in the server's log, in its data files or in the second."""

    def __init__(self):
        self.secrets = []
        self.answers = []

    def secret(self, value: str) -> str:
        self.secrets.append(value)
        return value

    def issued(self, value: str) -> str:
        """A key from the answer just seen, the one answer allowed to show it."""
        assert value and value in self.answers.pop()
        return self.secret(value)

    def saw(self, text) -> None:
        if text is not None:
            self.answers.append(text if isinstance(text, str) else text.decode("utf-8", "replace"))

    def connection_class(self):
        """An opensearch-py connection that hands every answer body, good or bad, to this witness."""
        witness = self

        class Recording(Urllib3HttpConnection):
            def log_request_success(self, method, full_url, path, body, status_code, response, duration):
                witness.saw(response)
                super().log_request_success(method, full_url, path, body, status_code, response, duration)

            def log_request_fail(self, method, full_url, path, body, duration, status_code=None, response=None, exception=None):
                witness.saw(response)
                super().log_request_fail(method, full_url, path, body, duration, status_code, response, exception)

        return Recording

    def check(self, log: bytes, data_dir: pathlib.Path) -> None:
        assert self.secrets and log, "no secret or no log: nothing would be proved"
        files = [path for path in data_dir.rglob("*") if path.is_file()]
        for value in self.secrets:
            needle = value.encode()
            assert needle not in log, "a secret is in the server log"
            for path in files:
                assert needle not in path.read_bytes(), f"a secret is stored in clear in {path.name}"
            for answer in self.answers:
                assert value not in answer, f"a secret is in an answer: {answer[:300]}"


@pytest.fixture
def witness():
    return Witness()


@pytest.fixture
def secure(mirror, certificates, witness):  # noqa: F811 (the imported fixture)
    """A server with --security over HTTPS; the first admin's password is the witness's first secret."""
    with running_tls_server(mirror, certificates, admin_password=witness.secret(strong_password())) as s:
        try:
            yield s
        finally:
            s.stop()
            assert witness.answers, "no answer was recorded: the recording connection is not in use"
            witness.check(s.log_path.read_bytes(), s.data_dir)


def client(server, witness, auth=None, **options) -> OpenSearch:
    return OpenSearch(hosts=[{"host": "127.0.0.1", "port": server.port}], use_ssl=True, verify_certs=True,
                      ca_certs=str(server.ca_file), http_auth=auth, timeout=60,
                      connection_class=witness.connection_class(), **options)


def make_user(admin, witness, name, backend_roles=(), **fields):
    """Creates `name` with a fresh strong password; returns (name, password)."""
    password = witness.secret(strong_password())
    answer = admin.security.create_user(username=name, body={"password": password, "backend_roles": list(backend_roles), **fields})
    assert answer == {"status": "CREATED", "message": f"'{name}' created."}
    return name, password


def full_access_user(server, admin, witness, name):
    """A user mapped to ml_full_access by name: its (name, password) and its client."""
    credentials = make_user(admin, witness, name)
    admin.security.create_role_mapping(role="ml_full_access", body={"users": [name]})
    return credentials, client(server, witness, credentials)


def deploy_traced_bert(ml: MLCommonClient) -> str:
    model_id = ml.register_pretrained_model(MINILM, "1.0.1", "TORCH_SCRIPT", deploy_model=True, wait_until_deployed=True)
    assert ml.get_model_info(model_id)["model_state"] == "DEPLOYED"
    return model_id


def model_ids(ml: MLCommonClient) -> list:
    """The models (not their chunks) a search finds."""
    hits = ml.search_model({"query": {"bool": {"must_not": {"exists": {"field": "chunk_number"}}}}})["hits"]["hits"]
    return [hit["_id"] for hit in hits]


def test_users_roles_and_mappings_through_client_security(secure, witness):
    admin = client(secure, witness, secure.auth)
    assert admin.security.health()["status"] == "UP"
    assert client(secure, witness).security.health()["status"] == "UP"  # needs no credentials
    info = admin.security.authinfo()
    assert info["user_name"] == "admin" and "all_access" in info["roles"]
    assert admin.security.get_account_details()["user_name"] == "admin"
    assert admin.transport.perform_request("GET", "/_plugins/_security/whoami")["is_admin"] is True

    # A role of our own with wildcard ML permissions, mapped by backend role and by user.
    role = {"description": "reads and runs models", "cluster_permissions": [ML + "models/*", ML + "predict", "cluster:monitor/main"]}
    assert admin.security.create_role(role="model_runner", body=role) == {"status": "CREATED", "message": "'model_runner' created."}
    got = admin.security.get_role(role="model_runner")["model_runner"]
    assert got["cluster_permissions"] == role["cluster_permissions"] and got["description"] == role["description"]
    assert got["reserved"] is False and got["index_permissions"] == []
    roles = admin.security.get_roles()
    assert {"all_access", "ml_full_access", "ml_readonly_access", "ml_read_access", "model_runner"} <= set(roles)
    assert roles["ml_full_access"]["reserved"] is True

    carol, carol_password = make_user(admin, witness, "carol", backend_roles=["analysts"], attributes={"team": "search"})
    dave, dave_password = make_user(admin, witness, "dave")
    erin, erin_password = make_user(admin, witness, "erin")
    answer = admin.security.create_role_mapping(role="model_runner", body={"backend_roles": ["analysts"], "users": ["dave"]})
    assert answer == {"status": "CREATED", "message": "'model_runner' created."}
    mapping = admin.security.get_role_mapping(role="model_runner")["model_runner"]
    assert mapping["backend_roles"] == ["analysts"] and mapping["users"] == ["dave"]
    assert "model_runner" in admin.security.get_role_mappings()
    assert admin.security.get_role_mappings()["all_access"]["users"] == ["admin"]

    # Users are listed and got without their hash or password.
    user = admin.security.get_user(username="carol")["carol"]
    assert user["backend_roles"] == ["analysts"] and user["attributes"] == {"team": "search"}
    users = admin.security.get_users()
    assert {"admin", "carol", "dave", "erin"} <= set(users)
    for entry in [user, *users.values()]:
        assert entry["hash"] == "" and "password" not in entry

    # Mapped by backend role (carol) and by name (dave): the role's permissions and nothing more.
    for name, password, backend_roles in [(carol, carol_password, ["analysts"]), (dave, dave_password, [])]:
        them = client(secure, witness, (name, password))
        info = them.security.authinfo()
        assert info["user_name"] == name and info["backend_roles"] == backend_roles and "model_runner" in info["roles"]
        assert them.transport.perform_request("GET", "/_plugins/_security/whoami")["is_admin"] is False
        assert them.info()["version"]["distribution"] == "opensearch"
        assert them.plugins.ml.search_models(body={"query": {"match_all": {}}})["hits"]["total"]["value"] == 0
        with pytest.raises(AuthorizationException) as refused:
            them.plugins.ml.register_model_group(body={"name": f"{name}-group"})
        assert refused.value.status_code == 403
        assert refused.value.info["error"]["type"] == "security_exception"
        assert refused.value.info["error"]["reason"] == denied(ML + "register_model_group", name, backend_roles)
        # Not a security administrator: the security REST API is refused.
        for call in (them.security.get_users, lambda: them.security.get_role(role="model_runner"),
                     lambda: them.security.create_user(username="mallory", body={"password": strong_password()})):
            with pytest.raises(AuthorizationException) as refused:
                call()
            assert refused.value.status_code == 403 and "No permission to access REST API: User " + name in str(refused.value.info)
    # Unmapped: signed in, but no ML permission at all.
    nobody = client(secure, witness, (erin, erin_password))
    assert nobody.security.authinfo()["roles"] == []
    with pytest.raises(AuthorizationException) as refused:
        nobody.plugins.ml.search_models(body={"query": {"match_all": {}}})
    assert refused.value.info["error"]["reason"] == denied(ML + "models/search", erin)

    # Reserved roles cannot be deleted or replaced.
    for reserved in ("all_access", "ml_full_access", "ml_readonly_access", "ml_read_access"):
        with pytest.raises(AuthorizationException) as refused:
            admin.security.delete_role(role=reserved)
        assert refused.value.info == {"status": "FORBIDDEN", "message": f"Resource '{reserved}' is reserved."}
    with pytest.raises(AuthorizationException):
        admin.security.create_role(role="ml_full_access", body={"cluster_permissions": ["*"]})
    assert admin.security.get_role(role="ml_full_access")["ml_full_access"]["cluster_permissions"] != ["*"]

    # A weak password is refused without being echoed (the witness greps every answer for it).
    weak = witness.secret("Zq-71x")  # too short
    with pytest.raises(RequestError) as refused:
        admin.security.create_user(username="frank", body={"password": weak})
    assert refused.value.info["message"].startswith("Weak password")

    # change_password: needs the current password; the old password then fails (a failed login), the new one works.
    new_password = witness.secret(strong_password())
    as_carol = client(secure, witness, (carol, carol_password))
    with pytest.raises(RequestError) as refused:
        as_carol.security.change_password(body={"current_password": new_password, "password": new_password})
    assert refused.value.info == {"status": "BAD_REQUEST", "message": "Could not validate your current password."}
    answer = as_carol.security.change_password(body={"current_password": carol_password, "password": new_password})
    assert answer == {"status": "OK", "message": "'carol' updated."}
    with pytest.raises(AuthenticationException):
        client(secure, witness, (carol, carol_password)).security.authinfo()
    assert client(secure, witness, (carol, new_password)).security.authinfo()["user_name"] == "carol"

    # Deleting the mapping takes the permission away at once; deleting the user ends its logins (second failure).
    assert admin.security.delete_role_mapping(role="model_runner") == {"status": "OK", "message": "'model_runner' deleted."}
    with pytest.raises(NotFoundError):
        admin.security.get_role_mapping(role="model_runner")
    dave_client = client(secure, witness, (dave, dave_password))
    with pytest.raises(AuthorizationException):
        dave_client.plugins.ml.search_models(body={"query": {"match_all": {}}})
    assert admin.security.delete_role(role="model_runner") == {"status": "OK", "message": "'model_runner' deleted."}
    with pytest.raises(NotFoundError):
        admin.security.get_role(role="model_runner")
    assert admin.security.delete_user(username="dave") == {"status": "OK", "message": "'dave' deleted."}
    with pytest.raises(NotFoundError):
        admin.security.get_user(username="dave")
    with pytest.raises(AuthenticationException):
        dave_client.security.authinfo()


def test_ml_commons_client_as_an_ml_full_access_user(secure, mirror, witness):
    mirror.publish_traced_bert()
    admin = client(secure, witness, secure.auth)
    _, mlops = full_access_user(secure, admin, witness, "mlops")
    assert mlops.security.authinfo()["roles"] == ["ml_full_access"]

    ml = MLCommonClient(mlops)
    model_id = deploy_traced_bert(ml)
    assert ml.get_model_info(model_id)["name"] == MINILM
    expected = references(3)
    assert_embeddings(ml.generate_embedding(model_id, [r["text"] for r in expected]), expected)
    assert model_ids(ml) == [model_id]
    assert list(ml.undeploy_model(model_id).values())[0]["stats"][model_id] == "undeployed"
    assert ml.delete_model(model_id)["result"] == "deleted"

    # ML and monitoring only: cluster settings and the security API stay the administrator's.
    assert "persistent" in mlops.cluster.get_settings()
    with pytest.raises(AuthorizationException) as refused:
        mlops.cluster.put_settings(body={"persistent": {"plugins.ml_commons.allow_private_model_url": False}})
    assert refused.value.info["error"]["reason"] == denied("cluster:admin/settings/update", "mlops")
    with pytest.raises(AuthorizationException):
        mlops.security.get_users()


def test_openai_client_with_an_api_key(secure, mirror, witness):
    mirror.publish_traced_bert()
    admin = client(secure, witness, secure.auth)
    _, svc = full_access_user(secure, admin, witness, "svc")
    model_id = deploy_traced_bert(MLCommonClient(admin))

    # The service makes its own key with its password; the key string is shown once.
    made = svc.transport.perform_request("POST", "/_plugins/_security/api/apikeys", body={"name": "embedder"})
    key = witness.issued(made["api_key"])
    witness.secret(key.rsplit("_", 1)[1])  # the secret part alone must not be stored either
    assert key.startswith("mlk_") and made["owner"] == "svc" and made["name"] == "embedder" and made["revoked"] is False
    listed = svc.transport.perform_request("GET", "/_plugins/_security/api/apikeys")["api_keys"]
    assert [(k["id"], k["revoked"]) for k in listed] == [(made["id"], False)] and "api_key" not in listed[0]
    assert admin.transport.perform_request("GET", "/_plugins/_security/api/apikeys", params={"user": "svc"})["api_keys"] == listed

    # A key acts as its owner, as Bearer or ApiKey, and cannot make more keys.
    for scheme in ("Bearer", "ApiKey"):
        as_key = client(secure, witness, headers={"Authorization": f"{scheme} {key}"})
        assert as_key.security.authinfo()["user_name"] == "svc"
    with pytest.raises(AuthorizationException):
        as_key.transport.perform_request("POST", "/_plugins/_security/api/apikeys", body={"name": "another"})

    def seen(response):
        response.read()
        witness.saw(response.text)

    http = openai.DefaultHttpxClient(verify=ssl.create_default_context(cafile=str(secure.ca_file)),
                                     event_hooks={"response": [seen]})
    api = openai.OpenAI(base_url=f"https://127.0.0.1:{secure.port}/v1", api_key=key, http_client=http, max_retries=0)
    expected = references(4)
    response = api.embeddings.create(model=model_id, input=[r["text"] for r in expected])
    assert [item.index for item in response.data] == list(range(len(expected)))
    for item, reference in zip(response.data, expected):
        assert max(abs(a - b) for a, b in zip(item.embedding, reference["embedding"])) <= 1e-4

    # Revoked: the same key is refused at once, by the openai client and by opensearch-py (two failures).
    revoked = svc.transport.perform_request("DELETE", f"/_plugins/_security/api/apikeys/{made['id']}")
    assert revoked == {"status": "OK", "message": f"API key '{made['id']}' revoked."}
    assert svc.transport.perform_request("GET", "/_plugins/_security/api/apikeys")["api_keys"][0]["revoked"] is True
    with pytest.raises(openai.AuthenticationError) as refused:
        api.embeddings.create(model=model_id, input="hello")
    assert refused.value.status_code == 401
    with pytest.raises(AuthenticationException):
        client(secure, witness, headers={"Authorization": f"Bearer {key}"}).security.authinfo()


def test_a_read_only_user_reads_but_cannot_register_or_predict(secure, mirror, witness):
    mirror.publish_traced_bert()
    admin = client(secure, witness, secure.auth)
    model_id = deploy_traced_bert(MLCommonClient(admin))
    # ml_readonly_access mapped by backend role; ml_read_access (the plugin's own name) given as the user's own role.
    readers = [make_user(admin, witness, "reader", backend_roles=["auditors"]),
               make_user(admin, witness, "viewer", opendistro_security_roles=["ml_read_access"])]
    admin.security.create_role_mapping(role="ml_readonly_access", body={"backend_roles": ["auditors"]})

    for (name, password), backend_roles in zip(readers, [["auditors"], []]):
        reader = client(secure, witness, (name, password))
        ml = MLCommonClient(reader)
        assert ml.get_model_info(model_id)["model_state"] == "DEPLOYED"
        assert model_ids(ml) == [model_id]
        tasks = reader.plugins.ml.search_tasks(body={"query": {"term": {"model_id": model_id}}})["hits"]["hits"]
        assert {hit["_source"]["task_type"] for hit in tasks} >= {"REGISTER_MODEL", "DEPLOY_MODEL"}

        refusals = [
            ("register_model", lambda: reader.plugins.ml.register_model(
                body={"name": MINILM, "version": "1.0.1", "model_format": "TORCH_SCRIPT"})),
            ("register_model", lambda: ml.register_pretrained_model(MINILM, "1.0.1", "TORCH_SCRIPT", deploy_model=False)),
            ("predict", lambda: ml.generate_embedding(model_id, ["hello"])),
            ("predict", lambda: reader.plugins.ml.predict(algorithm_name="text_embedding", model_id=model_id,
                                                          body={"text_docs": ["hello"]})),
            ("deploy_model", lambda: ml.deploy_model(model_id, wait_until_deployed=False)),
            ("models/delete", lambda: ml.delete_model(model_id)),
        ]
        for action, call in refusals:
            with pytest.raises(AuthorizationException) as refused:
                call()
            assert refused.value.status_code == 403, action
            assert refused.value.info["error"]["type"] == "security_exception"
            assert refused.value.info["error"]["reason"] == denied(ML + action, name, backend_roles)
    # Nothing the readers tried changed anything.
    assert MLCommonClient(admin).get_model_info(model_id)["model_state"] == "DEPLOYED"
    assert admin.plugins.ml.search_models(body={"query": {"match_all": {}}})["hits"]["total"]["value"] >= 1


def test_no_or_wrong_credentials_are_refused_with_401(secure, witness):
    anonymous = client(secure, witness)
    with pytest.raises(AuthenticationException) as refused:
        anonymous.info()
    assert refused.value.status_code == 401
    with pytest.raises(AuthenticationException):
        anonymous.plugins.ml.search_models(body={"query": {"match_all": {}}})

    # The challenge a browser or curl needs, seen on the raw answer.
    context = ssl.create_default_context(cafile=str(secure.ca_file))
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(f"https://127.0.0.1:{secure.port}/_plugins/_ml/models/_search", context=context, timeout=30)
    assert raw.value.code == 401
    assert raw.value.headers["WWW-Authenticate"] == 'Basic realm="OpenSearch Security"'
    witness.saw(raw.value.read())

    # Three failures (the throttle's free ones): a wrong password, an unknown user, a made-up key.
    wrong = witness.secret(strong_password())
    for auth, headers in [(("admin", wrong), None), (("nobody-here", wrong), None),
                          (None, {"Authorization": "Bearer " + witness.secret("mlk_" + "0" * 24 + "_" + secrets.token_hex(32))})]:
        with pytest.raises(AuthenticationException) as refused:
            client(secure, witness, auth, headers=headers or {}).plugins.ml.search_models(body={"query": {"match_all": {}}})
        assert refused.value.status_code == 401
    # The right password still works, and the failures were audited without the password.
    assert client(secure, witness, secure.auth).security.authinfo()["user_name"] == "admin"
    log = secure.log_path.read_text()
    assert 'audit AUTHENTICATION_FAILED user="admin" address=127.0.0.1' in log and "wrong user name or password" in log


def serve_refused(arguments, env_extra=None) -> subprocess.CompletedProcess:
    """`mlcommons serve` expected to refuse: it must exit within the timeout (not start serving)."""
    return subprocess.run([binary(), "serve", "--port", "0", *arguments], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env_extra or {})})


def test_refuses_to_listen_beyond_loopback_without_security_or_tls(tmp_path, certificates):  # noqa: F811
    data = tmp_path / "data"
    plain = serve_refused(["--host", "0.0.0.0", "--data-dir", str(data)])
    assert plain.returncode != 0
    assert "refusing to listen on 0.0.0.0 without --security: anyone who reaches the port could do everything" in plain.stderr

    no_tls = serve_refused(["--host", "0.0.0.0", "--security", "--data-dir", str(data)],
                           {"MLCOMMONS_INITIAL_ADMIN_PASSWORD": strong_password()})
    assert no_tls.returncode != 0
    assert "refusing to listen on 0.0.0.0 with security but without TLS: passwords and API keys would cross the network in clear" in no_tls.stderr
    # Refused before the store opened.
    assert not data.exists()


def test_first_start_with_security_needs_a_strong_admin_password(tmp_path, witness):
    missing = serve_refused(["--security", "--data-dir", str(tmp_path / "none")], {"MLCOMMONS_INITIAL_ADMIN_PASSWORD": ""})
    assert missing.returncode != 0
    assert "set the initial admin password (MLCOMMONS_INITIAL_ADMIN_PASSWORD)" in missing.stderr

    weak = witness.secret("Admin-2026!")  # holds the user name
    refused = serve_refused(["--security", "--data-dir", str(tmp_path / "weak")], {"MLCOMMONS_INITIAL_ADMIN_PASSWORD": weak})
    assert refused.returncode != 0
    assert "The initial admin password is refused. Weak password: it must not be similar to the user name" in refused.stderr
    witness.check((refused.stdout + refused.stderr).encode(), tmp_path / "weak")
