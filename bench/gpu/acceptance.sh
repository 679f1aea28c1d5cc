#!/usr/bin/env bash
# The first GPU run in one device call: every measurement of issue 13, stage by stage with a deadline each,
# fail-soft, into eight files under $OUT (summary.md, env.txt, engine.json, pytorch.json, swap.json, profile.csv,
# pairs.csv, log.txt). The stages and their deadlines are the Cli's `acceptance` command (Cli/Acceptance).
#
#   bash bench/gpu/acceptance.sh --pack      here: publish the Cli into .device/ and print what would travel (<= 45 MiB)
#   bash bench/gpu/acceptance.sh             on the GPU machine (device tool: carry [".device"], timeout_s 540)
#   bash bench/gpu/acceptance.sh --dry-run   here: the same stages on ilgpu-cpu with the tiny models (no GPU)
#
# Further arguments go to `acceptance`, e.g. --stages share,pairs to rerun two stages. OUT defaults to
# bench/results/gpu/dry-run for a dry run and to /tmp/acceptance-out otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
limit_mib=45
mode=device
args=()
for a in "$@"; do
  case "$a" in
    --pack) mode=pack ;;
    --dry-run) mode=dry ;;
    *) args+=("$a") ;;
  esac
done

case "$mode" in
  pack)
    ../shared/device/pack.sh Cli/Cli.csproj --xz || exit 1
    # Everything the device tool copies: .device plus the tracked and untracked-but-not-ignored files.
    bytes=$( { find .device -type f -print0; git ls-files -z; git ls-files -z --others --exclude-standard; } \
      | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
    mib=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')
    echo "would travel: ${mib} MiB (.device $(du -sh .device | cut -f1), limit for this script ${limit_mib} MiB, device limit 64 MiB)"
    awk -v b="$bytes" -v l="$limit_mib" 'BEGIN {exit !(b <= l * 1048576)}' || { echo "over ${limit_mib} MiB" >&2; exit 1; }
    ;;
  dry)
    out=${OUT:-bench/results/gpu/dry-run}
    dotnet build Cli/Cli.csproj -c Release -v quiet -nologo >/dev/null || { echo "build failed" >&2; exit 1; }
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    start=$(date +%s)
    dotnet Cli/bin/Release/net10.0/OrleansServe.Cli.dll acceptance --dry-run --out "$out" --work "$work" --repo . "${args[@]}"
    status=$?
    echo "dry run: $(( $(date +%s) - start )) s; $(ls "$out" | wc -l) files in $out: $(ls "$out" | tr '\n' ' ')"
    exit $status
    ;;
  device)
    out=${OUT:-/tmp/acceptance-out}
    [[ -f .device/dotnet.tar.xz && -f .device/app.tar.xz ]] || { echo "no .device/: run bash bench/gpu/acceptance.sh --pack here first" >&2; exit 1; }
    start=$(date +%s)
    mkdir -p /tmp/dn /tmp/app "$out"
    tar -C /tmp/dn -xJf .device/dotnet.tar.xz && tar -C /tmp/app -xJf .device/app.tar.xz || { echo "unpacking .device failed" >&2; exit 1; }
    export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
    echo "unpacked in $(( $(date +%s) - start )) s"
    dotnet /tmp/app/OrleansServe.Cli.dll acceptance --out "$out" --work /tmp/acceptance-work --python "${PYTHON:-python3}" --repo . "${args[@]}"
    status=$?
    echo "acceptance: $(( $(date +%s) - start )) s in all; files in $out: $(ls "$out" | tr '\n' ' ')"
    exit $status
    ;;
esac
