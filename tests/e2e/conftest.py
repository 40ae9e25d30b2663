"""Fixtures for end-to-end tests: the real `mlcommons` binary and a loopback artifact mirror."""

import base64
import contextlib
import hashlib
import http.server
import io
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import zipfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
MINILM = "huggingface/sentence-transformers/all-MiniLM-L6-v2"
# The engine tests' small random-weight BERT, traced as opensearch-py-ml traces, with its references.
TRACED_BERT = REPO / "Tests" / "InferenceTests" / "Fixtures" / "architectures" / "bert"


def binary() -> str:
    return os.environ.get("MLCOMMONS_BINARY", str(REPO / ".build" / "debug" / "mlcommons"))


class Server:
    """`mlcommons serve` on a free loopback port with its own data dir. With `admin_password`: run with
    `--security`, that password as the first admin's (MLCOMMONS_INITIAL_ADMIN_PASSWORD), and the
    set-up calls made as `admin`."""

    def __init__(self, data_dir: pathlib.Path, artifacts_url: str, extra_args=(), ca_file=None, admin_password=None):
        self.data_dir = data_dir
        self.artifacts_url = artifacts_url
        self.extra_args = list(extra_args)
        # With --tls-cert among extra_args: the CA that signed the server's certificate.
        self.ca_file = ca_file
        self.admin_password = admin_password
        self.log_path = data_dir.parent / (data_dir.name + ".log")
        self.process = None
        self.port = None

    def start(self):
        port_file = self.data_dir / "http.port"
        if port_file.exists():
            port_file.unlink()
        log = open(self.log_path, "ab")
        environment = dict(os.environ)
        security = []
        if self.admin_password is not None:
            security = ["--security"]
            environment["MLCOMMONS_INITIAL_ADMIN_PASSWORD"] = self.admin_password
        self.process = subprocess.Popen(
            [binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(self.data_dir),
             "--artifacts-url", self.artifacts_url, *security, *self.extra_args],
            stdout=log, stderr=log, env=environment)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text())
                self.allow_loopback_mirror()
                return
            if self.process.poll() is not None:
                raise RuntimeError("server exited at start-up:\n" + self.log_path.read_text())
            time.sleep(0.05)
        raise RuntimeError("server did not start:\n" + self.log_path.read_text())

    def allow_loopback_mirror(self):
        """The mirror is on 127.0.0.1, which model downloads refuse by default."""
        import ssl
        import urllib.request
        body = json.dumps({"persistent": {"plugins.ml_commons.allow_private_model_url": True}}).encode()
        scheme = "https" if self.ca_file else "http"
        request = urllib.request.Request(f"{scheme}://127.0.0.1:{self.port}/_cluster/settings", data=body, method="PUT",
                                         headers={"Content-Type": "application/json", **self.auth_headers()})
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        urllib.request.urlopen(request, timeout=10, context=context).read()

    @property
    def auth(self):
        """The (user, password) the set-up calls use, or None without security."""
        return None if self.admin_password is None else ("admin", self.admin_password)

    def auth_headers(self) -> dict:
        if self.auth is None:
            return {}
        return {"Authorization": "Basic " + base64.b64encode(":".join(self.auth).encode()).decode()}

    def crash(self):
        """kill -9: no shutdown hooks, as when a machine dies."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def traced_bert_zip(filler: bytes = b"") -> bytes:
    """The traced BERT fixture's zip entries (registration checks that the engine would load an
    artifact), with `filler` as one more entry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(TRACED_BERT / "bert-torch_script.zip") as source, zipfile.ZipFile(buffer, "w") as archive:
        for entry in source.namelist():
            archive.writestr(entry, source.read(entry))
        if filler:
            archive.writestr("filler.bin", filler)
    return buffer.getvalue()


def traced_bert_all_config() -> str:
    return json.loads((TRACED_BERT / "config.json").read_text())["model_config"]["all_config"]


class Mirror:
    """A real loopback HTTP server laid out like artifacts.opensearch.org/models/ml-models."""

    def __init__(self, root: pathlib.Path):
        self.root = root
        handler = lambda *args, **kwargs: http.server.SimpleHTTPRequestHandler(*args, directory=str(root), **kwargs)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.RequestHandlerClass.log_message = lambda *args: None
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/models/ml-models"

    def publish(self, name: str, version: str, fmt: str) -> str:
        """Publishes a loadable TorchScript zip (the small traced BERT, with random filler beside it so each
        has its own hash) and a config.json that promises 384 dimensions; returns the zip's SHA-256."""
        data = traced_bert_zip(filler=os.urandom(4096))
        digest = hashlib.sha256(data).hexdigest()
        folder = self.root / "models" / "ml-models" / name / version / fmt.lower()
        folder.mkdir(parents=True, exist_ok=True)
        stem = "_".join(name.split("/")[1:])
        (folder / f"{stem}-{version}-{fmt.lower()}.zip").write_bytes(data)
        (folder / "config.json").write_text(json.dumps({
            "name": name, "version": version, "model_format": fmt.upper(), "function_name": "TEXT_EMBEDDING",
            "model_content_size_in_bytes": len(data), "model_content_hash_value": digest,
            "model_config": {"model_type": "bert", "embedding_dimension": 384, "framework_type": "sentence_transformers",
                             "pooling_mode": "MEAN", "normalize_result": True, "all_config": traced_bert_all_config()},
        }))
        return digest

    def publish_traced_bert(self, version: str = "1.0.1") -> None:
        """Serves the traced BERT fixture under MINILM's name, as the artifact site lays out TorchScript models."""
        folder = self.root / "models" / "ml-models" / MINILM / version / "torch_script"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(TRACED_BERT / "bert-torch_script.zip", folder / f"sentence-transformers_all-MiniLM-L6-v2-{version}-torch_script.zip")
        shutil.copy(TRACED_BERT / "config.json", folder / "config.json")

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Postgres:
    """A throw-away PostgreSQL server (scripts/postgres-test-server) in `directory`, stopped with this
    process at the latest."""

    SCRIPT = REPO / "scripts" / "postgres-test-server"

    def __init__(self, directory: pathlib.Path):
        self.directory = directory
        result = subprocess.run([str(self.SCRIPT), "start", str(directory), str(os.getpid())],
                                capture_output=True, text=True, timeout=90)
        if result.returncode != 0:
            raise RuntimeError("PostgreSQL did not start:\n" + result.stdout + result.stderr)
        self.port = int(result.stdout.strip().splitlines()[-1])

    def database_url(self, name: str) -> str:
        """Creates database `name` and returns the URL `--store` takes."""
        subprocess.run([str(self.SCRIPT), "createdb", str(self.directory), name], check=True, capture_output=True, timeout=30)
        return f"postgres://mlcommons@127.0.0.1:{self.port}/{name}"

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        subprocess.run([str(self.SCRIPT), "stop", str(self.directory)], capture_output=True, timeout=60)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the logs of the fixtures it used that have `failure_logs()` (the cluster's nodes)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            if hasattr(value, "failure_logs"):
                for title, text in value.failure_logs():
                    report.sections.append((title, text))


@pytest.fixture
def mirror():
    with tempfile.TemporaryDirectory() as directory:
        m = Mirror(pathlib.Path(directory))
        yield m
        m.close()


@pytest.fixture
def server(mirror):
    with tempfile.TemporaryDirectory() as directory:
        s = Server(pathlib.Path(directory) / "data", mirror.base_url)
        s.start()
        try:
            yield s
        finally:
            s.stop()


@contextlib.contextmanager
def serving(handler):
    """A loopback HTTP server for `handler` on a thread; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
