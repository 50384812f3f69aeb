"""Is training ever input-bound? Images/s of the input pipeline vs one training step.

The pipeline is timed alone (cache already filled by a warm-up pass, then shuffle +
augmentation + batching + normalisation, as training runs it from epoch 2 on); the
training step is timed on one in-memory batch, so neither measurement includes the
other. Both figures are batch size / median time per batch, which a busy shared
machine disturbs less than the mean. Target: pipeline >= 5x the step at 112x112.

    dsan bench-pipeline --image-size 112 --batch-size 64 --steps 50
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dsan_tf.cli.validators import MAX_BATCH, existing_dir, float_in, model_image_size, positive_int, probability
from dsan_tf.precision import CHOICES
from dsan_tf.cli import CommandParser


def _median_rate(batch_size, times):
    return batch_size / statistics.median(times)


def _pipeline_throughput(table, num_classes, image_size, batch_size, steps, augment, seed=0):
    """Images/s of make_dataset(training=True) after one warm-up epoch filled the cache:
    batch size over the median time to get the next full batch."""
    from dsan_tf.data.pipeline import make_dataset

    ds = make_dataset(table, num_classes, image_size, batch_size, training=True,
                      augment=augment, seed=seed, cache=True, drop_remainder=True)
    for _ in ds:  # warm-up: decode + resize every image once, filling the cache
        pass
    batches = iter(ds.repeat())
    next(batches)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        next(batches)
        times.append(time.perf_counter() - start)
    return _median_rate(batch_size, times)


def _train_step_throughput(image_size, batch_size, steps, precision="mixed_bfloat16",
                           num_classes=8, variant="dsan"):
    """Images/s of DSAN's train step (the function fit runs) on one in-memory batch:
    batch size over the median step time, after two warm-up steps."""
    import numpy as np
    import tensorflow as tf

    from dsan_tf.model import build_dsan

    model = build_dsan(num_classes=num_classes, image_size=image_size, variant=variant,
                       dtype=precision)
    model.compile()
    rng = np.random.default_rng(0)
    images = tf.constant(rng.standard_normal((batch_size, image_size, image_size, 3),
                                             dtype=np.float32))
    targets = tf.one_hot(rng.integers(0, num_classes, batch_size), num_classes)
    model.make_train_function()
    step = model.train_function
    times = []
    for i in range(steps + 2):  # two warm-up steps (the first one traces)
        start = time.perf_counter()
        float(step([(images, targets)])["loss"])  # wait for the step to finish
        if i >= 2:
            times.append(time.perf_counter() - start)
    return _median_rate(batch_size, times)


def build_parser(prog="dsan bench-pipeline"):
    parser = CommandParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=model_image_size, default=112,
                        help="square input side in pixels (default 112)")
    parser.add_argument("--batch-size", type=positive_int(MAX_BATCH), default=64,
                        help="images per batch, for the pipeline and the training step (default 64)")
    parser.add_argument("--steps", type=positive_int(100_000), default=50, help="pipeline batches timed (default 50)")
    parser.add_argument("--train-steps", type=positive_int(100_000), default=5, help="training steps timed (default 5)")
    parser.add_argument("--data-dir", type=existing_dir, default=None,
                        help="FERPlus folder (default: the embedded sample)")
    parser.add_argument("--precision", choices=CHOICES, default="auto",
                        help="dtype policy of the training step (default auto: as dsan train, mixed_bfloat16 only "
                             "on a CPU with native bfloat16, where it is fastest; float32 otherwise)")
    parser.add_argument("--rotation", type=float_in(0, 180), default=0.0,
                        help="random rotation range in degrees (default 0)")
    parser.add_argument("--erasing", type=probability, default=0.0, help="random erasing probability (default 0)")
    parser.add_argument("--skip-step", action="store_true", help="time the pipeline only")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object instead of lines")
    return parser


def measure(args) -> dict:
    """The throughputs, as a dict (what --json prints)."""
    from dsan_tf.data import SAMPLE_FERPLUS_DIR, load_dataset
    from dsan_tf.data.pipeline import AugmentConfig

    data = load_dataset("ferplus", args.data_dir)
    table = data.split("train")
    augment = AugmentConfig(rotation_degrees=args.rotation, random_erasing=args.erasing)
    result = {
        "data": str(args.data_dir or SAMPLE_FERPLUS_DIR), "images": len(table),
        "image_size": args.image_size, "batch_size": args.batch_size,
        "augment": {k: v for k, v in vars(augment).items()},
        "pipeline_images_per_s": round(_pipeline_throughput(
            table, data.num_classes, args.image_size, args.batch_size, args.steps, augment), 1),
    }
    if not args.skip_step:
        from dsan_tf.precision import resolve_precision

        args.precision, _ = resolve_precision(args.precision)  # auto: what dsan train would use here
        step = _train_step_throughput(args.image_size, args.batch_size, args.train_steps,
                                      args.precision, data.num_classes)
        result.update(precision=args.precision, train_step_images_per_s=round(step, 1),
                      ratio=round(result["pipeline_images_per_s"] / step, 2))
    return result


def run(args) -> int:
    result = measure(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"data: {result['data']} ({result['images']} train images), "
              f"{args.image_size}x{args.image_size}, batch {args.batch_size}")
        print(f"pipeline (cached decode + augment + batch): "
              f"{result['pipeline_images_per_s']:>9.1f} images/s")
        if not args.skip_step:
            print(f"training step (DSAN, {args.precision}):"
                  f"{result['train_step_images_per_s']:>14.1f} images/s")
            print(f"ratio pipeline / step: {result['ratio']:.1f}x (target >= 5x)")
    return 0


def parse_args(argv=None):
    """The parsed arguments of ``dsan bench-pipeline argv`` (argparse's SystemExit for bad ones)."""
    from dsan_tf.cli import parse_command_args

    return parse_command_args("bench-pipeline", argv)[1]


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("bench-pipeline", argv)


if __name__ == "__main__":
    sys.exit(main())
