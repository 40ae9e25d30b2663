#!/usr/bin/env python3
"""Request fuzzer: mutates valid request bodies (and path parameters) of every route and sends them to
the real `mlcommons serve` binary on loopback.

Fails (exit 1) when the server dies (a signal or a trap), stops answering within the per-request
timeout (a hang), or grows past the memory ceiling (an unbounded allocation). Every failing request is
written to the output folder as JSON (method, path, headers, base64 body) so it can be replayed and kept
as a regression test. Deterministic for a given --seed; bounded by --seconds.

    python3 tests/fuzz/fuzz_requests.py --seconds 30          # what scripts/test runs
    FUZZ_SECONDS=1800 scripts/fuzz                             # longer, on demand
"""

import argparse
import base64
import copy
import http.client
import http.server
import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
# The server runs with --security: every request carries the admin's credentials (so every route is
# served), a few carry damaged ones, and the security plugin's routes are among the seeds.
ADMIN_PASSWORD = "Fuzz-Granite-Pw-2026"
ADMIN_AUTH = "Basic " + base64.b64encode(b"admin:" + ADMIN_PASSWORD.encode()).decode()
SECURITY = "/_plugins/_security/api"
BERT = REPO / "Tests" / "InferenceTests" / "Fixtures" / "architectures" / "bert"
BASE = "/_plugins/_ml"

# Values that find the edges: integer and float limits, what overflows a conversion, wrong types,
# strings the settings parsers read as numbers, and structures deep or wide enough to cost.
INTERESTING = [
    0, -1, 1, 2**31 - 1, 2**31, -2**31 - 1, 2**32, 2**53 + 1, 2**63 - 1, -2**63, 2**63, 2**64, 10**19, 10**30,
    1e19, -1e19, 1e308, -1e308, 5e-324, 0.5, -0.0,
    "NaN", "Infinity", "-Infinity", "1e30pb", "-1", "9223372036854775808", "1e19", "0x10", " 5 ", "",
    "a" * 70_000, "\u0000", "\udfff".encode("utf-8", "surrogatepass").decode("utf-8", "replace"), "${parameters.input}",
    "${credential.secret}", "../../etc/passwd", "http://127.0.0.1:1/", "file:///etc/passwd",
    True, False, None, [], {}, [None], {"": None},
]


def deep(depth, kind):
    value = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def wide(count):
    return {f"k{i}": i for i in range(count)}


