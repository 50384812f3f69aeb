"""dsan calibrate: choose and apply the post-hoc prior correction of a trained model.

    dsan calibrate --weights runs/x/model.keras --data-dir FERPLUS_DIR --output runs/x/calibration
    dsan calibrate --weights runs/x/model.keras --data-dir FERPLUS_DIR --apply 0.5 --save runs/x/model-tau0.5.keras

Scores the model once on --split (FERPlus: majority votes) and once on the mirror images of
its faces, then, for every τ of --taus, what the corrected model p_k ∝ p_k · π_k^(−τ) would
score (π: the class frequencies of the training split in the model's training labels;
dsan_tf.calibration), without and with test-time flip averaging (the mean of the corrected
probabilities of a face and its mirror image). Prints accuracy, mean class accuracy and the
worst class per τ; with --output, also writes calibration.json and calibration.png there.
With --apply τ --save FILE (and --flip-average), writes the corrected model (the same
weights; every export of it applies the correction and the flip averaging).

A model that carries a correction or flip averaging already (a shipped one, a --save of
this command) is scored without them: the table always starts from the trained weights.

The split you choose τ on is then no longer a clean test of the corrected model: choose it
on the validation split and report the held-back test split separately.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dsan_tf.errors import UserError
from dsan_tf.cli.validators import comma_list, existing_dir, float_in, model_reference, output_path, text
from dsan_tf.data.registry import DATASETS
from dsan_tf.cli import CommandParser

DEFAULT_TAUS = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0"
MAX_TAU = 10.0  # beyond, log-prior terms swamp the logits: every face gets the rarest class


_taus = comma_list(float_in(0, MAX_TAU), max_items=1000)


_tau = float_in(0, MAX_TAU)


def build_parser(prog="dsan calibrate"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, type=model_reference, help="a .keras DSAN or a shipped model's name")
    p.add_argument("--data-dir", required=True, type=existing_dir, help="the dataset folder the model was trained on")
    p.add_argument("--dataset", default="ferplus", choices=sorted(DATASETS), help="dataset reader (default ferplus)")
    p.add_argument("--label-mode", choices=("majority", "probability"), default="probability",
                   help="the training labels whose class frequencies are the priors (default probability: the "
                        "cpu preset's soft FERPlus labels)")
    p.add_argument("--split", type=text("a split name"), default="valid", help="split to score (default valid)")
    p.add_argument("--taus", type=_taus, default=DEFAULT_TAUS,
                   help=f"τ values to score, each 0 to {MAX_TAU:g} (default {DEFAULT_TAUS})")
    p.add_argument("--output", type=output_path(), default=None,
                   help="folder for calibration.json and calibration.png (default: print the table only)")
    p.add_argument("--apply", type=_tau, metavar="TAU", default=None,
                   help=f"write the model corrected with this τ (0 to {MAX_TAU:g}) to --save (default: none)")
    p.add_argument("--save", type=output_path(".keras"), default=None,
                   help="where --apply writes the corrected model (.keras) (default: none)")
    p.add_argument("--flip-average", action="store_true",
                   help="with --apply: the saved model also averages each face with its mirror image")
    p.add_argument("--overwrite", action="store_true", help="replace existing files of --output / --save")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def check_args(parser, args):
    if (args.apply is None) != (args.save is None):
        parser.error("--apply TAU and --save FILE go together")
    if args.flip_average and args.apply is None:
        parser.error("--flip-average goes with --apply TAU --save FILE (the scores cover both settings anyway)")
    if args.save is not None and args.save.suffix != ".keras":
        parser.error(f"--save {args.save}: expected a .keras file name")


def run(args):
    from dsan_tf.inference import model_files
    from dsan_tf.outputs import OutputPolicy

    inputs = [*model_files(args.weights), args.data_dir]
    with OutputPolicy("calibrate", overwrite=args.overwrite, inputs=inputs) as policy:
        if args.output is not None:  # every name is claimed before the model loads
            folder = policy.claim_folder(args.output, kind="calibration", flag="--output")
            for name in ("calibration.json", "calibration.png"):
                policy.claim_file(folder / name, flag="--output")
        if args.save is not None:
            policy.claim_file(args.save, flag="--save")
        return _calibrate(args, policy)


def _calibrate(args, policy):
    import json

    import numpy as np
    import tensorflow as tf

    from dsan_tf.calibration import adjust, class_priors, prior_scale, with_prior_correction
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.evaluation import classification_metrics, collect_outputs
    from dsan_tf.inference import load_dsan
    from dsan_tf.model import as_float32
    from dsan_tf.state_files import require_finite

    model = with_prior_correction(as_float32(load_dsan(args.weights)), None)
    names = list(model.class_names)
    dataset = args.dataset
    train = load_dataset(dataset, args.data_dir, label_mode=args.label_mode)
    if list(train.class_names) != names:
        raise UserError(f"--data-dir {args.data_dir}: classes {list(train.class_names)} differ from the model's {names}")
    priors = class_priors(np.stack(train.split("train")["target"].to_numpy()), len(names))
    scored = load_dataset(dataset, args.data_dir, label_mode="majority").split(args.split)

    from dsan_tf.cli.progress import Batches

    def scores(mirrored):
        data = make_dataset(scored, len(names), model.settings["image_size"], 64, training=False)
        if mirrored:  # NHWC: the width is axis 2 (as DSAN(flip_average=True) mirrors)
            data = data.map(lambda images, *rest: (tf.reverse(images, axis=[2]), *rest))
        what = f"scoring {args.split}" + (" (mirrored)" if mirrored else "")
        return collect_outputs(model, Batches(data, len(scored), 64, what, disable=args.no_progress),
                               keys=("probabilities",))

    if not len(scored):
        raise UserError(f"--data-dir {args.data_dir}: the {args.split} split has no images to score")
    plain, mirrored = scores(False), scores(True)
    for outputs in (plain, mirrored):  # NaN weights: a table of NaN (or of argmax-0 answers) is not a calibration
        require_finite(outputs["probabilities"], f"model {args.weights}",
                       "its probabilities",
                       "are its weights NaN or infinite?")
    labels = plain["targets"].argmax(1)
    rows = []
    for flip in (False, True):
        for tau in args.taus:
            scale = prior_scale(priors, tau)
            probabilities = adjust(plain["probabilities"], scale)
            if flip:
                probabilities = (probabilities + adjust(mirrored["probabilities"], scale)) / 2
            m = classification_metrics(labels, probabilities.argmax(1), names)
            rows.append({"tau": tau, "flip_average": flip, "accuracy": m["accuracy"],
                         "mean_class_accuracy": m["mean_class_accuracy"], "per_class_accuracy": m["per_class_accuracy"]})
    require_finite([[row["accuracy"], row["mean_class_accuracy"]] for row in rows], f"calibrate on {args.split}",
                   "the table's accuracies")
    print(f"{len(scored)} images of {args.split}; priors (training split, {args.label_mode} labels): "
          + ", ".join(f"{n} {p:.4f}" for n, p in zip(names, priors)))
    print(f"{'tau':>5} {'flip':>4} {'accuracy':>9} {'mean class':>10}  worst class")
    for row in rows:
        worst = min(row["per_class_accuracy"], key=row["per_class_accuracy"].get)
        print(f"{row['tau']:5.2f} {'yes' if row['flip_average'] else 'no':>4} {row['accuracy']:9.2%} "
              f"{row['mean_class_accuracy']:10.2%}  {worst} {row['per_class_accuracy'][worst]:.1%}")
    if args.output is not None:
        record = {"weights": str(args.weights), "split": args.split, "count": int(len(scored)),
                  "label_mode_of_priors": args.label_mode, "priors": dict(zip(names, priors.tolist())), "rows": rows}
        with policy.publish(args.output / "calibration.json") as tmp:
            Path(tmp).write_text(json.dumps(record, indent=2) + "\n")
        with policy.publish(args.output / "calibration.png") as tmp:
            _plot(rows, names, tmp)
        print(f"wrote {args.output / 'calibration.json'} and calibration.png")
    if args.apply is not None:
        corrected = with_prior_correction(model, prior_scale(priors, args.apply), flip_average=args.flip_average)
        with policy.publish(args.save) as tmp:
            corrected.save(tmp)
        print(f"wrote {args.save}: τ = {args.apply}, flip averaging {'on' if args.flip_average else 'off'}, class factors "
              + ", ".join(f"{n} {s:.3f}" for n, s in zip(names, corrected.settings["class_scale"])))
    return 0


def _plot(rows, names, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, flip in zip(axes, (False, True)):
        part = [r for r in rows if r["flip_average"] == flip]
        taus = [r["tau"] for r in part]
        ax.plot(taus, [100 * r["accuracy"] for r in part], "k-o", lw=2, label="accuracy")
        ax.plot(taus, [100 * r["mean_class_accuracy"] for r in part], "k--s", lw=2, label="mean class accuracy")
        for name in names:
            ax.plot(taus, [100 * r["per_class_accuracy"][name] for r in part], lw=1, alpha=0.7, label=name)
        ax.set_title("with test-time flip averaging" if flip else "the face as given")
        ax.set_xlabel("τ (prior correction p·π^−τ)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("% correct")
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def main(argv=None):
    from dsan_tf.cli import run_command

    return run_command("calibrate", argv)


if __name__ == "__main__":
    sys.exit(main())
