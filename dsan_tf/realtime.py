"""Facial expressions in real time: a camera or a video file, frame by frame (OpenCV capture).

    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.realtime import run
    report = run(0, FaceExpressionRecognizer(), mode="window")   # camera 0, annotated window
    report = run("clip.mp4", FaceExpressionRecognizer(), mode="jsonl", out=sys.stdout)
    print(report.line())                                             # frames/s, faces/s, the bound

Each frame is detected (MTCNN) and all its faces are classified in one model call; the
two stages are timed apart (:class:`StreamReport`), so the frame rate and what bounds it
(detector or classifier) can be reported. A video whose header promises more frames than
can be decoded (a truncated file) gets a note in the report, as does a camera that stops.

Any object with OpenCV's ``read()``, ``isOpened()``, ``get(prop)`` and ``release()`` can
stand in for the capture (tests use a synthetic one).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from dsan_tf.data.errors import DataError
from dsan_tf.inference import NO_FACE

MODES = ("jsonl", "window")
QUIT_KEYS = (ord("q"), 27)  # q, Esc


class DisplayError(RuntimeError):
    """No screen to show the annotated window on (headless machine or GUI-less OpenCV)."""


# ---------------------------------------------------------------------- sources


def open_capture(source, capture_factory=None):
    """(capture, is camera) for a camera index (int or digit string), a video file or a capture-like object.

    ``capture_factory(source)`` replaces ``cv2.VideoCapture`` (tests). DataError when the
    source cannot be opened.
    """
    if all(hasattr(source, name) for name in ("read", "isOpened", "get", "release")):
        capture, camera, name = source, False, "capture"
    else:
        camera = isinstance(source, int) or (isinstance(source, str) and source.isdigit())
        if not camera and not Path(source).is_file():
            raise DataError(f"{source}: no such video file (give a file, or a camera index such as 0)")
        target = int(source) if camera else str(source)
        if capture_factory is None:
            import cv2

            capture_factory = cv2.VideoCapture
        capture = capture_factory(target)
        name = f"camera {target}" if camera else str(source)
    if not capture.isOpened():
        capture.release()
        if camera:
            raise DataError(f"{name}: cannot be opened (no camera at this index, or it is in use)")
        raise DataError(f"{name}: not a video OpenCV can read")
    if camera and hasattr(capture, "set"):
        import cv2

        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frames: little lag when processing is slower
    return capture, camera


def source_name(source) -> str:
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return f"camera {int(source)}"
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return type(source).__name__


# ---------------------------------------------------------------------- results


@dataclasses.dataclass
class FrameResult:
    """One processed frame: its faces (``dsan_tf.predict``'s dicts) and the stages' times."""

    source: str
    index: int
    time_s: float | None
    image: np.ndarray  # RGB uint8, the frame as read
    faces: list
    detect_s: float
    classify_s: float

    def rows(self) -> list[dict]:
        """JSON-ready rows, one per face (or one "no face" row), in ``dsan predict``'s fields."""
        from dsan_tf.face_record import FaceRecord

        base = {"frame": self.index, "time_s": self.time_s}
        if not self.faces:
            return [FaceRecord(self.source, None, None, None).to_record(
                **base, face=None, detection_confidence=None, probability=None, note=NO_FACE)]
        return [FaceRecord(self.source, f["box"], f["label"], {k: round(v, 6) for k, v in f["probabilities"].items()})
                .to_record(**base, face=i, detection_confidence=f["detection_confidence"],
                           probability=round(f["probabilities"][f["label"]], 6), note="")
                for i, f in enumerate(self.faces)]


@dataclasses.dataclass
class StreamReport:
    """Counts, stage times and notes of one stream; filled while it runs."""

    source: str
    source_fps: float | None = None  # the video's (or camera's) recorded frame rate
    expected_frames: int | None = None  # the video header's frame count (None: unknown, e.g. a camera)
    read: int = 0  # frames read from the source (processed, skipped by stride or dropped to keep pace)
    frames: int = 0  # frames processed (detected and classified)
    dropped: int = 0  # frames skipped to keep up with a video's frame rate (realtime=True)
    faces: int = 0
    no_face_frames: int = 0
    read_s: float = 0.0  # decoding the frames
    detect_s: float = 0.0  # MTCNN + alignment
    classify_s: float = 0.0  # the DSAN, all faces of a frame in one call
    wall_s: float = 0.0
    stopped: str = ""  # why it ended early: "quit" (window key), "" otherwise
    notes: list = dataclasses.field(default_factory=list)

    def summary(self) -> dict:
        """Frames/s, faces/s (over the wall time), ms per frame by stage, and the stage that bounds the rate."""
        n = max(self.frames, 1)
        wall = self.wall_s or float("nan")
        return {
            "source": self.source, "frames": self.frames, "faces": self.faces,
            "no_face_frames": self.no_face_frames, "dropped": self.dropped,
            "frames_per_s": round(self.frames / wall, 3) if self.frames else 0.0,
            "faces_per_s": round(self.faces / wall, 3) if self.frames else 0.0,
            "read_ms_per_frame": round(1e3 * self.read_s / n, 2),
            "detection_ms_per_frame": round(1e3 * self.detect_s / n, 2),
            "classification_ms_per_frame": round(1e3 * self.classify_s / n, 2),
            "classification_ms_per_face": round(1e3 * self.classify_s / max(self.faces, 1), 2),
            "bound": self.bound(), "notes": list(self.notes),
        }

    def bound(self) -> str:
        """'detector' or 'classifier': the stage taking more time ('' before any frame)."""
        if not self.frames:
            return ""
        return "detector" if self.detect_s >= self.classify_s else "classifier"

    def line(self) -> str:
        """One line for stderr: the rates, per-stage times and the notes."""
        s = self.summary()
        text = (f"{self.source}: {s['frames']} frames, {s['faces']} faces ({s['no_face_frames']} frames without a "
                f"face) in {self.wall_s:.1f} s: {s['frames_per_s']:.2f} frames/s, {s['faces_per_s']:.2f} faces/s; "
                f"per frame: detection {s['detection_ms_per_frame']:.1f} ms, classification "
                f"{s['classification_ms_per_frame']:.1f} ms, decoding {s['read_ms_per_frame']:.1f} ms; "
                f"bound by the {s['bound'] or 'nothing (no frame)'}")
        if self.dropped:
            text += f"; {self.dropped} frames dropped to keep the video's pace"
        return "; ".join([text, *self.notes])


# ---------------------------------------------------------------------- the stream


def frames(capture, report: StreamReport, *, camera: bool = False, stride: int = 1, max_frames: int | None = None,
           realtime: bool = False) -> Iterator[tuple[int, float | None, np.ndarray]]:
    """Yield (frame index, time in s, RGB frame) of every ``stride``-th frame, releasing the capture at the end.

    ``realtime`` (video files): keep the file's frame rate, sleeping when ahead and skipping
    (grabbing without decoding) frames when behind; ``report.dropped`` counts them. A file
    that ends before its header's frame count gets a note in ``report.notes``.
    """
    import cv2

    if stride < 1:
        raise ValueError(f"frame stride must be >= 1, got {stride}")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    report.source_fps = fps if fps > 0 else None
    report.expected_frames = count if count > 0 and not camera else None
    pace = realtime and not camera and fps > 0
    start = time.perf_counter()
    index, emitted, ended = 0, 0, False
    try:
        while max_frames is None or emitted < max_frames:
            wanted = index % stride == 0
            dropping = False
            if pace and wanted:
                late = time.perf_counter() - start - index / fps
                if late > 1.0 / fps:  # behind by a frame or more: skip this one
                    wanted, dropping = False, True
                elif late < 0:
                    time.sleep(-late)
            t0 = time.perf_counter()
            if wanted:
                ok, frame = capture.read()
                ok = ok and frame is not None
            elif hasattr(capture, "grab"):  # skipped: not decoded
                ok = bool(capture.grab())
            else:
                ok = bool(capture.read()[0])
            report.read_s += time.perf_counter() - t0
            if not ok:
                ended = True
                break
            report.read += 1
            report.dropped += dropping
            if wanted:
                emitted += 1
                seconds = index / fps if fps > 0 and not camera else time.perf_counter() - start
                yield index, round(seconds, 3), _to_rgb(frame)
            index += 1
    finally:
        capture.release()
        if ended:
            _note_end(report, camera)


def _to_rgb(frame) -> np.ndarray:
    import cv2

    frame = np.asarray(frame)
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB if frame.shape[2] == 4 else cv2.COLOR_BGR2RGB)


