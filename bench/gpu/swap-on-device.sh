#!/usr/bin/env bash
# The swapping and gpulet measurements on the GPU machine (issue 5; see bench/gpu/README.md): unpacks the .NET
# runtime carried in .device/, runs `Cli swap-bench` on the device and bench/gpu/pytorch_bandwidth.py beside it,
# and writes a summary with each goal marked met or not.
#
# Usage: bash bench/gpu/swap-on-device.sh [--budget SECONDS] [--skip-pytorch] [swap-bench options...]
#   --budget SECONDS   wall-clock budget for the whole script [540; the device tool stops a command at 600]
#   --skip-pytorch     do not run the PyTorch bandwidth peer
#   anything else goes to swap-bench, e.g. --measure bandwidth,swapin,coldstart --models resnet50,bert_base
#   (swap-bench defaults: every part, models resnet50,lenet5; see `swap-bench --help`)
# Writes to $OUT (a fresh temporary folder elsewhere): env.txt, swap.json, swap.log, profile.csv, pairs.csv,
# pytorch-bandwidth.json, pytorch-bandwidth.log, swap-summary.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
budget=540
run_pytorch=1
bench_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --budget) budget="${2:?--budget needs seconds}"; shift 2 ;;
    --skip-pytorch) run_pytorch=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) bench_args+=("$1"); shift ;;
  esac
done
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "swap-on-device: --budget must be whole seconds, not '$budget'" >&2; exit 2; }
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
start=$SECONDS
left() { echo $(( budget - (SECONDS - start) )); }

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.current,pcie.link.width.current --format=csv || echo "nvidia-smi: not available"
  echo "ulimit -l: $(ulimit -l)"
} > "$out/env.txt" 2>&1
cat "$out/env.txt"

# PyTorch first: it is quick, and it is the figure the engine's bandwidth is judged against.
if [[ $run_pytorch == 1 ]]; then
  rc=0
  timeout 120 python3 bench/gpu/pytorch_bandwidth.py --json "$out/pytorch-bandwidth.json" > "$out/pytorch-bandwidth.log" 2>&1 || rc=$?
  tail -n 20 "$out/pytorch-bandwidth.log"
  (( rc == 0 )) || echo "swap-on-device: the PyTorch bandwidth peer failed (rc $rc)" | tee -a "$out/pytorch-bandwidth.log"
fi

if [[ ! -f .device/dotnet.tar.xz || ! -f .device/app/OrleansServe.Cli.dll ]]; then
  echo "swap-on-device: .device/ is missing; run ../shared/device/pack.sh Cli/Cli.csproj and carry [\".device\"]" | tee "$out/swap.log" >&2
else
  mkdir -p /tmp/dn
  [[ -x /tmp/dn/dotnet ]] || tar -C /tmp/dn -xJf .device/dotnet.tar.xz
  export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
  bench_budget=$(( $(left) - 30 ))
  rc=0
  timeout --kill-after=10 "$bench_budget" dotnet .device/app/OrleansServe.Cli.dll swap-bench --device cuda \
    --time-budget $(( bench_budget - 60 )) --json "$out/swap.json" --csv-dir "$out" "${bench_args[@]}" > "$out/swap.log" 2>&1 || rc=$?
  tail -n 60 "$out/swap.log"
  (( rc == 0 )) || echo "swap-on-device: swap-bench failed or was stopped (rc $rc); see swap.log" | tee -a "$out/swap.log"
fi

python3 bench/gpu/summarize_swap.py "$out/swap.json" "$out/pytorch-bandwidth.json" > "$out/swap-summary.md"
cat "$out/swap-summary.md"
echo "swap-on-device: done in $(( SECONDS - start ))s; files in $out"