class Server:
    def __init__(self, data_dir, log_path):
        self.data_dir = data_dir
        self.log_path = log_path
        self.process = None
        self.port = None

    def start(self):
        binary = os.environ.get("MLCOMMONS_BINARY", str(REPO / ".build" / "debug" / "mlcommons"))
        port_file = self.data_dir / "http.port"
        if port_file.exists():
            port_file.unlink()
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(self.data_dir),
                                         "--artifacts-url", "http://127.0.0.1:9/models", "--log-level", "warning", "--security"],
                                        stdout=log, stderr=log, env={**os.environ, "MLCOMMONS_INITIAL_ADMIN_PASSWORD": ADMIN_PASSWORD})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text())
                return
            if self.process.poll() is not None:
                raise RuntimeError("server exited at start-up; see " + str(self.log_path))
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def alive(self):
        return self.process.poll() is None

    def rss_mb(self):
        try:
            for line in open(f"/proc/{self.process.pid}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
        except OSError:
            pass
        return 0

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class FakeProvider:
    """A loopback provider for remote models: answers any POST with an OpenAI-shaped embedding."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(min(length, 1 << 24))
                body = json.dumps({"data": [{"embedding": [0.1, 0.2, 0.3], "index": 0}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1/embeddings"


def send(port, method, path, body=None, content_type="application/json", timeout=20.0, authorization=ADMIN_AUTH):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": authorization}
    if body is not None:
        headers["Content-Type"] = content_type
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def error_reason(data):
    try:
        error = json.loads(data).get("error")
        if isinstance(error, dict):
            return f"{error.get('type')}: {str(error.get('reason'))[:120]}"
        return str(error)[:120]
    except (ValueError, AttributeError):
        return data[:120].decode("utf-8", "replace")


def call(port, method, path, body=None):
    payload = None if body is None else json.dumps(body).encode()
    status, data = send(port, method, path, payload)
    try:
        return status, json.loads(data) if data else None
    except ValueError:
        return status, None


def set_up(port, provider):
    """Objects for the seeds to name: a group, a deployed local model, a connector and a remote model."""
    call(port, "PUT", "/_cluster/settings", {"persistent": {
        "plugins.ml_commons.allow_registering_model_via_local_file": True,
        "plugins.ml_commons.connector.private_ip_enabled": True,
        "plugins.ml_commons.trusted_connector_endpoints_regex": ["^http://127\\.0\\.0\\.1:.*$"],
    }})
    _, group = call(port, "POST", f"{BASE}/model_groups/_register", {"name": "fuzz-group"})
    config = json.loads((BERT / "config.json").read_text())
    artifact = (BERT / "bert-torch_script.zip").read_bytes()
    _, meta = call(port, "POST", f"{BASE}/models/_register_meta", {
        "name": "fuzz-bert", "version": "1.0.0", "model_format": "TORCH_SCRIPT", "model_group_id": group["model_group_id"],
        "model_content_hash_value": config["model_content_hash_value"], "model_content_size_in_bytes": len(artifact),
        "total_chunks": 1, "model_config": config["model_config"], "function_name": "TEXT_EMBEDDING"})
    model_id = meta["model_id"]
    send(port, "POST", f"{BASE}/models/{model_id}/upload_chunk/0", artifact, "application/octet-stream")
    call(port, "POST", f"{BASE}/models/{model_id}/_deploy")
    for _ in range(300):
        status, model = call(port, "GET", f"{BASE}/models/{model_id}")
        if model and model.get("model_state") == "DEPLOYED":
            break
        time.sleep(0.1)
    _, connector = call(port, "POST", f"{BASE}/connectors/_create", connector_body(provider.url))
    _, remote = call(port, "POST", f"{BASE}/models/_register",
                     {"name": "fuzz-remote", "function_name": "remote", "connector_id": connector["connector_id"]})
    return {"group": group["model_group_id"], "model": model_id, "connector": connector["connector_id"],
            "remote": remote.get("model_id", "none")}


def connector_body(url):
    return {
        "name": "fuzz connector", "version": 1, "protocol": "http", "parameters": {"model": "m", "region": "us-east-1"},
        "credential": {"key": "fuzz-secret-value"},
        "client_config": {"max_connection": 4, "connection_timeout": 1000, "read_timeout": 1000, "max_retry_times": 0},
        "actions": [{"action_type": "predict", "method": "POST", "url": url,
                     "headers": {"Authorization": "Bearer ${credential.key}"},
                     "request_body": "{ \"input\": ${parameters.input}, \"model\": \"${parameters.model}\" }",
                     "pre_process_function": "connector.pre_process.openai.embedding",
                     "post_process_function": "connector.post_process.openai.embedding"}],
    }


def seeds(ids, provider_url):
    """One valid request per route (method, path template, body)."""
    m, g, c, r = ids["model"], ids["group"], ids["connector"], ids["remote"]
    search = {"query": {"bool": {"must": [{"term": {"name": "x"}}], "must_not": {"exists": {"field": "chunk_number"}}}},
              "from": 0, "size": 10, "sort": [{"created_time": {"order": "desc"}}], "_source": {"includes": ["name"]}}
    return [
        ("PUT", "/_cluster/settings", {"persistent": {"plugins.ml_commons.max_model_on_node": 10,
                                                      "plugins.ml_commons.disk_free_space_threshold": "1gb",
                                                      "plugins.ml_commons.native.batch_token_budget": 4096}}),
        ("GET", "/_cluster/settings?include_defaults=true", None),
        ("POST", f"{BASE}/model_groups/_register", {"name": "g", "description": "d", "access_mode": "public"}),
        ("PUT", f"{BASE}/model_groups/{g}", {"name": "g2", "description": "d2"}),
        ("POST", f"{BASE}/model_groups/_search", search),
        ("GET", f"{BASE}/model_groups/{g}", None),
        ("POST", f"{BASE}/models/_register", {"name": "huggingface/sentence-transformers/all-MiniLM-L6-v2", "version": "1.0.1",
                                              "model_format": "TORCH_SCRIPT", "model_group_id": g}),
        ("POST", f"{BASE}/models/_register_meta", {"name": "x", "version": "1", "model_format": "TORCH_SCRIPT", "model_group_id": g,
                                                   "model_content_hash_value": "ab" * 32, "model_content_size_in_bytes": 100,
                                                   "total_chunks": 2, "function_name": "TEXT_EMBEDDING",
                                                   "model_config": {"model_type": "bert", "embedding_dimension": 16,
                                                                    "framework_type": "sentence_transformers"}}),
        ("PUT", f"{BASE}/models/{m}", {"description": "x", "rate_limiter": {"limit": "100", "unit": "SECONDS"}, "is_enabled": True}),
        ("POST", f"{BASE}/models/_search", search),
        ("GET", f"{BASE}/models/{m}", None),
        ("POST", f"{BASE}/_predict/text_embedding/{m}", {"text_docs": ["today is sunny", "hello"], "return_number": True,
                                                          "target_response": ["sentence_embedding"], "target_response_positions": [0]}),
        ("POST", f"{BASE}/models/{m}/_predict", {"text_docs": ["x"], "parameters": {"content_type": "query"}}),
        ("POST", "/v1/embeddings", {"model": m, "input": ["a", "b"], "encoding_format": "float"}),
        ("POST", f"{BASE}/tasks/_search", search),
        ("POST", f"{BASE}/connectors/_create", connector_body(provider_url)),
        ("PUT", f"{BASE}/connectors/{c}", {"description": "x", "parameters": {"model": "n"}}),
        ("POST", f"{BASE}/connectors/_search", search),
        ("POST", f"{BASE}/models/_register", {"name": "remote", "function_name": "remote", "connector_id": c,
                                              "rate_limiter": {"limit": "10", "unit": "MINUTES"},
                                              "guardrails": {"type": "local_regex", "input_guardrail": {"stop_words": [],
                                                             "regex": ["(a+)+$"]}}}),
        ("POST", f"{BASE}/models/{r}/_predict", {"parameters": {"input": ["hello"]}}),
        ("POST", f"{BASE}/controllers/{r}", {"user_rate_limiter": {"alice": {"limit": "4", "unit": "MINUTES"}}}),
        ("PUT", f"{BASE}/controllers/{r}", {"user_rate_limiter": {"bob": {"limit": "1", "unit": "SECONDS"}}}),
        ("POST", "/fuzz-stop-words/_doc", {"title": "a b c"}),
        ("POST", "/fuzz-stop-words/_search", search),
        ("POST", f"{BASE}/models/{m}/_undeploy", {}),
        ("POST", f"{BASE}/models/_undeploy", {"model_ids": [m]}),
        ("GET", f"{BASE}/profile/models?pretty", None),
        ("GET", f"{BASE}/stats", None),
        # The security plugin's API. Nothing here may lock the fuzzer's admin out: the account seed
        # has a wrong current password, and mappings are of a role of the fuzzer's own.
        ("PUT", f"{SECURITY}/internalusers/fuzz-user", {"password": "Fuzz-User-Pw-99", "backend_roles": ["team"],
                                                       "opendistro_security_roles": ["fuzz_role"], "attributes": {"k": "v"},
                                                       "description": "d"}),
        ("GET", f"{SECURITY}/internalusers/fuzz-user", None),
        ("PUT", f"{SECURITY}/roles/fuzz_role", {"cluster_permissions": ["cluster:admin/opensearch/ml/*", "cluster_monitor"],
                                                "index_permissions": [], "description": "d"}),
        ("PUT", f"{SECURITY}/rolesmapping/fuzz_role", {"users": ["fuzz-user"], "backend_roles": ["team*"], "description": "d"}),
        ("GET", f"{SECURITY}/rolesmapping", None),
        ("PUT", f"{SECURITY}/account", {"current_password": "not-the-password", "password": "Another-Pw-77"}),
        ("POST", f"{SECURITY}/apikeys", {"name": "fuzz-key", "user": "fuzz-user"}),
        ("GET", f"{SECURITY}/apikeys?user=fuzz-user", None),
        ("DELETE", f"{SECURITY}/apikeys/0123456789abcdef01234567", None),
        ("GET", "/_plugins/_security/authinfo", None),
    ]


class Mutator:
    def __init__(self, rng):
        self.rng = rng

    def value(self):
        rng = self.rng
        roll = rng.random()
        if roll < 0.06:
            return deep(rng.choice([64, 300, 600, 5000]), rng.choice(["list", "dict"]))
        if roll < 0.10:
            return wide(rng.choice([100, 5000, 50_000]))
        if roll < 0.13:
            return [rng.choice(INTERESTING[:20]) for _ in range(rng.choice([10, 2000, 20_000]))]  # numbers only
        return copy.deepcopy(rng.choice(INTERESTING))  # never share a mutable value between places

    def mutate(self, body):
        """A copy of the body with one to three nodes replaced, dropped, or given a neighbour."""
        body = json.loads(json.dumps(body))
        for _ in range(self.rng.randint(1, 3)):
            body = self.mutate_node(body)
        return body

    def mutate_node(self, node):
        rng = self.rng
        if isinstance(node, dict) and node and rng.random() < 0.8:
            key = rng.choice(list(node))
            action = rng.random()
            if action < 0.6:
                node[key] = self.mutate_node(node[key])
            elif action < 0.75:
                del node[key]
            elif action < 0.9:
                node[key] = self.value()
            else:
                node[rng.choice(["from", "size", "limit", "unit", "text_docs", "model_id", "url", "version", key + "_x"])] = self.value()
            return node
        if isinstance(node, list) and node and rng.random() < 0.8:
            index = rng.randrange(len(node))
            node[index] = self.mutate_node(node[index])
            # Repeat a scalar neighbour (a repeated structure could multiply the body without bound).
            if rng.random() < 0.2 and len(node) < 5_000 and not isinstance(node[0], (list, dict)):
                node.extend(node[:1] * rng.choice([10, 1000]))
            return node
        return self.value()

    def raw(self, data):
        """Byte-level damage to a serialized body."""
        rng = self.rng
        data = bytearray(data)
        choice = rng.random()
        if choice < 0.3 and data:
            del data[rng.randrange(len(data)):]
        elif choice < 0.6 and data:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.choice([0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0xFF, 0xC0, 0xED])
        else:
            position = rng.randrange(len(data) + 1)
            data[position:position] = rng.choice([b"\\u0000", b"\\ud800", b"1e999999", b"-", b",,", b"\"\"\"", b"99999999999999999999999"])
        return bytes(data)

    def authorization(self):
        """A damaged Authorization header: only shapes that fail before a password check, so the
        login throttle (which would slow every later login) never counts them."""
        rng = self.rng
        choice = rng.random()
        if choice < 0.25:
            return "Basic " + base64.b64encode(rng.choice([b"", b"no-colon", b":", b"\x00:\x00", b"\xff\xfe:x", b"a" * 5000 + b":b"])).decode()
        if choice < 0.5:
            return rng.choice(["Basic", "Basic !!!", "Basic " + "A" * 10_000, "Bearer", "Bearer " + "a" * 5000, "Bearer a b", "ApiKey",
                               "Digest x", "basic", "\u00e9"])
        if choice < 0.75:
            return "Basic " + base64.b64encode(b"admin" + bytes([rng.randrange(256)]) * rng.randrange(3)).decode()  # no colon
        return ADMIN_AUTH + rng.choice([" ", ",", "!"]) + rng.choice(["x", "Basic"])  # no longer base64

    def path(self, path):
        rng = self.rng
        parts = path.split("/")
        if len(parts) > 4 and rng.random() < 0.5:
            index = rng.randrange(3, len(parts))
            parts[index] = rng.choice(["%2e%2e", "..", "%00", "a" * 5000, "%ff%fe", "-1", "99999999999999999999", "%25", "_search"])
        return "/".join(parts)


def run(args):
    sys.setrecursionlimit(50_000)  # deep structures are among the mutations
    rng = random.Random(args.seed)
    mutator = Mutator(rng)
    work = pathlib.Path(tempfile.mkdtemp(prefix="fuzz-requests-"))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server = Server(work / "data", work / "server.log")
    provider = FakeProvider()
    server.start()
    ids = set_up(server.port, provider)
    routes = seeds(ids, provider.url)
    failures, statuses, sent, errors = [], {}, 0, {}
    deadline = time.monotonic() + args.seconds
    try:
        while time.monotonic() < deadline and (args.iterations == 0 or sent < args.iterations):
            method, path, body = rng.choice(routes)
            payload = None
            content_type = "application/json"
            path = mutator.path(path) if rng.random() < 0.15 else path
            if body is not None:
                mutated = mutator.mutate(body) if rng.random() < 0.9 else body
                payload = json.dumps(mutated).encode()
                if rng.random() < 0.15:
                    payload = mutator.raw(payload)
            if rng.random() < 0.03:
                content_type = rng.choice(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
            authorization = mutator.authorization() if rng.random() < 0.03 else ADMIN_AUTH
            started = time.monotonic()
            kind = None
            try:
                status, data = send(server.port, method, path, payload, content_type, timeout=args.timeout, authorization=authorization)
                statuses[status] = statuses.get(status, 0) + 1
                if status >= 500:
                    reason = error_reason(data)
                    errors.setdefault(reason, f"{method} {path.split('?')[0][:60]}")
            except (TimeoutError, OSError, http.client.HTTPException) as error:
                kind = "hang" if server.alive() else "crash"
                if kind == "hang" and not isinstance(error, TimeoutError):
                    kind = None if server.alive() else "crash"
            sent += 1
            if kind is None and not server.alive():
                kind = "crash"
            if kind is None and server.rss_mb() > args.max_rss_mb:
                kind = "memory"
            if kind:
                elapsed = time.monotonic() - started
                record = {"kind": kind, "method": method, "path": path, "content_type": content_type,
                          "authorization": authorization, "seconds": round(elapsed, 2),
                          "body_base64": base64.b64encode(payload or b"").decode(), "exit": server.process.poll(),
                          "rss_mb": server.rss_mb()}
                name = out / f"{kind}-{len(failures):03d}.json"
                name.write_text(json.dumps(record, indent=1))
                failures.append(record)
                print(f"FUZZ {kind}: {method} {path} (saved {name})", flush=True)
                # A fresh data dir: what a crash leaves behind is the kill tests' business, not this one's.
                server.stop()
                server = Server(work / f"data-{len(failures)}", work / "server.log")
                server.start()
                ids = set_up(server.port, provider)
                routes = seeds(ids, provider.url)
    finally:
        server.stop()
        provider.httpd.shutdown()
    summary = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    print(f"fuzz_requests: {sent} requests in {args.seconds:.0f} s (seed {args.seed}); statuses {summary}")
    # 5xx answers are not failures (ML Commons answers 500 for some client errors), but each distinct
    # reason is shown: a generic "exception" is an error nobody mapped to a status.
    for reason, where in sorted(errors.items()):
        print(f"  5xx: {where}: {reason}")
    if failures:
        print(f"fuzz_requests: {len(failures)} failure(s); server log {work / 'server.log'}")
        tail = (work / "server.log").read_text(errors="replace").splitlines()[-20:]
        print("\n".join(tail))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", "30")))
    parser.add_argument("--iterations", type=int, default=0, help="stop after this many requests (0: time only)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "1")))
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds a request may take before it counts as a hang")
    parser.add_argument("--max-rss-mb", type=int, default=3072, help="server memory that counts as an unbounded allocation")
    parser.add_argument("--out", default=str(REPO / ".build" / "fuzz-requests"), help="where failing requests are saved")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
