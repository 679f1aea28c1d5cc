#!/usr/bin/env python3
"""PyTorch eager fp32 latency for the models the engine is compared on: the side-by-side peer.

Every model has random weights (torchvision ``weights=None``, ``BertModel(BertConfig())``), so nothing is
downloaded. For each model and batch size it warms up, then times single forward passes, each closed by
``torch.cuda.synchronize()``, and records the median and p90 in milliseconds. ``--cuda-graphs`` adds a
batch-1 run replayed from a captured CUDA graph, recorded separately (mode "cuda_graph").

TF32 is off by default (``torch.backends.cuda.matmul.allow_tf32`` and ``torch.backends.cudnn.allow_tf32`` set
to False) because the engine is checked against fp32 at 1e-4; ``--tf32`` turns both on. The settings in force
are written into the JSON with the device, driver, library versions and date.

ssd_mobilenet_v1 is not a torchvision model: it is a MobileNetV1-SSD300 written below (backbone, four extra
stages, 3x3 box and class heads, 91 classes, 1917 anchors) and stops at the raw head outputs, without anchor
decoding or NMS. lenet5 mirrors the engine's sample-zoo LeNet-5 (1x28x28 input).

Example (one minute smoke run):
    python3 bench/pytorch_bench.py --models resnet50,lenet5 --batches 1 --time-budget 60 --json /tmp/pt.json
"""

from __future__ import annotations

import argparse
import ctypes
import datetime
import gc
import json
import math
import platform
import statistics
import subprocess
import sys
import time
import traceback

MODELS = [
    "resnet50",
    "resnet152",
    "vgg16",
    "googlenet",
    "mobilenet_v2",
    "mnasnet1_0",
    "densenet161",
    "inception_v3",
    "bert_base",
    "lenet5",
    "ssd_mobilenet_v1",
]

BERT_SEQUENCE = 128


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated model names (default: all)")
    parser.add_argument("--batches", default="1,8,32", help="comma-separated batch sizes (default: 1,8,32)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed passes before timing (default: 10)")
    parser.add_argument("--iters", type=int, default=50, help="timed passes per model and batch (default: 50)")
    parser.add_argument("--min-iters", type=int, default=5,
                        help="timed passes kept even when a configuration runs past its share of the budget (default: 5)")
    parser.add_argument("--time-budget", type=float, default=0.0,
                        help="seconds for the whole run; configurations not started in time are recorded as skipped (0: no limit)")
    parser.add_argument("--tf32", action="store_true", help="allow TF32 in matmul and cuDNN (default: off)")
    parser.add_argument("--cudnn-benchmark", action=argparse.BooleanOptionalAction, default=True,
                        help="let cuDNN pick the fastest algorithm per shape during warm-up (default: on)")
    parser.add_argument("--cuda-graphs", action="store_true", help="also time batch 1 replayed from a CUDA graph")
    parser.add_argument("--device", default="cuda", help="torch device (default: cuda; cpu only for trying the script)")
    parser.add_argument("--json", default="pytorch.json", help="where to write the results (default: pytorch.json)")
    parser.add_argument("--list", action="store_true", help="print the model names and exit")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.batches = [int(b) for b in args.batches.split(",") if b.strip()]
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    if not args.batches or min(args.batches) < 1:
        parser.error("batch sizes must be positive integers")
    return args


# ---------------------------------------------------------------------------------------------------------
# Models written here (torch is imported lazily so --list and --help work without it).


