#!/usr/bin/env bash
# The one command to run on the GPU machine (see bench/gpu/README.md): unpacks the .NET runtime carried in
# .device/, records the machine (nvidia-smi, where libcuda and cuBLAS are), runs the engine's `bench` command and
# bench/pytorch_bench.py on the same models and batches, and writes a side-by-side table.
#
# Usage: bash bench/gpu/run-on-device.sh [options]
#   --models a,b,c     models for both sides [all eleven, see bench/pytorch_bench.py --list]
#   --batches 1,8,32   batch sizes [1,8,32]
#   --budget SECONDS   wall-clock budget for the whole script [540; the device tool stops a command at 600]
#   --engine-share P   percent of the budget the engine may use before it is stopped [50]
#   --tf32             let PyTorch use TF32 (the engine's own setting is the bench command's)
#   --cuda-graphs      the engine replays every forward pass from a CUDA graph; PyTorch also times batch 1 from one
#   --cublas PATH      use this libcublas (sets ORLEANSSERVE_CUBLAS) instead of probing
#   --skip-engine | --skip-pytorch
# Writes to $OUT (the device tool's folder; a fresh temporary folder elsewhere): env.txt, engine.json,
# engine.log, pytorch.json, pytorch.log, summary.md. A failing side is logged and the other still runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

models="resnet50,resnet152,vgg16,googlenet,mobilenet_v2,mnasnet1_0,densenet161,inception_v3,bert_base,lenet5,ssd_mobilenet_v1"
batches="1,8,32"
budget=540
engine_share=50
pytorch_flags=()
engine_flags=()
run_engine=1
run_pytorch=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --models) models="${2:?--models needs a list}"; shift 2 ;;
    --batches) batches="${2:?--batches needs a list}"; shift 2 ;;
    --budget) budget="${2:?--budget needs seconds}"; shift 2 ;;
    --engine-share) engine_share="${2:?--engine-share needs a percentage}"; shift 2 ;;
    --tf32) pytorch_flags+=(--tf32); shift ;;
    --cuda-graphs) pytorch_flags+=(--cuda-graphs); engine_flags+=(--cuda-graphs); shift ;;
    --cublas) export ORLEANSSERVE_CUBLAS="${2:?--cublas needs a path}"; shift 2 ;;
    --skip-engine) run_engine=0; shift ;;
    --skip-pytorch) run_pytorch=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run-on-device: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ "$budget" =~ ^[0-9]+$ ]] || { echo "run-on-device: --budget must be whole seconds, not '$budget'" >&2; exit 2; }
[[ "$engine_share" =~ ^[0-9]+$ && "$engine_share" -le 100 ]] || { echo "run-on-device: --engine-share must be 0-100" >&2; exit 2; }

out="${OUT:-}"
if [[ -z "$out" ]]; then
  out="$(mktemp -d)"
  echo "run-on-device: OUT is not set; writing to $out"
fi
mkdir -p "$out"
start=$SECONDS
left() { echo $(( budget - (SECONDS - start) )); }

python=python3
command -v "$python" >/dev/null || { echo "run-on-device: python3 is not on PATH" >&2; exit 1; }

# --- The machine ---------------------------------------------------------------------------------------
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi || echo "nvidia-smi failed (rc $?)"
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv || true
  else
    echo "nvidia-smi: not on PATH"
  fi
  echo "## driver and cuBLAS in the loader cache"
  ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libcublas' || echo "(none listed by ldconfig)"
  echo "## python's nvidia wheels"
  "$python" - <<'PY' || true
import importlib, os, site
print("site-packages:", os.pathsep.join(site.getsitepackages()))
for name in ("nvidia.cublas", "nvidia.cu13"):
    try:
        module = importlib.import_module(name)
        folder = os.path.dirname(module.__file__) if getattr(module, "__file__", None) else list(module.__path__)[0]
        lib = os.path.join(folder, "lib")
        print(f"{name}: {folder}; lib: {sorted(os.listdir(lib)) if os.path.isdir(lib) else 'no lib folder'}")
    except Exception as error:  # a missing wheel is a fact to record, not a failure
        print(f"{name}: {type(error).__name__}: {error}")
