"""Issue 23, real time (dsan_tf.realtime): frames of a camera or video through detection and classification.

A synthetic capture stands in for the camera: frames holding ivan.jpg's face (the real MTCNN and
the shipped model) and blank frames. Small frames keep MTCNN fast.
"""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from dsan_tf.data.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
needs_photos = pytest.mark.skipif(not (PHOTOS / "ivan.jpg").is_file(),
                                  reason=f"shared photos not found at {PHOTOS} (ivan.jpg lives beside the repo)")


class FakeCapture:
    """cv2.VideoCapture's read/grab/isOpened/get/set/release over a list of BGR frames."""

    def __init__(self, frames, fps=25.0, frame_count=None, opened=True):
        self.frames = list(frames)
        self.fps = fps
        self.frame_count = len(self.frames) if frame_count is None else frame_count
        self.opened = opened
        self.released = False
        self.position = 0

    def isOpened(self):  # noqa: N802  (OpenCV's name)
        return self.opened

    def read(self):
        if self.position >= len(self.frames):
            return False, None
        self.position += 1
        return True, self.frames[self.position - 1].copy()

    def grab(self):
        return self.read()[0]

    def get(self, prop):
        import cv2

        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_COUNT: self.frame_count}.get(prop, 0.0)

    def set(self, prop, value):
        return True

    def release(self):
        self.released = True


class StubRecognizer:
    """detect/classify/rows of a FaceExpressionRecognizer, without a model: one face per frame, slow."""

    def __init__(self, seconds=0.0):
        self.seconds = seconds

    def detect(self, image):
        import time

        time.sleep(self.seconds)
        return [type("Face", (), {"image": image[:8, :8], "box": (1, 2, 3, 4), "confidence": 0.99})()]

    def classify(self, crops):
        return np.tile([[0.25, 0.75]], (len(crops), 1))

    def rows(self, faces, probabilities, shape):
        return [{"box": list(f.box), "label": "b", "probabilities": {"a": 0.25, "b": 0.75},
                 "detection_confidence": 0.99} for f in faces]


@pytest.fixture(scope="module")
def ivan_frame():
    """A 200x200 BGR frame: ivan.jpg's face and surroundings."""
    import cv2

    from dsan_tf.api import to_rgb_image

    photo = to_rgb_image(PHOTOS / "ivan.jpg")[20:260, 180:420]  # his face is near (300, 120)
    return cv2.cvtColor(cv2.resize(photo, (200, 200), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def recognizer():
    from dsan_tf.api import FaceExpressionRecognizer

    return FaceExpressionRecognizer("ferplus")


@needs_photos
def test_camera_frames_give_faces_and_no_face_notes_as_json_lines(ivan_frame, recognizer):
    from dsan_tf.realtime import StreamReport, run, stream

    blank = np.full_like(ivan_frame, 127)
    cameras = []

    def factory(index):
        cameras.append(index)
        return FakeCapture([ivan_frame, blank, ivan_frame], fps=30.0, frame_count=-1)

    out = io.StringIO()
    report = run(0, recognizer, mode="jsonl", out=out, capture_factory=factory)
    assert cameras == [0]
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["frame"] for r in rows] == [0, 1, 2]
    face, empty, again = rows
    assert face["note"] == "" and face["label"] in recognizer.class_names and len(face["box"]) == 4
    assert empty["label"] is None and empty["box"] is None and empty["note"] == "no face"
    assert again["probabilities"] == face["probabilities"]
    # The frame's faces are what dsan_tf.predict says about the same RGB frame.
    import cv2

    (want,) = recognizer.predict(cv2.cvtColor(ivan_frame, cv2.COLOR_BGR2RGB))
    assert face["label"] == want["label"] and face["box"] == want["box"]
    assert face["probabilities"] == pytest.approx(want["probabilities"], abs=1e-6)

    assert (report.source, report.frames, report.faces, report.no_face_frames) == ("camera 0", 3, 2, 1)
    assert report.expected_frames is None and report.detect_s > 0 and report.classify_s > 0
    assert report.notes == ["camera 0: stopped delivering frames after 3"]
    summary = report.summary()
    assert summary["bound"] in ("detector", "classifier") and summary["frames_per_s"] > 0
    assert summary["faces_per_s"] == pytest.approx(summary["frames_per_s"] * 2 / 3, rel=1e-2)
    assert "frames/s" in report.line() and "bound by the" in report.line()

    # stream() yields the frames themselves; a capture-like object is used as it is.
    capture = FakeCapture([ivan_frame, blank], fps=10.0)
    report = StreamReport("fake")
    results = list(stream(capture, recognizer, report=report))
    assert [len(r.faces) for r in results] == [1, 0] and [r.time_s for r in results] == [0.0, 0.1]
    assert results[0].image.shape == (200, 200, 3) and capture.released and report.notes == []


def test_truncated_video_is_reported(tmp_path):
    """The header says 30 frames; half the file is gone."""
    import cv2

    from dsan_tf.realtime import run

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (48, 32))
    for i in range(30):
        writer.write(np.full((32, 48, 3), 8 * i, np.uint8))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])

    out = io.StringIO()
    report = run(path, StubRecognizer(), out=out)
    assert report.expected_frames == 30 and 0 < report.frames < 30
    assert report.notes == [f"{path}: truncated or damaged: its header says 30 frames, only {report.frames} "
                            "could be decoded"]
    assert len(out.getvalue().splitlines()) == report.frames and report.notes[0] in report.line()

    whole = tmp_path / "whole.avi"
    whole.write_bytes(data)
    assert run(whole, StubRecognizer(), out=io.StringIO(), stride=4).notes == []