def lenet5(nn):
    """The engine's sample-zoo LeNet-5: 1x28x28, conv 5x5 pad 2, ReLU, max-pool, three dense layers, softmax."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10), nn.Softmax(dim=1),
    )


def ssd_mobilenet_v1(torch, nn):
    """MobileNetV1-SSD300: feature maps 19, 10, 5, 3, 2, 1 with 3, 6, 6, 6, 6, 6 anchors (1917), 91 classes."""

    def conv_bn(cin, cout, stride):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))

    def depthwise_separable(cin, cout, stride):
        return nn.Sequential(
            nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6(inplace=True),
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True),
        )

    def extra(cin, mid, cout):
        return nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6(inplace=True),
            nn.Conv2d(mid, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True),
        )

    class MobileNetV1Ssd(nn.Module):
        def __init__(self, classes=91):
            super().__init__()
            widths = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
            layers = [conv_bn(3, 32, 2)]
            cin = 32
            for cout, stride in widths:
                layers.append(depthwise_separable(cin, cout, stride))
                cin = cout
            # The first head reads the last 512-wide block (19x19 at 300x300), the second the network's end (10x10).
            self.to_19 = nn.Sequential(*layers[:12])
            self.to_10 = nn.Sequential(*layers[12:])
            self.extras = nn.ModuleList([extra(1024, 256, 512), extra(512, 128, 256), extra(256, 128, 256), extra(256, 64, 128)])
            channels = [512, 1024, 512, 256, 256, 128]
            anchors = [3, 6, 6, 6, 6, 6]
            self.classes = classes
            self.boxes = nn.ModuleList([nn.Conv2d(c, a * 4, 3, padding=1) for c, a in zip(channels, anchors)])
            self.scores = nn.ModuleList([nn.Conv2d(c, a * classes, 3, padding=1) for c, a in zip(channels, anchors)])

        def forward(self, x):
            features = [self.to_19(x)]
            features.append(self.to_10(features[0]))
            for stage in self.extras:
                features.append(stage(features[-1]))
            batch = x.shape[0]
            boxes = [head(f).permute(0, 2, 3, 1).reshape(batch, -1, 4) for head, f in zip(self.boxes, features)]
            scores = [head(f).permute(0, 2, 3, 1).reshape(batch, -1, self.classes) for head, f in zip(self.scores, features)]
            return torch.cat(boxes, 1), torch.cat(scores, 1)

    return MobileNetV1Ssd()


def build(name, torch):
    """The model and a function making its input for a batch size, with a line saying exactly what it is."""
    nn = torch.nn
    image = lambda size: (lambda batch, device: (torch.randn(batch, 3, size, size, device=device),))  # noqa: E731
    if name == "bert_base":
        from transformers import BertConfig, BertModel

        config = BertConfig()
        model = BertModel(config)

        def bert_input(batch, device):
            ids = torch.randint(0, config.vocab_size, (batch, BERT_SEQUENCE), device=device)
            return (ids, torch.ones_like(ids))

        return model, bert_input, f"transformers.BertModel(BertConfig()), seq {BERT_SEQUENCE}, input_ids + attention_mask"
    if name == "lenet5":
        return lenet5(nn), lambda batch, device: (torch.randn(batch, 1, 28, 28, device=device),), "LeNet-5 (engine sample zoo), 1x28x28"
    if name == "ssd_mobilenet_v1":
        return (ssd_mobilenet_v1(torch, nn), image(300),
                "MobileNetV1-SSD300 built in pytorch_bench.py: raw box/class heads, 1917 anchors, 91 classes, no decoding/NMS")

    import torchvision.models as tvm

    if name == "googlenet":
        return tvm.googlenet(weights=None, aux_logits=False, init_weights=True), image(224), "torchvision googlenet(weights=None, aux_logits=False), 224x224"
    if name == "inception_v3":
        return tvm.inception_v3(weights=None, aux_logits=False, init_weights=True), image(299), "torchvision inception_v3(weights=None, aux_logits=False), 299x299"
    return getattr(tvm, name)(weights=None), image(224), f"torchvision {name}(weights=None), 224x224"


# ---------------------------------------------------------------------------------------------------------
# Measurement.


def summarize(times_ms):
    ordered = sorted(times_ms)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return {
        "median_ms": round(statistics.median(ordered), 4),
        "p90_ms": round(p90, 4),
        "mean_ms": round(statistics.fmean(ordered), 4),
        "min_ms": round(ordered[0], 4),
        "iters": len(ordered),
    }


def time_calls(call, sync, warmup, iters, min_iters, slice_s):
    """Times `call` closed by `sync`; stops early (after min_iters) once the configuration's time slice is spent."""
    started = time.perf_counter()
    for _ in range(warmup):
        call()
    sync()
    times = []
    while len(times) < iters:
        t0 = time.perf_counter()
        call()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
        if len(times) >= min_iters and time.perf_counter() - started > slice_s:
            break
    return times


