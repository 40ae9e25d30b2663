#!/usr/bin/env python3
"""What security costs a request: the same keep-alive requests to a server without security, with
Basic credentials (verified once, then cached), with an API key, and the first, uncached password
check. Rounds alternate between the servers so a noisy machine affects all alike; prints a table.

    scripts/bench_auth.py [requests-per-round] [rounds]      (MLCOMMONS_BINARY: the binary to run)
"""

import base64
import http.client
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
BINARY = os.environ.get("MLCOMMONS_BINARY", str(REPO / ".build" / "release" / "mlcommons"))
PASSWORD = "Bench-Granite-Pw-77"
PATH = "/_plugins/_ml/models/_search"


def start(directory, security):
    data = pathlib.Path(directory) / ("secure" if security else "open")
    args = [BINARY, "serve", "--port", "0", "--data-dir", str(data), "--log-level", "warning"] + (["--security"] if security else [])
    process = subprocess.Popen(args, env={**os.environ, "MLCOMMONS_INITIAL_ADMIN_PASSWORD": PASSWORD},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = data / "http.port"
    for _ in range(600):
        if port_file.exists() and port_file.read_text().strip():
            return process, int(port_file.read_text())
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def timed(port, authorization, count):
    """Per-request milliseconds of `count` requests on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": authorization} if authorization else {}
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", PATH, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        times.append((time.perf_counter() - started) * 1000)
    connection.close()
    return times


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as directory:
        open_server, open_port = start(directory, False)
        secure_server, secure_port = start(directory, True)
        try:
            admin = basic("admin", PASSWORD)
            connection = http.client.HTTPConnection("127.0.0.1", secure_port, timeout=60)
            connection.request("POST", "/_plugins/_security/api/apikeys", body=json.dumps({"name": "bench"}),
                               headers={"Authorization": admin, "Content-Type": "application/json"})
            key = "Bearer " + json.loads(connection.getresponse().read())["api_key"]
            # First checks: a user made now, so its password is not in the cache yet.
            first = []
            for index in range(rounds):
                name, password = f"bench{index}", f"Bench-user-Pw-{index}7"
                connection.request("PUT", f"/_plugins/_security/api/internalusers/{name}",
                                   body=json.dumps({"password": password, "opendistro_security_roles": ["ml_readonly_access"]}),
                                   headers={"Authorization": admin, "Content-Type": "application/json"})
                connection.getresponse().read()
                first += timed(secure_port, basic(name, password), 1)
            connection.close()
            results = {"no security": [], "Basic (cached)": [], "API key (cached)": []}
            for _ in range(rounds):
                results["no security"] += timed(open_port, None, count)
                results["Basic (cached)"] += timed(secure_port, admin, count)
                results["API key (cached)"] += timed(secure_port, key, count)
        finally:
            for process in (open_server, secure_server):
                process.terminate()
                process.wait()
    base = statistics.median(results["no security"])
    print(f"{count} keep-alive GET {PATH} per round, {rounds} rounds, alternating ({BINARY})")
    print(f"{'':<26}{'median ms':>10}{'p90 ms':>10}{'vs none':>9}")
    for name, times in results.items():
        median = statistics.median(times)
        p90 = sorted(times)[int(len(times) * 0.9)]
        print(f"{name:<26}{median:>10.3f}{p90:>10.3f}{median / base:>8.2f}x")
    print(f"{'first password check':<26}{statistics.median(first):>10.1f}{max(first):>10.1f}{statistics.median(first) / base:>8.0f}x")


if __name__ == "__main__":
    main()
