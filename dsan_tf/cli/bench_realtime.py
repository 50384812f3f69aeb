"""dsan bench-realtime: frames/s, stage times, latency and label agreement of live recognition here.

    dsan bench-realtime --photo ../shared/photos/ivan.jpg ../shared/photos/astronaut.png
    dsan bench-realtime --photo me.jpg --weights runs/x/model.keras --frames 120 --classifier keras

Builds two 640x480 videos from the photos (each with one face): one face, and three faces of
different sizes (the photos in turn), moving and growing/shrinking across the frames
(:func:`dsan_tf.realtime.make_scene_video`). Runs the live path on each
(:func:`dsan_tf.realtime.live_stream`: MTCNN searches every --search-every frames at the
faces' scale, refits followed faces in between, all faces classified in one call) after a
few warm-up frames, then full per-frame MTCNN detection on the same frames, and prints per
video: frames/s, detection and classification ms per frame, the median latency from a
frame's capture to its labels, and the share of face-frames whose live label equals the
full detection's, with the longest run of frames a face in view went unfound.
``--json`` prints one JSON object per video instead.
"""

from __future__ import annotations

import argparse
import json
import sys

from dsan_tf.cli import CommandParser
from dsan_tf.cli.validators import custom, existing_file, model_reference, positive_int

PROG = "dsan bench-realtime"


def build_parser(prog=PROG):
    parser = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=existing_file, nargs="+", required=True,
                        help="one or more photos with one face each (the package ships none; no default): the "
                             "videos are made of them")
    parser.add_argument("--weights", type=model_reference, default="ferplus",
                        help="a .keras file saved from a DSAN model, a SavedModel directory, or a shipped "
                             "model's name (default: the shipped model 'ferplus')")
    parser.add_argument("--frames", type=positive_int(100_000), default=90, help="frames per video (default 90)")
    parser.add_argument("--size", type=frame_size, default="640x480",
                        help="frame size WIDTHxHEIGHT, each side 64 to 4096 (default 640x480)")
    parser.add_argument("--search-every", type=positive_int(10000), default=10,
                        help="frames between MTCNN searches while faces are followed (default 10)")
    parser.add_argument("--classifier", choices=("keras", "tflite"), default="tflite",
                        help="the live path's classifier: the Keras model, or its TFLite conversion (XNNPACK; "
                             "converted in memory first, same answers) (default tflite)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per video (default: text)")
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
    if _size(args.size) is None:
        parser.error(f"--size takes WIDTHxHEIGHT of at least 64x64, such as 640x480; got {args.size!r}")


def run(args) -> int:
    from dsan_tf import realtime
    from dsan_tf.api import FaceExpressionRecognizer, to_rgb_image
    from dsan_tf.data.errors import DataError

    for photo in args.photo:
        to_rgb_image(photo)  # an unreadable photo fails before the model loads
    recognizer = FaceExpressionRecognizer(args.weights)
    for photo in args.photo:
        if not recognizer.detect(photo):
            raise DataError(f"--photo {photo}: no face found; give photos with one face")
    live = recognizer
    if args.classifier == "tflite":
        from dsan_tf.tflite_predictor import TFLitePredictor, tflite_bytes

        live = realtime.copy_recognizer(recognizer, recognizer.aligner)
        live.predictor = TFLitePredictor(tflite_bytes(recognizer.predictor), recognizer.predictor)
    size = _size(args.size)
    reports = realtime.benchmark_live(args.photo, live, frames=args.frames, size=size,
                                      search_every=args.search_every, reference=recognizer)
    cpu = realtime._cpu_name()
    for report in reports:
        report.update(model=live.predictor.source, classifier=args.classifier, cpu=cpu, frame_size=list(size))
    if args.json:
        for report in reports:
            print(json.dumps(report))
        return 0 if all(r["frames"] for r in reports) else 1
    print(f"model {live.predictor.source} ({live.image_size} px faces, {args.classifier} classifier), {cpu}, "
          f"{size[0]}x{size[1]}, MTCNN search every {args.search_every} frames")
    for r in reports:
        print(f"{r['scene']}: {r['frames']} frames, {r['faces']} faces: {realtime.rate_text(r['frames_per_s'])} "
              "frames/s; per frame: "
              f"detection {r['detection_ms_per_frame']:.1f} ms ({r['searches']} searches; full per-frame "
              f"detection {r['full_detection_ms_per_frame']:.1f} ms), classification "
              f"{r['classification_ms_per_frame']:.1f} ms, decoding {r['read_ms_per_frame']:.1f} ms; median "
              f"latency {r['latency_ms_median']:.1f} ms")
        share = "n/a" if r["agreement"] is None else f"{r['agreement']:.1%}"
        print(f"  labels equal to full per-frame detection on {share} of {r['reference_faces']} face-frames "
              f"({r['unmatched']} unmatched); longest run of frames a face in view was not found: "
              f"{max(r['longest_loss_frames'], default=0)}")
        for note in r["notes"]:
            print(f"{PROG}: {note}", file=sys.stderr)
    return 0 if all(r["frames"] for r in reports) else 1


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("bench-realtime", argv)


if __name__ == "__main__":
    sys.exit(main())
