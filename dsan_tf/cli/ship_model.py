#!/usr/bin/env python
"""dsan ship: turn a trained run into a shipped model (float16 weights + record; dsan_tf.pretrained.load(NAME, FOLDER)).

    dsan ship --run ~/runs/best --name ferplus --data-dir ~/data/ferplus --output shipped
    dsan ship --run ~/runs/best --model ~/runs/best/model-tau0.3-flip.keras --data-dir ~/data/ferplus --output shipped

The package's own model is updated by copying the pair into dsan_tf/pretrained_models/ of a
source checkout; the command never writes inside an installed package.

--model ships a model derived from the run's (dsan calibrate --apply TAU [--flip-average] --save
FILE: the same weights with a prior correction and/or test-time flip averaging) with the run's
provenance; it must carry the weights of the run's model.keras.

Writes NAME.json + NAME.weights.npz (float16 weights, sha256 recorded) into --output (a
folder of your own, required; never inside the installed package: pretrained.load(NAME,
FOLDER) reads it), then scores the float32 model and the float16 copy
on the FERPlus validation split (majority protocol) and records both accuracies and how
often their predictions agree in NAME.json. Refuses an agreement below --min-agreement.

Nothing is written until everything has been checked and scored: the pair is packed into a
temporary folder beside --output (with hard links to the other files already in --output),
scored from there, and swapped with --output in one rename only when the agreement check
passes. A refused agreement, an error or a kill leaves the old folder as it was: never a new
NAME.weights.npz beside an old NAME.json. Existing NAME.json /
NAME.weights.npz in --output are replaced only when they are a shipped model pair this
command wrote (NAME.json a shipped-model record of that name whose sha256 matches
NAME.weights.npz), which is how a new model replaces the package's own; any other file of
those names is kept unless --overwrite.
"""

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from dsan_tf.errors import UserError
from dsan_tf.cli import CommandParser
from dsan_tf.cli.validators import custom, existing_dir, existing_file, output_path, probability, text


def _plain_name(name):
    try:
        check_name(name)
    except UserError:
        return None
    return name


model_name = custom("name", "a plain file name stem (no folder, not '.', '..', hidden or empty)", _plain_name)


def build_parser(prog="dsan ship"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=existing_dir,
                   help="run directory holding model.keras, config.json, metrics.json")
    p.add_argument("--model", type=existing_file, default=None,
                   help="ship this .keras instead of RUN/model.keras: the run's model with its inference settings "
                        "changed (dsan calibrate --apply ... --save FILE); its weights must be the run's "
                        "(default: RUN/model.keras)")
    p.add_argument("--name", type=model_name, default="ferplus", help="name of the shipped model (default ferplus)")
    p.add_argument("--data-dir", required=True, type=existing_dir, help="FERPlus folder: its validation split is scored")
    p.add_argument("--split", type=text("a split name"), default="valid",
                   help="split to score and compare on (default valid)")
    p.add_argument("--output", type=output_path(), required=True,
                   help="folder to write NAME.json and NAME.weights.npz into (required; not inside the installed "
                        "package)")
    p.add_argument("--min-agreement", type=probability, default=0.999,
                   help="least share of images on which float16 and float32 predictions agree (default 0.999)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace NAME.json / NAME.weights.npz in --output even when they are not a shipped "
                        "model pair written by this command")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def check_name(name):
    """UserError unless --name is a plain file name stem (no folder, not '.', '..' or empty)."""
    if (not name or name.strip() != name or name in (".", "..") or "/" in name or "\\" in name
            or "\0" in name or name.startswith(".")):
        raise UserError(f"--name {name!r}: expected a plain name such as ferplus (no '/', no leading '.', "
                        "not empty)")


def is_shipped_pair(directory, name):
    """Whether NAME.json and NAME.weights.npz in ``directory`` are a pair this command wrote:
    the json a shipped-model record of ``name`` naming the weights file, whose sha256 matches."""
    from dsan_tf import pretrained

    json_path = Path(directory) / f"{name}.json"
    weights_path = Path(directory) / f"{name}{pretrained.WEIGHTS_SUFFIX}"
    try:
        record = json.loads(json_path.read_text())
    except FileNotFoundError:
        return not os.path.lexists(weights_path)  # a lone weights file is not a pair this command wrote
    except (OSError, ValueError):
        return False
    if not (isinstance(record, dict) and record.get("name") == name
            and record.get("weights_file") == weights_path.name and isinstance(record.get("sha256"), str)
            and isinstance(record.get("config"), dict)):
        return False
    if not weights_path.exists():
        return True
    try:
        return weights_path.is_file() and pretrained.sha256(weights_path) == record["sha256"]
    except OSError:
        return False


def _read_json(path):
    from dsan_tf.state_files import read_json_state

    return read_json_state(path, dict, what="a file of the run to ship", hint="--run must be a finished training run")