PY
  echo "## libcublas files"
  timeout 30 find /usr/local /usr/lib /opt "$HOME/.local" -name 'libcublas*.so*' 2>/dev/null | head -20 || true
} > "$out/env.txt" 2>&1
cat "$out/env.txt"

# Point the engine's cuBLAS probe at this Python's site folders (pip's nvidia wheels live there).
ORLEANSSERVE_PYTHON_SITE="$("$python" -c 'import os, site; print(os.pathsep.join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null || true)"
export ORLEANSSERVE_PYTHON_SITE

# --- Engine ----------------------------------------------------------------------------------------------
if [[ $run_engine == 1 ]]; then
  engine_budget=$(( $(left) * engine_share / 100 ))
  if [[ ! -f .device/dotnet.tar.xz || ! -f .device/app/OrleansServe.Cli.dll ]]; then
    echo "run-on-device: .device/ is missing; run ../shared/device/pack.sh Cli/Cli.csproj and carry [\".device\"]" | tee "$out/engine.log" >&2
  elif (( engine_budget < 10 )); then
    echo "run-on-device: no time left for the engine (budget $budget s)" | tee "$out/engine.log" >&2
  else
    mkdir -p /tmp/dn
    [[ -x /tmp/dn/dotnet ]] || tar -C /tmp/dn -xJf .device/dotnet.tar.xz
    export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
    echo "## the engine's own probe (Cli gpu-info)" >> "$out/env.txt"
    timeout 60 dotnet .device/app/OrleansServe.Cli.dll gpu-info >> "$out/env.txt" 2>&1 || echo "gpu-info failed (rc $?)" >> "$out/env.txt"
    tail -n 12 "$out/env.txt"
    echo "run-on-device: engine bench, at most ${engine_budget}s"
    rc=0
    timeout --kill-after=10 "${engine_budget}" dotnet .device/app/OrleansServe.Cli.dll bench \
      --device cuda --models "$models" --batches "$batches" --parity --time-budget $(( engine_budget - 30 )) "${engine_flags[@]}" --json "$out/engine.json" > "$out/engine.log" 2>&1 || rc=$?
    tail -n 40 "$out/engine.log"
    if (( rc == 124 || rc == 137 )); then
      echo "run-on-device: the engine bench ran past ${engine_budget}s and was stopped" | tee -a "$out/engine.log"
    elif (( rc != 0 )); then
      echo "run-on-device: the engine bench failed (rc $rc); see engine.log" | tee -a "$out/engine.log"
    fi
  fi
fi

# --- PyTorch ---------------------------------------------------------------------------------------------
if [[ $run_pytorch == 1 ]]; then
  # Keep 20 s for the summary and for the tool to collect $OUT.
  pytorch_budget=$(( $(left) - 20 ))
  if (( pytorch_budget < 10 )); then
    echo "run-on-device: no time left for PyTorch (budget $budget s)" | tee "$out/pytorch.log" >&2
  else
    echo "run-on-device: PyTorch bench, budget ${pytorch_budget}s"
    rc=0
    timeout --kill-after=10 $(( pytorch_budget + 30 )) "$python" bench/pytorch_bench.py \
      --models "$models" --batches "$batches" --time-budget "$pytorch_budget" "${pytorch_flags[@]}" \
      --json "$out/pytorch.json" > "$out/pytorch.log" 2>&1 || rc=$?
    tail -n 60 "$out/pytorch.log"
    (( rc == 0 )) || echo "run-on-device: the PyTorch bench failed (rc $rc); see pytorch.log" | tee -a "$out/pytorch.log"
  fi
fi

# --- Side by side ----------------------------------------------------------------------------------------
"$python" bench/gpu/summarize.py "$out/engine.json" "$out/pytorch.json" > "$out/summary.md"
cat "$out/summary.md"
echo "run-on-device: done in $(( SECONDS - start ))s; files in $out"
