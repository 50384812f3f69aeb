#!/usr/bin/env python
"""Turn a trained run into a model shipped inside the package (dsan_tf.pretrained.load(NAME)).

    python experiments/ship_model.py --run ~/runs/best --name ferplus --data-dir ../shared/datasets/ferplus

Writes NAME.json + NAME.weights.npz (float16 weights, sha256 recorded) into --output
(default: dsan_tf/pretrained_models/), then scores the float32 model and the float16 copy
on the FERPlus validation split (majority protocol) and records both accuracies and how
often their predictions agree in NAME.json. Refuses an agreement below --min-agreement.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dsan_tf.pretrained import SHIPPED_DIR  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, type=Path, help="run directory holding model.keras, config.json, metrics.json")
    p.add_argument("--name", default="ferplus", help="name of the shipped model (default ferplus)")
    p.add_argument("--data-dir", required=True, type=Path, help="FERPlus folder: its validation split is scored")
    p.add_argument("--split", default="valid", help="split to score and compare on (default valid)")
    p.add_argument("--output", type=Path, default=SHIPPED_DIR, help=f"where to write (default {SHIPPED_DIR})")
    p.add_argument("--min-agreement", type=float, default=0.999,
                   help="least share of images on which float16 and float32 predictions agree (default 0.999)")
    return p.parse_args(argv)


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        sys.exit(f"error: {path}: {err}")


def main(argv=None):
    args = parse_args(argv)
    model_path = args.run / "model.keras"
    for needed in (model_path, args.run / "config.json", args.run / "metrics.json"):
        if not needed.is_file():
            sys.exit(f"error: {needed}: not found; --run must be a finished training run")
    config, metrics = _read_json(args.run / "config.json"), _read_json(args.run / "metrics.json")

    from dsan_tf import pretrained
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.evaluation import collect_outputs, evaluate_outputs
    from dsan_tf.inference import ModelLoadError, load_dsan
    from dsan_tf.model import as_float32

    try:
        model = as_float32(load_dsan(model_path))
    except ModelLoadError as err:
        sys.exit(f"error: {err}")
    data = load_dataset(config["settings"]["dataset"], args.data_dir, label_mode="majority")
    table = data.split(args.split)
    dataset = make_dataset(table, data.num_classes, model.settings["image_size"], 64, training=False)

    provenance = {
        "run": str(args.run),
        "settings": config["settings"],
        "versions": config.get("versions"),
        "training": metrics.get("training"),
    }
    json_path, weights_path = pretrained.pack(model, args.name, args.output, provenance)
    shipped = pretrained.load(args.name, args.output)
    scores = {}
    for label, candidate in (("float32", model), ("float16", shipped)):
        outputs = collect_outputs(candidate, dataset)
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
    from dsan_tf.io_utils import write_json

    write_json(record, json_path)
    print(f"{weights_path} ({weights_path.stat().st_size / 2**20:.1f} MB), sha256 {record['sha256'][:16]}...")
    print(f"{args.split}: float32 {record['evaluation']['float32_accuracy']:.2%}, "
          f"float16 {record['evaluation']['float16_accuracy']:.2%}, agreement {agreement:.4%} of {len(table)} images")
    if agreement < args.min_agreement:
        sys.exit(f"error: float16 and float32 predictions agree on {agreement:.4%} < --min-agreement {args.min_agreement}")


if __name__ == "__main__":
    main()
