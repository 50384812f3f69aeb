"""Grad-CAM family heatmaps of a trained DSAN on face images, as PNG grids.

    python experiments/explain.py --weights runs/x/model.keras --images faces/ \
        --method gradcam --output runs/x/gradcam
    python experiments/explain.py --images faces/ --method gradcam --output gradcam   # the shipped model

See `python experiments/explain.py --help`.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dsan_tf.explain import METHODS, PREDICTED, STREAMS  # noqa: E402
from dsan_tf.resnet import LAST_CONV_LAYER  # noqa: E402

PROG = "explain.py"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Class activation maps (tf-keras-vis) of a DSAN on the trunk's last convolutional "
            f"block ({LAST_CONV_LAYER}), overlaid on each face. Inputs are face crops (like the "
            "datasets' images; align raw photos first with experiments/align_faces.py); each is "
            "resized to the model's input size (and greyed when the model was trained on grey "
            "faces, as FERPlus'). Writes one PNG grid per batch (image, overlay, "
            "predicted label and probability) and explanations.csv (one row per image) to --output."
        ),
    )
    parser.add_argument("--weights", type=Path,
                        help="a .keras file saved from a DSAN model, or a shipped model's name (default: the "
                             "shipped model 'ferplus')")
    parser.add_argument("--images", required=True, nargs="+", type=Path,
                        help="image files and/or folders (searched recursively)")
    parser.add_argument("--method", required=True, choices=METHODS, help="which CAM")
    parser.add_argument("--target", default=PREDICTED,
                        help="class to explain: 'predicted' (the fused prediction of each image, "
                             "default), or a class name or index of the model")
    parser.add_argument("--stream", default="fused", choices=STREAMS,
                        help="score to explain: the fused probability (default) or the logit of "
                             "GFE-AN (gfe) or MFF-AN (mff)")
    parser.add_argument("--output", required=True, type=Path, help="folder for the PNG grids")
    parser.add_argument("--batch-size", type=int, default=16, help="images per grid (default 16)")
    parser.add_argument("--columns", type=int, default=4, help="image/overlay pairs per grid row (default 4)")
    parser.add_argument("--layer", default=LAST_CONV_LAYER, help=f"feature map to use (default {LAST_CONV_LAYER})")
    parser.add_argument("--max-n", type=int, default=None,
                        help="scorecam only: use the N channels of highest variance (Faster Score-CAM, "
                             "e.g. 64); default all 512, which runs 512 masked copies of every image")
    parser.add_argument("--alpha", type=float, default=0.45, help="heatmap opacity in the overlay (default 0.45)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.columns < 1:
        parser.error(f"--columns must be >= 1, got {args.columns}")
    if args.max_n is not None and args.max_n < 1:
        parser.error(f"--max-n must be >= 1, got {args.max_n}")
    if not 0.0 <= args.alpha <= 1.0:
        parser.error(f"--alpha must lie in [0, 1], got {args.alpha}")
    return args


def collect_images(inputs) -> list[Path]:
    """Image files named or found (recursively) under the inputs, in order, without repeats."""
    from dsan_tf.data.align import IMAGE_EXTENSIONS, list_images
    from dsan_tf.data.errors import DataError

    found, seen = [], set()
    for item in inputs:
        if item.is_dir():
            files = list_images(item)
            if not files:
                raise DataError(f"{item}: folder holds no images ({' '.join(IMAGE_EXTENSIONS)})")
        elif item.is_file():
            files = [item]
        else:
            raise DataError(f"{item}: no such file or folder")
        for f in files:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                found.append(f)
    return found


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from tqdm import tqdm

    from dsan_tf.explain import (ExplainError, check_method, check_stream, class_names_of, explain,
                                 resolve_target, save_grid)
    from dsan_tf.inference import as_grey_rgb, default_weights, load_dsan, load_image, model_files, model_inputs
    from dsan_tf.io_utils import atomic_path, check_output_path

    if args.weights is None:
        args.weights = Path(default_weights())
        print(f"{PROG}: no --weights given: using the shipped model '{args.weights}'", file=sys.stderr)
    files = collect_images(args.images)
    check_output_path(args.output, inputs=[*args.images, *model_files(args.weights)], folder=True)
    model = load_dsan(args.weights)
    check_method(args.method)
    check_stream(model, args.stream)
    resolve_target(model, args.target)
    if not any(layer.name == args.layer for layer in model.layers):
        raise ExplainError(f"--layer {args.layer!r} is not a layer of {args.weights}")
    if len(model.get_layer(args.layer).output.shape) != 4:
        raise ExplainError(f"--layer {args.layer!r} is not a spatial feature map (output shape "
                           f"{tuple(model.get_layer(args.layer).output.shape)})")
    for f in files:  # fail on an unreadable image before any output is written
        load_image(f)

    names = class_names_of(model)
    size = int(model.settings["image_size"])
    # A model trained on grey faces sees (and the grids show) grey versions of colour images.
    greyed = model.settings.get("grayscale_input", False)
    args.output.mkdir(parents=True, exist_ok=True)
    batches = [files[i:i + args.batch_size] for i in range(0, len(files), args.batch_size)]
    rows = []
    for b, batch in enumerate(tqdm(batches, desc=f"{args.method}", unit="batch", disable=args.no_progress)):
        images = [load_image(f) for f in batch]
        shown, inputs = model_inputs([as_grey_rgb(im) for im in images] if greyed else images, size)
        result = explain(model, inputs, args.method, args.target, args.stream, layer=args.layer,
                         max_n=args.max_n)
        titles = []
        for i, f in enumerate(batch):
            pred, target = int(result.predicted[i]), int(result.targets[i])
            title = f"{names[pred]} {result.probabilities[i, pred]:.2f}"
            if target != pred:
                title += f"\nmap: {names[target]} {result.probabilities[i, target]:.2f}"
            titles.append(title)
            rows.append({"image": str(f), "grid": f"batch_{b:04d}.png", "index": i,
                         "predicted": names[pred], "probability": f"{result.probabilities[i, pred]:.6f}",
                         "target": names[target], "target_probability": f"{result.probabilities[i, target]:.6f}"})
        save_grid(args.output / f"batch_{b:04d}.png", list(shown), list(result.heatmaps), titles,
                  captions=[f.name for f in batch], columns=args.columns, alpha=args.alpha,
                  suptitle=f"{args.method} on {args.layer}, stream {args.stream}, "
                           f"target {args.target} — {args.weights.name}")
    with atomic_path(args.output / "explanations.csv") as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(files)} images, {len(batches)} grids in {args.output} (explanations.csv lists each image)")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    from dsan_tf.data.errors import DataError
    from dsan_tf.explain import ExplainError
    from dsan_tf.inference import ModelLoadError
    from dsan_tf.io_utils import OutputError, os_error_line

    try:
        return run(args)
    except (ExplainError, ModelLoadError, DataError, OutputError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # e.g. the disk filled up while writing the grids
        print(f"{PROG}: error: {os_error_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