def run(args):
    check_name(args.name)
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise UserError(f"--data-dir {args.data_dir}: "
                        + ("is not a folder" if args.data_dir.exists() else "no such folder"))
    model_path = args.run / "model.keras"
    for needed in (model_path, args.run / "config.json", args.run / "metrics.json"):
        if not needed.is_file():
            raise UserError(f"{needed}: not found; --run must be a finished training run")
    if args.model is not None and not args.model.is_file():
        raise UserError(f"--model {args.model}: "
                        + ("not a file; expected a .keras model" if args.model.exists() else "not found"))
    config, metrics = _read_json(args.run / "config.json"), _read_json(args.run / "metrics.json")
    if not isinstance(config, dict) or not isinstance(config.get("settings"), dict) \
            or "dataset" not in config["settings"]:
        raise UserError(f"{args.run / 'config.json'}: has no settings.dataset; --run must be a finished training run")
    if not isinstance(metrics, dict):
        raise UserError(f"{args.run / 'metrics.json'}: expected a JSON object; --run must be a finished training run")

    from dsan_tf import pretrained
    from dsan_tf.io_utils import write_json
    from dsan_tf.outputs import MARKER, OutputPolicy, check_outside_package

    check_outside_package(args.output)
    if args.output.is_dir():
        folders = sorted(p.name for p in args.output.iterdir() if p.is_dir() and p.name != MARKER)
        if folders:
            raise UserError(f"--output {args.output}: holds folders ({', '.join(folders[:3])}); ship writes a folder "
                            "of model files only: pick another --output")
    pair = {f"{args.name}.json", f"{args.name}{pretrained.WEIGHTS_SUFFIX}"}
    if not (args.overwrite or is_shipped_pair(args.output, args.name)):
        taken = sorted(name for name in pair if os.path.lexists(args.output / name))
        raise UserError(f"--output {args.output}: {taken[0]} exists and is not a model pair this command shipped; "
                        "pass --overwrite to replace it, or pick another --name or --output")
    policy = OutputPolicy(command="ship", flag="--output", overwrite=args.overwrite,
                          inputs=[args.run, args.data_dir] + ([args.model] if args.model is not None else []))
    # The folder is claimed (checked, locked) before anything is loaded or scored; the new pair and
    # the folder's other files are staged beside it and swapped in together.
    with policy, policy.publish_folder(args.output, kind="shipped models", accept=lambda _folder: True) as staging:
        staging = Path(staging)
        for entry in sorted(args.output.iterdir()) if args.output.is_dir() else []:
            if entry.name not in pair and entry.name != MARKER and entry.is_file():
                try:
                    os.link(entry, staging / entry.name)
                except OSError:  # a file system without hard links
                    shutil.copy2(entry, staging / entry.name)
        record = _ship(args, config, metrics, model_path, staging)
        write_json(record, staging / f"{args.name}.json")
    weights_out = args.output / f"{args.name}{pretrained.WEIGHTS_SUFFIX}"
    print(f"wrote {weights_out} ({weights_out.stat().st_size / 2**20:.1f} MB), sha256 {record['sha256'][:16]}... "
          f"and {args.output / f'{args.name}.json'}")
    return 0


def _ship(args, config, metrics, model_path, staging):
    """Pack into ``staging``, score, check the agreement; the record to write as NAME.json."""
    from dsan_tf import pretrained
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.evaluation import collect_outputs, evaluate_outputs
    from dsan_tf.inference import load_dsan
    from dsan_tf.model import as_float32

    data = load_dataset(config["settings"]["dataset"], args.data_dir, label_mode="majority")
    try:
        table = data.split(args.split)
    except (KeyError, ValueError) as err:
        raise UserError(f"--split {args.split}: {err}") from None
    model = as_float32(load_dsan(model_path))
    if args.model is not None:
        model = _derived_model(args.model, model, model_path)
    dataset = make_dataset(table, data.num_classes, model.settings["image_size"], 64, training=False)

    provenance = {
        "run": str(args.run),
        **({"model": str(args.model), "inference": {k: model.settings[k] for k in ("class_scale", "flip_average")
                                                    if k in model.settings}} if args.model is not None else {}),
        "settings": config["settings"],
        "versions": config.get("versions"),
        "training": metrics.get("training"),
    }
    json_path, weights_path = pretrained.pack(model, args.name, staging, provenance)
    shipped = pretrained.load(args.name, staging)
    scores = {}
    for label, candidate in (("float32", model), ("float16", shipped)):
        from dsan_tf.cli.progress import Batches

        batches = Batches(dataset, len(table), 64, f"scoring {label}", disable=args.no_progress)
        outputs = collect_outputs(candidate, batches)
        scores[label] = (outputs["probabilities"].argmax(1), evaluate_outputs(outputs, list(data.class_names)))
    agreement = float((scores["float32"][0] == scores["float16"][0]).mean())
    record = json.loads(json_path.read_text())
    record["evaluation"] = {
        "dataset": config["settings"]["dataset"],
        "split": args.split,
        "label_mode": "majority",
        "count": int(len(table)),
        "float16_float32_agreement": agreement,
        **{f"{label}_{key}": value[1][key] for label, value in scores.items()
           for key in ("accuracy", "mean_class_accuracy")},
        "per_class_accuracy": scores["float16"][1]["per_class_accuracy"],
        "confusion_matrix": scores["float16"][1]["confusion_matrix"],
    }
    print(f"{args.split}: float32 {record['evaluation']['float32_accuracy']:.2%}, "
          f"float16 {record['evaluation']['float16_accuracy']:.2%}, agreement {agreement:.4%} of {len(table)} images")
    if agreement < args.min_agreement:
        raise UserError(f"float16 and float32 predictions agree on {agreement:.4%} < --min-agreement "
                        f"{args.min_agreement}; nothing was written to --output")
    return record


def _derived_model(path, run_model, run_model_path):
    """The float32 model of --model, checked to hold the weights of the run's model."""
    import numpy as np

    from dsan_tf.inference import load_dsan
    from dsan_tf.model import as_float32

    model = as_float32(load_dsan(path))
    mine, theirs = model.get_weights(), run_model.get_weights()
    if len(mine) != len(theirs) or any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(mine, theirs)):
        raise UserError(f"--model {path}: its weights are not those of {run_model_path}; ship a model derived "
                        "from this run (dsan calibrate --weights RUN/model.keras --apply TAU --save FILE)")
    return model


def main(argv=None):
    from dsan_tf.cli import run_command

    return run_command("ship", argv)


if __name__ == "__main__":
    sys.exit(main())