def graph_replay(torch, model, inputs):
    """Captures one forward pass into a CUDA graph and returns a function replaying it on the same input buffers."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        # Warm-up off the capture stream, as capture requires (cuDNN/cuBLAS pick algorithms and workspaces here).
        for _ in range(3):
            model(*inputs)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        model(*inputs)
    return graph.replay


# ---------------------------------------------------------------------------------------------------------
# Environment.


def driver_versions():
    """(nvidia-smi driver version, CUDA driver API version) as strings; None where unavailable."""
    smi = None
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    api = None
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        version = ctypes.c_int()
        if cuda.cuDriverGetVersion(ctypes.byref(version)) == 0:
            api = f"{version.value // 1000}.{version.value % 1000 // 10}"
    except OSError:
        pass
    return smi, api


def package_version(name):
    try:
        module = __import__(name)
        return getattr(module, "__version__", None)
    except ImportError:
        return None


def environment(torch, args):
    smi, api = driver_versions()
    info = {
        "tool": "bench/pytorch_bench.py",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": package_version("torchvision"),
        "transformers": package_version("transformers"),
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "driver": smi,
        "cuda_driver_api": api,
        "torch_device": args.device,
        "precision": "fp32 eager",
        "tf32": {
            "matmul": torch.backends.cuda.matmul.allow_tf32,
            "cudnn": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
        },
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "settings": {
            "warmup": args.warmup,
            "iters": args.iters,
            "min_iters": args.min_iters,
            "time_budget_s": args.time_budget,
            "cuda_graphs": args.cuda_graphs,
            "timing": "host wall clock per forward pass, closed by torch.cuda.synchronize()",
        },
    }
    if args.device.startswith("cuda"):
        properties = torch.cuda.get_device_properties(torch.device(args.device))
        info.update({
            "device": properties.name,
            "compute_capability": f"{properties.major}.{properties.minor}",
            "sm_count": properties.multi_processor_count,
            "memory_bytes": properties.total_memory,
        })
    else:
        info["device"] = platform.processor() or "cpu"
    return info


# ---------------------------------------------------------------------------------------------------------


def load(name, torch, device):
    """Builds a model in eval mode on the device; kept in a function so no stray local holds the previous one."""
    model, make_input, definition = build(name, torch)
    return model.eval().to(device), make_input, definition


def measure(torch, entry, batch, mode, device, sync, args, slice_s):
    """One model at one batch size, eager or replayed from a CUDA graph."""
    model, make_input, definition = entry
    inputs = make_input(batch, device)
    with torch.inference_mode():
        call = (lambda: model(*inputs)) if mode == "eager" else graph_replay(torch, model, inputs)
        times = time_calls(call, sync, args.warmup, args.iters, args.min_iters, slice_s)
    return {"definition": definition, "input_shapes": [list(t.shape) for t in inputs], "status": "ok", **summarize(times)}


def main(argv):
    args = parse_args(argv)
    if args.list:
        print("\n".join(MODELS))
        return 0

    try:
        import torch
    except ImportError:
        print(f"pytorch_bench: torch is not installed for {sys.executable}", file=sys.stderr)
        return 2

    on_cuda = args.device.startswith("cuda")
    if on_cuda and not torch.cuda.is_available():
        print("pytorch_bench: CUDA is not available to torch on this machine (use --device cpu to try the script)", file=sys.stderr)
        return 2
    if args.cuda_graphs and not on_cuda:
        print("pytorch_bench: --cuda-graphs needs --device cuda", file=sys.stderr)
        return 2

    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.set_float32_matmul_precision("high" if args.tf32 else "highest")
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if on_cuda else (lambda: None)

    report = environment(torch, args)
    report["results"] = results = []
    print(f"pytorch_bench: {report['device']}, driver {report['driver']}, torch {report['torch']}, "
          f"tf32 {args.tf32}, cudnn.benchmark {args.cudnn_benchmark}", flush=True)

    configs = [(m, b, "eager") for m in args.models for b in args.batches]
    if args.cuda_graphs:
        configs += [(m, 1, "cuda_graph") for m in args.models]
        configs.sort(key=lambda c: args.models.index(c[0]))
    started = time.perf_counter()

    def write():
        report["elapsed_s"] = round(time.perf_counter() - started, 1)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)

    built = {}
    for index, (name, batch, mode) in enumerate(configs):
        record = {"model": name, "batch": batch, "mode": mode}
        results.append(record)
        elapsed = time.perf_counter() - started
        remaining = args.time_budget - elapsed if args.time_budget > 0 else float("inf")
        if remaining <= 0:
            record.update(status="skipped", reason=f"time budget of {args.time_budget:.0f} s spent")
            continue
        slice_s = remaining / (len(configs) - index)
        try:
            if name not in built:
                built.clear()  # one model on the device at a time
                gc.collect()
                if on_cuda:
                    torch.cuda.empty_cache()
                built[name] = load(name, torch, device)
            record.update(measure(torch, built[name], batch, mode, device, sync, args, slice_s))
            print(f"  {name:18s} batch {batch:3d} {mode:10s} median {record['median_ms']:9.3f} ms  "
                  f"p90 {record['p90_ms']:9.3f} ms  ({record['iters']} iters)", flush=True)
        except Exception as error:  # one model failing must not lose the others' figures
            record.update(status="error", error=f"{type(error).__name__}: {error}")
            print(f"  {name:18s} batch {batch:3d} {mode:10s} ERROR {record['error']}", flush=True)
            traceback.print_exc()
            built.clear()
            gc.collect()
            if on_cuda:
                torch.cuda.empty_cache()
        write()

    write()
    failed = sum(r["status"] == "error" for r in results)
    skipped = sum(r["status"] == "skipped" for r in results)
    print(f"pytorch_bench: {len(results) - failed - skipped} measured, {failed} failed, {skipped} skipped "
          f"in {report['elapsed_s']} s -> {args.json}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
