"""dsan make-sample: make a small FERPlus sample (like dsan_tf/sample_data/ferplus) from the full data.

A seeded, stratified subset of FER2013Train and FER2013Valid: a fixed number of images
per class under FERPlus' majority protocol (so all 8 classes are present in each
split), plus a few rows that the protocol drops, so readers meet real filtering. The
label.csv lines are copied verbatim, in their original order.

    dsan make-sample --source datasets/ferplus --out sample/ferplus

Both flags are required. The sample is built in a temporary folder beside --out and
renamed into place when complete: a failed run leaves a previous sample as it was, and
nothing is deleted from --source. An existing --out is replaced only when it holds a
sample this command made (or with --overwrite); never inside the installed package.
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import numpy as np

from dsan_tf.data.ferplus import LABEL_FILE, votes_to_targets
from dsan_tf.errors import UserError
from dsan_tf.cli.validators import existing_dir, non_negative_int, output_path, positive_int, seed
from dsan_tf.cli import CommandParser

SPLITS = {"FER2013Train": "train", "FER2013Valid": "valid"}


def choose(lines: list[str], per_class: int, dropped: int, rng) -> list[int]:
    rows = list(csv.reader(lines))
    votes = np.array([[float(x) for x in r[-10:]] for r in rows])
    keep, targets, _ = votes_to_targets(votes, "majority")
    labels = targets.argmax(axis=1)
    picked = []
    for k in range(8):
        candidates = np.flatnonzero(keep & (labels == k))
        if len(candidates) < per_class:
            raise UserError(f"class {k} has only {len(candidates)} rows")
        picked += rng.choice(candidates, per_class, replace=False).tolist()
    picked += rng.choice(np.flatnonzero(~keep), dropped, replace=False).tolist()
    return sorted(picked)


def build_parser(prog="dsan make-sample"):
    parser = CommandParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=existing_dir, required=True,
                        help="the full FERPlus folder (FER2013Train/, FER2013Valid/ with label.csv); required, "
                             "only read")
    parser.add_argument("--out", type=output_path(), required=True,
                        help="the sample folder to make; required. A new or empty folder, or a sample this "
                             "command made (replaced); anything else only with --overwrite")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an --out folder this command did not make (default: refuse)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the row choice (default 0)")
    parser.add_argument("--train-per-class", type=positive_int(10_000), default=36,
                        help="training images per class (default 36)")
    parser.add_argument("--valid-per-class", type=positive_int(10_000), default=12,
                        help="validation images per class (default 12)")
    parser.add_argument("--dropped", type=non_negative_int(10_000), default=6,
                        help="rows per split that the majority protocol drops (default 6)")
    return parser


def run(args) -> int:
    from dsan_tf.outputs import OutputPolicy, check_outside_package

    check_outside_package(args.out, "--out")
    for folder in SPLITS:  # every input checked before anything is written
        if not (args.source / folder / LABEL_FILE).is_file():
            raise UserError(f"--source {args.source}: has no {folder}/{LABEL_FILE}; expected the FERPlus folder")
    rng = np.random.default_rng(args.seed)
    with OutputPolicy(command="make-sample", flag="--out", overwrite=args.overwrite, inputs=[args.source]) as policy, \
            policy.publish_folder(args.out, kind="ferplus sample") as staging:
        for folder, split in SPLITS.items():
            src, dst = args.source / folder, Path(staging) / folder
            lines = (src / LABEL_FILE).read_text().splitlines()
            per_class = args.train_per_class if split == "train" else args.valid_per_class
            picked = choose(lines, per_class, args.dropped, rng)
            dst.mkdir()
            chosen = [lines[i] for i in picked]
            for line in chosen:
                name = next(csv.reader([line]))[0]
                if Path(name).name != name or name in ("", ".", ".."):
                    raise UserError(f"{src / LABEL_FILE}: image name {name!r} is not a plain file name")
                shutil.copyfile(src / name, dst / name)
            (dst / LABEL_FILE).write_text("\n".join(chosen) + "\n")
            print(f"{args.out / folder}: {len(chosen)} images")
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("make-sample", argv)


if __name__ == "__main__":
    sys.exit(main())
