"""dsan predict: facial expressions in raw photos and videos: MTCNN detection + alignment, then DSAN on every face.

    dsan predict                              # the demo photo shipped in the package
    dsan predict photos/                      # the shipped FERPlus model
    dsan predict --weights runs/x/model.keras photos/ clip.mp4 --frame-stride 10
    dsan predict --savedmodel models/dsan photo.jpg --format csv --annotate out/
    dsan predict clip.mp4 --annotate out.mp4 --output faces.csv --format csv --chart faces.png

One JSON line (default) or CSV row per face on stdout (or --output): source, box
([x, y, w, h] integers), label, probabilities by class name (dsan_tf.face_record's fields,
as the Python API's), then frame, time_s, face, detection_confidence, probability, note.
A photo or frame with no face gets one row with "face": null, "label": null and "note":
"no face". The camera and one video with --annotate VIDEO.mp4 or --chart take the
live path (dsan_tf.realtime.live_stream): faces followed between MTCNN searches, each
with a track id. See --help.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from dsan_tf.cli.detection import add_detector_args
from dsan_tf.errors import UserError
from dsan_tf.cli.validators import (MAX_COUNT, MAX_IMAGE_SIZE, existing_dir, existing_path, int_in,
                                   model_reference, output_path, positive_int)
from dsan_tf.cli import CommandParser

PROG = "dsan predict"


def build_parser(prog=PROG):
    parser = CommandParser(
        prog=prog,
        description=(
            "Detect faces with MTCNN in photos (files or folders, searched recursively) and in "
            "video files (read frame by frame with OpenCV, every --frame-stride-th frame), align "
            "each face onto the 5-point template, and classify it with a DSAN. Writes one JSON "
            "line or CSV row per face; an image or frame without a face gives one row saying so. "
            "--camera N reads camera N live instead: JSON lines on stdout (default) or, with --show, "
            "an annotated window (q or Esc closes it; Ctrl-C stops either); a line on stderr gives "
            "frames/s, faces/s and whether the detector or the classifier bounds them. "
            "Exit status 1 when a video is truncated or damaged (it ends before its header's frame "
            "count: a note on stderr, counted in the summary line) or a camera delivers no frame."
        ),
    )
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--weights", type=model_reference, default=None,
                       help="a .keras file saved from a DSAN model, or a shipped model's name (default: the "
                            "shipped model 'ferplus')")
    model.add_argument("--savedmodel", type=existing_dir, default=None,
                       help="a SavedModel directory from dsan export savedmodel (or its TF Serving "
                            "base folder: the highest version is used) (default: --weights)")
    parser.add_argument("inputs", nargs="*", type=existing_path,
                        help="image files, video files and/or folders (none with --camera; default: the demo "
                             "photo shipped with dsan_tf, named on stderr)")
    parser.add_argument("--camera", type=int_in(0, 1000), default=None, metavar="N",
                        help="read camera N (0: the first) live, frame by frame, until Ctrl-C, --max-frames "
                             "or the camera stops; JSON lines on stdout unless --show (default: no camera)")
    parser.add_argument("--show", action="store_true",
                        help="with --camera: show the frames annotated (boxes, labels with track ids, frames/s) "
                             "in a window instead of writing JSON lines; q, Esc or closing the window stops. Needs "
                             "a display, and OpenCV with a GUI or Python's tkinter (used with "
                             "opencv-python-headless) (default: JSON lines, so the command behaves the same on a "
                             "headless machine)")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="output format (default jsonl)")
    parser.add_argument("--output", type=output_path(), default=None,
                        help="write the rows here instead of stdout (replaced only when every input is done; "
                             "never one of the inputs or the model) (default: stdout)")
    parser.add_argument("--annotate", type=output_path(), default=None, metavar="DIR|VIDEO",
                        help="also write each image (and each processed video frame, under <video name>/) "
                             "with boxes and labels drawn to DIR (not an input folder nor inside one; an "
                             "annotated copy may never replace an input); or, for one input video, a .mp4 or "
                             ".avi file: that video annotated (boxes, labels, track ids), faces followed between "
                             "MTCNN searches (the live path, as --camera) (default: nothing annotated)")
    parser.add_argument("--chart", type=output_path(".png"), default=None, metavar="PNG",
                        help="one input video: a PNG chart of each face's (track's) expression probabilities "
                             "over time; rows then carry a track id, on the live path (default: no chart)")
    parser.add_argument("--smooth", type=positive_int(1000), default=1, metavar="N",
                        help="live path (--camera, or a video with --annotate VIDEO/--chart): average each "
                             "face's probabilities over its last N frames (default 1: no smoothing; photos "
                             "never are)")
    parser.add_argument("--classifier", choices=("keras", "tflite"), default="keras",
                        help="live path: classify with the Keras model, or with its TFLite conversion (XNNPACK: "
                             "same answers, ~1.5-2x faster on CPU; converted in memory at start, 10-25 s) "
                             "(default keras)")
    parser.add_argument("--search-every", type=positive_int(10000), default=10, metavar="N",
                        help="live path: run MTCNN's full search every N frames and follow the faces found in "
                             "between (a lost face triggers a search at once) (default 10; 1: search every "
                             "frame)")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --output and the annotated copies replace existing files the command did not "
                             "make (without it such files are kept and the command refuses before any work)")
    parser.add_argument("--frame-stride", type=positive_int(1_000_000), default=1,
                        help="videos: process frames 0, N, 2N, ... (default 1: every frame)")
    parser.add_argument("--max-frames", type=positive_int(MAX_COUNT), default=None,
                        help="videos: process at most this many frames each (default: all)")
    add_detector_args(parser)
    parser.add_argument("--largest-only", action="store_true", help="classify only the largest face of each image")
    parser.add_argument("--align-size", type=int_in(8, MAX_IMAGE_SIZE), default=None,
                        help=f"side of the aligned crop, 8 to {MAX_IMAGE_SIZE} (default: the model's recorded size; "
                             "112 for a SavedModel that records no settings)")
    parser.add_argument("--grayscale", action=argparse.BooleanOptionalAction, default=None,
                        help="classify grey versions of the faces (--no-grayscale: the colour faces). Default: "
                             "what the model records (a model trained on FERPlus' grey faces gets grey ones; "
                             "a SavedModel exported before this record: colour)")
    parser.add_argument("--skip-unreadable", action="store_true",
                        help="report an unreadable image as a row with a note and go on (default: stop with an error)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def live_video(args) -> bool:
    """Whether one input video goes through the live path (annotated video, chart, track ids)."""
    from dsan_tf.video_outputs import is_video_output

    return args.camera is None and (is_video_output(args.annotate) or args.chart is not None)


def check_args(parser, args):
    if live_video(args):
        from dsan_tf.inference import is_video

        if len(args.inputs) != 1 or not is_video(args.inputs[0]):
            what = "--annotate VIDEO" if args.chart is None else "--chart"
            parser.error(f"{what} takes one input video (e.g. clip.mp4), got {len(args.inputs)} input(s)"
                         + ("" if len(args.inputs) != 1 else f": {args.inputs[0]} is not a video file"))
        if args.chart is not None and args.chart.suffix.lower() != ".png":
            parser.error(f"--chart writes a PNG: give a file name ending in .png, got {args.chart}")
        if args.annotate is not None and args.annotate.suffix.lower() not in (".mp4", ".avi"):
            parser.error("--annotate with --chart: give the annotated video's name (.mp4 or .avi), got "
                         f"{args.annotate}")
    if args.camera is None and not live_video(args):
        given = [flag for flag, on in (("--smooth", args.smooth != 1), ("--search-every", args.search_every != 10),
                                       ("--classifier tflite", args.classifier != "keras")) if on]
        if given:
            parser.error(f"{', '.join(given)}: for the live path only (--camera N, or one video with --annotate "
                         "VIDEO.mp4 or --chart); photos and frame folders are detected frame by frame")
    if args.camera is None:
        if args.show:
            parser.error("--show goes with --camera (files and folders are written as rows)")
    else:
        clash = [name for name, given in (("inputs", args.inputs), ("--output", args.output),
                                          ("--annotate", args.annotate), ("--format csv", args.format == "csv"),
                                          ("--skip-unreadable", args.skip_unreadable),
                                          ("--chart", args.chart)) if given]
        if clash:
            parser.error(f"--camera writes JSON lines on stdout (or a window with --show): not with "
                         f"{', '.join(clash)}")


class _Annotator:
    """Output paths under --annotate mirroring the inputs' relative paths, never overwriting one another."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.policy = None  # the OutputPolicy the copies are published through (set by run)
        self.used = set()
        self.planned = {}

    def plan(self, inputs) -> None:
        """Name every photo's annotated copy now, so clashes with an input are found before any work."""
        from dsan_tf.inference import is_video

        for source, root in inputs:
            if not is_video(source):
                self.planned[source] = self._new_path(source, root)

    def path(self, source: Path, root: Path, frame=None) -> Path:
        if frame is None and source in self.planned:
            return self.planned[source]
        return self._new_path(source, root, frame)

    def frame_folder(self, source: Path, root: Path) -> Path:
        return self.directory / self._relative(source, root).with_suffix("")

    def _new_path(self, source: Path, root: Path, frame=None) -> Path:
        rel = self._relative(source, root)
        if frame is None:
            candidate = self.directory / rel.parent / f"{rel.stem}.jpg"
        else:
            candidate = self.directory / rel.parent / rel.stem / f"frame_{frame:06d}.jpg"
        base, n = candidate, 2
        while candidate in self.used:
            candidate = base.with_name(f"{base.stem}_{n}{base.suffix}")
            n += 1
        self.used.add(candidate)
        return candidate

    @staticmethod
    def _relative(source: Path, root: Path) -> Path:
        try:
            return source.relative_to(root)
        except ValueError:
            return Path(source.name)


