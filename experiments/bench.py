"""Training and inference throughput of DSAN against its baseline, measured in one process.

    python experiments/bench.py [--image-size 112] [--batch-size 64] [--steps N] [--warmup N] [--rounds R] [--json]

For each precision (float32, then mixed_bfloat16, set through the model's ``dtype=``),
``dsan`` and ``baseline`` are built and compiled the same way (Adam for the network with
weight decay 1e-4 added to the gradients, SGD for DSAN's class centres), warmed up, then
timed in alternating rounds (dsan, baseline, dsan, baseline, ...) so that drift of a
shared machine hits both.

- Training: the model's ``make_train_function()`` called on one fixed in-memory batch
  (no input pipeline), one step per call, each step timed on its own.
- Inference: ``model.predict_on_batch`` on the same batch, for both models.

Images/s come from the median step time over all rounds; "best" uses the fastest step
(the least disturbed by other processes). Each step's process CPU time is recorded too:
on a machine shared with other jobs it varies less than wall time, and its dsan/baseline
ratio is printed beside the wall-time one. ``train_ratio_dsan_over_baseline`` is the
dsan/baseline training throughput in mixed_bfloat16 (per precision under their own keys).

Without ``--steps`` the number of timed steps per round is chosen per precision and
kind from one probe step after the warm-up, so that a round lasts about
``--round-seconds`` (1 to 10 steps): a step can take from under a second to minutes
(bf16 convolution gradients on a CPU without native bf16 are very slow).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dsan_tf  # noqa: E402,F401  (before TensorFlow loads: turns on its oneDNN kernels)

PRECISIONS = ("float32", "mixed_bfloat16")
MODELS = ("dsan", "baseline")
HEADLINE_PRECISION = "mixed_bfloat16"
MAX_AUTO_STEPS = 10


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "Training and inference throughput (images/s) of dsan and baseline, alternating "
            "rounds in one process, in float32 and mixed_bfloat16; prints dsan/baseline ratios."
        )
    )
    parser.add_argument("--image-size", type=int, default=112, help="square input side (default 112)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step (default 64)")
    parser.add_argument("--num-classes", type=int, default=7, help="K (default 7)")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="timed steps per model per round (default: chosen so that a round lasts about --round-seconds)",
    )
    parser.add_argument(
        "--round-seconds",
        type=float,
        default=30.0,
        help="target length of one model's round when --steps is not given (default 30)",
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed steps per model before the rounds; the first traces (default 1)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument(
        "--precisions",
        default=",".join(PRECISIONS),
        help=f"comma-separated dtype policies (default {','.join(PRECISIONS)})",
    )
    parser.add_argument("--no-inference", action="store_true", help="skip the inference measurement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    for name in ("image_size", "batch_size", "rounds", "num_classes"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be >= 1")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    if args.round_seconds <= 0:
        parser.error("--round-seconds must be > 0")
    args.precisions = tuple(p.strip() for p in args.precisions.split(",") if p.strip())
    unknown = [p for p in args.precisions if p not in PRECISIONS]
    if unknown or not args.precisions:
        parser.error(f"--precisions: choose from {', '.join(PRECISIONS)}")
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


def build(variant, precision, args):
    import keras

    from dsan_tf.model import build_dsan

    model = build_dsan(args.num_classes, args.image_size, variant, dtype=precision)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        centre_optimizer=keras.optimizers.SGD(0.9, momentum=0.9),
    )
    return model


class Runner:
    """One model's train and predict calls on a fixed batch."""

    def __init__(self, model, x, y):
        self.model, self.x, self.y = model, x, y
        model.make_train_function()
        self.train_function = model.train_function

    def train(self):
        logs = self.train_function([(self.x, self.y)])
        float(logs["loss"])  # wait for the step

    def infer(self):
        self.model.predict_on_batch(self.x)


