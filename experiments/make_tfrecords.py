"""Write a dataset split as sharded TFRecords (resumable). See `--help`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from dsan_tf.data.errors import DataError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "Read a dataset with dsan_tf's reader and store each image once in sharded "
            "TFRecords under --output (<split>-NNNNN-of-NNNNN.tfrecord + <split>.manifest.json "
            "with class names, count and shard list), for datasets too large to decode from "
            "loose files every epoch (AffectNet: 287k images). Images are cropped with the "
            "dataset's own face box where it has one (AffectNet), so no face detector runs. "
            "Interrupted? Rerun the same command: finished shards are kept, the rest written. "
            "Train from the result with dsan_tf.data.tfrecords.tfrecord_source(OUTPUT, K, split=...)."
        ))
    parser.add_argument("--dataset", required=True,
                        help="dataset name: ferplus, rafdb, affectnet7, affectnet8 or folder")
    parser.add_argument("--data-dir", required=True, type=Path, help="the dataset's root folder")
    parser.add_argument("--output", required=True, type=Path, help="folder for shards and manifest")
    parser.add_argument("--split", action="append", default=None,
                        help="split to write (train, valid, test); repeat for several, "
                             "or 'all' (default: train)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--shards", type=int, default=None, help="number of shards per split")
    group.add_argument("--shard-size", type=int, default=None,
                       help="images per shard instead of --shards (default 2048)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="shrink images whose longer side exceeds S pixels (aspect kept), "
                             "e.g. 256 for AffectNet; default: store as is")
    parser.add_argument("--jpeg-quality", type=int, default=95,
                        help="JPEG quality of cropped/resized images (default 95); "
                             "untouched images keep their original bytes")
    parser.add_argument("--no-crop", action="store_true", help="ignore the dataset's face boxes")
    parser.add_argument("--label-mode", default="majority",
                        help="FERPlus labels: majority or probability (default majority)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip unreadable images, listed in the manifest, instead of stopping")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace shards written from another table or with other settings")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.data.tfrecords import write_tfrecords

    try:
        data = load_dataset(args.dataset, args.data_dir, label_mode=args.label_mode,
                            skip_missing=args.skip_bad)
        for line in data.report:
            print(line)
        splits = args.split or ["train"]
        if "all" in splits:
            splits = list(data.splits)
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
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
