"""dsan tfrecords: write a dataset split as sharded TFRecords (resumable). See `--help`."""

from __future__ import annotations

import sys

from dsan_tf.data.ferplus import LABEL_MODES
from dsan_tf.data.registry import DATASETS
from dsan_tf.cli.validators import MAX_COUNT, MAX_SIDE, existing_dir, int_in, output_path, positive_int, text
from dsan_tf.cli import CommandParser


def build_parser(prog="dsan tfrecords"):
    parser = CommandParser(
        prog=prog,
        description=(
            "Read a dataset with dsan_tf's reader and store each image once in sharded "
            "TFRecords under --output (<split>-NNNNN-of-NNNNN.tfrecord + <split>.manifest.json "
            "with class names, count and shard list), for datasets too large to decode from "
            "loose files every epoch (AffectNet: 287k images). Images are cropped with the "
            "dataset's own face box where it has one (AffectNet), so no face detector runs. "
            "Interrupted? Rerun the same command: finished shards are kept, the rest written. "
            "Train from the result with dsan_tf.data.tfrecords.tfrecord_source(OUTPUT, K, split=...)."
        ))
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset reader")
    parser.add_argument("--data-dir", required=True, type=existing_dir, help="the dataset's root folder")
    parser.add_argument("--output", required=True, type=output_path(), help="folder for shards and manifest")
    parser.add_argument("--split", action="append", type=text("a split name"), default=None,
                        help="split to write (train, valid, test); repeat for several, "
                             "or 'all' (default: train)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--shards", type=positive_int(100_000), default=None,
                       help="number of shards per split (default: from --shard-size)")
    group.add_argument("--shard-size", type=positive_int(MAX_COUNT), default=None,
                       help="images per shard instead of --shards (default 2048)")
    parser.add_argument("--image-size", type=int_in(8, MAX_SIDE), default=None,
                        help="shrink images whose longer side exceeds S pixels (aspect kept), "
                             "e.g. 256 for AffectNet; default: store as is")
    parser.add_argument("--jpeg-quality", type=int_in(1, 100), default=95,
                        help="JPEG quality of cropped/resized images, 1 to 100 (default 95); "
                             "untouched images keep their original bytes")
    parser.add_argument("--no-crop", action="store_true", help="ignore the dataset's face boxes")
    parser.add_argument("--label-mode", default="majority", choices=LABEL_MODES,
                        help="FERPlus labels: majority or probability (default majority)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip unreadable images, listed in the manifest, instead of stopping")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace shards written from another table or with other settings")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def check_args(parser, args):
    if args.label_mode != "majority" and args.dataset != "ferplus":
        parser.error(f"--label-mode {args.label_mode} is defined for FERPlus only; {args.dataset} has one "
                     "label per image")


def run(args) -> int:
    from dsan_tf.data.errors import DataError
    from dsan_tf.io_utils import check_output_path

    if not args.data_dir.is_dir():
        raise DataError(f"--data-dir {args.data_dir}: no such folder")
    check_output_path(args.output, inputs=[args.data_dir], folder=True)
    from dsan_tf.outputs import OutputPolicy

    policy = OutputPolicy(command="tfrecords", flag="--output", overwrite=args.overwrite, inputs=[args.data_dir])
    with policy:
        # TFRecord shards (marked, or an unmarked set an earlier version wrote: a manifest), new or
        # empty; anything else is refused before the data is read
        policy.claim_folder(args.output, kind="tfrecords", accept=written_by_an_earlier_version)
        return _write(args, policy)


def written_by_an_earlier_version(folder) -> bool:
    """Whether an unmarked folder holds shards this command wrote before markers existed: a plan
    (``SPLIT.plan.json``) with its fingerprint. A folder that merely holds ``.tfrecord`` files
    (anyone's) is not taken over."""
    from dsan_tf.state_files import StateFileError, read_json_state

    for plan in folder.glob("*.plan.json"):
        try:
            if "fingerprint" in read_json_state(plan, what="a tfrecords plan"):
                return True
        except StateFileError:
            continue
    return False


def _write(args, policy) -> int:
    from dsan_tf.data.errors import DataError
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.data.tfrecords import write_tfrecords

    data = load_dataset(args.dataset, args.data_dir, label_mode=args.label_mode,
                        skip_missing=args.skip_bad)
    for line in data.report:
        print(line)
    splits = args.split or ["train"]
    if "all" in splits:
        splits = list(data.splits)
    unknown = [split for split in splits if split not in data.splits]
    if unknown:
        raise DataError(f"--split {', '.join(unknown)}: {args.dataset} in {args.data_dir} has the splits "
                        f"{', '.join(data.splits)}")
    # --output is created (and marked as TFRecord shards) only now, after every check
    policy.claim_and_mark(args.output, kind="tfrecords")
    for split in splits:
        manifest = write_tfrecords(
            data, data.class_names, args.output, split=split, num_shards=args.shards,
            shard_size=args.shard_size, crop_boxes=not args.no_crop,
            image_size=args.image_size, jpeg_quality=args.jpeg_quality,
            progress=not args.no_progress, skip_bad=args.skip_bad, overwrite=args.overwrite)
        print(f"{split}: {manifest['count']} images in {len(manifest['shards'])} shards, "
              f"{len(manifest['skipped'])} skipped, {len(manifest['notes'])} notes -> "
              f"{args.output / (split + '.manifest.json')}")
        for line in manifest["skipped"][:10] + manifest["notes"][:10]:
            print("  " + line)
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("tfrecords", argv)


if __name__ == "__main__":
    sys.exit(main())
