"""dsan explain: Grad-CAM family heatmaps of a trained DSAN on faces, and a sanity benchmark of them.

    dsan explain photos/                                   # the shipped model, every face of every photo
    dsan explain                                           # the bundled demo photo
    dsan explain --weights runs/x/model.keras crops/ --faces --method gradcam++ --output runs/x/cams
    dsan explain --check --data-dir FERPLUS_DIR            # do the maps point at the face? (issue 32)

See `dsan explain --help`.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from dsan_tf.cli.detection import add_detector_args
from dsan_tf.cli import CommandParser
from dsan_tf.cli.validators import (existing_dir, existing_path, model_reference,
                                    output_path, positive_int, probability, seed, text)
from dsan_tf.outputs import remove_recorded_files

PROG = "dsan explain"
# The choices of --method and --stream, as dsan_tf.explain and dsan_tf.resnet define them (those
# modules import TensorFlow; `dsan explain --help` must not). tests/test_cli.py checks they agree.
METHODS = ("gradcam", "gradcam++", "scorecam", "layercam")
STREAMS = ("fused", "gfe", "mff")
PREDICTED = "predicted"
LAST_CONV_LAYER = "layer4_1_out"  # the trunk's last block: 2x2 at 48 px, so no longer the default
DATASETS = ("ferplus", "rafdb", "affectnet7", "affectnet8", "folder")
CSV_NAME, CHECK_NAME, MAPS_NAME, HEATMAPS_NAME, PHOTOS_DIR = ("explanations.csv", "check.json", "maps.npy",
                                                              "heatmaps.npy", "photos")
DEFAULT_OUTPUT = Path("explanations")
LAYER_HELP = ("feature map to use (default: chosen from the model's input size: the deepest trunk block whose map is "
              "at least 6x6, i.e. layer2_1_out (6x6) for the shipped 48 px model, layer3_1_out at 96 px, "
              f"layer4_1_out from 161 px; {LAST_CONV_LAYER}, the map DSAN pools, is 2x2 at 48 px). Maps under 3x3 "
              "are refused: they cannot show where on the face. The layer used is in the figure title and the CSV")


TRUNK_CHANNELS = 512  # channels of the ResNet-18 trunk's last block: the most --max-n can keep


def build_parser(prog=PROG):
    parser = CommandParser(
        prog=prog,
        description=(
            "Class activation maps (tf-keras-vis) of a DSAN, overlaid on each face. Inputs are whole photos: "
            "their faces are detected (MTCNN) and aligned as dsan predict does, and a photo without a face gives "
            "a row saying so, with no prediction and no heat map; with no input, the demo photo shipped with "
            "dsan_tf. With --faces the inputs are face crops already (like the datasets' images). Each face is "
            "resized to the model's input size (and greyed when the model was trained on grey faces, as "
            "FERPlus'). Writes to --output: one PNG grid per --batch-size faces (face, overlay, label, DSAN's "
            "LFA gates b_f and the share of zero sparse-attention weights), explanations.csv (one row per face, "
            "or per photo without one: dsan predict's columns, then the layer, where the map peaks as a fraction "
            "of the face, its concentration, b_f and P(a=0)), and for photos one annotated copy each under "
            "photos/ with every face's heat map warped back onto it. A rerun into the same folder first removes "
            "the files the previous run wrote there. --check runs the sanity benchmark on labelled faces instead."
        ),
    )
    parser.add_argument("inputs", nargs="*", type=existing_path,
                        help="image files and/or folders (searched recursively): whole photos, or face crops with "
                             "--faces (default: the demo photo shipped with dsan_tf)")
    parser.add_argument("--images", nargs="+", type=existing_path, default=[], metavar="PATH",
                        help="the same as the positional inputs, kept so that older commands still run (default: none)")
    parser.add_argument("--weights", type=model_reference, default=None,
                        help="a .keras file saved from a DSAN model, or a shipped model's name (default: the "
                             "shipped model 'ferplus')")
    parser.add_argument("--faces", action="store_true",
                        help="the images are face crops already: no detection nor alignment (default: whole "
                             "photos, every face found is explained)")
    add_detector_args(parser, scope="photos: ")
    parser.add_argument("--largest-only", action="store_true",
                        help="photos: explain only the largest face of each (default: every face)")
    parser.add_argument("--method", default="gradcam", choices=METHODS, help="which CAM (default gradcam)")
    parser.add_argument("--target", type=text("'predicted', a class name or a class index"), default=PREDICTED,
                        help="class to explain: 'predicted' (the fused prediction of each image, "
                             "default), or a class name or index of the model")
    parser.add_argument("--stream", default="fused", choices=STREAMS,
                        help="score to explain: the fused probability (default) or the logit of "
                             "GFE-AN (gfe) or MFF-AN (mff)")
    parser.add_argument("--layer", type=text("a layer name"), default=None, help=LAYER_HELP)
    parser.add_argument("--output", type=output_path(), default=DEFAULT_OUTPUT,
                        help=f"folder for the grids, explanations.csv, photos/ and maps (default: ./{DEFAULT_OUTPUT}); "
                             "new, empty, or written by an earlier dsan explain")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --output be a folder holding files dsan explain did not make, and replace them "
                             "(default: such a folder is refused before any work)")
    parser.add_argument("--batch-size", type=positive_int(256), default=16, help="faces per grid, at most 256 (default 16)")
    parser.add_argument("--columns", type=positive_int(64), default=4,
                        help="face/overlay pairs per grid row (default 4)")
    parser.add_argument("--max-n", type=positive_int(512), default=None,
                        help="scorecam only: use the N (at most 512, ResNet-18's widest map) channels of highest "
                             "variance (Faster Score-CAM, e.g. 64); "
                             "default all of the feature map's channels, one masked copy of every image each")
    parser.add_argument("--alpha", type=probability, default=0.45,
                        help="heatmap opacity in the overlays (default 0.45)")
    parser.add_argument("--save-maps", action="store_true",
                        help="also write the raw maps: maps.npy (faces x h x w, at the feature map's resolution, "
                             "0..1) and heatmaps.npy (at the model's input size), row i being the face of "
                             "explanations.csv's map_index i (default: not written)")
    parser.add_argument("--no-annotate", action="store_true",
                        help="photos: write no annotated copies under photos/ (default: one per photo)")
    check = parser.add_argument_group("sanity benchmark (--check)")
    check.add_argument("--check", action="store_true",
                       help="instead of explaining inputs, measure on labelled faces (default: FERPlus' validation "
                            "split) how often the map's peak lies on the mouth for happy faces the model calls happy, "
                            "on the mouth or eyes for surprised ones, in a corner for all, and how much the maps "
                            "change when the model's weights are randomised (Spearman); prints a table and writes "
                            f"{CHECK_NAME} to --output (default: off, the inputs are explained)")
    check.add_argument("--dataset", default="ferplus", choices=DATASETS, help="--check: the dataset (default ferplus)")
    check.add_argument("--data-dir", type=existing_dir, default=None,
                       help="--check: the dataset's folder (default: the FERPlus sample embedded in dsan_tf, "
                            "102 faces: a smoke test, not a measurement)")
    check.add_argument("--split", default="valid", choices=("train", "valid", "test"),
                       help="--check: the split (default valid; keep the test split for the final score)")
    check.add_argument("--per-class", type=positive_int(100_000), default=100,
                       help="--check: faces drawn at random per class (default 100)")
    check.add_argument("--seed", type=seed, default=0,
                       help="--check: seed of the draw and of the randomised weights (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (default: one on stderr)")
    return parser



def check_args(parser, args):
    args.inputs = [*args.inputs, *args.images]
    if args.check and args.inputs:
        parser.error("--check reads labelled faces from --data-dir, not image inputs")
    if args.check and (args.faces or args.target != PREDICTED):
        parser.error("--check explains the predicted class of face crops: not with --faces or --target")
    if args.faces and not args.inputs:
        parser.error("--faces needs face crops to read (the demo photo is a whole photo)")


def collect_images(inputs) -> list[tuple[Path, Path]]:
    """(file, root) of every image named or found (recursively) under the inputs, in order, without repeats;
    ``root`` is the folder it was found under (its own folder for a named file)."""
    from dsan_tf.data.align import IMAGE_EXTENSIONS, list_images
    from dsan_tf.data.errors import DataError

    found, seen = [], set()
    for item in inputs:
        if item.is_dir():
            pairs = [(f, item) for f in list_images(item)]
            if not pairs:
                raise DataError(f"{item}: folder holds no images ({' '.join(IMAGE_EXTENSIONS)})")
        else:  # a file: the flag's validator refused a missing path
            pairs = [(item, item.parent)]
        for f, root in pairs:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                found.append((f, root))
    return found


def annotated_names(files) -> dict:
    """photos/<path relative to its root>.jpg for every photo, made unique with _2, _3, ..."""
    names, used = {}, set()
    for f, root in files:
        try:
            relative = f.relative_to(root)
        except ValueError:
            relative = Path(f.name)
        base = Path(PHOTOS_DIR) / relative.parent / f"{relative.stem}.jpg"
        name, n = base, 2
        while name in used:
            name, n = base.with_name(f"{base.stem}_{n}.jpg"), n + 1
        used.add(name)
        names[f] = name
    return names


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from dsan_tf.inference import default_weights, model_files

    if args.weights is None:
        args.weights = Path(default_weights())
        print(f"{PROG}: no --weights given: using the shipped model '{args.weights}'", file=sys.stderr)
    if args.check:
        return run_check(args)
    if not args.inputs:
        from dsan_tf.demo import DEMO_DESCRIPTION, demo_photo

        args.inputs = [demo_photo()]
        print(f"{PROG}: no input given: explaining {DEMO_DESCRIPTION}", file=sys.stderr)
    files = collect_images(args.inputs)
    from dsan_tf.outputs import OutputPolicy

    inputs = [*args.inputs, *model_files(args.weights)]
    # --output: a folder of explanations (marked by an earlier run), new or empty; anything else is
    # refused before the model loads. Its lock is held until the run ends.
    with OutputPolicy(command="explain", flag="--output", overwrite=args.overwrite, inputs=inputs) as policy:
        policy.claim_folder(args.output, kind="explanations")
        photos = {} if args.faces or args.no_annotate else annotated_names(files)
        planned = [CSV_NAME, *([MAPS_NAME, HEATMAPS_NAME] if args.save_maps else []), *photos.values()]
        for name in planned:
            policy.claim_file(args.output / name)
        return _explain(args, files, photos, policy)


def _load_checked(args):
    """The model and the layer to map, with --method, --stream, --target and --layer checked against it."""
    from dsan_tf.explain import ExplainError, check_method, check_stream, resolve_layer, resolve_target
    from dsan_tf.inference import load_dsan

    model = load_dsan(args.weights)
    check_method(args.method)
    check_stream(model, args.stream)
    resolve_target(model, args.target)
    try:
        layer = resolve_layer(model, args.layer)
    except ExplainError as err:  # "layer 'x' is ..." -> "--layer 'x' is ...": name the flag
        raise ExplainError(f"--{err}" if args.layer is not None and str(err).startswith("layer ") else str(err)) \
            from None
    return model, layer


def _explain(args, files, photos, policy) -> int:
    import numpy as np
    from tqdm import tqdm

    from dsan_tf.explain import class_names_of, explain_crops, explain_photo, map_size, photo_aligner, save_grid
    from dsan_tf.inference import load_image, save_rgb

    model, layer = _load_checked(args)
    for f, _ in files:  # fail on an unreadable image before any output is written
        load_image(f)
    h, w = map_size(model, layer)
    size = int(model.settings["image_size"])
    names = class_names_of(model)
    splits = int(model.settings.get("num_splits", 4)) if getattr(model, "has_mff", False) else 0
    options = dict(layer=layer, max_n=args.max_n)
    aligner = None if args.faces else photo_aligner(model, min_confidence=args.min_confidence,
                                                    min_face_size=args.min_face_size, largest_only=args.largest_only)
    remove_recorded_files(args.output, kind="explanations")
    chosen = "the default for" if args.layer is None else "chosen for"
    suptitle = (f"{args.method} on {layer} ({h}x{w} map, {chosen} {size} px faces)\n"
                f"stream {args.stream}, target {args.target}, model {Path(args.weights).name}")
    rows, pending, grids, maps, heatmaps = [], [], [], [], []

    def flush():
        name = f"batch_{len(grids):04d}.png"
        titles = []
        for index, (_, e, row) in enumerate(pending):
            title = f"{e.label} {e.probability:.2f}"
            if e.target != e.label:
                title += f" (map: {e.target} {e.target_probability:.2f})"
            attention = []
            if e.lfa_weights is not None:
                attention.append("b " + " ".join(f"{b:.2f}" for b in e.lfa_weights))
            if e.attention_zero is not None:
                attention.append(f"a=0 {100 * e.attention_zero:.0f}%")
            titles.append(title + ("\n" + ", ".join(attention) if attention else ""))
            row.update(grid=name, index=index)
        # A model trained on grey faces saw (and the grid shows) grey versions of colour images.
        with policy.publish(args.output / name) as tmp:
            save_grid(tmp, [e.image for _, e, _ in pending], [e.heatmap for _, e, _ in pending], titles,
                      captions=[f.name if e.box is None else f"{f.name} #{row['face']}" for f, e, row in pending],
                      columns=args.columns, alpha=args.alpha, suptitle=suptitle)
        grids.append(name)
        pending.clear()

    def add(f, e, face=None):
        row = face_row(f, e, face, names, splits, args.method, args.stream, f"{h}x{w}")
        row["annotated"] = str(photos[f]) if f in photos else ""
        if args.save_maps:
            row["map_index"] = len(maps)
            maps.append(e.map)
            heatmaps.append(e.heatmap)
        rows.append(row)
        pending.append((f, e, row))
        if len(pending) == args.batch_size:
            flush()

    no_face = 0
    if args.faces:
        batches = [files[i:i + args.batch_size] for i in range(0, len(files), args.batch_size)]
        for batch in tqdm(batches, desc=args.method, unit="batch", disable=args.no_progress):
            explained = explain_crops(model, [load_image(f) for f, _ in batch], args.method, args.target,
                                      args.stream, **options)
            for (f, _), e in zip(batch, explained):
                add(f, e)
    else:
        from dsan_tf.explain import overlay_photo

        for f, _ in tqdm(files, desc=args.method, unit="photo", disable=args.no_progress):
            photo = load_image(f)
            result = explain_photo(model, photo, args.method, args.target, args.stream, aligner=aligner, **options)
            if not result.faces:
                no_face += 1
                print(f"{f}: {result.note}", file=sys.stderr)
                row = face_row(f, None, None, names, splits, args.method, args.stream, f"{h}x{w}")
                row.update(note=result.note, annotated=str(photos[f]) if f in photos else "")
                rows.append(row)
            for i, e in enumerate(result.faces):
                add(f, e, i)
            if f in photos:
                with policy.publish(args.output / photos[f]) as tmp:
                    save_rgb(tmp, overlay_photo(photo, result, alpha=args.alpha))
    if pending:
        flush()
    if args.save_maps:
        for name, stack, shape in ((MAPS_NAME, maps, (h, w)), (HEATMAPS_NAME, heatmaps, (size, size))):
            with policy.publish(args.output / name) as tmp, open(tmp, "wb") as fh:
                np.save(fh, np.stack(stack).astype(np.float32) if stack else np.zeros((0, *shape), np.float32))
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with policy.publish(args.output / CSV_NAME) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    where = f"{len(grids)} grids in {args.output} (map: {layer}, {h}x{w})"
    if args.faces:
        print(f"{len(files)} images, {where}; explanations.csv lists each image")
    else:
        faces = sum(1 for r in rows if r["note"] == "")
        print(f"{len(files)} photos: {faces} faces, {no_face} without a face; {where}; explanations.csv lists each "
              f"face" + (f", annotated photos in {args.output / PHOTOS_DIR}" if photos else ""))
    return 0


def face_row(source, e, face, class_names, splits, method, stream, size) -> dict:
    """One CSV row: dsan predict's columns (source, face, box_x..box_h, detection_confidence, label, probability,
    p_<class>), then the map's (target, method, stream, layer, map_size, peak_row, peak_col, concentration) and
    DSAN's attention (lfa_b1..lfa_bF, attention_zero); empty cells where there is no value (never NaN)."""
    def number(value):
        return "" if value is None else f"{float(value):.6f}"

    box = (e.box if e is not None else None) or [None] * 4
    row = {"source": str(source), "face": "" if face is None else face,
           **{k: "" if v is None else int(v) for k, v in zip(("box_x", "box_y", "box_w", "box_h"), box)},
           "detection_confidence": "" if e is None or e.detection_confidence is None else e.detection_confidence,
           "label": "" if e is None else e.label, "probability": "" if e is None else number(e.probability)}
    row.update({f"p_{n}": "" if e is None else number(e.probabilities[n]) for n in class_names})
    row.update({"target": "" if e is None else e.target,
                "target_probability": "" if e is None else number(e.target_probability),
                "method": method, "stream": stream, "layer": "" if e is None else e.layer,
                "map_size": "" if e is None else size,
                "peak_row": number(None if e is None else e.peak_row),
                "peak_col": number(None if e is None else e.peak_col),
                "concentration": number(None if e is None else e.concentration)})
    gates = (e.lfa_weights if e is not None else None) or [None] * splits
    row.update({f"lfa_b{i + 1}": number(b) for i, b in enumerate(gates)})
    row["attention_zero"] = number(None if e is None else e.attention_zero)
    row.update(grid="", index="", note="")
    return row


