"""dsan export tflite: convert a trained DSAN to TFLite (float32 and dynamic-range quantised) and check it.

    dsan export tflite --weights RUN/model.keras --output models/tflite \
        [--data-dir /path/to/ferplus] [--saved-model models/dsan/1]

Writes ``dsan_float32.tflite``, ``dsan_dynamic_range.tflite``, ``labels.txt`` and
``report.json`` to ``--output``. Input of both: ``pixels`` float32 [N, S, S, 3], RGB
0..255, already resized to the model's input size S (printed; resize bilinearly, as
``dsan_tf.data.preprocess.resize_image``); rounding to integers, as the training pipeline
does, and normalisation are inside. Outputs:
``probabilities``, ``class_id``, ``gfe_probabilities``, ``mff_probabilities``.

Then runs every FERPlus validation image (majority protocol) through the SavedModel's
``serving_default`` (the exported one with ``--saved-model``, else the same signature
built in memory from ``--weights``) and through both TFLite models (run by LiteRT,
``ai-edge-litert``: the ``dsan_tf[tflite]`` extra), and reports top-1
agreement with the SavedModel, accuracy and file sizes. Exit status 1 if agreement is
below 99.9 % (float32) or 98 % (quantised).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from dsan_tf.errors import UserError
from dsan_tf.cli.validators import MAX_COUNT, existing_dir, model_reference, output_path, positive_int
from dsan_tf.cli import CommandParser
from dsan_tf.litert import signature_runner

ROOT = Path(__file__).resolve().parents[2]  # the checkout (an editable install): ../shared/datasets beside it

THRESHOLDS = {"float32": 0.999, "dynamic_range": 0.98}
FILES = {"float32": "dsan_float32.tflite", "dynamic_range": "dsan_dynamic_range.tflite"}


def default_data_dir() -> Path:
    """The shared FERPlus folder beside the repository, else the embedded sample."""
    shared = ROOT.parent / "shared" / "datasets" / "ferplus"
    if (shared / "FER2013Valid").is_dir():
        return shared
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    return Path(SAMPLE_FERPLUS_DIR)


def evaluate(reference, runners, table, image_size, batch_size=64, progress=True):
    """Top-1 of the reference signature and each TFLite runner on every row of ``table``.

    Returns {"reference": ids, name: ids, ...} plus max |Δp| per runner.
    """
    import numpy as np
    import tensorflow as tf

    from dsan_tf.data.preprocess import decode_image, resize_image

    ids = {"reference": []}
    ids.update({name: [] for name in runners})
    max_diff = {name: 0.0 for name in runners}
    from tqdm import tqdm

    paths = list(table["path"])
    for start in tqdm(range(0, len(paths), batch_size), desc="checking", unit="batch", disable=not progress,
                      leave=False):
        data = [Path(p).read_bytes() for p in paths[start:start + batch_size]]
        ref = reference(image_bytes=tf.constant(data))["probabilities"].numpy()
        ids["reference"].append(ref.argmax(-1))
        pixels = tf.stack([resize_image(decode_image(d), image_size) for d in data]).numpy()  # the graph rounds
        for name, runner in runners.items():
            probs = runner(pixels=pixels)["probabilities"]
            ids[name].append(probs.argmax(-1))
            max_diff[name] = max(max_diff[name], float(np.abs(probs - ref).max()))
    return {k: np.concatenate(v) for k, v in ids.items()}, max_diff


def build_parser(prog="dsan export tflite"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, type=model_reference,
                   help="trained model (.keras), or a shipped model's name (ferplus)")
    p.add_argument("--output", required=True, type=output_path(), help="folder for the .tflite files and report.json")
    p.add_argument("--data-dir", type=existing_dir, default=None,
                   help="FERPlus folder (FER2013Valid/ + label.csv); default: <repo>/../shared/datasets/ferplus, "
                        "else the embedded sample")
    p.add_argument("--saved-model", type=existing_dir, default=None,
                   help="exported SavedModel version folder to compare with (default: built in memory)")
    p.add_argument("--limit", type=positive_int(MAX_COUNT), default=None,
                   help="use only the first N validation images (default: all)")
    p.add_argument("--overwrite", action="store_true",
                   help="let the files replace ones in --output this command did not write")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


class CommandError(UserError):
    """A refusal to report in one line."""


def load_reference(saved_model):
    """The exported SavedModel's serving_default (CommandError naming the folder if there is none)."""
    import tensorflow as tf

    from dsan_tf.inference import ModelLoadError, resolve_savedmodel_dir

    try:
        directory = resolve_savedmodel_dir(saved_model)
    except ModelLoadError as err:
        raise CommandError(f"--saved-model {err}") from None
    try:
        signatures = tf.saved_model.load(str(directory)).signatures
    except Exception as err:  # TensorFlow raises many types for a broken SavedModel
        first = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise CommandError(f"--saved-model {directory}: could not load the SavedModel ({first})") from None
    if "serving_default" not in signatures:
        raise CommandError(f"--saved-model {directory}: has no serving_default signature "
                           f"(found: {', '.join(signatures) or 'none'})")
    return directory, signatures["serving_default"]