def timed(fn, steps):
    """[(wall seconds, process CPU seconds)] of ``steps`` calls of ``fn``."""
    times = []
    for _ in range(steps):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def bench_precision(precision, args):
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = tf.constant(rng.standard_normal((args.batch_size, args.image_size, args.image_size, 3), dtype=np.float32))
    y = tf.constant(rng.integers(0, args.num_classes, size=(args.batch_size,)), dtype=tf.int32)
    kinds = ("train",) if args.no_inference else ("train", "infer")

    runners, probe = {}, {kind: [] for kind in kinds}
    for variant in MODELS:
        log(f"[{precision}] building and warming up {variant}")
        runners[variant] = Runner(build(variant, precision, args), x, y)
        for kind in kinds:
            fn = getattr(runners[variant], kind)
            for _ in range(args.warmup if kind == "train" else max(args.warmup, 1)):
                fn()
            if args.steps is None:  # one more untimed step, after tracing, to size the rounds
                probe[kind].append(timed(fn, 1)[0][0])

    steps = {}
    for kind in kinds:
        if args.steps is not None:
            steps[kind] = args.steps
        else:
            steps[kind] = int(min(MAX_AUTO_STEPS, max(1, round(args.round_seconds / max(probe[kind])))))
        log(f"[{precision}] {kind}: {steps[kind]} timed steps per model per round")

    times = {kind: {v: [] for v in MODELS} for kind in kinds}
    for kind in kinds:
        for r in range(args.rounds):
            for variant in MODELS:  # dsan, baseline, dsan, baseline, ...
                step_times = timed(getattr(runners[variant], kind), steps[kind])
                times[kind][variant].append(step_times)
                log(
                    f"[{precision}] {kind} round {r + 1}/{args.rounds} {variant}: "
                    f"{args.batch_size / statistics.median(w for w, _ in step_times):.1f} img/s "
                    f"(median step {statistics.median(w for w, _ in step_times):.2f} s, "
                    f"CPU {statistics.median(c for _, c in step_times):.2f} s)"
                )

    result = {"steps": steps}
    for variant in MODELS:
        entry = {}
        for kind in kinds:
            rounds = [[wall for wall, _ in rnd] for rnd in times[kind][variant]]
            wall = [t for rnd in rounds for t in rnd]
            cpu = [c for rnd in times[kind][variant] for _, c in rnd]
            entry[f"{kind}_images_per_s"] = args.batch_size / statistics.median(wall)
            entry[f"{kind}_images_per_s_best"] = args.batch_size / min(wall)
            entry[f"{kind}_images_per_s_rounds"] = [args.batch_size / statistics.median(rnd) for rnd in rounds]
            entry[f"{kind}_step_seconds"] = wall
            entry[f"{kind}_step_cpu_seconds"] = cpu
            entry[f"{kind}_step_cpu_seconds_median"] = statistics.median(cpu)
        result[variant] = entry
    d, b = result["dsan"], result["baseline"]
    for kind in kinds:
        result[f"{kind}_ratio_dsan_over_baseline"] = d[f"{kind}_images_per_s"] / b[f"{kind}_images_per_s"]
        result[f"{kind}_ratio_best_dsan_over_baseline"] = (
            d[f"{kind}_images_per_s_best"] / b[f"{kind}_images_per_s_best"]
        )
        # Process CPU time per step: less sensitive than wall time to other jobs on a shared machine.
        result[f"{kind}_ratio_cpu_dsan_over_baseline"] = (
            b[f"{kind}_step_cpu_seconds_median"] / d[f"{kind}_step_cpu_seconds_median"]
        )
        result[f"{kind}_ratio_rounds"] = [
            dr / br for dr, br in zip(d[f"{kind}_images_per_s_rounds"], b[f"{kind}_images_per_s_rounds"])
        ]

    del runners
    gc.collect()
    return result


RATIO_KEYS = (
    "train_ratio_dsan_over_baseline",
    "infer_ratio_dsan_over_baseline",
    "train_ratio_cpu_dsan_over_baseline",
    "infer_ratio_cpu_dsan_over_baseline",
)


def summarise(results, args):
    out = {
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "precisions": results,
    }
    headline = HEADLINE_PRECISION if HEADLINE_PRECISION in results else args.precisions[0]
    out["headline_precision"] = headline
    out["train_ratio_dsan_over_baseline"] = results[headline]["train_ratio_dsan_over_baseline"]
    for precision, result in results.items():
        for key in RATIO_KEYS:
            if key in result:
                out[f"{key}_{precision}"] = result[key]
    return out


def _ratio_text(result, kind):
    rounds = " ".join(f"{r:.3f}" for r in result[f"{kind}_ratio_rounds"])
    return (
        f"{result[f'{kind}_ratio_dsan_over_baseline']:.3f} "
        f"(best {result[f'{kind}_ratio_best_dsan_over_baseline']:.3f}; rounds {rounds}; "
        f"CPU {result[f'{kind}_ratio_cpu_dsan_over_baseline']:.3f})"
    )


def print_table(summary, args):
    infer = not args.no_inference
    before, after = summary["load_average_1min"]
    print(
        f"Throughput, {args.image_size}x{args.image_size}, batch {args.batch_size}, {args.rounds} alternating rounds "
        f"(dsan, baseline, ...) after {args.warmup} warm-up step(s); images/s from the median step "
        "(fastest step in brackets)"
    )
    print(f"Machine: {summary['cpu_count']} CPUs, 1-min load average {before:.1f} at start, {after:.1f} at end")
    header = f"  {'precision':<16s}{'model':<10s}{'steps/round':>12s}{'train img/s':>20s}{'CPU s/step':>12s}"
    if infer:
        header += f"{'steps/round':>13s}{'infer img/s':>20s}{'CPU s/step':>12s}"
    print(header)
    for precision, result in summary["precisions"].items():
        for variant in MODELS:
            e = result[variant]
            line = (
                f"  {precision:<16s}{variant:<10s}{result['steps']['train']:>12d}"
                f"{e['train_images_per_s']:>11.2f} ({e['train_images_per_s_best']:6.2f})"
                f"{e['train_step_cpu_seconds_median']:>12.2f}"
            )
            if infer:
                line += (
                    f"{result['steps']['infer']:>13d}"
                    f"{e['infer_images_per_s']:>11.2f} ({e['infer_images_per_s_best']:6.2f})"
                    f"{e['infer_step_cpu_seconds_median']:>12.2f}"
                )
            print(line)
    print("dsan/baseline throughput ratio: median steps (fastest steps; each round; process CPU time per step)")
    for precision, result in summary["precisions"].items():
        print(f"  {precision:<16s}train     {_ratio_text(result, 'train')}")
        if infer:
            print(f"  {'':<16s}inference {_ratio_text(result, 'infer')}")
    print(
        f"train_ratio_dsan_over_baseline ({summary['headline_precision']}): "
        f"{summary['train_ratio_dsan_over_baseline']:.3f} (target >= 0.97)"
    )


def main(argv=None):
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    try:
        results = {precision: bench_precision(precision, args) for precision in args.precisions}
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    summary = summarise(results, args)
    summary["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    summary["cpu_count"] = os.cpu_count()
    if args.json:
        print(json.dumps(summary))
    else:
        print_table(summary, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