def check_outputs(args, inputs, annotator) -> None:
    """Refuse, before the model loads, outputs that would replace an input or cannot be written.

    Inputs are the photo/video paths and folders given, the model file (a shipped model's
    files) or SavedModel folder; an annotated copy may not land on an input photo nor a
    video's frames in a folder that holds inputs.
    """
    from dsan_tf.inference import is_video, model_files
    from dsan_tf.io_utils import OutputError, check_output_path

    given = [*args.inputs, *model_files(args.weights), args.savedmodel]
    if args.output is not None:
        check_output_path(args.output, inputs=given)
    if annotator is None:
        return
    check_output_path(args.annotate, inputs=given, folder=True, flag="--annotate")
    files = {source.resolve(): source for source, _ in inputs}
    for source, root in inputs:
        if is_video(source):
            folder = annotator.frame_folder(source, root).resolve()
            clash = next((f for f in files.values() if folder in f.resolve().parents), None)
            if clash is not None:
                raise OutputError(f"--annotate {args.annotate}: the frames of {source} would be written into "
                                  f"{folder}, which holds the input {clash}; choose another --annotate folder")
            continue
        target = annotator.path(source, root).resolve()
        if target in files:
            raise OutputError(f"--annotate {args.annotate}: the annotated copy of {source} would replace the "
                              f"input {files[target]}; choose another --annotate folder")
        if args.output is not None and target == args.output.resolve():
            raise OutputError(f"--annotate {args.annotate}: the annotated copy of {source} would replace "
                              f"--output {args.output}")


