#!/usr/bin/env python3
"""Markdown summary of ``swap-bench`` (and PyTorch's bandwidth peer) with issue 5's goals marked met or not.

Usage: python3 bench/gpu/summarize_swap.py swap.json [pytorch-bandwidth.json] > swap-summary.md
Missing or partial files are reported as such, never as a crash.
"""

from __future__ import annotations

import json
import sys


def load(path: str | None) -> dict:
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError) as error:
        print(f"_{path}: not read ({error})_\n")
        return {}


def mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def main() -> int:
    engine = load(sys.argv[1] if len(sys.argv) > 1 else None)
    torch = load(sys.argv[2] if len(sys.argv) > 2 else None)
    print(f"# Swapping and gpulets: {engine.get('device', 'no engine results')} ({engine.get('date', '?')})\n")

    ours = {(p["memory"], p["bytes"]): p for p in engine.get("bandwidth", [])}
    theirs = {(p["memory"], p["bytes"]): p for p in torch.get("bandwidth", [])}
    if ours or theirs:
        print(f"## 1. Host-to-device bandwidth (GB/s, median; PyTorch {torch.get('torch', '?')})\n")
        print("| bytes | engine pageable | engine pinned | PyTorch pageable | PyTorch pinned |")
        print("|---:|---:|---:|---:|---:|")
        for size in sorted({b for _, b in ours} | {b for _, b in theirs}):
            cells = [ours.get((m, size)) for m in ("pageable", "pinned")] + [theirs.get((m, size)) for m in ("pageable", "pinned")]
            print(f"| {size:,} | " + " | ".join(f"{c['median_gb_per_second']:.2f}" if c else "-" for c in cells) + " |")
        best_ours = max((p["best_gb_per_second"] for (m, _), p in ours.items() if m == "pinned"), default=None)
        best_theirs = max((p["best_gb_per_second"] for (m, _), p in theirs.items() if m == "pinned"), default=None)
        ratio = best_ours / best_theirs if best_ours and best_theirs else None
        print(f"\nBest pinned: engine {best_ours}, PyTorch {best_theirs}; ratio {ratio if ratio is None else round(ratio, 3)}."
              f" Goal ≥ 0.90: {mark(None if ratio is None else ratio >= 0.9)}. Knee (90% of best): {engine.get('pinned_knee_bytes')} bytes.\n")

    swap_in = engine.get("swap_in", [])
    if swap_in:
        print("## 2. Swap-in time vs bytes ÷ bandwidth (goal ≤ 1.1×)\n")
        print("| model | MB | groups | swap-in ms | bytes/bw ms | ratio | goal |")
        print("|---|---:|---:|---:|---:|---:|---|")
        for p in swap_in:
            print(f"| {p['model']} | {p['weight_bytes'] / 1e6:.1f} | {p['groups']} | {p['median_ms']:.3f} | {p['expected_ms']:.3f} | {p['ratio']:.2f} | {mark(p['ratio'] <= 1.1)} |")
        print()

    cold = engine.get("cold_start", [])
    if cold:
        print("## 3. Cold start at batch 1 (compute-bound: cold/warm ≤ 1.15; transfer-bound: cold ≤ 1.1 × transfer)\n")
        print("| model | warm ms | pipelined ms | transfer-then-run ms | transfer ms | cold/warm | cold/transfer | regime | goal |")
        print("|---|---:|---:|---:|---:|---:|---:|---|---|")
        for p in cold:
            print(f"| {p['model']} | {p['warm_ms']:.3f} | {p['pipelined_cold_ms']:.3f} | {p['transfer_then_run_cold_ms']:.3f} | {p['transfer_ms']:.3f} | "
                  f"{p['cold_over_warm']:.2f} | {p['cold_over_transfer']:.2f} | {p['regime']} | {mark(p['goal_met'])} |")
        print()

    share = engine.get("share", [])
    if share:
        print(f"## 4a. Latency by SM share and batch: {len(share)} points (profile.csv)\n")
    pairs = engine.get("pairs", [])
    if pairs:
        slowdowns = sorted(p["slowdown"] for p in pairs)
        print(f"## 4b. Co-location: {len(pairs)} ordered pairs (pairs.csv); slowdown median {slowdowns[len(slowdowns) // 2]:.3f}, max {slowdowns[-1]:.3f}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
