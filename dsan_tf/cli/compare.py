"""dsan compare: trained runs side by side: one table of their scores, one figure of their curves.

    dsan compare runs/dsan runs/baseline
    dsan compare runs/dsan runs/baseline --labels DSAN ResNet-18 --output comparison.png

Reads each run folder's metrics.json (written when dsan train evaluates) and config.json,
and prints one Markdown table: variant, input size, epochs trained, accuracy, mean class
accuracy and each class's accuracy on the evaluated split. With --output, also draws a
figure: training accuracy and cross-entropy per epoch of every run (history.csv; dashed:
validation, where the run had a validation split) and the per-class accuracies as grouped
bars. The runs must have been scored on the same classes; they are meant to be scored on the
same split too (the table names each run's split and image count).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dsan_tf.errors import UserError
from dsan_tf.cli.validators import existing_path, output_path, text
from dsan_tf.cli import CommandParser
from dsan_tf.state_files import check_schema, read_json_state, read_run_config

# What compare needs of a run's metrics.json (null: a class absent from the evaluated split).
RUN_METRICS = {"accuracy": float, "mean_class_accuracy": float, "per_class_accuracy": dict}


def load_run(folder: Path, label: str | None = None) -> dict:
    """A run folder -> {label, folder, metrics, settings, history (DataFrame or None)}."""
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder" if not folder.exists() else
                        f"{folder}: expected a run folder (the --output of dsan train), not a file")
    metrics_path = folder / "metrics.json"
    if not metrics_path.is_file():
        raise UserError(f"{metrics_path}: missing; the run has not been evaluated (finish it with "
                        "dsan train ... --resume, or score it with --eval-only)")
    metrics = read_json_state(metrics_path, RUN_METRICS, what="a run's metrics",
                              hint="score the run again with dsan train --eval-only")
    for key, value in [("accuracy", metrics["accuracy"]), ("mean_class_accuracy", metrics["mean_class_accuracy"]),
                       *((f"per_class_accuracy.{k}", v) for k, v in metrics["per_class_accuracy"].items())]:
        if value is not None and check_schema(value, float):  # null: a class absent from the evaluated split
            raise UserError(f"{metrics_path} (a run's metrics): {key} is {value!r}, not a number; "
                            "score the run again with dsan train --eval-only")
        if value is not None and not 0 <= value <= 1:  # a percentage, or damage: 7.0 would print as 700 %
            raise UserError(f"{metrics_path} (a run's metrics): {key} is {value}, not an accuracy in [0, 1]; "
                            "score the run again with dsan train --eval-only")
    settings = read_run_config(folder)["settings"] if (folder / "config.json").is_file() else {}
    return {"label": label or folder.resolve().name, "folder": folder, "metrics": metrics,
            "settings": settings, "history": _history(folder / "history.csv")}


def _history(path: Path):
    """The run's per-epoch log (pandas), None if it has none; a damaged one is named."""
    if not path.is_file():
        return None
    import pandas as pd

    from dsan_tf.plots import read_history

    history = read_history(path)
    if "accuracy" not in history.columns:
        raise UserError(f"{path} (a run's training history): no column 'accuracy'; expected dsan train's history.csv")
    numeric = [c for c in history.columns if c == "epoch" or c.endswith(("accuracy", "loss"))]
    bad = [c for c in numeric if not pd.api.types.is_numeric_dtype(history[c])]
    if bad:
        raise UserError(f"{path}: column {bad[0]!r} holds non-numbers; expected dsan train's history.csv")
    return history


def class_names_of(runs: list[dict]) -> list[str]:
    """The classes every run was scored on (in the first run's order); refuses runs that differ."""
    names = list(runs[0]["metrics"]["per_class_accuracy"])
    for run in runs[1:]:
        other = list(run["metrics"]["per_class_accuracy"])
        if set(other) != set(names):
            raise UserError(f"{run['folder']}: scored on classes {other}, {runs[0]['folder']} on {names}; "
                            "only runs of the same classes compare")
    return names


def format_table(runs: list[dict], names: list[str]) -> str:
    from dsan_tf.plots import percent

    header = ["run", "variant", "input", "epochs", "split (images)", "accuracy", "mean class", *names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs:
        m, s = run["metrics"], run["settings"]
        epochs = (m.get("training") or {}).get("epochs_completed", s.get("epochs", "?"))
        size = f"{s['image_size']} px" if s.get("image_size") else "?"
        cells = [run["label"], str(s.get("variant", "?")), size, str(epochs),
                 f"{m.get('split', '?')} ({m.get('count', '?')})",
                 percent(m["accuracy"]), percent(m["mean_class_accuracy"]),
                 *(percent(m["per_class_accuracy"][n], 1, unit="") for n in names)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_parser(prog="dsan compare"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=existing_path, help="run folders (the --output of dsan train), evaluated")
    p.add_argument("--labels", nargs="+", type=text("a name"), default=None,
                   help="a name for each run in the table and figure (default: folder names)")
    p.add_argument("--output", type=output_path(".png"), default=None,
                   help="also draw the comparison figure into this .png file (default: the table only)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    return p


def check_args(parser, args):
    if args.labels is not None and len(args.labels) != len(args.runs):
        parser.error(f"--labels: {len(args.labels)} names for {len(args.runs)} runs; give one per run")
    if args.output is not None and args.output.suffix.lower() != ".png":
        parser.error(f"--output {args.output}: expected a .png file name")


def run(args) -> int:
    from dsan_tf.outputs import OutputPolicy

    labels = args.labels or [None] * len(args.runs)
    runs = [load_run(folder, label) for folder, label in zip(args.runs, labels)]
    names = class_names_of(runs)
    table = format_table(runs, names)
    if args.output is None:
        print(table)
        return 0
    inputs = [run["folder"] / name for run in runs for name in ("metrics.json", "config.json", "history.csv")]
    with OutputPolicy("compare", overwrite=args.overwrite, inputs=inputs) as policy:
        policy.claim_file(args.output, flag="--output")
        from dsan_tf.plots import plot_run_comparison

        with policy.publish(args.output) as tmp:
            plot_run_comparison(runs, names, tmp)
    print(table)
    missing = [run["label"] for run in runs if run["history"] is None]
    print(f"wrote {args.output}" + (f" (no history.csv, so no curves, for: {', '.join(missing)})" if missing else ""))
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("compare", argv)


if __name__ == "__main__":
    sys.exit(main())