def run(args) -> int:
    from dsan_tf.inference import collect_inputs, default_weights, is_shipped_model

    args.demo = args.camera is None and not args.inputs
    if args.weights is None and args.savedmodel is None:
        args.weights = default_weights()
        if not args.demo:
            print(f"{PROG}: no --weights given: using the shipped model {args.weights!r}", file=sys.stderr)
    if args.demo:  # a first command that works before the user has a photo: one line says what ran
        from dsan_tf.demo import DEMO_DESCRIPTION, demo_photo

        args.inputs, args.no_progress = [demo_photo()], True
        if args.savedmodel is not None:
            model = f"the SavedModel {args.savedmodel}"
        else:
            model = f"the shipped model {str(args.weights)!r}" if is_shipped_model(args.weights) else f"the model {args.weights}"
        print(f"{PROG}: no input given: {model} on {DEMO_DESCRIPTION}: {args.inputs[0]}", file=sys.stderr)
    if args.camera is not None:
        return run_camera(args)
    if live_video(args):
        return run_live_video(args)
    unreadable = []  # sub-folders that could not be read: in the summary and the exit status
    inputs = collect_inputs(args.inputs, unreadable)  # fails on a missing path before the model loads
    annotator = _Annotator(args.annotate) if args.annotate else None
    if annotator is not None:
        annotator.plan(inputs)
    check_outputs(args, inputs, annotator)
    with _claim_outputs(args, annotator) as policy:
        return _run(args, inputs, annotator, unreadable, policy)


