#!/usr/bin/env bash
# Runs the scheduler comparison of issue 6 in the simulator: every gpulet scenario and app under each policy
# (max total rate at 99% SLO attainment on 4 GPUs), and the serverless trace (models per GPU), then prints a table.
# Usage: bench/simulate.sh [--interference synthetic|none] [--duration S] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
interference=synthetic
duration=20
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --interference) interference="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "simulate.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out="${out:-bench/results/simulation-${interference}.jsonl}"
dotnet build Cli/Cli.csproj -c Release -v quiet -nologo >/dev/null
cli="dotnet Cli/bin/Release/net10.0/OrleansServe.Cli.dll"
: > "$out"
for workload in scenario1 scenario2 scenario3 scenario4 scenario5 game traffic; do
  for policy in temporal gpulet orleansserve swap; do
    $cli simulate --workload "$workload" --policy "$policy" --gpus 4 --duration "$duration" --interference "$interference" --json >> "$out"
  done
done
for policy in swap orleansserve gpulet; do
  $cli simulate --workload serverless --policy "$policy" --gpus 4 --duration "$duration" --interference "$interference" --json >> "$out"
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
by = {(r["workload"], r["policy"]): r for r in rows}
workloads = [w for w in dict.fromkeys(r["workload"] for r in rows)]
print("| workload | temporal | gpulet | orleansserve | swap | gpulet / temporal | orleansserve / temporal |")
print("|---|---:|---:|---:|---:|---:|---:|")
ratios = []
for w in workloads:
    get = lambda p: by.get((w, p), {}).get("max_rate_rps")
    t, g, o, s = get("temporal"), get("gpulet"), get("orleansserve"), get("swap")
    fmt = lambda v: "—" if v is None else f"{v:.0f}"
    ratio = lambda a: "—" if not a or not t else f"{a / t:.2f}"
    if w.startswith("scenario") and t and g:
        ratios.append((g / t, (o or 0) / t))
    print(f"| {w} | {fmt(t)} | {fmt(g)} | {fmt(o)} | {fmt(s)} | {ratio(g)} | {ratio(o)} |")
if ratios:
    print(f"\nscenarios 1-5, average max-rate ratio over temporal-only: gpulet {sum(r[0] for r in ratios)/len(ratios):.2f}x, orleansserve {sum(r[1] for r in ratios)/len(ratios):.2f}x")
for r in rows:
    if r["workload"] == "serverless":
        print(f"serverless / {r['policy']}: max {r['max_rate_rps']:.0f} req/s, {r['models_per_gpu']:.0f} models per GPU on {r['gpus']} GPUs, attainment {r['slo_attainment']:.4f}")
PY
