#!/usr/bin/env bash
# Failover on a Redis cluster: a real redis-server, three headless silos and an ApiHost in client mode on loopback.
# Clients send requests one after another (curl, 20 s timeout each); after FAILOVER_BEFORE answers the silo whose
# log says the model is ready on it is killed with SIGKILL; the clients go on until FAILOVER_AFTER requests sent
# after the kill have succeeded, or FAILOVER_BOUND seconds have passed. Every request is classed as OK, answered with
# an error (a JSON {"error"} body) or unanswered (timeout, reset, or an error without that body), and OK ones as
# within the SLO or not. Then the killed silo is started again and the plan is read once more. Writes
# bench/results/cluster-failover.json: the counts, the time from the kill to the first success, and the time until
# SLO attainment is back to normal (from then on every 1 s window attains at least 95% of the attainment before the
# kill; a request that failed counts as missing the SLO).
#
# Environment (defaults in brackets):
#   FAILOVER_MODEL    sample-zoo model [mlp]
#   FAILOVER_CLIENTS  concurrent clients [4]
#   FAILOVER_BEFORE   answers before the kill [200]
#   FAILOVER_AFTER    OK answers to requests sent after the kill that end the run [200]
#   FAILOVER_BOUND    seconds after the kill before the run ends anyway [120]
#   FAILOVER_SLO_MS   latency objective a success must meet to count as attained [50]
#   FAILOVER_PROBE_S  Cluster:ProbeTimeoutSeconds of the silos [2]; Cluster:MissedProbesLimit is 2
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="${FAILOVER_MODEL:-mlp}"
clients="${FAILOVER_CLIENTS:-4}"
before="${FAILOVER_BEFORE:-200}"
after="${FAILOVER_AFTER:-200}"
bound="${FAILOVER_BOUND:-120}"
slo_ms="${FAILOVER_SLO_MS:-50}"
probe_s="${FAILOVER_PROBE_S:-2}"
results="$root/bench/results"
redis_port=26380
api_url="http://127.0.0.1:18224"

# shellcheck source=common.sh
source "$root/bench/cluster/common.sh"
write_zoo_model "$model"

now_ms() { date +%s%3N; }

start_redis "$redis_port"

cluster=(--Cluster:Provider redis --Cluster:Redis "127.0.0.1:$redis_port" --Cluster:ClusterId "failover-$$"
    --Cluster:ServiceId "failover-$$" --Cluster:AdvertisedAddress 127.0.0.1
    --OrleansServe:ModelRepository "$repository" --OrleansServe:LoadModelsOnStart false
    --OrleansServe:WriteSampleZooWhenEmpty false --OrleansServe:CpuDevice:Cores 1
    --Cluster:ProbeTimeoutSeconds "$probe_s" --Cluster:MissedProbesLimit 2)
declare -A silo_pid
start_silo() { # index, log
    dotnet "$root/Silo/bin/Release/net10.0/OrleansServe.Silo.dll" --urls "http://127.0.0.1:1828$1" \
        --Cluster:SiloPort "2122$1" --Cluster:GatewayPort "4020$1" "${cluster[@]}" >"$2" 2>&1 &
    silo_pid[$1]=$!
    pids+=("$!")
    wait_for_line "$2" "Application started" "silo $1" "$!"
}
for i in 1 2 3; do start_silo "$i" "$work/silo$i.log"; done

dotnet "$root/ApiHost/bin/Release/net10.0/OrleansServe.ApiHost.dll" --mode client --urls "$api_url" \
    "${cluster[@]}" >"$work/api.log" 2>&1 &
pids+=("$!")
wait_for_line "$work/api.log" "OrleansServe ready" ApiHost "$!"

curl -sf -X POST "$api_url/v2/repository/models/$model/load" >/dev/null
host=""
for i in 1 2 3; do
    if grep -q "Model $model version .* ready on" "$work/silo$i.log"; then host=$i; fi
done
[[ -n "$host" ]] || { echo "no silo says $model is ready" >&2; exit 1; }
input="$(curl -sf "$api_url/v2/models/$model" | jq -c '{inputs: [.inputs[] | {name, datatype, shape: ([1] + .shape[1:]),
    data: [range(0; ([.shape[1:][]] | reduce .[] as $d (1; . * $d))) | 0.5]}]}')"

