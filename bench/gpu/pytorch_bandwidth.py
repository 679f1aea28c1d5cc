#!/usr/bin/env python3
"""PyTorch's host-to-device copy bandwidth by transfer size: the peer of ``Cli swap-bench --measure bandwidth``.

For each size it copies a uint8 tensor to the GPU ``repeats`` times from pageable memory (``tensor.to('cuda')``)
and from pinned memory (``tensor.pin_memory().to('cuda', non_blocking=True)``), each copy closed by
``torch.cuda.synchronize()`` and timed on the host clock, as the engine's side is. Writes the same JSON shape
as the engine (memory, bytes, repeats, best and median GB/s, GB = 1e9 bytes) with the device and versions.

Example:
    python3 bench/gpu/pytorch_bandwidth.py --json /tmp/pytorch-bandwidth.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import time

DEFAULT_SIZES = [64 << 10, 256 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20, 64 << 20, 256 << 20]


def measure(torch, size: int, repeats: int, pinned: bool) -> dict:
    host = torch.randint(0, 255, (size,), dtype=torch.uint8)
    if pinned:
        host = host.pin_memory()
    host.to("cuda", non_blocking=pinned)
    torch.cuda.synchronize()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        host.to("cuda", non_blocking=pinned)
        torch.cuda.synchronize()
        rates.append(size / (time.perf_counter() - start) / 1e9)
    rates.sort()
    return {
        "memory": "pinned" if pinned else "pageable",
        "bytes": size,
        "repeats": repeats,
        "best_gb_per_second": rates[-1],
        "median_gb_per_second": rates[len(rates) // 2],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated sizes in bytes")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    try:
        import torch
    except ImportError as error:
        print(f"pytorch_bandwidth: PyTorch is not installed: {error}", file=sys.stderr)
        return 1
    if not torch.cuda.is_available():
        print("pytorch_bandwidth: no CUDA device", file=sys.stderr)
        return 1
    sizes = [int(s) for s in args.sizes.split(",") if s]
    points = []
    for size in sizes:
        for pinned in (False, True):
            point = measure(torch, size, args.repeats, pinned)
            points.append(point)
            print(f"{point['memory']:8} {size:>12,} B: best {point['best_gb_per_second']:7.2f} GB/s, "
                  f"median {point['median_gb_per_second']:7.2f} GB/s", flush=True)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "machine": platform.node(),
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "bandwidth": points,
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(report, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
