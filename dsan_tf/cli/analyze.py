"""dsan analyze: the paper's analysis figures for a trained DSAN: t-SNE (Figs. 7, 11), P(a=0) (Fig. 10), LFA weights.

    dsan analyze --weights runs/x/model.keras --data-dir /data/ferplus --split valid --output runs/x/analysis

See `dsan analyze --help`.
"""

from __future__ import annotations

import sys

from dsan_tf.data.registry import DATASETS
from dsan_tf.cli.validators import (MAX_BATCH, MAX_COUNT, existing_dir, float_in, int_in, model_reference, output_path,
                                   positive_int, seed, text)
from dsan_tf.cli import CommandParser

PROG = "dsan analyze"


def build_parser(prog=PROG):
    parser = CommandParser(
        prog=prog,
        description=(
            "Run a trained DSAN over one split of a dataset and write to --output: t-SNE of the "
            "GFE-AN features a*h1 and MFF-AN features h2 coloured by class (tsne_gfe.png, "
            "tsne_mff.png; paper Figs. 7 and 11), the share of zero sparse-attention weights "
            "P(a=0) per class (zero_attention.png; Fig. 10), the LFA weights b_f per chunk, "
            "mean ± std per class (lfa_weights.png), and summary.txt / summary.json."
        ),
    )
    parser.add_argument("--weights", required=True, type=model_reference,
                        help="a .keras file saved from a DSAN model, or a shipped model's name (ferplus)")
    parser.add_argument("--data-dir", type=existing_dir, default=None,
                        help="dataset folder (FERPlus only: omit it to use the embedded sample; default: the sample)")
    parser.add_argument("--dataset", default="ferplus", choices=sorted(DATASETS), help="dataset reader (default ferplus)")
    parser.add_argument("--split", type=text("a split name"), default="valid", help="split to analyse (default valid)")
    parser.add_argument("--max-images", type=int_in(5, MAX_COUNT), default=None,
                        help="analyse a seeded random subset of this many images, at least 5 (default: the whole "
                             "split)")
    parser.add_argument("--output", required=True, type=output_path(),
                        help="folder for the figures and summary (required): new, empty or an earlier analysis")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --output be a folder holding files analyze did not make, and replace them "
                             "(default: refuse)")
    parser.add_argument("--batch-size", type=positive_int(MAX_BATCH), default=64, help="inference batch size (default 64)")
    parser.add_argument("--perplexity", type=float_in(0, 1000, open_low=True), default=30.0,
                        help="t-SNE perplexity (default 30, capped below N/3)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the subset and of t-SNE (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run(args) -> int:
    from dsan_tf.inference import model_files
    from dsan_tf.io_utils import check_output_path

    check_output_path(args.output, inputs=[*model_files(args.weights), args.data_dir], folder=True)
    from dsan_tf.outputs import OutputPolicy

    from dsan_tf.analysis import ANALYSIS_FILES

    with OutputPolicy(command="analyze", flag="--output", overwrite=args.overwrite,
                      inputs=[*model_files(args.weights), args.data_dir]) as policy:
        # analysis figures (marked, or an unmarked folder an earlier version wrote: its summary.json
        # is an analysis summary), new or empty; anything else is refused before the model loads
        policy.claim_folder(args.output, kind="analysis", accept=written_by_an_earlier_version)
        for name in ANALYSIS_FILES:
            policy.claim_file(args.output / name)
        return _analyse(args, policy)


def written_by_an_earlier_version(folder) -> bool:
    """Whether an unmarked folder holds an analysis this command wrote before markers existed (its
    summary.json has the summary's keys); a folder merely holding a file of that name is not taken."""
    from dsan_tf.state_files import StateFileError, read_json_state

    try:
        summary = read_json_state(folder / "summary.json", what="an earlier analysis summary")
    except StateFileError:
        return False
    return {"variant", "figures", "class_names", "images"} <= set(summary)


def _analyse(args, policy) -> int:
    from dsan_tf.analysis import analyse, summary_text
    from dsan_tf.data import load_dataset
    from dsan_tf.data.errors import DataError
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.inference import load_dsan

    model = load_dsan(args.weights)
    data = load_dataset(args.dataset, args.data_dir)
    k = int(model.settings["num_classes"])
    names = list(data.class_names)
    if len(names) != k:
        raise DataError(f"{args.weights} has {k} classes but {args.dataset} has {len(names)} "
                        f"({', '.join(names)})")
    if model.class_names and [n.lower() for n in model.class_names] != [n.lower() for n in names]:
        raise DataError(f"{args.weights} was trained for the classes {', '.join(model.class_names)}, "
                        f"but {args.dataset} has {', '.join(names)}")
    table = data.split(args.split)
    if args.max_images is not None and len(table) > args.max_images:
        table = table.sample(n=args.max_images, random_state=args.seed).sort_index().reset_index(drop=True)
    if len(table) < 5:
        raise DataError(f"{args.dataset} {args.split}: {len(table)} images; t-SNE needs at least 5")
    dataset = make_dataset(table, k, int(model.settings["image_size"]), args.batch_size, training=False,
                           cache=False)
    source = f"{args.dataset} {args.split}, {args.data_dir or 'embedded sample'}"
    from dsan_tf.cli.progress import Batches

    dataset = Batches(dataset, len(table), args.batch_size, "features", disable=args.no_progress)
    policy.claim_and_mark(args.output, kind="analysis")  # creates --output (after every check), marked as ours
    summary = analyse(model, dataset, names, args.output, seed=args.seed, perplexity=args.perplexity,
                      source=source, policy=policy)
    print(summary_text(summary), end="")
    print(f"figures and summary in {args.output}")
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("analyze", argv)


if __name__ == "__main__":
    sys.exit(main())
