#!/usr/bin/env bash
# Serves the sample zoo on loopback and measures mlp and resnet_small with `loadgen`, each next to
# ONNX Runtime called in-process on the same model file. Figures go to bench/results/.
#
# Environment (defaults in brackets):
#   LOADGEN_DURATION   measured seconds per run [10]
#   LOADGEN_WARMUP     warmup seconds per run [2]
#   LOADGEN_CONCURRENCY  closed-loop concurrencies [1,8,32]
#   LOADGEN_MODELS     models to measure [mlp resnet_small]
#   LOADGEN_EXTRA      extra loadgen options, e.g. --binary (results then carry a -binary suffix) []
#   LOADGEN_PORT, LOADGEN_SILO_PORT, LOADGEN_GATEWAY_PORT  server ports [18123, 21111, 40000]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
duration="${LOADGEN_DURATION:-10}"
warmup="${LOADGEN_WARMUP:-2}"
concurrency="${LOADGEN_CONCURRENCY:-1,8,32}"
models="${LOADGEN_MODELS:-mlp resnet_small}"
port="${LOADGEN_PORT:-18123}"
url="http://127.0.0.1:${port}"
results="$root/bench/results"
stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"

echo "Building (Release)..."
dotnet build "$root/ApiHost" -c Release -nologo -v quiet
dotnet build "$root/Cli" -c Release -nologo -v quiet

work="$(mktemp -d)"
repository="$work/model-repository"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# The server writes the sample zoo into an empty repository when it starts.
dotnet "$root/ApiHost/bin/Release/net10.0/OrleansServe.ApiHost.dll" \
    --model-repository "$repository" --urls "$url" \
    --Cluster:SiloPort "${LOADGEN_SILO_PORT:-21111}" --Cluster:GatewayPort "${LOADGEN_GATEWAY_PORT:-40000}" \
    >"$work/server.log" 2>&1 &
server_pid=$!

echo "Waiting for $url/v2/health/ready..."
deadline=$((SECONDS + 120))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/v2/health/ready")" == 200 ]]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "The server exited before it was ready:" >&2
        tail -n 40 "$work/server.log" >&2
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        echo "The server was not ready within 120 s:" >&2
        tail -n 40 "$work/server.log" >&2
        exit 1
    fi
    sleep 1
done

mkdir -p "$results"
for model in $models; do
    # shellcheck disable=SC2086 # LOADGEN_EXTRA is a list of options
    dotnet "$root/Cli/bin/Release/net10.0/OrleansServe.Cli.dll" loadgen \
        --url "$url" --model "$model" --batch 1 --concurrency "$concurrency" \
        --duration "$duration" --warmup "$warmup" \
        --direct "$repository/$model/1/model.onnx" \
        --json "$results/loadgen-$model${LOADGEN_EXTRA:+-binary}-$stamp.json" ${LOADGEN_EXTRA:-}
done
