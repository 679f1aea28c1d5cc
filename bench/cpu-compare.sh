#!/usr/bin/env bash
# Spatio-temporal (gpulet planner) against temporal-only (temporal planner) with real execution on the CPU device:
# profile the models on the device, plan, apply each plan to the device's gpulets, drive it with seeded open-loop
# Poisson load and search each policy's highest total rate with 99% of requests within SLO. Extra arguments go to
# `Cli cpu-compare` (e.g. --trials 5 --duration 10 --slo profile).
set -euo pipefail
cd "$(dirname "$0")/.."
results=bench/results
mkdir -p "$results"
dotnet build Cli -c Release -v quiet -nologo > /dev/null
note="$(nproc) cores, load average before the run: $(cut -d' ' -f1-3 /proc/loadavg); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
dotnet Cli/bin/Release/net10.0/OrleansServe.Cli.dll cpu-compare \
  --models resnet_small,lenet5,mlp --partitions 50,100 --batches 1,2,3,4,5,6,7,8 \
  --duration 5 --step 50 --tolerance 25 --trials 3 \
  --profile-csv "$results/cpu-profile.csv" --json "$results/cpu-compare.json" --note "$note" "$@" \
  | tee "$results/cpu-compare.txt"