def _claim_outputs(args, annotator):
    """The output policy with --output and --annotate (and every planned annotated copy's name)
    claimed: checked and locked before the model loads (dsan_tf.outputs)."""
    from dsan_tf.inference import model_files
    from dsan_tf.outputs import OutputPolicy

    given = [*args.inputs, *model_files(args.weights), args.savedmodel]
    policy = OutputPolicy(command="predict", flag="--output", overwrite=args.overwrite, inputs=given)
    try:
        if args.output is not None:
            policy.claim_file(args.output)
        if annotator is not None:
            policy.claim_and_mark(args.annotate, kind="annotations", flag="--annotate")
            for target in annotator.planned.values():
                policy.claim_file(target, flag="--annotate")
            annotator.policy = policy
    except BaseException:
        policy.close()
        raise
    return policy


def _run(args, inputs, annotator, unreadable, policy) -> int:
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.inference import load_predictor

    predictor = load_predictor(weights=args.weights, savedmodel=args.savedmodel)
    if args.grayscale is None:  # follow the model; the flag overrides it
        args.grayscale = predictor.grayscale_input
        if args.grayscale and not args.demo:
            print(f"{PROG}: the model was trained on grey faces: colour faces are greyed (--no-grayscale keeps "
                  "colour)", file=sys.stderr)
    size = args.align_size or predictor.image_size or 112
    aligner = FaceAligner(output_size=size, min_confidence=args.min_confidence,
                          min_face_size=args.min_face_size, largest_only=args.largest_only)
    if args.output is None:
        counts = predict_all(args, inputs, predictor, aligner, annotator, sys.stdout)
    else:  # rows go to a temporary beside --output, moved to it only when every input is done
        with policy.publish(args.output) as tmp, open(tmp, "w", newline="") as out:
            counts = predict_all(args, inputs, predictor, aligner, annotator, out)
    for note in unreadable:
        print(f"{PROG}: {note}", file=sys.stderr)
    if args.demo:  # the line naming the model and photo said it all
        return 0
    print(f"{counts['images']} images and {counts['frames']} video frames: {counts['faces']} faces, "
          f"{counts['no_face']} without a face, {counts['unreadable']} unreadable"
          + (f", {len(unreadable)} unreadable folders" if unreadable else "")
          + (f", {counts['truncated']} truncated or damaged videos" if counts["truncated"] else "")
          + (f"; annotated images in {args.annotate}" if args.annotate else ""), file=sys.stderr)
    return 1 if unreadable or counts["truncated"] else 0


class DisplayUnavailable(UserError):
    """--show where no window can be opened (headless, or OpenCV without GUI support)."""


def _live_recognizer(args):
    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.inference import load_predictor

    predictor = load_predictor(weights=args.weights, savedmodel=args.savedmodel)
    recognizer = FaceExpressionRecognizer(predictor, grayscale=args.grayscale, min_confidence=args.min_confidence,
                                          min_face_size=args.min_face_size, largest_only=args.largest_only,
                                          align_size=args.align_size)
    if args.grayscale is None and recognizer.grayscale:
        print(f"{PROG}: the model was trained on grey faces: colour faces are greyed (--no-grayscale keeps "
              "colour)", file=sys.stderr)
    if args.classifier == "tflite":
        from dsan_tf.tflite_predictor import TFLitePredictor, tflite_bytes

        print(f"{PROG}: converting the model to TFLite (--classifier tflite)...", file=sys.stderr)
        recognizer.predictor = TFLitePredictor(tflite_bytes(predictor), predictor)
    return recognizer


