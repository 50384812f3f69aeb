"""dsan bench-serving: latency of the exported SavedModel signatures against Keras, in one run.

    dsan bench-serving --weights RUN/model.keras [--batch-sizes 1 32] [--repeats 30]
    dsan bench-serving --image-size 224            # a random-weight DSAN at 224 px

Exports the model to a temporary SavedModel, loads it back with ``tf.saved_model.load``
(as TF Serving would load it, minus the server) and times, at each batch size:

- ``saved_model predict_pixels``  the signature on RGB 0..255 pixels at the model's size
                                  (its in-graph resize + normalisation included);
- ``saved_model serving_default`` the signature on 48x48 PNG bytes (decode + resize included);
- ``keras model.predict``         ``model.predict(x, batch_size=N)`` on normalised input;
- ``keras model(x)``              an eager call ``model(x, training=False)``;
- ``keras tf.function(model)``    the model's forward pass as one compiled graph.

The Keras rows get already-normalised input, so they do less work than the signatures.
Calls are interleaved round-robin (one call of each method per round) so that load from
other processes on a shared machine spreads over all methods alike. Reports the median
and 90th percentile in milliseconds, and exits with status 1 if the SavedModel's
``predict_pixels`` median is slower than ``model.predict``'s at any batch size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from dsan_tf.cli.validators import (MAX_BATCH, MAX_CLASSES, MAX_MODEL_IMAGE_SIZE, comma_list, existing_file,
                                   fits_in_one_tensor, int_in, model_image_size, non_negative_int, output_path,
                                   positive_int)
from dsan_tf.cli import CommandParser


def build_parser(prog="dsan bench-serving"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=existing_file, default=None,
                   help="trained model (.keras) (default: a model with random weights)")
    p.add_argument("--image-size", type=model_image_size, default=224,
                   help="input size of the random model (default 224)")
    p.add_argument("--num-classes", type=int_in(2, MAX_CLASSES), default=8,
                   help="classes of the random model (default 8)")
    p.add_argument("--batch-sizes", type=comma_list(positive_int(MAX_BATCH)), nargs="+", default=[1, 32],
                   help=f"batch sizes to time, each 1 to {MAX_BATCH}, space- or comma-separated (default: 1 32)")
    p.add_argument("--repeats", type=positive_int(100_000), default=30,
                   help="timed calls per method and batch size (default 30)")
    p.add_argument("--warmup", type=non_negative_int(10_000), default=3, help="untimed calls first (default 3)")
    p.add_argument("--json", type=output_path(), default=None,
                   help="also write the results here (default: print them only)")
    p.add_argument("--only-saved-model", action="store_true",
                   help="time only the SavedModel's predict_pixels (a batch-size sweep for batching_parameters)")
    p.add_argument("--overwrite", action="store_true", help="let --json replace an existing file")
    return p


def check_args(parser, args):
    """Impossible settings: one line naming the flag, before TensorFlow loads (the ranges are the validators')."""
    args.batch_sizes = [n for group in args.batch_sizes for n in (group if isinstance(group, tuple) else [group])]
    for n in args.batch_sizes:
        # The model's input size is known only once it loads: the check assumes the largest a model takes.
        size = args.image_size if args.weights is None else MAX_MODEL_IMAGE_SIZE // 2
        if not fits_in_one_tensor(n, size):
            parser.error(f"--batch-sizes {n}: too large for one TensorFlow tensor at {size} px (TensorFlow "
                         "would crash); use a smaller batch")


def run(args) -> int:
    from dsan_tf.outputs import OutputPolicy

    policy = OutputPolicy(command="bench-serving", flag="--json", overwrite=args.overwrite,
                          inputs=[args.weights])
    with policy:
        if args.json is not None:
            policy.claim_file(args.json)  # before the model loads: never the model, nor a user's file
        return _bench(args, policy)


def _bench(args, policy) -> int:
    import keras
    import numpy as np
    import tensorflow as tf

    import dsan_tf.model
    from dsan_tf import export
    from dsan_tf.data.preprocess import preprocess_for_model

    if args.weights is not None:
        from dsan_tf.inference import load_dsan

        # a missing, empty or damaged file: one line naming it (ModelLoadError)
        model = load_dsan(args.weights)
        source = str(args.weights)
    else:
        model = dsan_tf.model.build_dsan(args.num_classes, args.image_size)
        source = f"random weights, {args.num_classes} classes"
    model = dsan_tf.model.as_float32(model)  # Keras side in float32 too: same arithmetic as the signatures
    size = int(model.settings["image_size"])

    with tempfile.TemporaryDirectory(prefix="dsan-bench-") as tmp:
        export.export_saved_model(model, Path(tmp) / "dsan", 1)
        loaded = tf.saved_model.load(str(Path(tmp) / "dsan" / "1"))
    pixels_fn = loaded.signatures["predict_pixels"]
    bytes_fn = loaded.signatures["serving_default"]
    graph_model = tf.function(lambda x: model(x, training=False))

    rng = np.random.default_rng(0)
    results = {"model": source, "variant": model.settings["variant"], "image_size": size,
               "repeats": args.repeats, "tensorflow": tf.__version__, "keras": keras.__version__,
               "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                           "inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
               "batches": {}}
    print(f"DSAN ({model.settings['variant']}, {size} px, {source}); TF {tf.__version__}, Keras {keras.__version__}; "
          f"median / p90 of {args.repeats} calls, ms")
    slower = []
    for n in args.batch_sizes:
        pixels = tf.constant(rng.uniform(0, 255, (n, size, size, 3)).astype("float32"))
        x = preprocess_for_model(pixels, size)
        pngs = tf.constant([tf.io.encode_png(rng.integers(0, 255, (48, 48, 1), dtype=np.uint8)).numpy()
                            for _ in range(n)])
        methods = {
            "saved_model predict_pixels": lambda: pixels_fn(pixels=pixels)["probabilities"].numpy(),
            "saved_model serving_default": lambda: bytes_fn(image_bytes=pngs)["probabilities"].numpy(),
            "keras model.predict": lambda: model.predict(x, batch_size=n, verbose=0)["probabilities"],
            "keras model(x)": lambda: model(x, training=False)["probabilities"].numpy(),
            "keras tf.function(model)": lambda: graph_model(x)["probabilities"].numpy(),
        }
        if args.only_saved_model:
            methods = {"saved_model predict_pixels": methods["saved_model predict_pixels"]}
        times = {name: [] for name in methods}
        for name, fn in methods.items():
            for _ in range(args.warmup):
                fn()
        for _ in range(args.repeats):
            for name, fn in methods.items():
                start = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - start) * 1000)
        rows = {}
        print(f"\nbatch {n}")
        for name, t in times.items():
            median, p90 = float(np.median(t)), float(np.percentile(t, 90))
            rows[name] = {"median_ms": median, "p90_ms": p90, "images_per_s": n / median * 1000}
            print(f"  {name:<28} {median:8.1f} {p90:8.1f}   {n / median * 1000:7.1f} img/s")
        if "keras model.predict" in rows:
            ratio = rows["saved_model predict_pixels"]["median_ms"] / rows["keras model.predict"]["median_ms"]
            rows["saved_model_over_predict"] = ratio
            print(f"  SavedModel predict_pixels / model.predict = {ratio:.2f}"
                  f" ({'not slower' if ratio <= 1 else 'SLOWER'})")
            if ratio > 1:
                slower.append(n)
        results["batches"][str(n)] = rows
    if args.json:
        with policy.publish(args.json) as tmp:
            Path(tmp).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 1 if slower else 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("bench-serving", argv)


if __name__ == "__main__":
    sys.exit(main())
