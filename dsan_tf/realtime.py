"""Facial expressions in real time: a camera or a video file, frame by frame (OpenCV capture).

    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.realtime import run
    report = run(0, FaceExpressionRecognizer(), mode="window")   # camera 0, annotated window
    report = run("clip.mp4", FaceExpressionRecognizer(), mode="jsonl", out=sys.stdout)
    print(report.line())                                             # frames/s, faces/s, the bound

:func:`stream` detects every frame in full (MTCNN) and classifies all its faces in one model
call; :func:`live_stream` (``dsan predict --camera``, ``--annotate VIDEO.mp4``) searches only every
few frames at the faces' scale and follows the faces in between, with a track id per face
(:mod:`dsan_tf.live_detection`, :mod:`dsan_tf.tracking`). The stages are timed apart
(:class:`StreamReport`), so the frame rate and what bounds it
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


def rate_text(rate) -> str:
    """A rate to two places, "n/a" where none was measurable (None)."""
    return "n/a" if rate is None else f"{rate:.2f}"


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
    latency_s: float | None = None  # from the start of the frame's read to its labels (live path)
    step: str = ""  # the live detector's step: "search", "refit" or "refit+search" ("" full detection)

    def rows(self) -> list[dict]:
        """JSON-ready rows, one per face (or one "no face" row), in ``dsan predict``'s fields; faces
        followed by the live path also carry their ``track`` id."""
        from dsan_tf.face_record import FaceRecord

        base = {"frame": self.index, "time_s": self.time_s}
        if not self.faces:
            return [FaceRecord(self.source, None, None, None).to_record(
                **base, face=None, detection_confidence=None, probability=None, note=NO_FACE)]
        return [FaceRecord(self.source, f["box"], f["label"], {k: round(v, 6) for k, v in f["probabilities"].items()})
                .to_record(**base, face=i, **({"track": f["track"]} if "track" in f else {}),
                           detection_confidence=f["detection_confidence"],
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
    capture_at: float = 0.0  # clock at the start of the last frame's read (for its latency)
    latencies: list = dataclasses.field(default_factory=list)  # capture to labels, s, per frame (live path)
    searches: int = 0  # live path: frames on which MTCNN's whole cascade ran

    def summary(self) -> dict:
        """Frames/s, faces/s (over the wall time), ms per frame by stage, and the stage that bounds the rate."""
        n = max(self.frames, 1)
        return {
            "source": self.source, "frames": self.frames, "faces": self.faces,
            "no_face_frames": self.no_face_frames, "dropped": self.dropped,
            "frames_per_s": self._rate(self.frames), "faces_per_s": self._rate(self.faces),
            "read_ms_per_frame": round(1e3 * self.read_s / n, 2),
            "detection_ms_per_frame": round(1e3 * self.detect_s / n, 2),
            "classification_ms_per_frame": round(1e3 * self.classify_s / n, 2),
            "classification_ms_per_face": round(1e3 * self.classify_s / max(self.faces, 1), 2),
            "bound": self.bound(), "notes": list(self.notes),
            **({"latency_ms_median": round(1e3 * float(np.median(self.latencies)), 2),
                "searches": self.searches} if self.latencies else {}),
        }

    def _rate(self, count) -> float | None:
        """``count`` per wall-clock second; None (JSON null, never NaN) when frames ran in no measurable time."""
        if not self.frames:
            return 0.0
        return round(count / self.wall_s, 3) if self.wall_s > 0 else None

    def bound(self) -> str:
        """'detector' or 'classifier': the stage taking more time ('' before any frame)."""
        if not self.frames:
            return ""
        return "detector" if self.detect_s >= self.classify_s else "classifier"

    def line(self) -> str:
        """One line for stderr: the rates, per-stage times and the notes."""
        s = self.summary()
        text = (f"{self.source}: {s['frames']} frames, {s['faces']} faces ({s['no_face_frames']} frames without a "
                f"face) in {self.wall_s:.1f} s: {rate_text(s['frames_per_s'])} frames/s, "
                f"{rate_text(s['faces_per_s'])} faces/s; "
                f"per frame: detection {s['detection_ms_per_frame']:.1f} ms, classification "
                f"{s['classification_ms_per_frame']:.1f} ms, decoding {s['read_ms_per_frame']:.1f} ms; "
                f"bound by the {s['bound'] or 'nothing (no frame)'}")
        if self.latencies:  # the live path
            text += (f"; median latency {s['latency_ms_median']:.1f} ms from a frame's capture to its labels; "
                     f"{self.searches} MTCNN searches")
        if self.dropped:
            text += f"; {self.dropped} frames dropped to keep the video's pace"
        return "; ".join([text, *self.notes])


# ---------------------------------------------------------------------- the stream


def frames(capture, report: StreamReport, *, camera: bool = False, stride: int = 1, max_frames: int | None = None,
           realtime: bool = False, clock=None) -> Iterator[tuple[int, float | None, np.ndarray]]:
    """Yield (frame index, time in s, RGB frame) of every ``stride``-th frame, releasing the capture at the end.

    ``realtime`` (video files): keep the file's frame rate, sleeping when ahead and skipping
    (grabbing without decoding) frames when behind; ``report.dropped`` counts them. A file
    that ends before its header's frame count gets a note in ``report.notes``.
    """
    import cv2

    clock = clock or time.perf_counter  # looked up at call time: stream() times with time.perf_counter too
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
            t0 = clock()
            report.capture_at = t0
            if wanted:
                ok, frame = capture.read()
                ok = ok and frame is not None
            elif hasattr(capture, "grab"):  # skipped: not decoded
                ok = bool(capture.grab())
            else:
                ok = bool(capture.read()[0])
            report.read_s += clock() - t0
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


def live_stream(source, recognizer, *, search_every: int = 10, min_face_fraction: float = 0.1, smooth: int = 1,
                max_missed: int = 5, stride: int = 1, max_frames: int | None = None, realtime: bool = False,
                report: StreamReport | None = None, capture_factory=None, detector=None,
                clock=time.perf_counter) -> Iterator[FrameResult]:
    """The live path: like :func:`stream`, but MTCNN searches only every ``search_every`` frames (on a
    copy shrunk to the faces' scale) and refits the followed faces in between
    (:class:`dsan_tf.live_detection.LiveDetector`); each face carries a ``track`` id
    (:class:`dsan_tf.tracking.Tracker`), its probabilities averaged over its last ``smooth`` frames
    (1: not smoothed). All faces of a frame are classified in one call.

    ``detector``: any callable frame -> :class:`dsan_tf.live_detection.Step` (tests); ``clock``:
    the timer of the report's stage times and latencies (tests give a fake one).
    """
    from dsan_tf.live_detection import LiveDetector
    from dsan_tf.tracking import LabelSmoother, Tracker

    name = source_name(source)
    report = report if report is not None else StreamReport(name)
    if detector is None:
        detector = LiveDetector(recognizer.aligner, search_every=search_every, min_face_fraction=min_face_fraction)
    tracker, smoother = Tracker(max_missed=max_missed), LabelSmoother(smooth)
    capture, camera = open_capture(source, capture_factory)
    start = clock()
    try:
        for index, seconds, image in frames(capture, report, camera=camera, stride=stride, max_frames=max_frames,
                                            realtime=realtime, clock=clock):
            t0 = clock()
            step = detector(image)
            aligned = recognizer.aligner.align_detections(image, step.detections)
            t1 = clock()
            probabilities = recognizer.classify([f.image for f in aligned]) if aligned else None
            t2 = clock()
            ids = tracker.update([d.box for d in step.detections])
            smoother.forget(t.id for t in tracker.tracks)
            faces = []
            if aligned:
                smoothed = np.stack([smoother(i, p) for i, p in zip(ids, probabilities)])
                faces = [{**row, "track": i} for row, i in zip(recognizer.rows(aligned, smoothed, image.shape), ids)]
            report.frames += 1
            report.faces += len(faces)
            report.no_face_frames += not faces
            report.searches += "search" in step.kind
            report.detect_s += t1 - t0
            report.classify_s += t2 - t1
            latency = t2 - report.capture_at
            report.latencies.append(latency)
            report.wall_s = clock() - start
            yield FrameResult(name, index, seconds, image, faces, t1 - t0, t2 - t1, latency, step.kind)
    finally:
        report.wall_s = clock() - start


# ---------------------------------------------------------------------- outputs


def write_json_lines(results, out) -> None:
    """One JSON line per face (or per frame without a face), flushed every frame."""
    for result in results:
        for row in result.rows():
            out.write(json.dumps(row) + "\n")
        out.flush()


def check_display() -> str:
    """The window toolkit to use here: "opencv" (an OpenCV build with a GUI) or "tk" (tkinter, for
    opencv-python-headless); DisplayError (with what to do instead) when no window can be opened."""
    import cv2

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise DisplayError("no display (DISPLAY is not set: a headless machine or an SSH session without X "
                           "forwarding): write JSON lines instead")
    gui = next((line.split(":", 1)[1].strip() for line in cv2.getBuildInformation().splitlines()
                if line.strip().startswith("GUI:")), "")
    if gui.upper() != "NONE":
        return "opencv"
    try:
        import tkinter  # noqa: F401

        from PIL import ImageTk  # noqa: F401
    except ImportError:
        raise DisplayError("this OpenCV build has no window support (opencv-python-headless) and Python has no "
                           "tkinter (Debian/Ubuntu: apt-get install python3-tk): install one of them for the "
                           "annotated window, or write JSON lines instead") from None
    return "tk"


class TkWindow:
    """A window showing RGB frames with tkinter (Python's own toolkit), for OpenCV builds without a GUI.

    ``show(frame)`` draws a frame and handles pending events; it returns False once q, Esc or the
    window's close button was pressed. ``close()`` destroys the window (safe to call twice).
    """

    def __init__(self, title: str = "dsan_tf"):
        import tkinter

        try:
            self.root = tkinter.Tk()
        except tkinter.TclError as err:  # DISPLAY set but no X server answering
            raise DisplayError(f"cannot open a window on display {os.environ.get('DISPLAY', '')!r}: {err}") from None
        self.root.title(title)
        self.label = tkinter.Label(self.root, borderwidth=0)
        self.label.pack()
        self.open = True
        for key in ("<KeyPress-q>", "<KeyPress-Q>", "<Escape>"):
            self.root.bind(key, self._quit)
        self.root.protocol("WM_DELETE_WINDOW", self._quit)

    def _quit(self, _event=None) -> None:
        self.open = False

    def show(self, frame: np.ndarray) -> bool:
        from PIL import Image, ImageTk

        if self.open:
            photo = ImageTk.PhotoImage(Image.fromarray(np.ascontiguousarray(frame, np.uint8)), master=self.root)
            self.label.configure(image=photo)
            self.label.image = photo  # Tk keeps no reference of its own
            self.root.update()  # draw, and run the key and close handlers
        return self.open

    def close(self) -> None:
        if self.root is not None:
            try:
                self.root.destroy()
            except Exception:  # noqa: BLE001 - already gone with its display
                pass
            self.root = None


def show_window(results, report: StreamReport | None = None, window: str = "dsan_tf") -> None:
    """Show each frame annotated (boxes, labels with track ids, frames/s) until the stream ends or q/Esc
    is pressed (or the window is closed); the window is closed on any exit, Ctrl-C included."""
    import cv2

    from dsan_tf.inference import annotate
    from dsan_tf.video_outputs import labelled_rows

    toolkit = check_display()
    tk_window = TkWindow(window) if toolkit == "tk" else None
    try:
        for result in results:
            shown = annotate(result.image, labelled_rows(result.rows()))
            if report is not None and report.wall_s > 0:
                cv2.putText(shown, f"{report.frames / report.wall_s:.1f} frames/s", (8, shown.shape[0] - 10),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 0), 2, cv2.LINE_AA)
            if tk_window is not None:
                still_open = tk_window.show(shown)
            else:
                cv2.imshow(window, cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
                still_open = not (cv2.waitKey(1) & 0xFF in QUIT_KEYS)
            if not still_open:
                if report is not None:
                    report.stopped = "quit"
                break
    finally:
        if tk_window is not None:
            tk_window.close()
        else:
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


# ---------------------------------------------------------------------- the live path's benchmark


def face_patch(photo, detector=None) -> tuple:
    """(RGB square around a photo's largest face, twice its height; the face box (x, y, w, h) in it)."""
    from dsan_tf.api import to_rgb_image
    from dsan_tf.data.align import FaceAligner

    photo = to_rgb_image(photo)
    found = FaceAligner(detector=detector).detect(photo)
    if not found:
        raise DataError("no face found in the photo; give a photo with one face")
    x, y, w, h = found[0].box
    side = 2 * max(w, h)
    x0, y0 = int(max(x + w / 2 - side / 2, 0)), int(max(y + h / 2 - side / 2, 0))
    patch = photo[y0:int(min(y0 + side, photo.shape[0])), x0:int(min(x0 + side, photo.shape[1]))]
    return np.ascontiguousarray(patch), (x - x0, y - y0, w, h)


def make_scene_video(path, patches, *, frames: int = 90, size=(640, 480), fps: float = 30.0, heights=None) -> list:
    """An MJPG video of ``patches`` ((RGB patch, face box in it) from :func:`face_patch`) moving on their own
    paths and growing and shrinking by up to 20 % (``heights``: each patch's mean height in px).

    Returns the truth: per frame, each face's box (x, y, w, h) in the frame, None while it is not
    wholly in view."""
    import cv2

    width, height = size
    count = len(patches)
    heights = heights or [int(0.5 * height)] * count
    truth = []
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write an MJPG video here")
    try:
        for i in range(frames):
            canvas = np.full((height, width, 3), 110, np.uint8)
            boxes = []
            for k, ((patch, (fx, fy, fw, fh)), mean_h) in enumerate(zip(patches, heights)):
                scale = mean_h / patch.shape[0] * (1 + 0.2 * np.sin(2 * np.pi * i / 45 + k))
                pw, ph = max(1, int(patch.shape[1] * scale)), max(1, int(patch.shape[0] * scale))
                cx = width * (k + 0.5) / count + 0.15 * width / count * np.sin(2 * np.pi * i / 60 + 2 * k)
                cy = height / 2 + 0.15 * height * np.cos(2 * np.pi * i / 50 + k)
                left, top = int(round(cx - pw / 2)), int(round(cy - ph / 2))
                resized = cv2.resize(patch, (pw, ph), interpolation=cv2.INTER_AREA)
                # Paste what lies inside the frame.
                x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + pw, width), min(top + ph, height)
                if x1 > x0 and y1 > y0:
                    canvas[y0:y1, x0:x1] = resized[y0 - top:y1 - top, x0 - left:x1 - left]
                box = (left + fx * pw / patch.shape[1], top + fy * ph / patch.shape[0],
                       fw * pw / patch.shape[1], fh * ph / patch.shape[0])
                inside = box[0] >= 0 and box[1] >= 0 and box[0] + box[2] <= width and box[1] + box[3] <= height
                boxes.append(box if inside else None)
            truth.append(boxes)
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return truth


def agreement(reference: list, live: list, truth: list | None = None, min_iou: float = 0.5) -> dict:
    """How the live path's labels compare with full per-frame detection on the same frames.

    ``reference``, ``live``: per frame, the list of face dicts (``box``, ``label``) of each path.
    A reference face counts as agreeing when a live face overlaps it (IoU >= ``min_iou``, one to
    one) with the same label. ``truth`` (per frame, each face's box or None out of view): the
    longest run of frames in which a face in view had no live face on it (IoU >= 0.3) per face.
    """
    from dsan_tf.tracking import associate, iou

    ref_faces = agreed = missing = 0
    for ref, got in zip(reference, live):
        pairs = associate([f["box"] for f in ref], [f["box"] for f in got], min_iou)
        ref_faces += len(ref)
        missing += len(ref) - len(pairs)
        agreed += sum(ref[i]["label"] == got[j]["label"] for i, j in pairs)
    out = {"reference_faces": ref_faces, "agreeing": agreed, "unmatched": missing,
           "agreement": round(agreed / ref_faces, 4) if ref_faces else None}
    if truth is not None:
        longest = []
        for k in range(max((len(t) for t in truth), default=0)):
            run = best = 0
            for boxes, got in zip(truth, live):
                box = boxes[k] if k < len(boxes) else None
                lost = box is not None and not any(iou(box, f["box"]) >= 0.3 for f in got)
                run = run + 1 if lost else 0
                best = max(best, run)
            longest.append(best)
        out["longest_loss_frames"] = longest
    return out


def benchmark_live(photos, recognizer, *, frames: int = 90, size=(640, 480), warmup: int = 10,
                   search_every: int = 10, reference=None, clock=time.perf_counter) -> list[dict]:
    """The live path on two synthetic ``size`` videos built from ``photos`` (each with one face): one face,
    and three faces of different sizes (the photos reused in turn) that move and scale.

    For each video: ``warmup`` frames first (graph tracing), then the live path timed over
    ``frames`` frames (:meth:`StreamReport.summary`: frames/s, ms per stage, median latency),
    then full per-frame detection at full resolution on the same frames, whose labels the live
    path's are compared with (:func:`agreement`). ``reference``: the recognizer of that full
    detection (default ``recognizer``; e.g. the Keras model when the live path runs TFLite).
    """
    import tempfile

    from dsan_tf.data.align import FaceAligner
    from dsan_tf.live_detection import compile_mtcnn

    detector = recognizer.aligner.detector
    patches = [face_patch(p, detector) for p in photos]
    width, height = size
    scenes = [("one face", [patches[0]], [int(0.55 * height)]),
              ("three faces", [patches[i % len(patches)] for i in range(3)],
               [int(0.42 * height), int(0.32 * height), int(0.24 * height)])]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, chosen, heights in scenes:
            video = Path(tmp) / f"{name.replace(' ', '_')}.avi"
            truth = make_scene_video(video, chosen, frames=frames, size=size, heights=heights)
            for _ in live_stream(video, recognizer, max_frames=warmup, search_every=search_every):
                pass  # graph tracing, not timed
            report = StreamReport(f"{name} ({width}x{height})")
            live = [r.faces for r in live_stream(video, recognizer, search_every=search_every, report=report,
                                                 clock=clock)]
            # Full per-frame detection (today's path) on the same frames, the networks compiled (same numbers).
            full = copy_recognizer(reference or recognizer, FaceAligner(
                output_size=recognizer.aligner.output_size, min_confidence=recognizer.aligner.min_confidence,
                min_face_size=recognizer.aligner.min_face_size, detector=compile_mtcnn(detector)))
            full_report = StreamReport(name)
            full_faces = [r.faces for r in stream(video, full, report=full_report)]
            results.append({**report.summary(), "scene": name, "faces_in_scene": len(chosen),
                            **agreement(full_faces, live, truth), "full_detection_ms_per_frame":
                            round(1e3 * full_report.detect_s / max(full_report.frames, 1), 2)})
    return results


def copy_recognizer(recognizer, aligner):
    """A shallow copy of a FaceExpressionRecognizer (same model) with another aligner."""
    import copy

    other = copy.copy(recognizer)
    other.aligner = aligner
    return other