def _note_end(report: StreamReport, camera: bool) -> None:
    if camera:
        if report.read == 0:
            report.notes.append(f"{report.source}: opened but delivered no frame")
        else:
            report.notes.append(f"{report.source}: stopped delivering frames after {report.read}")
    elif report.read == 0:
        report.notes.append(f"{report.source}: no frame could be read")
    elif report.expected_frames and report.read < report.expected_frames:
        report.notes.append(f"{report.source}: truncated or damaged: its header says {report.expected_frames} "
                            f"frames, only {report.read} could be decoded")


def stream(source, recognizer, *, stride: int = 1, max_frames: int | None = None, realtime: bool = False,
           report: StreamReport | None = None, capture_factory=None) -> Iterator[FrameResult]:
    """Detect and classify every ``stride``-th frame of a camera index, video file or capture-like object.

    ``recognizer`` is a :class:`dsan_tf.api.FaceExpressionRecognizer`. Pass a
    :class:`StreamReport` to read counts, stage times and notes as it goes and after.
    """
    name = source_name(source)
    report = report if report is not None else StreamReport(name)
    capture, camera = open_capture(source, capture_factory)
    start = time.perf_counter()
    try:
        for index, seconds, image in frames(capture, report, camera=camera, stride=stride, max_frames=max_frames,
                                            realtime=realtime):
            t0 = time.perf_counter()
            found = recognizer.detect(image)
            t1 = time.perf_counter()
            probabilities = recognizer.classify([f.image for f in found]) if found else None
            t2 = time.perf_counter()
            faces = recognizer.rows(found, probabilities, image.shape) if found else []
            report.frames += 1
            report.faces += len(faces)
            report.no_face_frames += not faces
            report.detect_s += t1 - t0
            report.classify_s += t2 - t1
            report.wall_s = time.perf_counter() - start
            yield FrameResult(name, index, seconds, image, faces, t1 - t0, t2 - t1)
    finally:
        report.wall_s = time.perf_counter() - start


