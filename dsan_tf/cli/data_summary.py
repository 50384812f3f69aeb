"""dsan data-summary: count images per split and per class of a dataset, as the readers see it.

    dsan data-summary --dataset ferplus --data-dir DIR [--json]

Text mode prints a table on stdout and the reader's notes (dropped rows, duplicates,
missing splits) on stderr; --json prints only
{"train": {"count": N, "class_counts": [...]}, ...}. Without --data-dir, FERPlus reads
the embedded sample.
"""

from __future__ import annotations

import json
import sys

from dsan_tf.data import DATASETS
from dsan_tf.cli.validators import existing_dir
from dsan_tf.cli import CommandParser


def build_parser(prog="dsan data-summary"):
    parser = CommandParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset reader")
    parser.add_argument("--data-dir", type=existing_dir, default=None,
                        help="dataset folder (default: FERPlus' embedded sample; needed for other datasets)")
    parser.add_argument("--label-mode", choices=("majority", "probability"), default="majority",
                        help="FERPlus labels: majority vote or vote distribution (default majority)")
    parser.add_argument("--check-images", choices=("none", "exists", "header", "decode"),
                        default="header", help="how far to check each image file (default header)")
    parser.add_argument("--skip-missing", action="store_true",
                        help="skip and count rows whose image is missing or not an image")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    return parser


def run(args) -> int:
    from dsan_tf.data import load_dataset

    data = load_dataset(args.dataset, args.data_dir, args.label_mode,
                        check_images=args.check_images, skip_missing=args.skip_missing)
    summary = data.summary()
    if args.data_dir is None:
        print("(no --data-dir: using the embedded FERPlus sample)", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
        return 0
    for note in data.report:
        print(f"note: {note}", file=sys.stderr)
    width = max(len(c) for c in data.class_names + ("count",))
    print(f"{data.dataset} ({args.label_mode})")
    print("".ljust(width) + "".join(f"{s:>9}" for s in summary))
    for k, name in enumerate(data.class_names):
        print(name.ljust(width) + "".join(f"{v['class_counts'][k]:>9}" for v in summary.values()))
    print("count".ljust(width) + "".join(f"{v['count']:>9}" for v in summary.values()))
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("data-summary", argv)


if __name__ == "__main__":
    sys.exit(main())
