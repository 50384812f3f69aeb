#!/usr/bin/env python
"""dsan table4: Table 4 of the paper (occlusion and head-pose accuracy) for evaluated runs, beside the paper.

    dsan table4 RUN_DIR [RUN_DIR ...]

Reads the "subsets" entry of each run's metrics.json (written by dsan train with
--subset NAME=LIST, after training or with --eval-only) and prints one Markdown table with
a block per dataset the runs have: (a) RAF-DB, (b) FERPlus, (c) AffectNet (-7 or -8: the
paper does not say which). Subsets go to Table 4's columns by NAME: occlusion, pose30,
pose45 (case and '_', '-', '>' ignored); other names are listed under the table. Each cell
gives the run's accuracy (%) and how many images it covers, of the distinct images in
RAN's list for that dataset.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from dsan_tf.errors import UserError
from dsan_tf.cli.validators import existing_path
from dsan_tf.cli import CommandParser
from dsan_tf.state_files import check_schema, read_json_state

# What table4 needs of a run's metrics.json (its subsets are checked one by one).
TABLE4_METRICS = {"dataset": str, "split": str, "subsets?": dict}

COLUMNS = ("occlusion", "pose30", "pose45")
HEADERS = ("occlusion", "pose > 30°", "pose > 45°")

# dataset -> (Table 4 block, distinct images in RAN's three lists, {method: paper accuracy})
PAPER = {
    "rafdb": ("(a) RAF-DB", (734, 1247, 558),
              {"DSAN": (85.31, 89.57, 89.43), "ResNet-18": (80.19, 84.04, 83.15)}),
    "ferplus": ("(b) FERPlus", (605, 1170, 633),
                {"DSAN": (86.61, 89.83, 89.42), "ResNet-18": (73.33, 78.11, 75.50)}),
    "affectnet": ("(c) AffectNet", (683, 1944, 983),
                  {"DSAN": (62.66, 60.80, 61.32), "ResNet-18": (49.48, 50.10, 48.50)}),
}


def column_of(subset_name: str) -> str | None:
    """'Pose_30' -> 'pose30'; None for a name that is not one of Table 4's columns."""
    key = re.sub(r"[\s_\->°]", "", subset_name.lower())
    return key if key in COLUMNS else None


def paper_key(dataset: str) -> str:
    """metrics.json's dataset ('affectnet7', ...) -> the block of Table 4 it belongs to."""
    return "affectnet" if dataset.startswith("affectnet") else dataset


def load_run(path: Path) -> dict:
    metrics_path = path / "metrics.json" if path.is_dir() else path
    if not metrics_path.is_file():
        raise UserError(f"{metrics_path}: no metrics.json (evaluate with dsan train first)")
    metrics = read_json_state(metrics_path, TABLE4_METRICS, what=f"the metrics of run {path}",
                              hint="evaluate the run again with dsan train --eval-only")
    for name, subset in (metrics.get("subsets") or {}).items():
        problem = check_schema(subset, {"accuracy": (float, None), "count": int}, f"subsets.{name}")
        if problem is None and subset["accuracy"] is not None and not 0 <= subset["accuracy"] <= 1:
            problem = f"subsets.{name}.accuracy is {subset['accuracy']}, not an accuracy in [0, 1]"
        if problem:
            raise UserError(f"{metrics_path} (the metrics of run {path}): {problem}; "
                            "evaluate the run again with dsan train --eval-only")
    if not metrics.get("subsets"):
        raise UserError(f"{metrics_path} has no subsets: evaluate with --subset occlusion=LIST "
                 "--subset pose30=LIST --subset pose45=LIST (docs/training.md, \"Commands\")")
    return {"run": str(path), **metrics}


def cell(subset: dict | None, listed: int | None) -> str:
    if not subset or subset.get("accuracy") is None:
        return "—"
    of = f" of {listed}" if listed else ""
    return f"{100 * subset['accuracy']:.2f} ({subset['count']}{of})"


def run_row(block: str, run: dict, listed) -> str:
    by_column = {column_of(name): sub for name, sub in run["subsets"].items() if column_of(name)}
    cells = [cell(by_column.get(column), n) for column, n in zip(COLUMNS, listed)]
    label = f"this run: {run['run']} ({run['dataset']}, {run['split']} split)"
    return f"| {block} | {label} | " + " | ".join(cells) + " |"


def format_table(runs: list[dict]) -> str:
    """Markdown: per dataset, each run's row, then the paper's DSAN and ResNet-18 rows."""
    lines = ["| Table 4 | method | " + " | ".join(HEADERS) + " |", "|---|---|---|---|---|"]
    datasets = {paper_key(run["dataset"]) for run in runs}
    for key in [k for k in PAPER if k in datasets] + sorted(datasets - set(PAPER)):
        block, listed, paper = PAPER.get(key, (key, (None, None, None), {}))
        for i, run in enumerate(r for r in runs if paper_key(r["dataset"]) == key):
            lines.append(run_row(block if i == 0 else "", run, listed))
        for method, values in paper.items():
            lines.append(f"| | paper: {method} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    others = [f"{run['run']}: subset {name!r} is not a Table 4 column: {cell(sub, None)}"
              for run in runs for name, sub in run["subsets"].items() if not column_of(name)]
    return "\n".join(lines + ([""] + others if others else []))


def build_parser(prog="dsan table4"):
    parser = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=existing_path, help="run directories (or metrics.json files)")
    return parser


def run(args) -> int:
    print(format_table([load_run(path) for path in args.runs]))
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("table4", argv)


if __name__ == "__main__":
    sys.exit(main())