# ---------------------------------------------------------------------- outputs


def write_json_lines(results, out) -> None:
    """One JSON line per face (or per frame without a face), flushed every frame."""
    for result in results:
        for row in result.rows():
            out.write(json.dumps(row) + "\n")
        out.flush()


def check_display() -> None:
    """DisplayError (with what to do instead) unless an OpenCV window can be opened here."""
    import cv2

    gui = next((line.split(":", 1)[1].strip() for line in cv2.getBuildInformation().splitlines()
                if line.strip().startswith("GUI:")), "")
    if gui.upper() == "NONE":
        raise DisplayError("this OpenCV build has no window support (opencv-python-headless): install "
                           "opencv-python for the annotated window, or write JSON lines instead")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DisplayError("no display (DISPLAY is not set: a headless machine or an SSH session without X "
                           "forwarding): write JSON lines instead")


def show_window(results, report: StreamReport | None = None, window: str = "dsan_tf") -> None:
    """Show each frame annotated (boxes, labels, frames/s) until the stream ends or q/Esc is pressed."""
    import cv2

    from dsan_tf.inference import annotate

    check_display()
    try:
        for result in results:
            shown = annotate(result.image, result.rows())
            if report is not None and report.wall_s > 0:
                cv2.putText(shown, f"{report.frames / report.wall_s:.1f} frames/s", (8, shown.shape[0] - 10),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 0), 2, cv2.LINE_AA)
            cv2.imshow(window, cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
            if cv2.waitKey(1) & 0xFF in QUIT_KEYS:
                if report is not None:
                    report.stopped = "quit"
                break
    finally:
        try:
            cv2.destroyWindow(window)
        except cv2.error:  # never shown (the stream failed first)
            pass


def run(source, recognizer=None, *, mode: str = "jsonl", out=None, stride: int = 1,
        max_frames: int | None = None, realtime: bool | None = None, capture_factory=None) -> StreamReport:
    """The whole stream in one call: JSON lines to ``out`` (default stdout) or an annotated window.

    ``realtime`` (video files): keep the file's frame rate, dropping frames when behind;
    default True in the window, False for JSON lines (every frame). Returns the
    :class:`StreamReport` (print ``report.line()``). DisplayError for a window without a
    screen, checked before the model or the source is touched; DataError for a source
    that cannot be opened.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "window":
        check_display()
    if recognizer is None:
        from dsan_tf.api import FaceExpressionRecognizer

        recognizer = FaceExpressionRecognizer()
    report = StreamReport(source_name(source))
    results = stream(source, recognizer, stride=stride, max_frames=max_frames,
                     realtime=(mode == "window") if realtime is None else realtime, report=report,
                     capture_factory=capture_factory)
    if mode == "window":
        show_window(results, report)
    else:
        write_json_lines(results, sys.stdout if out is None else out)
    return report


# ---------------------------------------------------------------------- benchmark


def make_video(path, face_photo, frames: int = 60, size=(640, 480), fps: float = 30.0, face_height: int = 240,
               detector=None):
    """Write an MJPG video of ``frames`` frames (``size`` = width, height) showing ``face_photo`` (a photo with
    one face: its largest face's surroundings, scaled so the face box is about ``face_height`` / 2 px
    tall), drifting a few pixels per frame. ``detector``: mtcnn's, to reuse. Returns the path."""
    import cv2

    from dsan_tf.api import to_rgb_image
    from dsan_tf.data.align import FaceAligner

    photo = to_rgb_image(face_photo)
    width, height = size
    found = FaceAligner(detector=detector).detect(photo)
    if found:  # a square twice the face's height around it
        x, y, w, h = found[0].box
        side = 2 * max(w, h)
        cx, cy = x + w / 2, y + h / 2
        x0, y0 = int(max(cx - side / 2, 0)), int(max(cy - side / 2, 0))
        photo = photo[y0:int(min(cy + side / 2, photo.shape[0])), x0:int(min(cx + side / 2, photo.shape[1]))]
    scale = min(face_height / photo.shape[0], 0.8 * width / photo.shape[1], 0.8 * height / photo.shape[0])
    patch = cv2.resize(photo, (max(1, int(photo.shape[1] * scale)), max(1, int(photo.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    ph, pw = patch.shape[:2]
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write an MJPG video here")
    try:
        for i in range(frames):
            canvas = np.full((height, width, 3), 110, np.uint8)
            dx, dy = int(round(20 * np.sin(i / 7))), int(round(10 * np.cos(i / 5)))
            top, left = (height - ph) // 2 + dy, (width - pw) // 2 + dx
            canvas[top:top + ph, left:left + pw] = patch
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def benchmark(face_photo, model="ferplus", *, frames: int = 60, size=(640, 480), warmup: int = 3,
              recognizer=None, video=None) -> dict:
    """Frames/s and faces/s of detection + classification on a ``size`` video with one face.

    Builds the video from ``face_photo`` (see :func:`make_video`) in a temporary folder
    (or uses ``video``), runs ``warmup`` frames first (graph tracing, detector build), then
    times every frame as fast as it can go. Returns :meth:`StreamReport.summary` plus the
    frame size, the CPU and the model.
    """
    import platform
    import tempfile

    if recognizer is None:
        from dsan_tf.api import FaceExpressionRecognizer

        recognizer = FaceExpressionRecognizer(model)
    with tempfile.TemporaryDirectory() as tmp:
        if video is None:
            video = make_video(Path(tmp) / "one_face.avi", face_photo, frames=frames + warmup, size=size,
                               detector=recognizer.aligner.detector)
        results = stream(video, recognizer, max_frames=warmup)
        for _ in results:
            pass
        report = StreamReport(f"{Path(video).name} ({size[0]}x{size[1]})")
        # The timed pass reads the video again from the start (warmup frames included in its count).
        cpu = time.process_time()
        for _ in stream(video, recognizer, max_frames=frames, report=report):
            pass
        cpu = time.process_time() - cpu
    # CPU time of this process (all threads): on a shared machine, a bound for the wall time when idle.
    cpu_ms = round(1e3 * cpu / max(report.frames, 1), 2)
    return {**report.summary(), "cpu_ms_per_frame": cpu_ms, "frame_size": list(size),
            "model": recognizer.predictor.source,
            "image_size": recognizer.image_size, "cpu": _cpu_name() or platform.processor(),
            "cpu_count": os.cpu_count()}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""