def run_check(args) -> int:
    from tqdm import tqdm

    from dsan_tf.data.registry import load_dataset
    from dsan_tf.explain_check import check_targets, load_faces, run_check as measure, table
    from dsan_tf.inference import model_files
    from dsan_tf.outputs import OutputPolicy

    inputs = [*model_files(args.weights), args.data_dir]
    with OutputPolicy(command="explain", flag="--output", overwrite=args.overwrite, inputs=inputs) as policy:
        policy.claim_folder(args.output, kind="explanations")
        policy.claim_file(args.output / CHECK_NAME)
        data = load_dataset(args.dataset, args.data_dir)  # a bad --data-dir or --split fails before the model loads
        data.split(args.split)
        if args.data_dir is None:
            print(f"{PROG}: no --data-dir given: checking on the FERPlus sample embedded in dsan_tf (a smoke test; "
                  "give --data-dir for a measurement)", file=sys.stderr)
        model, layer = _load_checked(args)
        faces, labels, _ = load_faces(data, args.split, args.per_class, args.seed)
        with tqdm(total=len(faces), desc="check", unit="face", disable=args.no_progress) as bar:
            result = measure(model, faces, labels, data.class_names, method=args.method, stream=args.stream,
                             layer=layer, seed=args.seed, progress=bar.update)
        targets = {name: {"met": met, "value": value} for name, (met, value) in check_targets(result).items()}
        result.update(model=str(args.weights), dataset=args.dataset, split=args.split, per_class=args.per_class,
                      targets=targets)
        remove_recorded_files(args.output, kind="explanations")
        with policy.publish(args.output / CHECK_NAME) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    print(table(result))
    print(f"(written to {args.output / CHECK_NAME})", file=sys.stderr)
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
