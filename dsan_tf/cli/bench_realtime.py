"""dsan bench-realtime: frames/s and faces/s of live recognition (MTCNN + DSAN) on this machine.

    dsan bench-realtime --photo me.jpg                  # the shipped model, 60 frames of 640x480
    dsan bench-realtime --photo me.jpg --weights runs/x/model.keras --frames 120

Builds a 640x480 video in which the photo's face drifts a few pixels per frame
(:func:`dsan_tf.realtime.make_video`), runs a few warm-up frames, then times detection and
classification of every frame as fast as they go (:func:`dsan_tf.realtime.benchmark`).
Prints frames/s, faces/s, the detection and classification time per frame and the stage
that bounds the rate; ``--json`` prints the whole report as one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from dsan_tf.cli.validators import custom, existing_file, model_reference, positive_int
from dsan_tf.cli import CommandParser

PROG = "dsan bench-realtime"


def build_parser(prog=PROG):
    parser = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=existing_file, required=True,
                        help="a photo with one face (the package ships none): the video is made of it")
    parser.add_argument("--weights", type=model_reference, default="ferplus",
                        help="a .keras file saved from a DSAN model, a SavedModel directory, or a shipped "
                             "model's name (default: the shipped model 'ferplus')")
    parser.add_argument("--frames", type=positive_int(100_000), default=60, help="frames timed (default 60)")
    parser.add_argument("--size", type=frame_size, default="640x480",
                        help="frame size WIDTHxHEIGHT, each side 64 to 4096 (default 640x480)")
    parser.add_argument("--json", action="store_true", help="print the whole report as one JSON object")
    return parser



def _size(text):
    """``640x480`` -> (640, 480): each side in [64, 4096]."""
    try:
        width, height = (int(v, 10) for v in text.lower().split("x"))
    except ValueError:
        return None
    return (width, height) if 64 <= width <= 4096 and 64 <= height <= 4096 else None


# The text is kept (check_args and run read it with _size).
frame_size = custom("size", "WIDTHxHEIGHT, each side 64 to 4096, such as 640x480",
                    lambda text: text if _size(text) else None)


def check_args(parser, args):
    if args.frames < 1:
        parser.error(f"--frames must be >= 1, got {args.frames}")
    if _size(args.size) is None:
        parser.error(f"--size takes WIDTHxHEIGHT of at least 64x64, such as 640x480; got {args.size!r}")


def run(args) -> int:
    from dsan_tf import realtime
    from dsan_tf.api import FaceExpressionRecognizer, to_rgb_image
    from dsan_tf.data.errors import DataError

    to_rgb_image(args.photo)  # an unreadable photo fails before the model loads
    recognizer = FaceExpressionRecognizer(args.weights)
    if not recognizer.detect(args.photo):
        raise DataError(f"--photo {args.photo}: no face found; give a photo with one face")
    size = _size(args.size)
    report = realtime.benchmark(args.photo, frames=args.frames, size=size, recognizer=recognizer)
    if args.json:
        print(json.dumps(report))
        return 0 if report["frames"] else 1
    print(f"{report['frames']} frames of {size[0]}x{size[1]}, {report['faces']} faces, model {report['model']} "
          f"({report['image_size']} px faces), {report['cpu']} x{report['cpu_count']}")
    print(f"  {report['frames_per_s']:.2f} frames/s, {report['faces_per_s']:.2f} faces/s")
    print(f"  detection {report['detection_ms_per_frame']:.1f} ms/frame, classification "
          f"{report['classification_ms_per_frame']:.1f} ms/frame ({report['classification_ms_per_face']:.1f} "
          f"ms/face), decoding {report['read_ms_per_frame']:.1f} ms/frame")
    print(f"  bound by the {report['bound'] or 'nothing (no frame)'}")
    for note in report["notes"]:
        print(f"{PROG}: {note}", file=sys.stderr)
    return 0 if report["frames"] else 1


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("bench-realtime", argv)


if __name__ == "__main__":
    sys.exit(main())