def run_camera(args) -> int:
    """Camera ``args.camera`` live: JSON lines on stdout or an annotated window, then the rates on stderr."""
    from dsan_tf import realtime

    if args.show:  # before the model loads
        try:
            realtime.check_display()
        except realtime.DisplayError as err:
            raise DisplayUnavailable(f"--show: {err} (drop --show)") from None
    recognizer = _live_recognizer(args)
    report = realtime.StreamReport(realtime.source_name(args.camera))
    # realtime.run's steps, inline so that Ctrl-C (the way to stop a camera) still ends with the report.
    results = realtime.live_stream(args.camera, recognizer, search_every=args.search_every, smooth=args.smooth,
                                   stride=args.frame_stride, max_frames=args.max_frames, report=report)
    try:
        if args.show:
            realtime.show_window(results, report)
        else:
            realtime.write_json_lines(results, sys.stdout)
    except KeyboardInterrupt:
        report.stopped = "Ctrl-C"
    finally:
        results.close()
    print(f"{PROG}: {report.line()}" + ("; stopped by Ctrl-C" if report.stopped == "Ctrl-C" else ""),
          file=sys.stderr)
    return 0 if report.frames else 1


def run_live_video(args) -> int:
    """One video on the live path: rows with track ids and times (stdout or --output), the annotated video
    (--annotate VIDEO) and the chart (--chart), all published only when the whole video is done."""
    import contextlib

    from tqdm import tqdm

    from dsan_tf import realtime, video_outputs
    from dsan_tf.data.errors import DataError
    from dsan_tf.inference import model_files
    from dsan_tf.outputs import OutputPolicy

    video = args.inputs[0]
    if not video.is_file():
        raise DataError(f"{video}: no such video file")
    given = [*args.inputs, *model_files(args.weights), args.savedmodel]
    with OutputPolicy(command="predict", flag="--output", overwrite=args.overwrite, inputs=given) as policy:
        claimed = [(args.output, "--output"), (args.annotate, "--annotate"), (args.chart, "--chart")]
        seen = {}
        for path, flag in claimed:  # before the model loads
            if path is None:
                continue
            key = path.resolve()
            if key in seen:
                raise DataError(f"{flag} {path}: the same file as {seen[key]}; give each output its own name")
            seen[key] = flag
            policy.claim_file(path, flag=flag)
        recognizer = _live_recognizer(args)
        class_names = recognizer.class_names
        report = realtime.StreamReport(str(video))
        total = _frames_to_process(video, args.frame_stride, args.max_frames)
        results = realtime.live_stream(str(video), recognizer, search_every=args.search_every, smooth=args.smooth,
                                       stride=args.frame_stride, max_frames=args.max_frames, report=report)
        chart_rows = []
        with contextlib.ExitStack() as stack:
            out = sys.stdout
            if args.output is not None:
                table_tmp = stack.enter_context(policy.publish(args.output))
                out = stack.enter_context(open(table_tmp, "w", newline=""))
            writer = None
            if args.format == "csv":
                writer = csv.DictWriter(out, fieldnames=video_outputs.table_fields(class_names))
                writer.writeheader()
            write_frame = None
            progress = stack.enter_context(tqdm(total=total, desc="predict", unit="frame", disable=args.no_progress))
            stack.callback(results.close)
            for result in results:
                rows = result.rows()
                for row in rows:
                    if writer is not None:
                        writer.writerow(video_outputs.table_row(row, class_names))
                    else:
                        out.write(json.dumps(row) + "\n")
                chart_rows.extend(r for r in rows if r.get("track") is not None)
                if args.annotate is not None:
                    if write_frame is None:  # the size is known with the first frame
                        height, width = result.image.shape[:2]
                        write_frame = stack.enter_context(video_outputs.video_writer(
                            policy, args.annotate, report.source_fps or 30.0, (width, height)))
                    from dsan_tf.inference import annotate

                    write_frame(annotate(result.image, video_outputs.labelled_rows(rows)))
                progress.update(1)
            if args.chart is not None:
                video_outputs.plot_tracks(chart_rows, class_names, args.chart, policy, title=f"{video.name}: "
                                          "expression probabilities per face")
    tracks = len({r["track"] for r in chart_rows})
    written = [f"{flag} {path}" for path, flag in claimed
               if path is not None and (flag != "--annotate" or report.frames)]  # no frame: no video
    print(f"{PROG}: {report.line()}; {tracks} face tracks" + (f"; wrote {', '.join(written)}" if written else ""),
          file=sys.stderr)
    truncated = any("truncated" in note for note in report.notes)
    return 1 if truncated or not report.frames else 0