def run(args) -> int:
    import ai_edge_litert  # noqa: F401  (the [tflite] extra, checked before any work: the check runs in LiteRT)

    from dsan_tf.inference import model_files
    from dsan_tf.outputs import OutputPolicy

    # Everything is checked before the conversions, which take tens of seconds: the --output
    # folder is a TFLite export's (marked) or new/empty, and each file it will hold is claimed.
    data_dir = args.data_dir or default_data_dir()
    inputs = [*model_files(args.weights), data_dir, args.saved_model]
    with OutputPolicy(command="export tflite", flag="--output", overwrite=args.overwrite, inputs=inputs) as policy:
        policy.claim_folder(args.output, kind="tflite export")
        for name in (*FILES.values(), "labels.txt", "report.json"):
            policy.claim_file(args.output / name)
        return _export(args, data_dir, policy)


def _export(args, data_dir, policy) -> int:
    from dsan_tf.data import load_dataset
    from dsan_tf.inference import load_dsan

    def publish_bytes(path, content):
        with policy.publish(path) as tmp:
            Path(tmp).write_bytes(content)

    def publish_text(path, text):
        with policy.publish(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")

    def publish_json(report, path):
        from dsan_tf.io_utils import _jsonable

        publish_text(path, json.dumps(report, indent=2, default=_jsonable) + "\n")

    data = load_dataset("ferplus", data_dir)
    table = data.split("valid")
    if args.limit:
        table = table.iloc[:args.limit]
    model = load_dsan(args.weights)
    if args.saved_model is not None:
        saved_dir, reference = load_reference(args.saved_model)
    size = int(model.settings["image_size"])

    from dsan_tf import export

    names = export.class_names_of(model)
    if tuple(data.class_names) != tuple(names):
        print(f"warning: model classes {names} differ from FERPlus' {list(data.class_names)}; "
              "accuracy is meaningless, agreement still holds", file=sys.stderr)
    publish_text(args.output / "labels.txt", "".join(n + "\n" for n in names))

    runners, sizes, seconds = {}, {}, {}
    for name, quantize in (("float32", False), ("dynamic_range", True)):
        start = time.perf_counter()
        content = export.convert_tflite(model, quantize=quantize)
        seconds[name] = time.perf_counter() - start
        path = args.output / FILES[name]
        publish_bytes(path, content)
        sizes[name] = path.stat().st_size
        runners[name] = signature_runner(model_content=content)  # LiteRT, as a deployment runs it
        print(f"wrote {path}: {sizes[name] / 1e6:.2f} MB (converted in {seconds[name]:.0f} s)", flush=True)

    if args.saved_model is not None:
        reference_name = str(args.saved_model)
        variables = sum(f.stat().st_size for f in (saved_dir / "variables").iterdir())
    else:
        reference = export.build_serving_module(model).serving_default
        reference_name = "serving_default built in memory from --weights"
        variables = None

    labels = table["label"].to_numpy()
    print(f"evaluating {len(table)} FERPlus validation images from {data_dir} at {size}x{size} px", flush=True)
    ids, max_diff = evaluate(reference, runners, table, size, progress=not args.no_progress)

    report = {"weights": str(args.weights), "reference": reference_name, "data_dir": str(data_dir),
              "images": int(len(table)), "input": [None, size, size, 3],
              "grayscale_input": bool(model.settings.get("grayscale_input", False)),
              "reference_accuracy": float((ids["reference"] == labels).mean()),
              "saved_model_variables_bytes": variables, "models": {}}
    ok = True
    for name in runners:
        agreement = float((ids[name] == ids["reference"]).mean())
        passed = agreement >= THRESHOLDS[name]
        ok &= passed
        report["models"][name] = {
            "file": FILES[name], "bytes": sizes[name], "convert_seconds": round(seconds[name], 1),
            "top1_agreement": agreement, "threshold": THRESHOLDS[name], "passed": passed,
            "accuracy": float((ids[name] == labels).mean()), "max_abs_probability_diff": max_diff[name]}
    publish_json(report, args.output / "report.json")

    print(f"reference ({reference_name}): accuracy {report['reference_accuracy']:.2%}")
    if variables:
        print(f"SavedModel variables: {variables / 1e6:.2f} MB")
    for name, r in report["models"].items():
        print(f"{name:>13}: {r['bytes'] / 1e6:6.2f} MB  top-1 agreement {r['top1_agreement']:.2%} "
              f"({'ok' if r['passed'] else 'BELOW'} >= {r['threshold']:.1%})  accuracy {r['accuracy']:.2%}  "
              f"max |dp| {r['max_abs_probability_diff']:.2g}")
    print(f"wrote {args.output / 'report.json'}")
    return 0 if ok else 1


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("export tflite", argv)


if __name__ == "__main__":
    sys.exit(main())
