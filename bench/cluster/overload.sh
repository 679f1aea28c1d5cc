#!/usr/bin/env bash
# Overload on a Redis cluster: a real redis-server, one headless silo and an ApiHost in client mode, all on
# loopback. Measures the capacity of one model with an explicit slo_ms (closed loop, the ApiHost without a limit),
# then restarts the ApiHost with Api:MaxConcurrentInferences, offers 5x that rate open-loop and records admitted
# latency against the SLO, the share and latency of 503s, and the peak RSS (VmHWM) of every process (the ApiHost's
# of the overload run). Writes bench/results/cluster-overload.json.
#
# Environment (defaults in brackets):
#   OVERLOAD_MODEL        sample-zoo model to measure [resnet_small]
#   OVERLOAD_SLO_MS       slo_ms written into its config.json [50]
#   OVERLOAD_FACTOR       offered load as a multiple of the measured capacity [5]
#   OVERLOAD_DURATION     measured seconds of each run [15]
#   OVERLOAD_CONCURRENCY  closed-loop concurrency of the capacity run [8]
#   OVERLOAD_MAX_CONCURRENT_INFERENCES  the ApiHost's Api:MaxConcurrentInferences in the overload run [2]
#   OVERLOAD_CPU_CORES    the silo's OrleansServe:CpuDevice:Cores, the cores ONNX Runtime uses (0: all) [0]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="${OVERLOAD_MODEL:-resnet_small}"
slo_ms="${OVERLOAD_SLO_MS:-50}"
factor="${OVERLOAD_FACTOR:-5}"
duration="${OVERLOAD_DURATION:-15}"
concurrency="${OVERLOAD_CONCURRENCY:-8}"
max_concurrent="${OVERLOAD_MAX_CONCURRENT_INFERENCES:-2}"
cpu_cores="${OVERLOAD_CPU_CORES:-0}"
results="$root/bench/results"
redis_port=26379
silo_port=21211
gateway_port=40100
api_url="http://127.0.0.1:18223"

# shellcheck source=common.sh
source "$root/bench/cluster/common.sh"
write_zoo_model "$model"
config="$repository/$model/config.json"
jq --argjson slo "$slo_ms" '. + {slo_ms: $slo}' "$config" >"$config.new" && mv "$config.new" "$config"
echo "config.json: $(cat "$config")"


start_redis "$redis_port"

cluster=(--Cluster:Provider redis --Cluster:Redis "127.0.0.1:$redis_port" --Cluster:ClusterId "overload-$$"
    --Cluster:ServiceId "overload-$$" --Cluster:AdvertisedAddress 127.0.0.1
    --OrleansServe:ModelRepository "$repository" --OrleansServe:LoadModelsOnStart false
    --OrleansServe:WriteSampleZooWhenEmpty false)

dotnet "$root/Silo/bin/Release/net10.0/OrleansServe.Silo.dll" --urls http://127.0.0.1:18282 \
    --Cluster:SiloPort "$silo_port" --Cluster:GatewayPort "$gateway_port" --OrleansServe:CpuDevice:Cores "$cpu_cores" \
    "${cluster[@]}" >"$work/silo.log" 2>&1 &
silo_pid=$!
pids+=("$silo_pid")
wait_for_line "$work/silo.log" "Application started" silo "$silo_pid"

start_api() { # Api:MaxConcurrentInferences, log name
    dotnet "$root/ApiHost/bin/Release/net10.0/OrleansServe.ApiHost.dll" --mode client --urls "$api_url" \
        --Api:MaxConcurrentInferences "$1" "${cluster[@]}" >"$work/$2.log" 2>&1 &
    api_pid=$!
    pids+=("$api_pid")
    wait_for_line "$work/$2.log" "OrleansServe ready" ApiHost "$api_pid"
}

# Capacity is the system's, measured without the front end's limit; the overload run has it.
start_api 0 api-capacity
curl -sf -X POST "$api_url/v2/repository/models/$model/load" >/dev/null

