#!/usr/bin/env python
"""dsan ablate: ablation grids of the paper (Tables 5-7, Figs. 6, 8, 9) run with one preset, printed beside the paper.

Each grid point is a full run of dsan train's pipeline (dsan_tf.runner) in its own
directory under --output; a grid that was interrupted picks up where it stopped (finished
points are read back from their metrics.json, unfinished ones are resumed).

Examples:
  dsan ablate --grid alpha --dataset ferplus --preset smoke --seeds 0
  dsan ablate --grid components --dataset rafdb --data-dir DIR --seeds 0 1 2
  dsan ablate --grid variant --dataset ferplus --data-dir DIR --preset cpu \
      --time-budget-minutes 0 --seeds 0 1 2

A point is the directory <grid dir>/<setting>-seed<N>; points may also be trained elsewhere
(dsan train --output into that directory, e.g. two at a time, one per core) and dsan ablate
then only reads them back. Flags other than ablate's own go to dsan train.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from dsan_tf.cli.run import build_parser as train_parser
from dsan_tf.cli.run import build_settings, parse_args
from dsan_tf.cli.validators import output_path, seed
from dsan_tf.cli import CommandParser
from dsan_tf.errors import UserError

# name -> list of (label, run.py flags, paper accuracy on RAF-DB or None where only a figure gives it)
GRIDS = {
    "variant": [  # the headline comparison: plain ResNet-18 against DSAN (Table 6's first and last rows)
        ("baseline", ["--variant", "baseline"], 87.68),
        ("DSAN", ["--variant", "dsan"], 89.70),
    ],
    "alpha": [  # Fig. 9 (values in the text: 0 -> 88.72, 0.4 -> 89.70, 1 -> 89.35)
        ("alpha=0.0 (MFF-AN)", ["--alpha", "0.0"], 88.72),
        ("alpha=0.4 (DSAN)", ["--alpha", "0.4"], 89.70),
        ("alpha=1.0 (GFE-AN)", ["--alpha", "1.0"], 89.35),
    ],
    "components": [  # Table 6
        ("baseline", ["--variant", "baseline"], 87.68),
        ("HFE1", ["--variant", "gfe", "--no-sa"], 88.53),
        ("HFE1+SA", ["--variant", "gfe"], 89.35),
        ("HFE2", ["--variant", "mff", "--no-lfa"], 88.56),
        ("HFE2+LFA", ["--variant", "mff"], 88.72),
        ("HFE1+HFE2", ["--no-sa", "--no-lfa"], 88.92),
        ("HFE1+HFE2+LFA", ["--no-sa"], 89.18),
        ("HFE1+SA+HFE2", ["--no-lfa"], 89.54),
        ("DSAN", [], 89.70),
    ],
    "losses": [  # Table 5, on GFE-AN: SA off gives CE / centre / island loss (Eq. 7)
        ("L_CE", ["--variant", "gfe", "--no-sa", "--lambda1", "0", "--lambda2", "0"], 88.53),
        ("L_C", ["--variant", "gfe", "--no-sa", "--lambda2", "0"], 88.85),
        ("L_I", ["--variant", "gfe", "--no-sa"], 88.96),
        ("L_FR_CE", ["--variant", "gfe", "--lambda1", "0", "--lambda2", "0"], 88.72),
        ("L_FR_CE+L_FR_C", ["--variant", "gfe", "--lambda2", "0"], 89.18),
        ("L_FR", ["--variant", "gfe"], 89.35),
    ],
    "split": [(f"F={f}", ["--split-num", str(f)], None) for f in (1, 2, 4, 8, 16)],  # Fig. 8
    "reduction": [(f"r={r}", ["--variant", "gfe", "--reduction", str(r)], acc)  # Table 7 (2 layers)
                  for r, acc in zip(range(1, 7), (89.11, 89.35, 89.34, 89.31, 89.24, 89.11))],
    "lambda1": [(f"lambda1={v}", ["--variant", "gfe", "--lambda1", str(v)], None)  # Fig. 6a
                for v in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)],
    "lambda2": [(f"lambda2={v}", ["--variant", "gfe", "--lambda2", str(v)], None)  # Fig. 6b
                for v in (0.0, 1e-3, 1e-2, 1e-1, 1.0)],
}


def build_parser(prog="dsan ablate"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--grid", required=True, choices=tuple(GRIDS), help="which ablation to run")
    p.add_argument("--seeds", type=seed, nargs="+", default=[0],
                   help="seeds; the table shows mean ± std (default: 0)")
    p.add_argument("--output", type=output_path(), default=None,
                   help="grid directory (default: runs/ablate-<grid>-<dataset>-<preset>)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    p.add_argument("--overwrite", action="store_true",
                   help="let --output be a folder holding files ablate did not make, and replace its "
                        "ablation.json (default: refuse)")
    return p


def parse(parser, argv):
    """ablate's own flags; the others (``run_flags``) go to every grid point's dsan train."""
    args, args.run_flags = parser.parse_known_args(argv)
    # Checked now, before any grid point: a bad flag of dsan train is an argument error.
    # (dsan train's parser under ablate's name, so that its errors name the command the user ran)
    args.base = build_settings(train_parser(parser.prog).parse_args([*args.run_flags, "--output", "unused"]))
    return args


def point_name(label, seed):
    """Directory name of one grid point, e.g. 'alpha-0.4_DSAN-seed0'."""
    for old, new in (("=", "-"), ("+", "_"), (" ", ""), ("(", "_"), (")", "")):
        label = label.replace(old, new)
    return f"{label}-seed{seed}"


def summarise(label, flags, paper, seeds, runs):
    """One table row: mean (and sample std when there are several seeds) over the runs' metrics."""
    accuracy = np.array([100 * m["accuracy"] for m in runs])
    mean_class = np.array([100 * m["mean_class_accuracy"] for m in runs])
    several = len(runs) > 1
    return {
        "setting": label, "flags": " ".join(flags), "seeds": list(seeds), "paper_rafdb": paper,
        "accuracy": accuracy.tolist(), "accuracy_mean": float(accuracy.mean()),
        "accuracy_std": float(accuracy.std(ddof=1)) if several else None,
        "mean_class_accuracy_mean": float(mean_class.mean()),
        "mean_class_accuracy_std": float(mean_class.std(ddof=1)) if several else None,
        "split": runs[0]["split"],
    }


