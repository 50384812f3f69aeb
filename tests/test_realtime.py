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


# ---------------------------------------------------------------------- the commands: dsan predict --camera,
# its video path's truncation note, dsan bench-realtime (a tiny model; a stand-in for MTCNN)


class _OneFace:
    """mtcnn.MTCNN stand-in: one face at fixed coordinates in frames wider than 90 px, none in smaller ones."""

    def __init__(self, *args, **kwargs):
        pass

    def detect_faces(self, image, **kwargs):
        if image.shape[1] <= 90:
            return np.zeros((0, 15))
        marks_x, marks_y = [30.0, 50.0, 40.0, 32.0, 48.0], [40.0, 40.0, 50.0, 60.0, 60.0]
        return np.array([[0, 20.0, 25.0, 60.0, 75.0, 0.99, *marks_x, *marks_y]])


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory):
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    model = build_dsan(3, 32, "dsan", class_names=["neutral", "happiness", "surprise"], grayscale_input=True,
                       dtype="float32")
    path = tmp_path_factory.mktemp("tiny") / "tiny.keras"
    model.save(path)
    return path


def _dsan(capsys, *argv):
    from dsan_tf.cli import main

    status = main([str(a) for a in argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_predict_camera_writes_json_lines_and_the_rates(tiny_model_file, capsys, monkeypatch):
    import cv2
    import mtcnn

    from dsan_tf import realtime

    monkeypatch.setattr(mtcnn, "MTCNN", _OneFace)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (100, 120, 3), dtype=np.uint8) for _ in range(3)]
    opened = []
    monkeypatch.setattr(cv2, "VideoCapture", lambda i: opened.append(i) or FakeCapture(frames, fps=0.0,
                                                                                        frame_count=-1))
    status, out, err = _dsan(capsys, "predict", "--weights", tiny_model_file, "--camera", 2, "--max-frames", 2)
    assert status == 0, err
    assert opened == [2]
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["frame"] for r in rows] == [0, 1] and {r["source"] for r in rows} == {"camera 2"}
    assert all(r["label"] in ("neutral", "happiness", "surprise") and len(r["box"]) == 4 for r in rows)
    assert "camera 2: 2 frames, 2 faces" in err and "bound by the" in err and "frames/s" in err

    # The camera stops delivering after three frames: the report says so, frames counted.
    status, out, err = _dsan(capsys, "predict", "--weights", tiny_model_file, "--camera", 0)
    assert status == 0 and len(out.splitlines()) == 3 and "camera 0: stopped delivering frames after 3" in err
    monkeypatch.setattr(cv2, "VideoCapture", lambda i: FakeCapture([], fps=0.0))
    status, out, err = _dsan(capsys, "predict", "--weights", tiny_model_file, "--camera", 0)
    assert status == 1 and out == "" and "camera 0: opened but delivered no frame" in err

    # --show without a screen: one error line, before the model loads.
    def no_display():
        raise realtime.DisplayError("no display (DISPLAY is not set)")

    monkeypatch.setattr(realtime, "check_display", no_display)
    status, out, err = _dsan(capsys, "predict", "--weights", tiny_model_file.parent / "missing.keras",
                             "--camera", 0, "--show")
    assert status == 2 and err.strip() == "dsan predict: error: --show: no display (DISPLAY is not set) (drop --show)"
    # (no input at all is no mistake: the demo photo, tests/test_first_run.py)
    for bad in (["--camera", "0", "photo.jpg"], ["--camera", "0", "--format", "csv"], ["--show", "photo.jpg"], ["--show"]):
        with pytest.raises(SystemExit) as stop:
            _dsan(capsys, "predict", *bad)
        assert stop.value.code == 2


def test_predict_reports_a_truncated_video_and_exits_1(tiny_model_file, tmp_path, capsys, monkeypatch):
    import cv2
    import mtcnn

    monkeypatch.setattr(mtcnn, "MTCNN", _OneFace)
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (48, 32))
    for i in range(30):
        writer.write(np.full((32, 48, 3), 8 * i, np.uint8))
    writer.release()
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) // 2])
    status, out, err = _dsan(capsys, "predict", "--weights", tiny_model_file, path, "--no-progress")
    assert status == 1, err
    assert "truncated or damaged: its header says 30 frames" in err and "1 truncated or damaged videos" in err
    assert 0 < len(out.splitlines()) < 30
    path.write_bytes(whole)
    status, out, err = _dsan(capsys, "predict", "--weights", tiny_model_file, path, "--no-progress")
    assert status == 0 and len(out.splitlines()) == 30 and "truncated" not in err, err


def test_bench_realtime_prints_the_rates_and_the_bound(tiny_model_file, tmp_path, capsys, monkeypatch):
    import mtcnn
    from PIL import Image

    monkeypatch.setattr(mtcnn, "MTCNN", _OneFace)
    photo = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 120, 3), dtype=np.uint8)).save(photo)
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", photo, "--weights", tiny_model_file,
                             "--frames", 3, "--size", "160x120")
    assert status == 0, err
    assert out.startswith("3 frames of 160x120, 3 faces") and "frames/s" in out and "faces/s" in out
    assert "detection " in out and "ms/frame" in out and "bound by the " in out
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", photo, "--weights", tiny_model_file,
                             "--frames", 2, "--size", "160x120", "--json")
    report = json.loads(out)
    assert status == 0 and report["frames"] == 2 and report["bound"] in ("detector", "classifier")
    small = tmp_path / "small.png"  # the stand-in finds no face in it
    Image.fromarray(np.zeros((60, 60, 3), np.uint8)).save(small)
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", small, "--weights", tiny_model_file)
    assert status == 2 and "no face found" in err
