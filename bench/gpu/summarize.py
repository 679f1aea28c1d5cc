#!/usr/bin/env python3
"""Puts the engine's and PyTorch's latencies side by side as a Markdown table.

Usage: python3 bench/gpu/summarize.py ENGINE_JSON PYTORCH_JSON > summary.md

PyTorch's file is the one bench/pytorch_bench.py writes. The engine's file is read leniently, because it is the
`bench` command's: a list of records, or an object holding one under "results", each record naming its model
("model" or "name"), batch ("batch" or "batch_size") and median latency ("median_ms", "p50_ms", "latency_ms",
"mean_ms" or "ms", snake_case or camelCase). A missing or unreadable file becomes a note, never a crash.
"""

from __future__ import annotations

import json
import re
import sys

LATENCY_KEYS = ["median_ms", "p50_ms", "latency_ms", "mean_ms", "ms"]
HEADER_KEYS = ["device", "driver", "cuda_driver_api", "date", "torch", "cuda_runtime", "cudnn", "cudnn_benchmark", "gemm"]


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f), None
    except FileNotFoundError:
        return None, f"{path} is missing"
    except (OSError, json.JSONDecodeError) as error:
        return None, f"{path} is unreadable: {error}"


def snake(key):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def normalized(record):
    return {snake(k): v for k, v in record.items()} if isinstance(record, dict) else {}


def records(document):
    if isinstance(document, list):
        return [normalized(r) for r in document]
    if isinstance(document, dict):
        for key in ("results", "Results", "records", "runs"):
            if isinstance(document.get(key), list):
                return [normalized(r) for r in document[key]]
    return []


def latency(record):
    if record.get("error"):
        return None
    for key in LATENCY_KEYS:
        value = record.get(key)
        if isinstance(value, (int, float)):
            return float(value)
    return None


def index(rows, mode=None):
    table = {}
    for r in rows:
        model = r.get("model") or r.get("name")
        batch = r.get("batch", r.get("batch_size"))
        if model is None or batch is None or (mode is not None and r.get("mode", "eager") != mode):
            continue
        table[(str(model), int(batch))] = r
    return table


def cell(record):
    if record is None:
        return "—"
    value = latency(record)
    if value is not None:
        return f"{value:.3f}"
    error = record.get("error")
    return f"error: {str(error)[:60]}" if error else record.get("status") or "no figure"


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    engine_doc, engine_note = load(argv[0])
    torch_doc, torch_note = load(argv[1])

    lines = ["# Engine vs PyTorch (fp32, latency per batch, median ms)", ""]
    for name, document, note in (("engine", engine_doc, engine_note), ("pytorch", torch_doc, torch_note)):
        if note:
            lines.append(f"- {name}: {note}")
        elif isinstance(document, dict):
            flat = {snake(k): v for k, v in document.items()}
            facts = [f"{k} {flat[k]}" for k in HEADER_KEYS if flat.get(k) is not None]
            if isinstance(flat.get("tf32"), dict):
                facts.append("tf32 " + ", ".join(f"{k}={v}" for k, v in flat["tf32"].items()))
            lines.append(f"- {name}: " + ("; ".join(facts) if facts else "(no header fields)"))
    lines.append("")

    engine = index(records(engine_doc))
    eager = index(records(torch_doc), mode="eager")
    graphs = index(records(torch_doc), mode="cuda_graph")
    keys = sorted(set(engine) | set(eager), key=lambda k: (k[0], k[1]))
    lines.append("| model | batch | engine ms | pytorch ms | engine / pytorch | pytorch graph ms |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for model, batch in keys:
        e, p = engine.get((model, batch)), eager.get((model, batch))
        e_ms, p_ms = (latency(e) if e else None), (latency(p) if p else None)
        ratio = f"{e_ms / p_ms:.2f}" if e_ms is not None and p_ms else "—"
        lines.append(f"| {model} | {batch} | {cell(e)} | {cell(p)} | {ratio} | {cell(graphs.get((model, batch)))} |")
    if not keys:
        lines.append("| (no results) | | | | | |")

    failures = [r for r in records(torch_doc) if r.get("status") == "error"]
    if failures:
        lines += ["", "PyTorch errors:"]
        lines += [f"- {r.get('model')} batch {r.get('batch')} {r.get('mode')}: {r.get('error')}" for r in failures]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