def format_table(rows):
    """The rows as a Markdown table."""
    def with_std(mean, std):
        return f"{mean:.2f}" + (f" ± {std:.2f}" if std is not None else "")

    lines = ["| setting | flags | seeds | accuracy (%) | mean class acc. (%) | paper (%) |", "|---|---|---|---|---|---|"]
    for r in rows:
        paper = f"{r['paper_rafdb']:.2f}" if r["paper_rafdb"] is not None else "(figure only)"
        lines.append(
            f"| {r['setting']} | `{r['flags'] or '(defaults)'}` | {' '.join(map(str, r['seeds']))} | "
            f"{with_std(r['accuracy_mean'], r['accuracy_std'])} | "
            f"{with_std(r['mean_class_accuracy_mean'], r['mean_class_accuracy_std'])} | {paper} |"
        )
    return "\n".join(lines)


# What a point's metrics.json must hold for the table (dsan_tf.evaluation writes it).
POINT_METRICS = {"accuracy": float, "mean_class_accuracy": float, "split": str}


def run_point(run_flags, point_flags, seed, output):
    from dsan_tf.runner import run_matches, train_and_evaluate
    from dsan_tf.state_files import read_json_state

    metrics_path = output / "metrics.json"
    argv = [*run_flags, *point_flags, "--seed", str(seed), "--output", str(output), "--verbose", "2"]
    if metrics_path.is_file():
        # A finished point is read back only if it is this point (not a 2-epoch run left in its folder).
        run_matches(output, build_settings(parse_args(argv)), f"the grid point {output.name} ({' '.join(point_flags) or 'defaults'}, seed {seed})")
        metrics = read_json_state(metrics_path, POINT_METRICS, what="a grid point's metrics",
                                  hint="move the folder away to compute the point again")
        for key in ("accuracy", "mean_class_accuracy"):
            if not 0 <= metrics[key] <= 1:
                raise UserError(f"{metrics_path} (a grid point's metrics): {key} {metrics[key]} is not in [0, 1]")
        return metrics
    if (output / "config.json").is_file():
        argv.append("--resume")
    return train_and_evaluate(build_settings(parse_args(argv)))


def grid_folder_of_an_earlier_version(grid, seeds):
    """Whether a folder without a marker is one ablate of this grid wrote before markers existed:
    at least one of the grid's point folders, and nothing but those and ablation.json."""
    names = {point_name(label, seed) for label, _, _ in GRIDS[grid] for seed in seeds}

    def accept(folder):
        from dsan_tf.outputs import foreign_entries

        entries = set(foreign_entries(folder))
        return bool(entries & names) and entries <= names | {"ablation.json"}
    return accept


def run(args):
    from dsan_tf.outputs import OutputPolicy

    run_flags, base = args.run_flags, args.base
    output = Path(args.output or f"runs/ablate-{args.grid}-{base['dataset']}-{base['preset']}")
    with OutputPolicy(command="ablate", flag="--output", overwrite=args.overwrite) as policy:
        # The grid folder and its table are claimed (checked, locked) before the first point trains.
        policy.claim_folder(output, kind="ablation", accept=grid_folder_of_an_earlier_version(args.grid, args.seeds))
        table = policy.claim_file(output / "ablation.json")  # the folder is marked when the table is published
        rows = []
        for label, flags, paper in GRIDS[args.grid]:
            runs = [run_point(run_flags, flags, seed, output / point_name(label, seed)) for seed in args.seeds]
            rows.append(summarise(label, flags, paper, args.seeds, runs))
        with policy.publish(table) as tmp, open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"grid": args.grid, "base": base, "rows": rows}, handle, indent=2)
            handle.write("\n")
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"\n{args.grid} ablation on {base['dataset']} ({rows[0]['split']} split), preset {base['preset']}, "
          f"seeds {args.seeds} (mean ± sample std); paper column: RAF-DB test accuracy (224 px, MS-Celeb-1M trunk)")
    print(format_table(rows))


def main(argv=None):
    from dsan_tf.cli import run_command

    return run_command("ablate", argv)


if __name__ == "__main__":
    sys.exit(main())
