"""dsan align: align the faces of a folder of raw photos (MTCNN + 5-point similarity warp).

Resumable: rerun the same command after an interruption and it continues where it
stopped. See `dsan align --help`.
"""

from __future__ import annotations

import sys

from dsan_tf.cli.detection import add_detector_args
from dsan_tf.cli.validators import MAX_IMAGE_SIZE, existing_dir, int_in, output_path
from dsan_tf.cli import CommandParser


def build_parser(prog="dsan align"):
    parser = CommandParser(
        prog=prog,
        description=(
            "Detect faces with MTCNN in every image under --input (recursively: "
            ".jpg .jpeg .png .bmp .webp .tif .tiff), warp each onto the ArcFace 5-point "
            "template so the eyes are level, and save square PNG crops under --output with "
            "the same relative paths (<stem>.png, or <stem>_<i>.png with --all-faces; "
            "<name>.png when two inputs share a stem, e.g. a.jpg beside a.png). "
            "Interrupted runs resume: files already listed in --output/.align-ledger.csv or "
            "whose crop exists are skipped, and crops are written atomically. Files with no "
            "face, several faces or unreadable bytes are listed in the report CSV "
            "(columns path,status,faces,message); a summary line is printed at the end."
        ),
    )
    parser.add_argument("--input", required=True, type=existing_dir, help="folder of raw photos")
    parser.add_argument("--output", required=True, type=output_path(), help="folder for aligned crops")
    parser.add_argument("--size", type=int_in(8, MAX_IMAGE_SIZE), default=112,
                        help="side of the square crop in pixels (default 112)")
    parser.add_argument("--all-faces", action="store_true",
                        help="save every face found, not only the largest")
    parser.add_argument("--report", type=output_path(), default=None,
                        help="report CSV path (default: <output>/align-report.csv); an existing file this "
                             "command did not write is refused unless --overwrite")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --report replace an existing file, and --output be a folder holding other "
                             "files (default: refuse both)")
    add_detector_args(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def check_paths(args) -> None:
    """Refuse, before any photo is read, outputs that would land in the input folder or cannot be written."""
    from dsan_tf.io_utils import check_output_path

    check_output_path(args.output, inputs=[args.input], folder=True)
    if args.report is not None:
        check_output_path(args.report, inputs=[args.input], flag="--report")


def run(args) -> int:
    from dsan_tf.data.align import FaceAligner, align_folder
    from dsan_tf.outputs import OutputPolicy

    check_paths(args)
    with OutputPolicy(command="align", flag="--output", overwrite=args.overwrite, inputs=[args.input]) as policy:
        # a folder of aligned faces (marked; or an unmarked one an earlier version left, with
        # its ledger), new or empty; a folder of anything else is refused before any photo is read
        ours = dict(kind="alignment", accept=lambda f: (f / ".align-ledger.csv").is_file())
        policy.claim_folder(args.output, **ours)
        policy.claim_file(args.report or args.output / "align-report.csv", flag="--report")
        policy.claim_and_mark(args.output, **ours)  # marked only once every output was accepted
        aligner = FaceAligner(args.size, min_confidence=args.min_confidence,
                              min_face_size=args.min_face_size)
        summary = align_folder(args.input, args.output, aligner, all_faces=args.all_faces,
                               report_path=args.report, progress=not args.no_progress, policy=policy)
    print(summary.line())
    return 0


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("align", argv)


if __name__ == "__main__":
    sys.exit(main())