def test_stride_max_frames_and_keeping_a_video_s_pace():
    from dsan_tf.realtime import StreamReport, stream

    frames = [np.full((16, 16, 3), i, np.uint8) for i in range(10)]
    results = list(stream(FakeCapture(frames), StubRecognizer(), stride=3))
    assert [r.index for r in results] == [0, 3, 6, 9]
    results = list(stream(FakeCapture(frames), StubRecognizer(), stride=2, max_frames=2))
    assert [r.index for r in results] == [0, 2]
    # 100 frames/s but 30 ms per frame: real time drops frames to keep up, offline processes every one.
    report = StreamReport("fast")
    results = list(stream(FakeCapture(frames, fps=100.0), StubRecognizer(0.03), realtime=True, report=report))
    assert report.dropped > 0 and len(results) + report.dropped == 10 and report.read == 10
    assert "dropped" in report.line()
    assert len(list(stream(FakeCapture(frames, fps=100.0), StubRecognizer(0.03)))) == 10


def test_sources_that_cannot_be_opened_and_no_display(tmp_path, monkeypatch):
    from dsan_tf.realtime import DisplayError, check_display, run

    with pytest.raises(DataError, match="camera 3: cannot be opened"):
        run(3, StubRecognizer(), capture_factory=lambda i: FakeCapture([], opened=False))
    with pytest.raises(DataError, match="no such video file"):
        run(tmp_path / "missing.mp4", StubRecognizer())
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(DataError, match="not a video OpenCV can read"):
        run(tmp_path / "text.mp4", StubRecognizer())
    report = run(tmp_path / "text.mp4", StubRecognizer(), capture_factory=lambda p: FakeCapture([], fps=25.0),
                 out=io.StringIO())
    assert report.frames == 0 and report.notes == [f"{tmp_path / 'text.mp4'}: no frame could be read"]
    with pytest.raises(ValueError, match="mode must be one of"):
        run(0, StubRecognizer(), mode="gif")

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(DisplayError, match="JSON lines"):
        check_display()
    # The window is refused before a model loads or a camera opens.
    opened = []
    with pytest.raises(DisplayError):
        run(0, None, mode="window", capture_factory=lambda i: opened.append(i))
    assert opened == []


@needs_photos
def test_benchmark_reports_rates_and_the_bound(recognizer):
    from dsan_tf.realtime import benchmark

    result = benchmark(PHOTOS / "ivan.jpg", recognizer=recognizer, frames=2, size=(320, 240), warmup=1)
    assert result["frames"] == 2 and result["faces"] == 2 and result["frame_size"] == [320, 240]
    assert result["frames_per_s"] > 0 and result["faces_per_s"] > 0 and result["bound"] in ("detector", "classifier")
    assert result["detection_ms_per_frame"] > 0 and result["classification_ms_per_frame"] > 0 and result["cpu"]