def _frames_to_process(video, stride: int, max_frames) -> int | None:
    """The frames the live path will process (the header's count; None when it gives none), for the bar."""
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        capture.release()
    if count <= 0:
        return max_frames
    wanted = -(-count // stride)
    return min(wanted, max_frames) if max_frames else wanted


def predict_all(args, inputs, predictor, aligner, annotator, out) -> dict:
    """Write the rows of every input to ``out`` (and the annotated images); returns the counts."""
    from tqdm import tqdm

    from dsan_tf.data.errors import DataError
    from dsan_tf.inference import (annotate, csv_fields, csv_row, is_video, iter_video_frames, load_image,
                                   predict_image, save_rgb)

    writer = None
    if args.format == "csv":
        writer = csv.DictWriter(out, fieldnames=csv_fields(predictor.class_names))
        writer.writeheader()

    counts = {"faces": 0, "no_face": 0, "images": 0, "frames": 0, "unreadable": 0, "truncated": 0}

    def emit(rows):
        for row in rows:
            if writer is not None:
                writer.writerow(csv_row(row, predictor.class_names))
            else:
                out.write(json.dumps(row) + "\n")
        out.flush()

    def process(image, source, root, frame=None, fps=None):
        rows, _ = predict_image(predictor, aligner, image, str(source), frame, fps, grayscale=args.grayscale)
        emit(rows)
        if rows[0]["face"] is None:
            counts["no_face"] += 1
        else:
            counts["faces"] += len(rows)
        if annotator is not None:
            with annotator.policy.publish(annotator.path(source, root, frame)) as tmp:
                save_rgb(tmp, annotate(image, rows))

    for source, root in tqdm(inputs, desc="predict", unit="file", disable=args.no_progress):
        if is_video(source):
            seen = 0
            status = {}
            for frame, fps, image in iter_video_frames(source, args.frame_stride, args.max_frames, status=status):
                process(image, source, root, frame, fps)
                seen += 1
            counts["frames"] += seen
            if status.get("note"):  # ended before its header's frame count
                print(f"{PROG}: {status['note']}", file=sys.stderr)
                counts["truncated"] += 1
            if seen == 0:
                emit([{"source": str(source), "frame": None, "face": None, "box": None, "label": None,
                       "probabilities": None, "note": "no frame could be read"}])
            continue
        try:
            image = load_image(source)
        except DataError as err:
            if not args.skip_unreadable:
                raise
            counts["unreadable"] += 1
            emit([{"source": str(source), "frame": None, "face": None, "box": None, "label": None,
                   "probabilities": None, "note": f"unreadable: {err}"}])
            continue
        counts["images"] += 1
        process(image, source, root)
    return counts


def parse_args(argv=None):
    """The parsed arguments of ``dsan predict argv`` (argparse's SystemExit for bad ones)."""
    from dsan_tf.cli import parse_command_args

    return parse_command_args("predict", argv)[1]


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("predict", argv)


if __name__ == "__main__":
    sys.exit(main())
