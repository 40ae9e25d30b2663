#!/usr/bin/env bash
# The server end to end, for scripts/bench: starts `mlcommons serve` on a fresh data dir, registers
# the artifact by URL from a loopback file server, restarts the server (as a node does before it
# deploys its models), times the deploy, reads the process's memory, then runs `mlcommons load`
# (32 concurrent clients, one text per request). Prints one JSON object.
#   scripts/bench_server.sh <mlcommons binary> <artifact zip> <model_config JSON> <threads> <corpus>
set -euo pipefail
binary=$1 zip=$2 config=$3 threads=$4 corpus=$5
data=$(mktemp -d)
files_port=$((20000 + RANDOM % 10000)) port=$((30000 + RANDOM % 10000))
cleanup() { kill "$server" "$files" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
python3 -m http.server "$files_port" --bind 127.0.0.1 --directory "$(dirname "$zip")" >/dev/null 2>&1 & files=$!
es="http://127.0.0.1:$port"
start_server() {
    "$binary" serve --host 127.0.0.1 --port "$port" --data-dir "$data/data" >> "$data/server.log" 2>&1 & server=$!
    for _ in $(seq 100); do curl -sf "$es/" >/dev/null && break; sleep 0.1; done
}
start_server

call() { curl -sf -X "$1" "$es$2" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
call PUT /_cluster/settings "{\"persistent\": {\"plugins.ml_commons.allow_registering_model_via_url\": true,
    \"plugins.ml_commons.allow_private_model_url\": true,
    \"plugins.ml_commons.native.inference_threads\": $threads}}" >/dev/null
register=$(jq -nc --arg url "http://127.0.0.1:$files_port/$(basename "$zip")" --arg hash "$(sha256sum "$zip" | cut -d' ' -f1)" \
    --argjson config "$config" '{name: "bench", version: "1.0.0", model_format: "ONNX", function_name: "TEXT_EMBEDDING",
    url: $url, model_content_hash_value: $hash, model_config: $config}')
task=$(call POST /_plugins/_ml/models/_register "$register" | jq -r .task_id)
model=""
for _ in $(seq 600); do
    model=$(call GET "/_plugins/_ml/tasks/$task" | jq -r 'select(.state == "COMPLETED") | .model_id')
    [ -n "$model" ] && break
    sleep 0.1
done
[ -n "$model" ] || { echo "registration did not complete: $(call GET "/_plugins/_ml/tasks/$task")" >&2; exit 1; }

rss_registered=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$server/status")
kill "$server"; wait "$server" 2>/dev/null || true
start_server
rss_before=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$server/status")
start=$(date +%s.%N)
deploy_task=$(call POST "/_plugins/_ml/models/$model/_deploy" | jq -r .task_id)
until [ "$(call GET "/_plugins/_ml/tasks/$deploy_task" | jq -r .state)" = COMPLETED ]; do sleep 0.01; done
deploy_seconds=$(echo "$(date +%s.%N) - $start" | bc)
rss_deployed=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$server/status")

load=$("$binary" load --url "$es" --model-id="$model" --corpus "$corpus" --concurrency 32)
rss_peak=$(awk '/VmHWM/ {print $2 * 1024}' "/proc/$server/status")
rss_after=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$server/status")
echo "$load" | jq -c --argjson deploy "$deploy_seconds" --argjson before "$rss_before" --argjson deployed "$rss_deployed" \
    --argjson peak "$rss_peak" --argjson after "$rss_after" --argjson registered "$rss_registered" \
    '. + {deploy_seconds: $deploy, rss_after_registering_bytes: $registered, rss_before_deploy_bytes: $before, rss_deployed_bytes: $deployed,
          rss_after_load_bytes: $after, peak_rss_bytes: $peak}'
