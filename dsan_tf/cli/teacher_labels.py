"""dsan teacher-labels: the training faces' probabilities under one or more trained models, for distillation.

    dsan teacher-labels --weights runs/a/model.keras runs/b/model.keras --data-dir FERPLUS_DIR --output teacher.npz
    dsan train --dataset ferplus --data-dir FERPLUS_DIR --teacher-labels teacher.npz --teacher-weight 0.5 ...

Scores every face of --split (default train) with each --weights model, on the face as given and on
its mirror image (averaged; --no-flip-average scores the face only), averages the teachers, and
softens the mean with --temperature T (p ** (1/T), renormalised: softmax(log p / T); T = 1 keeps it).
A model's prior correction (dsan calibrate --apply, a shipped model's τ) is left out: the teachers'
own probabilities are the targets. Each model scores the faces at its own input size. Writes an .npz
of the faces' names and probabilities (and the class names and teachers), and prints each teacher's
and the ensemble's agreement with the split's labels. dsan_tf/distillation.py says how dsan train uses it.

Distil only from models trained on the training split: the labels of the faces you tune on (the
validation split) must not reach the student through a teacher either.
"""

from __future__ import annotations

import argparse
import sys

from dsan_tf.cli import CommandParser
from dsan_tf.cli.validators import existing_dir, float_in, model_reference, output_path, positive_int, text
from dsan_tf.data.registry import DATASETS
from dsan_tf.errors import UserError

MAX_TEMPERATURE = 100.0


def build_parser(prog="dsan teacher-labels"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, nargs="+", type=model_reference,
                   help="the teachers: trained .keras models or shipped models' names (their probabilities are averaged)")
    p.add_argument("--data-dir", required=True, type=existing_dir, help="the dataset folder the student trains on")
    p.add_argument("--dataset", default="ferplus", choices=sorted(DATASETS), help="dataset reader (default ferplus)")
    p.add_argument("--split", type=text("a split name"), default="train", help="split to score (default train)")
    p.add_argument("--label-mode", choices=("majority", "probability"), default="probability",
                   help="FERPlus: the faces of the split as the student's dsan train --label-mode reads them (majority "
                        "drops faces without a majority vote) (default probability: the cpu presets')")
    p.add_argument("--temperature", type=float_in(0, MAX_TEMPERATURE, open_low=True), default=1.0,
                   help=f"softening T of the averaged probabilities, > 0 and <= {MAX_TEMPERATURE:g} "
                        "(default 1: as the teachers give them)")
    p.add_argument("--flip-average", action=argparse.BooleanOptionalAction, default=True,
                   help="average each face with its mirror image (default: on)")
    p.add_argument("--batch-size", type=positive_int(4096), default=64, help="faces per batch (default 64)")
    p.add_argument("--output", required=True, type=output_path(".npz"), help="the .npz to write")
    p.add_argument("--overwrite", action="store_true", help="replace --output if this command wrote it before")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args):
    from dsan_tf.inference import model_files
    from dsan_tf.outputs import OutputPolicy

    inputs = [path for weights in args.weights for path in model_files(weights)] + [args.data_dir]
    with OutputPolicy("teacher-labels", overwrite=args.overwrite, inputs=inputs) as policy:
        policy.claim_file(args.output, flag="--output")  # before any model loads
        return _teacher_labels(args, policy)


def _teacher_labels(args, policy):
    import numpy as np

    from dsan_tf.calibration import with_prior_correction
    from dsan_tf.cli.progress import Batches
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.distillation import soften
    from dsan_tf.evaluation import collect_outputs
    from dsan_tf.inference import load_dsan
    from dsan_tf.model import as_float32
    from dsan_tf.state_files import require_finite

    data = load_dataset(args.dataset, args.data_dir, label_mode=args.label_mode)
    faces = data.split(args.split)
    if not len(faces):
        raise UserError(f"--data-dir {args.data_dir}: the {args.split} split has no faces to score")
    names = list(data.class_names)
    labels = faces["label"].to_numpy()
    per_teacher = []
    for index, weights in enumerate(args.weights, 1):
        model = with_prior_correction(as_float32(load_dsan(weights)), None, flip_average=args.flip_average)
        if list(model.class_names) != names:
            raise UserError(f"--weights {weights}: classes {list(model.class_names)} differ from the dataset's {names}")
        size = model.settings["image_size"]
        batches = make_dataset(faces, len(names), size, args.batch_size, training=False)
        what = f"teacher {index}/{len(args.weights)} on {args.split}"
        probabilities = collect_outputs(model, Batches(batches, len(faces), args.batch_size, what,
                                                       disable=args.no_progress), keys=("probabilities",))["probabilities"]
        require_finite(probabilities, f"model {weights}", "its probabilities", "are its weights NaN or infinite?")
        per_teacher.append(probabilities)
        print(f"teacher {index} {weights} ({size} px): agrees with {np.mean(probabilities.argmax(1) == labels):.2%} "
              f"of the {args.split} labels")
    mean = np.mean(per_teacher, axis=0)
    targets = soften(mean, args.temperature)
    print(f"ensemble of {len(per_teacher)}: agrees with {np.mean(mean.argmax(1) == labels):.2%}; "
          f"mean top probability {targets.max(1).mean():.3f} at T = {args.temperature:g}")
    with policy.publish(args.output) as tmp, open(tmp, "wb") as stream:  # an open file: savez adds no suffix
        np.savez(stream, name=faces["name"].astype(str).to_numpy(dtype=str), probabilities=targets,
                 class_names=np.array(names, dtype=str), teachers=np.array([str(w) for w in args.weights], dtype=str))
    print(f"wrote {args.output}: {len(faces)} faces of {args.split}, {len(names)} classes")
    return 0


def main(argv=None):
    from dsan_tf.cli import run_command

    return run_command("teacher-labels", argv)


if __name__ == "__main__":
    sys.exit(main())