# One line per request: sent at (ms), HTTP status (000: no answer), class (ok, error, unanswered), latency (ms).
client() {
    local body="$work/body.$1"
    while [[ ! -e "$work/stop" ]]; do
        local sent code class seconds
        sent="$(now_ms)"
        read -r code seconds < <(curl -s -o "$body" -w '%{http_code} %{time_total}\n' --max-time 20 \
            -H 'Content-Type: application/json' -d "$input" "$api_url/v2/models/$model/infer" || true)
        if [[ "$code" == 200 ]]; then class=ok
        elif jq -e '.error | strings' "$body" >/dev/null 2>&1; then class=error
        else class=unanswered; fi
        echo "$sent $code $class $(awk -v s="${seconds:-0}" 'BEGIN {printf "%.1f", s * 1000}')"
    done >"$work/client.$1"
}
for c in $(seq "$clients"); do client "$c" & done

answered() { cat "$work"/client.* 2>/dev/null | wc -l; }
until (($(answered) >= before)); do sleep 0.2; done
kill -9 "${silo_pid[$host]}"
killed_at="$(now_ms)"
echo "Killed silo $host at $killed_at after $(answered) answers"
deadline=$((SECONDS + bound))
until (($(cat "$work"/client.* | awk -v k="$killed_at" '$1 >= k && $3 == "ok"' | wc -l) >= after)) || ((SECONDS >= deadline)); do
    sleep 0.5
done
touch "$work/stop"
wait_clients() { for job in $(jobs -p); do [[ " ${pids[*]} " == *" $job "* ]] || wait "$job" || true; done; }
wait_clients
plan="$(curl -s --max-time 20 "$api_url/v2/admin/plan" || echo null)"
start_silo "$host" "$work/silo$host.back.log"
plan_rejoined="$(curl -s --max-time 20 "$api_url/v2/admin/plan" || echo null)"
statuses="$(cat "$work"/client.* | awk '{print $2}' | sort | uniq -c | awk '{printf "%s\"%s\": %s", (NR > 1 ? ", " : ""), $2, $1}')"
last_error="$(cat "$work"/body.1 2>/dev/null | head -c 300 || true)"

mkdir -p "$results"
cat "$work"/client.* | sort -n | jq -R -s \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
    --argjson cores "$(nproc)" \
    --arg model "$model" --argjson clients "$clients" --argjson killed "$killed_at" --argjson bound "$bound" \
    --argjson statuses "{$statuses}" --arg plan "$plan" --arg rejoined "$plan_rejoined" --arg last "$last_error" \
    --argjson slo "$slo_ms" --argjson probe "$probe_s" \
    'split("\n") | map(select(length > 0) | split(" ") | {sent: (.[0] | tonumber), status: .[1], class: .[2], ms: (.[3] | tonumber)}
         | .attained = (.class == "ok" and .ms <= $slo)) as $r
     | ($r | map(select(.sent >= $killed))) as $later
     | ($r | map(select(.sent < $killed))) as $earlier
     | (if ($earlier | length) > 0 then ($earlier | map(select(.attained)) | length) / ($earlier | length) else null end) as $normal
     | ($later | group_by(((.sent - $killed) / 1000) | floor)
         | map({second: (((.[0].sent - $killed) / 1000) | floor), attainment: ((map(select(.attained)) | length) / length)})) as $windows
     | ($windows | map(select(.attainment < 0.95 * $normal)) | if length > 0 then .[-1].second + 1 else 0 end) as $back
     | {
        date: $date,
        machine: {cpu: $cpu, cores: $cores},
        setup: "redis-server + 3 silos + ApiHost (client mode) on loopback; curl clients, 20 s timeout each; SIGKILL of the silo hosting the model, then that silo started again",
        probe_timeout_s: $probe, missed_probes_limit: 2, slo_ms: $slo,
        model: $model, clients: $clients,
        sent: ($r | length),
        ok: ($r | map(select(.class == "ok")) | length),
        answered_with_error: ($r | map(select(.class == "error")) | length),
        unanswered: ($r | map(select(.class == "unanswered")) | length),
        statuses: $statuses,
        ok_sent_after_kill: ($later | map(select(.class == "ok")) | length),
        ms_from_kill_to_first_ok: ($later | map(select(.class == "ok")) | if length > 0 then .[0].sent - $killed else null end),
        slo_attainment_before_kill: $normal,
        s_from_kill_to_normal_slo_attainment: $back,
        slo_attainment_by_second_after_kill: ($windows | map(.attainment * 1000 | round / 1000)),
        p50_ms_ok_before_kill: ($earlier | map(select(.class == "ok") | .ms) | sort | if length > 0 then .[length / 2 | floor] else null end),
        recovered_within_bound_s: $bound,
        plan_after: $plan,
        plan_after_rejoin: $rejoined,
        last_answer_of_client_1: $last
    }' >"$results/cluster-failover.json"
cat "$results/cluster-failover.json"