echo "Capacity: closed loop at concurrency $concurrency for ${duration} s..."
"${cli[@]}" loadgen --url "$api_url" --model "$model" --concurrency "$concurrency" --duration "$duration" \
    --warmup 3 --json "$work/capacity.json" >/dev/null
capacity="$(jq '.runs[0].throughput_rps' "$work/capacity.json")"
offered="$(jq -n --argjson c "$capacity" --argjson f "$factor" '$c * $f | floor')"
echo "Capacity $capacity req/s; offering $offered req/s open-loop for ${duration} s..."
kill "$api_pid" && wait "$api_pid" || true
start_api "$max_concurrent" api

# A closed-loop probe beside the load: the status and latency of single requests, to see how fast a 503 comes back.
probe() {
    local end=$((SECONDS + duration + 3))
    local metadata input
    metadata="$(curl -sf "$api_url/v2/models/$model")"
    input="$(jq -c '{inputs: [.inputs[0] | {name, datatype, shape: ([1] + .shape[1:]), data: [range(0; ([.shape[1:][]] | reduce .[] as $d (1; . * $d))) | 0.5]}]}' <<<"$metadata")"
    while ((SECONDS < end)); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H 'Content-Type: application/json' \
            -d "$input" "$api_url/v2/models/$model/infer" || true
    done >"$work/probe.txt"
}
probe &
probe_pid=$!
"${cli[@]}" loadgen --url "$api_url" --model "$model" --rate "$offered" --duration "$duration" --warmup 3 \
    --json "$work/overload.json" >/dev/null
wait "$probe_pid"

peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
mkdir -p "$results"
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
    --argjson cores "$(nproc)" \
    --arg memory "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)" \
    --arg dotnet "$(dotnet --version)" \
    --arg model "$model" --argjson slo "$slo_ms" --argjson factor "$factor" --argjson max_concurrent "$max_concurrent" \
    --argjson cpu_cores "$cpu_cores" \
    --slurpfile capacity "$work/capacity.json" --slurpfile overload "$work/overload.json" \
    --argjson silo "$(peak_kib "$silo_pid")" --argjson api "$(peak_kib "$api_pid")" --argjson redis "$(peak_kib "$redis_pid")" \
    --argjson probe "$(awk '{print "{\"status\":" $1 ",\"ms\":" $2 * 1000 "}"}' "$work/probe.txt" | jq -s '.')" \
    '{
        date: $date,
        machine: {cpu: $cpu, cores: $cores, memory: $memory, dotnet_sdk: $dotnet},
        setup: "redis-server + 1 silo + ApiHost (client mode) on loopback; load generator on the same machine",
        model: $model, slo_ms: $slo,
        settings: {"Api:MaxConcurrentInferences": $max_concurrent, "OrleansServe:CpuDevice:Cores": $cpu_cores},
        capacity: $capacity[0].runs[0],
        offered_factor: $factor,
        overload: $overload[0].runs[0],
        admitted_p99_within_slo: ($overload[0].runs[0].p99_ms <= $slo),
        share_503: (($overload[0].runs[0].errors_by_kind.http_503 // 0) / ($overload[0].runs[0].requests)),
        probe: {
            note: "single requests sent one after another during the overload run",
            ok: ($probe | map(select(.status == 200)) | length),
            refused_503: ($probe | map(select(.status == 503)) | length),
            other: ($probe | map(select(.status != 200 and .status != 503)) | length),
            ms_503: ($probe | map(select(.status == 503) | .ms) | sort | if length > 0 then {p50: .[length / 2 | floor], max: .[-1]} else null end),
            ms_ok: ($probe | map(select(.status == 200) | .ms) | sort | if length > 0 then {p50: .[length / 2 | floor], max: .[-1]} else null end)
        },
        peak_rss_mib: {silo: ($silo / 1024), apihost: ($api / 1024), redis: ($redis / 1024)},
        peak_rss_note: "VmHWM of each process at the end of the run (the load generator is not counted)"
    }' >"$results/cluster-overload.json"
cat "$results/cluster-overload.json"
