"""dsan explain: Grad-CAM family heatmaps of a trained DSAN on face images, as PNG grids.

    dsan explain --weights runs/x/model.keras --images faces/ --method gradcam --output runs/x/gradcam
    dsan explain --images faces/ --method gradcam --output gradcam   # the shipped model

See `dsan explain --help`.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from dsan_tf.cli.detection import check_detector_args
from dsan_tf.cli.validators import (existing_path, face_size, int_in, model_reference, output_path, positive_int,
                                   probability, text)
from dsan_tf.cli import CommandParser

PROG = "dsan explain"
# The choices of --method and --stream and the default layer, as dsan_tf.explain and dsan_tf.resnet
# define them (those modules import TensorFlow; `dsan explain --help` must not). tests/test_cli.py
# checks they agree.
METHODS = ("gradcam", "gradcam++", "scorecam", "layercam")
STREAMS = ("fused", "gfe", "mff")
PREDICTED = "predicted"
LAST_CONV_LAYER = "layer4_1_out"


TRUNK_CHANNELS = 512  # channels of the ResNet-18 trunk's last block: the most --max-n can keep


def build_parser(prog=PROG):
    parser = CommandParser(
        prog=prog,
        description=(
            "Class activation maps (tf-keras-vis) of a DSAN on the trunk's last convolutional "
            f"block ({LAST_CONV_LAYER}), overlaid on each face. Inputs are whole photos: their faces "
            "are detected (MTCNN) and aligned as dsan predict does, and a photo without a face gives a "
            "row saying so, with no prediction and no heat map. With --faces the inputs are face crops "
            "already (like the datasets' images), explained as they are. Each face is resized to the "
            "model's input size (and greyed when the model was trained on grey faces, as FERPlus'). "
            "Writes one PNG grid per --batch-size faces (face, overlay, predicted label and probability) "
            "and explanations.csv (one row per face, or per photo without one) to --output."
        ),
    )
    parser.add_argument("--weights", type=model_reference, default=None,
                        help="a .keras file saved from a DSAN model, or a shipped model's name (default: the "
                             "shipped model 'ferplus')")
    parser.add_argument("--images", required=True, nargs="+", type=existing_path,
                        help="image files and/or folders (searched recursively): whole photos, or face "
                             "crops with --faces")
    parser.add_argument("--faces", action="store_true",
                        help="the images are face crops already: no detection nor alignment (default: whole "
                             "photos, every face found is explained)")
    parser.add_argument("--min-confidence", type=probability, default=0.9,
                        help="photos: MTCNN score threshold (default 0.9, as dsan predict)")
    parser.add_argument("--min-face-size", type=face_size, default=20,
                        help="photos: ignore faces whose shorter box side is below this many pixels (default 20)")
    parser.add_argument("--largest-only", action="store_true", help="photos: explain only the largest face of each")
    parser.add_argument("--method", required=True, choices=METHODS, help="which CAM")
    parser.add_argument("--target", type=text("'predicted', a class name or a class index"), default=PREDICTED,
                        help="class to explain: 'predicted' (the fused prediction of each image, "
                             "default), or a class name or index of the model")
    parser.add_argument("--stream", default="fused", choices=STREAMS,
                        help="score to explain: the fused probability (default) or the logit of "
                             "GFE-AN (gfe) or MFF-AN (mff)")
    parser.add_argument("--output", required=True, type=output_path(), help="folder for the PNG grids")
    parser.add_argument("--batch-size", type=positive_int(256), default=16, help="images per grid, at most 256 (default 16)")
    parser.add_argument("--columns", type=positive_int(64), default=4,
                        help="image/overlay pairs per grid row, at most 64 (default 4)")
    parser.add_argument("--layer", type=text("a layer name"), default=LAST_CONV_LAYER,
                        help=f"feature map to use (default {LAST_CONV_LAYER})")
    parser.add_argument("--max-n", type=int_in(1, TRUNK_CHANNELS), default=None,
                        help=f"scorecam only: use the N (1 to {TRUNK_CHANNELS}) channels of highest variance "
                             "(Faster Score-CAM, e.g. 64); default all 512, which runs 512 masked copies of every image")
    parser.add_argument("--alpha", type=probability, default=0.45, help="heatmap opacity in the overlay (default 0.45)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser



def check_args(parser, args):
    if args.batch_size < 1:
        parser.error(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.columns < 1:
        parser.error(f"--columns must be >= 1, got {args.columns}")
    if args.max_n is not None and args.max_n < 1:
        parser.error(f"--max-n must be >= 1, got {args.max_n}")
    if not 0.0 <= args.alpha <= 1.0:
        parser.error(f"--alpha must lie in [0, 1], got {args.alpha}")
    check_detector_args(parser, args)


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

    from dsan_tf.explain import (ExplainError, check_method, check_stream, explain_crops, explain_photo,
                                 photo_aligner, resolve_target, save_grid)
    from dsan_tf.inference import default_weights, load_dsan, load_image, model_files
    from dsan_tf.io_utils import atomic_path, check_output_path

    if args.weights is None:
        args.weights = Path(default_weights())
        print(f"{PROG}: no --weights given: using the shipped model '{args.weights}'", file=sys.stderr)
    files = collect_images(args.images)
    check_output_path(args.output, inputs=[*args.images, *model_files(args.weights)], folder=True)
    from dsan_tf.outputs import OutputPolicy

    # --output: heatmap grids (marked, or an unmarked folder an earlier version wrote), new or empty;
    # anything else is refused before the model loads. The lock is held while this function runs.
    policy = OutputPolicy(command="explain", flag="--output", inputs=[*args.images, *model_files(args.weights)])
    policy.claim_folder(args.output, kind="explanations", accept=lambda f: (f / "explanations.csv").is_file())
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

    options = dict(layer=args.layer, max_n=args.max_n)
    aligner = None if args.faces else photo_aligner(model, min_confidence=args.min_confidence,
                                                    min_face_size=args.min_face_size, largest_only=args.largest_only)
    from dsan_tf.outputs import write_marker

    write_marker(args.output, "explanations", "explain")  # creates --output, marked as explain's
    rows, pending, grids = [], [], []  # pending: (file, FaceExplanation, row) of the grid being filled
    suptitle = (f"{args.method} on {args.layer}, stream {args.stream}, target {args.target} — "
                f"{Path(args.weights).name}")

    def flush():
        name = f"batch_{len(grids):04d}.png"
        titles = []
        for index, (_, e, row) in enumerate(pending):
            title = f"{e.label} {e.probability:.2f}"
            if e.target != e.label:
                title += f"\nmap: {e.target} {e.target_probability:.2f}"
            titles.append(title)
            row.update(grid=name, index=index)
        # A model trained on grey faces saw (and the grid shows) grey versions of colour images.
        save_grid(args.output / name, [e.image for _, e, _ in pending], [e.heatmap for _, e, _ in pending],
                  titles, captions=[f.name if e.box is None else f"{f.name} #{row['face']}" for f, e, row in pending],
                  columns=args.columns, alpha=args.alpha, suptitle=suptitle)
        grids.append(name)
        pending.clear()

    def add(f, e, face=None):
        row = {"image": str(f), "face": "" if face is None else face,
               "box": "" if e.box is None else " ".join(str(v) for v in e.box), "grid": "", "index": "",
               "predicted": e.label, "probability": f"{e.probability:.6f}", "target": e.target,
               "target_probability": f"{e.target_probability:.6f}", "note": ""}
        rows.append(row)
        pending.append((f, e, row))
        if len(pending) == args.batch_size:
            flush()

    no_face = 0
    if args.faces:
        batches = [files[i:i + args.batch_size] for i in range(0, len(files), args.batch_size)]
        for batch in tqdm(batches, desc=args.method, unit="batch", disable=args.no_progress):
            explained = explain_crops(model, [load_image(f) for f in batch], args.method, args.target, args.stream,
                                      **options)
            for f, e in zip(batch, explained):
                add(f, e)
    else:
        for f in tqdm(files, desc=args.method, unit="photo", disable=args.no_progress):
            result = explain_photo(model, load_image(f), args.method, args.target, args.stream, aligner=aligner,
                                   **options)
            if not result.faces:
                no_face += 1
                print(f"{f}: {result.note}", file=sys.stderr)
                rows.append({"image": str(f), "face": "", "box": "", "grid": "", "index": "", "predicted": "",
                             "probability": "", "target": "", "target_probability": "", "note": result.note})
            for i, e in enumerate(result.faces):
                add(f, e, i)
    if pending:
        flush()
    with atomic_path(args.output / "explanations.csv") as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if args.faces:
        print(f"{len(files)} images, {len(grids)} grids in {args.output} (explanations.csv lists each image)")
    else:
        faces = sum(1 for r in rows if r["note"] == "")
        print(f"{len(files)} photos: {faces} faces, {no_face} without a face; {len(grids)} grids in {args.output} "
              "(explanations.csv lists each face)")
    return 0


def parse_args(argv=None):
    """The parsed arguments of ``dsan explain argv`` (argparse's SystemExit for bad ones)."""
    from dsan_tf.cli import parse_command_args

    return parse_command_args("explain", argv)[1]


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("explain", argv)


if __name__ == "__main__":
    sys.exit(main())
