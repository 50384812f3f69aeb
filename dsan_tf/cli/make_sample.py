"""dsan make-sample: make the embedded FERPlus sample (dsan_tf/sample_data/ferplus) from the full data.

A seeded, stratified subset of FER2013Train and FER2013Valid: a fixed number of images
per class under FERPlus' majority protocol (so all 8 classes are present in each
split), plus a few rows that the protocol drops, so readers meet real filtering. The
label.csv lines are copied verbatim, in their original order.

    dsan make-sample --source ../shared/datasets/ferplus
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

import numpy as np

from dsan_tf.data.ferplus import LABEL_FILE, votes_to_targets
from dsan_tf.errors import UserError

PACKAGE = Path(__file__).resolve().parents[1]  # dsan_tf/

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
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=PACKAGE.parent.parent / "shared" / "datasets" / "ferplus")
    parser.add_argument("--out", type=Path, default=PACKAGE / "sample_data/ferplus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-per-class", type=int, default=36)
    parser.add_argument("--valid-per-class", type=int, default=12)
    parser.add_argument("--dropped", type=int, default=6,
                        help="rows per split that the majority protocol drops")
    return parser


def run(args) -> int:
    rng = np.random.default_rng(args.seed)
    for folder, split in SPLITS.items():
        src, dst = args.source / folder, args.out / folder
        lines = (src / LABEL_FILE).read_text().splitlines()
        per_class = args.train_per_class if split == "train" else args.valid_per_class
        picked = choose(lines, per_class, args.dropped, rng)
        if dst.exists():
            shutil.rmtree(dst)
        dst.mkdir(parents=True)
        chosen = [lines[i] for i in picked]
        for line in chosen:
            name = next(csv.reader([line]))[0]
            shutil.copyfile(src / name, dst / name)
        (dst / LABEL_FILE).write_text("\n".join(chosen) + "\n")
        print(f"{dst}: {len(chosen)} images")
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("make-sample", argv)


if __name__ == "__main__":
    sys.exit(main())
