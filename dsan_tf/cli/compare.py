"""dsan compare: trained runs side by side: one table of their scores, one figure of their curves.

    dsan compare runs/dsan runs/baseline
    dsan compare runs/dsan runs/baseline --labels DSAN ResNet-18 --output comparison.png
    dsan compare runs/dsan runs/baseline runs/still-training --epochs 8 --output first8.png

Reads each run folder's metrics.json (written when dsan train evaluates), config.json and
history.csv, and prints one Markdown table: variant, input size, epochs trained, training
accuracy at the last epoch shown, accuracy, mean class accuracy and each class's accuracy on the
evaluated split. A run that has not been evaluated yet (still training, or stopped) is compared
by its history.csv alone: its scores are dashes. With --epochs N, the curves and the training
accuracy stop at epoch N, so that runs of different lengths compare over the same epochs (a run
shorter than N shows its last epoch, and its cell says which). With
--output, also draws a figure: training accuracy and cross-entropy per epoch of every run
(history.csv; dashed: validation, where the run had a validation split) and the per-class
accuracies of the evaluated runs as grouped bars. The evaluated runs must have been scored on
the same classes; they are meant to be scored on the same split too (the table names each
run's split and image count).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dsan_tf.errors import UserError
from dsan_tf.cli.validators import existing_path, output_path, positive_int, text
from dsan_tf.cli import CommandParser
from dsan_tf.state_files import check_schema, read_json_state, read_run_config

# What compare needs of a run's metrics.json (null: a class absent from the evaluated split).
RUN_METRICS = {"accuracy": float, "mean_class_accuracy": float, "per_class_accuracy": dict}


def load_run(folder: Path, label: str | None = None, epochs: int | None = None) -> dict:
    """A run folder -> {label, folder, metrics (None: not evaluated yet), settings, history (DataFrame
    or None; its first ``epochs`` epochs when given)}."""
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder" if not folder.exists() else
                        f"{folder}: expected a run folder (the --output of dsan train), not a file")
    history = _history(folder / "history.csv", epochs)
    metrics_path = folder / "metrics.json"
    if not metrics_path.is_file():
        if history is None:
            raise UserError(f"{metrics_path}: missing, and no history.csv beside it: nothing to compare "
                            "(the run has neither finished an epoch nor been evaluated)")
        metrics = None  # still training, or stopped: compared by its curves
    else:
        metrics = _metrics(metrics_path)
    settings = read_run_config(folder)["settings"] if (folder / "config.json").is_file() else {}
    return {"label": label or folder.resolve().name, "folder": folder, "metrics": metrics,
            "settings": settings, "history": history}


def _metrics(metrics_path: Path) -> dict:
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
    return metrics


def _history(path: Path, epochs: int | None = None):
    """The run's per-epoch log (pandas; its first ``epochs`` epochs), None if it has none; a damaged one is named."""
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
    if epochs is not None:  # history.csv counts epochs from 0
        history = history[history["epoch"] < epochs].reset_index(drop=True)
    return history


def class_names_of(runs: list[dict]) -> list[str]:
    """The classes every evaluated run was scored on (in the first one's order); refuses runs that differ."""
    runs = [run for run in runs if run["metrics"] is not None]
    if not runs:
        return []
    names = list(runs[0]["metrics"]["per_class_accuracy"])
    for run in runs[1:]:
        other = list(run["metrics"]["per_class_accuracy"])
        if set(other) != set(names):
            raise UserError(f"{run['folder']}: scored on classes {other}, {runs[0]['folder']} on {names}; "
                            "only runs of the same classes compare")
    return names


def format_table(runs: list[dict], names: list[str], epochs: int | None = None) -> str:
    from dsan_tf.plots import percent

    trained_at = "train acc." if epochs is None else f"train acc. (epoch {epochs})"
    header = ["run", "variant", "input", "epochs", trained_at, "split (images)", "accuracy", "mean class", *names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs:
        m, s, log = run["metrics"], run["settings"], run["history"]
        size = f"{s['image_size']} px" if s.get("image_size") else "?"
        # training accuracy at the last epoch shown (the --epochs cut, or the run's last)
        trained = percent(float(log["accuracy"].iloc[-1])) if log is not None and len(log) else "—"
        if epochs is not None and log is not None and 0 < len(log) < epochs:  # the header's epoch is not this run's
            trained += f" (epoch {int(log['epoch'].iloc[-1]) + 1})"
        if m is None:  # not evaluated: what it has trained so far, no scores
            trained_for = f"{len(log)} (not evaluated)"
            scores = ["—", "—", "—", *("—" for _ in names)]
        else:
            trained_for = str((m.get("training") or {}).get("epochs_completed", s.get("epochs", "?")))
            scores = [f"{m.get('split', '?')} ({m.get('count', '?')})",
                      percent(m["accuracy"]), percent(m["mean_class_accuracy"]),
                      *(percent(m["per_class_accuracy"][n], 1, unit="") for n in names)]
        cells = [run["label"], str(s.get("variant", "?")), size, trained_for, trained, *scores]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_parser(prog="dsan compare"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=existing_path,
                   help="run folders (the --output of dsan train); one not evaluated yet is compared by its history.csv")
    p.add_argument("--labels", nargs="+", type=text("a name"), default=None,
                   help="a name for each run in the table and figure (default: folder names)")
    p.add_argument("--epochs", type=positive_int(), default=None,
                   help="compare the curves and training accuracy over the first N epochs only (default: all)")
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
    runs = [load_run(folder, label, args.epochs) for folder, label in zip(args.runs, labels)]
    names = class_names_of(runs)
    table = format_table(runs, names, args.epochs)
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
