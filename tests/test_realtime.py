"""Issues 23 and 36, real time (dsan_tf.realtime): frames of a camera or video through detection and
classification; the live path (tracks, the search's scale, stage accounting, agreement, predict VIDEO's
annotated video, table and chart through the output policy).

A synthetic capture stands in for the camera: frames holding ivan.jpg's face (the real MTCNN and
the shipped model) and blank frames. Small frames keep MTCNN fast.
"""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from dsan_tf.data.align import Detection
from dsan_tf.data.errors import DataError
from dsan_tf.live_detection import LiveDetector, Step
from dsan_tf.tracking import LabelSmoother, Tracker, associate, iou

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
    not_a_model = tiny_model_file.parent / "not-a-model.keras"  # exists (its flag accepts it), never loads
    not_a_model.write_text("not a model")
    status, out, err = _dsan(capsys, "predict", "--weights", not_a_model, "--camera", 0, "--show")
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


def test_bench_realtime_prints_rates_latency_and_agreement(tiny_model_file, tmp_path, capsys, monkeypatch):
    import mtcnn
    from PIL import Image

    monkeypatch.setattr(mtcnn, "MTCNN", _OneFace)
    photo = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 150, 3), dtype=np.uint8)).save(photo)
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", photo, "--weights", tiny_model_file,
                             "--frames", 3, "--size", "160x120", "--classifier", "keras")
    assert status == 0, err
    lines = out.splitlines()
    assert "keras classifier" in lines[0] and "160x120" in lines[0]
    assert lines[1].startswith("one face: 3 frames, 3 faces:") and "median latency" in lines[1]
    assert lines[3].startswith("three faces: 3 frames, 3 faces:")  # the stand-in finds one and "frames/s" in lines[3]
    # The stand-in finds the same face in both paths: every label agrees.
    assert "labels equal to full per-frame detection on 100.0% of 3 face-frames" in lines[2]
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", photo, "--weights", tiny_model_file,
                             "--frames", 2, "--size", "160x120", "--json", "--classifier", "keras")
    reports = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [r["scene"] for r in reports] == ["one face", "three faces"]
    assert all(r["frames"] == 2 and r["agreement"] == 1.0 and "latency_ms_median" in r for r in reports)
    small = tmp_path / "small.png"  # the stand-in finds no face in it
    Image.fromarray(np.zeros((60, 60, 3), np.uint8)).save(small)
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", small, "--weights", tiny_model_file)
    assert status == 2 and "no face found" in err
    with pytest.raises(SystemExit) as exit_:
        _dsan(capsys, "bench-realtime", "--photo", photo, "--frames", 0)
    assert exit_.value.code == 2 and "--frames: expected an integer in [1, " in capsys.readouterr().err


# ---------------------------------------------------------------------- issue 36: the live path


# ---------------------------------------------------------------------- tracking


def test_iou_by_hand():
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 20), (0, 10, 10, 20)) == pytest.approx(100 / 300)  # a vertical overlap: w/h not swapped
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0


def test_association_prefers_the_best_total_overlap():
    # Greedy matching would pair a[0] with b[0] (0.56, the largest) and leave a[1] alone; the best total pairs
    # a[0]-b[1] (0.50) and a[1]-b[0] (0.43).
    a = [(0, 0, 100, 100), (40, 0, 100, 100)]
    b = [(25, 0, 100, 100), (0, 0, 100, 50)]
    overlaps = [[iou(x, y) for y in b] for x in a]
    assert overlaps[0][0] > overlaps[0][1] and overlaps[1][1] < 0.3
    assert sorted(associate(a, b, min_iou=0.3)) == [(0, 1), (1, 0)]


def test_tracker_keeps_ids_of_faces_of_different_sizes_and_a_face_that_leaves():
    tracker = Tracker(max_missed=2)
    big, small, mid = [200, 50, 180, 220], [500, 300, 36, 44], [40, 260, 90, 110]
    assert tracker.update([big, small, mid]) == [1, 2, 3]
    for step in range(1, 4):  # all move; the list order changes, the ids follow the faces
        big[0] += 12; small[1] -= 4; mid[2] += 6
        assert tracker.update([small, mid, big]) == [2, 3, 1]
    # the small face leaves for 2 frames (<= max_missed): it keeps its id when back
    assert tracker.update([big, mid]) == [1, 3]
    assert tracker.update([mid, big]) == [3, 1]
    assert tracker.update([small, big, mid]) == [2, 1, 3]
    # the mid face leaves for 3 frames (> max_missed): a new id when it comes back
    for _ in range(3):
        assert tracker.update([big, small]) == [1, 2]
    assert tracker.update([mid, big, small]) == [4, 1, 2]
    assert sorted(t.id for t in tracker.live()) == [1, 2, 4]


def test_label_smoother_averages_each_track_over_its_window():
    smoother = LabelSmoother(window=3)
    seq = [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]]
    got = [smoother(7, p) for p in seq]
    assert np.allclose(got[1], [0.5, 0.5]) and np.allclose(got[2], [0.5, 0.5])
    assert np.allclose(got[3], [(0.0 + 0.5 + 0.2) / 3, (1.0 + 0.5 + 0.8) / 3])  # the oldest dropped
    assert np.allclose(smoother(8, [0.9, 0.1]), [0.9, 0.1])  # another track: its own history
    smoother.forget([8])
    assert np.allclose(smoother(7, [0.3, 0.7]), [0.3, 0.7])  # forgotten: starts again
    assert np.allclose(LabelSmoother(1)(1, [0.3, 0.7]), [0.3, 0.7])


# ---------------------------------------------------------------------- the search's scale


class _RecordingDetector:
    """mtcnn-like: records the image it is given and returns one face at fixed (small-image) coordinates."""

    def __init__(self):
        self.shapes = []

    def detect_faces(self, image, **kwargs):
        self.shapes.append(image.shape)
        marks = [14.0, 24.0, 19.0, 15.0, 23.0, 30.0, 30.0, 36.0, 42.0, 42.0]
        return np.array([[0, 10.0, 20.0, 30.0, 50.0, 0.99, *marks]])


def test_search_runs_on_a_shrunk_non_square_frame_and_scales_boxes_back():
    from dsan_tf.data.align import FaceAligner

    stub = _RecordingDetector()
    aligner = FaceAligner(output_size=32, min_face_size=20, detector=stub)
    live = LiveDetector(aligner, min_face_fraction=0.25)
    frame = np.zeros((300, 500, 3), np.uint8)  # height 300, width 500
    step = live(frame)
    # smallest face wanted: max(20, 0.25 * 300) = 75 px -> shrink by 20 / 75; cv2 sizes are (width, height)
    factor = 20 / 75
    small_w, small_h = round(500 * factor), round(300 * factor)
    assert (small_w, small_h) == (133, 80)
    assert stub.shapes == [(small_h, small_w, 3)]
    sx, sy = 500 / small_w, 300 / small_h  # 3.759..., 3.75: different, so a swap shows
    (face,) = step.detections
    x, y, w, h = face.box
    assert x == pytest.approx((10 + 0.5) * sx - 0.5) and y == pytest.approx((20 + 0.5) * sy - 0.5)
    assert w == pytest.approx(20 * sx) and h == pytest.approx(30 * sy)
    assert face.landmarks[0] == pytest.approx([(14 + 0.5) * sx - 0.5, (30 + 0.5) * sy - 0.5], rel=1e-5)
    assert step.kind == "search" and step.scale == pytest.approx(factor)
    # a followed 60 px face lowers the next search's minimum to 30 px (half of it)
    live.followed = [(0, 0, 60, 70)]
    assert live.min_face(frame.shape) == pytest.approx(30)


# ---------------------------------------------------------------------- the live stream's accounting


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class _StubLiveRecognizer:
    """aligner.align_detections / classify / rows of a recognizer; classify costs 8 ms a face on the clock."""

    def __init__(self, clock):
        self.clock = clock
        self.aligner = self

    def align_detections(self, image, faces):
        return [type("Face", (), {"image": image[:4, :4], "box": f.box, "confidence": f.confidence})() for f in faces]

    def classify(self, crops):
        self.clock.now += 0.008 * len(crops)
        return np.tile([[0.2, 0.8]], (len(crops), 1))

    def rows(self, faces, probabilities, shape):
        return [{"box": list(f.box), "label": "b" if p[1] > p[0] else "a",
                 "probabilities": {"a": float(p[0]), "b": float(p[1])}, "detection_confidence": 0.99}
                for f, p in zip(faces, probabilities)]


def _face(x, y, side):
    return Detection((x, y, side, side), np.zeros((5, 2), np.float32), 0.99)


def test_live_stream_accounts_each_stage_and_the_latency():
    from dsan_tf.realtime import StreamReport, live_stream

    clock = _Clock()
    # per frame: detector seconds and faces (1, 2, 2, 0 faces)
    plan = [(0.030, [_face(10, 10, 40)]), (0.012, [_face(12, 10, 40), _face(80, 20, 20)]),
            (0.050, [_face(14, 11, 40), _face(81, 21, 20)]), (0.020, [])]
    calls = iter(plan)

    def detector(frame):
        seconds, faces = next(calls)
        clock.now += seconds
        return Step("search" if len(faces) != 2 else "refit", faces)

    frames = [np.full((48, 64, 3), i, np.uint8) for i in range(4)]
    report = StreamReport("fake")
    results = list(live_stream(FakeCapture(frames, fps=10.0), _StubLiveRecognizer(clock), detector=detector,
                               report=report, clock=clock))
    summary = report.summary()
    classify = [0.008, 0.016, 0.016, 0.0]
    assert summary["detection_ms_per_frame"] == pytest.approx(1e3 * (0.030 + 0.012 + 0.050 + 0.020) / 4)
    assert summary["classification_ms_per_frame"] == pytest.approx(1e3 * sum(classify) / 4)
    assert summary["classification_ms_per_face"] == pytest.approx(1e3 * sum(classify) / 5)
    latencies = [d + c for (d, _), c in zip(plan, classify)]  # reading took no time on this clock
    assert summary["latency_ms_median"] == pytest.approx(1e3 * float(np.median(latencies)))
    assert [r.latency_s for r in results] == pytest.approx(latencies)
    assert summary["frames_per_s"] == pytest.approx(4 / sum(latencies), rel=1e-3)
    assert summary["searches"] == 2 and summary["faces"] == 5 and summary["no_face_frames"] == 1
    assert [r.time_s for r in results] == [0.0, 0.1, 0.2, 0.3]
    assert [[f["track"] for f in r.faces] for r in results] == [[1], [1, 2], [1, 2], []]


def test_agreement_counts_labels_unmatched_faces_and_losses():
    from dsan_tf.realtime import agreement

    a, b = (10, 10, 50, 50), (200, 40, 30, 30)
    ref = [[{"box": a, "label": "x"}, {"box": b, "label": "y"}]] * 4
    live = [[{"box": a, "label": "x"}, {"box": b, "label": "y"}],
            [{"box": (12, 10, 50, 50), "label": "z"}],  # b lost, a's label differs
            [{"box": a, "label": "x"}],  # b lost again
            [{"box": a, "label": "x"}, {"box": (201, 40, 30, 30), "label": "y"}]]
    truth = [[a, b]] * 4
    out = agreement(ref, live, truth)
    assert out["reference_faces"] == 8 and out["unmatched"] == 2 and out["agreeing"] == 5
    assert out["agreement"] == pytest.approx(5 / 8) and out["longest_loss_frames"] == [0, 2]
    out = agreement(ref, live, [[a, None]] * 4)  # b out of view: not lost
    assert out["longest_loss_frames"] == [0, 0]


# ---------------------------------------------------------------------- dsan predict VIDEO on the live path


@pytest.fixture
def one_face_video(tmp_path):
    import cv2

    path = tmp_path / "in" / "clip.avi"
    path.parent.mkdir()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 8.0, (160, 120))
    for i in range(6):
        writer.write(np.full((120, 160, 3), 40 + 20 * i, np.uint8))
    writer.release()
    return path


def test_predict_video_writes_annotated_video_table_and_chart(tiny_model_file, one_face_video, tmp_path, capsys,
                                                               monkeypatch):
    import cv2
    import mtcnn

    monkeypatch.setattr(mtcnn, "MTCNN", _OneFace)
    out = tmp_path / "out"
    args = ["predict", one_face_video, "--weights", tiny_model_file, "--annotate", out / "annotated.mp4",
            "--output", out / "faces.csv", "--format", "csv", "--chart", out / "chart.png"]
    status, stdout, err = _dsan(capsys, *args)
    assert status == 0, err
    with open(out / "faces.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["frame"]) for r in rows] == list(range(6))
    assert [float(r["time_s"]) for r in rows] == pytest.approx([i / 8.0 for i in range(6)])
    assert {r["track"] for r in rows} == {"1"}
    assert [rows[0][k] for k in ("box_x", "box_y", "box_w", "box_h")] == ["20", "25", "40", "50"]
    probabilities = np.array([[float(r[f"p_{n}"]) for n in ("neutral", "happiness", "surprise")] for r in rows])
    assert np.allclose(probabilities.sum(1), 1.0, atol=1e-4)
    video = cv2.VideoCapture(str(out / "annotated.mp4"))
    frames = []
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "6 frames" in err and "1 face tracks" in err and "frame" in err  # the bar counts frames
    assert sorted(p.name for p in out.iterdir()) == ["annotated.mp4", "chart.png", "faces.csv"]  # no temporaries

    # The output policy: a second run does not replace what is there without --overwrite...
    before = (out / "annotated.mp4").read_bytes()
    status, _, err = _dsan(capsys, *args)
    assert status == 2 and "--overwrite" in err and (out / "annotated.mp4").read_bytes() == before
    # ...and a run that fails half-way publishes nothing.
    from dsan_tf.api import FaceExpressionRecognizer

    calls = []

    def failing(self, crops):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return np.tile([[0.2, 0.5, 0.3]], (len(crops), 1))

    monkeypatch.setattr(FaceExpressionRecognizer, "classify", failing)
    fresh = tmp_path / "fresh"
    status, _, err = _dsan(capsys, "predict", one_face_video, "--weights", tiny_model_file, "--annotate",
                           fresh / "a.mp4", "--output", fresh / "f.jsonl", "--chart", fresh / "c.png")
    assert status != 0 and len(calls) == 3
    assert not fresh.exists() or list(fresh.iterdir()) == []


def test_predict_live_video_flags_are_checked(one_face_video, tmp_path, capsys):
    from dsan_tf.cli import main

    def refused(*argv):
        with pytest.raises(SystemExit) as exit_:
            main([str(a) for a in argv])
        assert exit_.value.code == 2
        return capsys.readouterr().err

    assert "one input video" in refused("predict", one_face_video, one_face_video, "--annotate", tmp_path / "a.mp4")
    assert ".png" in refused("predict", one_face_video, "--chart", tmp_path / "c.jpg").lower()
    assert "--smooth" in refused("predict", one_face_video, "--annotate", tmp_path / "a.mp4", "--smooth", "0")
    assert "--chart" in refused("predict", "--camera", "0", "--chart", tmp_path / "c.png")
    assert "live path only" in refused("predict", one_face_video, "--annotate", tmp_path / "frames", "--smooth", "3")
    assert not any(tmp_path.glob("*.mp4")) and not any(tmp_path.glob("*.png"))


# ---------------------------------------------------------------------- --show: a real window under Xvfb


@pytest.fixture
def x_display(monkeypatch):
    """A private X server (Xvfb, 320x240) for the test; its display number chosen by Xvfb itself."""
    import os
    import shutil
    import subprocess

    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): the window test needs an X server")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "320x240x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()
        if not number:
            pytest.skip("Xvfb did not start")
        monkeypatch.setenv("DISPLAY", f":{number}")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _window_frames(count, stop=None):
    """FrameResults of a 160x120 frame, magenta left half and teal right half, one face on the right."""
    from dsan_tf.realtime import FrameResult

    image = np.zeros((120, 160, 3), np.uint8)
    image[:, :80] = (255, 0, 255)
    image[:, 80:] = (0, 128, 128)
    face = {"box": [100, 30, 40, 50], "label": "happiness", "probabilities": {"happiness": 0.9, "neutral": 0.1},
            "detection_confidence": 0.99, "track": 3}
    for i in range(count):
        if stop is not None:
            stop(i)
        yield FrameResult("test", i, i / 10, image, [face], 0.0, 0.0)


def test_show_draws_frames_in_a_window_and_closes_on_q_and_ctrl_c(x_display, tmp_path):
    import tkinter

    from PIL import Image, ImageGrab

    from dsan_tf import realtime

    if realtime.check_display() != "tk":
        pytest.skip("this OpenCV has its own GUI: the tkinter window is not used")
    shots, seen = [], []

    def press_q_at_frame_3(i):
        seen.append(i)
        if i == 3:
            shots.append(np.asarray(ImageGrab.grab(xdisplay=x_display).convert("RGB")))
            root = tkinter._default_root
            root.focus_force()  # keys go to the focused window (no window manager gives it focus here)
            root.update()
            root.event_generate("<KeyPress-q>", when="tail")

    report = realtime.StreamReport("test")
    realtime.show_window(_window_frames(10, press_q_at_frame_3), report)
    assert report.stopped == "quit" and seen == [0, 1, 2, 3]  # the frame after q is not shown
    assert tkinter._default_root is None  # the window is gone
    # The screenshot: the window (no window manager: at the screen's corner) shows the frame.
    shot = shots[0]
    Image.fromarray(shot).save(tmp_path / "window.png")  # kept for a look when the test fails
    assert np.all(shot[5:110, 5:75] == (255, 0, 255))  # left half, below the face's label
    assert np.all(shot[100:115, 85:95] == (0, 128, 128))  # right half, beside the face's box
    assert np.all(shot[31:80, 100] == (0, 255, 0))  # the face box's left edge (x = 100), drawn in green
    assert np.all(shot[130:, 170:] == 0)  # the rest of the screen: nothing

    def ctrl_c_at_frame_2(i):
        if i == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        realtime.show_window(_window_frames(10, ctrl_c_at_frame_2), realtime.StreamReport("test"))
    assert tkinter._default_root is None
    assert np.all(np.asarray(ImageGrab.grab(xdisplay=x_display).convert("RGB"))[:120, :160] == 0)  # closed


def test_tflite_predictor_gives_the_keras_model_s_answers(tiny_model_file):
    import copy

    from dsan_tf.inference import ModelLoadError, load_predictor
    from dsan_tf.tflite_predictor import TFLitePredictor, tflite_bytes

    keras_predictor = load_predictor(weights=tiny_model_file)
    content = tflite_bytes(keras_predictor)
    lite = TFLitePredictor(content, keras_predictor)
    rng = np.random.default_rng(1)
    faces = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(5)]
    faces.append(rng.integers(0, 256, (45, 37, 3), dtype=np.uint8))  # another size: resized as the Keras path does
    expected = keras_predictor.predict(faces)
    assert np.abs(lite.predict(faces) - expected).max() < 1e-5
    assert lite.class_names == keras_predictor.class_names and lite.source.endswith("(TFLite)")
    other = copy.copy(keras_predictor)
    other.class_names = ["a", "b"]  # a model with two classes: this flatbuffer gives three
    with pytest.raises(ModelLoadError, match="gives 3 classes"):
        TFLitePredictor(content, other)
    with pytest.raises(ModelLoadError, match="not a TFLite model"):
        TFLitePredictor(b"not a flatbuffer", keras_predictor)


class _FakeOnet:
    """MTCNN's last stage: each proposal comes back moved by (+2, +1) px with ``score``."""

    _model = None  # what marks a stage with a network

    def __init__(self):
        self.proposals = []
        self.score = 0.99

    def __call__(self, images_normalized, bboxes_batch, threshold_onet, nms_onet):
        self.proposals.append(np.array(bboxes_batch))
        rows = [[0, x1 + 2, y1 + 1, x2 + 2, y2 + 1, self.score, *[x1 + 10] * 5, *[y1 + 10] * 5]
                for _, x1, y1, x2, y2, _ in bboxes_batch]
        return np.array([r for r in rows if r[5] >= threshold_onet]).reshape(-1, 16)


class _FakeMtcnn:
    """mtcnn 1.0's shape: stages (the last one ONet) and detect_faces (one 30x40 face at (50, 20))."""

    def __init__(self):
        self._stages = [object(), object(), _FakeOnet()]
        self.searches = 0

    def detect_faces(self, image, **kwargs):
        self.searches += 1
        return np.array([[0, 50.0, 20.0, 80.0, 60.0, 0.99, *[60.0] * 5, *[30.0] * 5]])


def test_live_detector_refits_between_searches_and_searches_again_when_a_face_is_lost():
    from dsan_tf.data.align import FaceAligner

    mtcnn = _FakeMtcnn()
    onet = mtcnn._stages[-1]
    live = LiveDetector(FaceAligner(output_size=32, min_face_size=20, detector=mtcnn), search_every=3)
    frame = np.zeros((100, 200, 3), np.uint8)  # min face max(20, 0.1 * 100) = 20 px: searched at full size
    kinds = [live(frame).kind for _ in range(4)]
    assert kinds == ["search", "refit", "refit", "search"] and mtcnn.searches == 2
    # The first refit's proposal: the square (side 40, the longer side) around the found 30x40 box's centre (65, 40).
    assert onet.proposals[0].tolist() == [[0, 45.0, 20.0, 85.0, 60.0, 1.0]]
    # The second starts from where the first put the face (+2, +1): one pass each (a 2 px move is small).
    assert onet.proposals[1].tolist() == [[0, 47.0, 21.0, 87.0, 61.0, 1.0]] and len(onet.proposals) == 2
    step = live(frame)
    assert step.kind == "refit" and step.detections[0].box == pytest.approx((47.0, 21.0, 40.0, 40.0))
    onet.score = 0.5  # under min_confidence (0.9): the face is lost, so MTCNN searches on the same frame
    step = live(frame)
    assert step.kind == "refit+search" and mtcnn.searches == 3
    assert step.detections[0].box == pytest.approx((50.0, 20.0, 30.0, 40.0))


def test_the_live_path_compiles_the_real_mtcnn_of_a_face_aligner_and_finds_the_same_face():
    """FaceAligner's own MTCNN (its stages wrapped so that no stage runs on zero proposals) through
    compile_mtcnn, as `dsan predict --camera` and `dsan bench-realtime` build it: the copy must work (copying
    the wrapped stages once recursed without end) and find the demo photo's face where the eager one does."""
    import copy

    import tensorflow as tf
    from PIL import Image

    from dsan_tf.data.align import FaceAligner, StopWhenEmpty
    from dsan_tf.demo import demo_photo
    from dsan_tf.live_detection import compile_mtcnn

    aligner = FaceAligner(output_size=48)
    eager = aligner.detector
    assert all(isinstance(stage, StopWhenEmpty) for stage in eager._stages)
    assert copy.copy(eager._stages[0]).stage is eager._stages[0].stage  # a copy is a wrapper, not a recursion
    compiled = compile_mtcnn(eager)
    assert compiled is not eager and all(isinstance(stage, StopWhenEmpty) for stage in compiled._stages)
    # each network inside the one wrapper runs as a graph (the copy's point); the photo detector's stay eager
    assert not any(isinstance(stage.stage, StopWhenEmpty) for stage in compiled._stages)
    assert not any(new.stage is old.stage for new, old in zip(compiled._stages, eager._stages))
    assert all(isinstance(stage.stage._model, tf.types.experimental.PolymorphicFunction) for stage in compiled._stages)
    assert not any(isinstance(stage.stage._model, tf.types.experimental.PolymorphicFunction) for stage in eager._stages)
    image = np.asarray(Image.open(demo_photo()).convert("RGB"))
    wanted = eager.detect_faces(image, output_type="numpy", box_format="xyxy", min_face_size=20)
    found = compiled.detect_faces(image, output_type="numpy", box_format="xyxy", min_face_size=20)
    assert len(wanted) == len(found) == 1
    np.testing.assert_allclose(found[0][1:5], wanted[0][1:5], atol=0.5)  # the same box, to half a pixel
    blank = np.full((120, 160, 3), 127, np.uint8)  # nothing to find: the guard's "no face", no error
    assert len(compiled.detect_faces(blank, output_type="numpy", box_format="xyxy", min_face_size=20)) == 0

# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


class _VirtualTime:
    """time.perf_counter / time.sleep of dsan_tf.realtime on a virtual clock (no real waiting)."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)


class _Capture:
    """A 10 fps video of ``n`` frames whose every read costs ``read_s`` on ``clock``."""

    def __init__(self, n, clock=None, read_s=0.0, fps=10.0):
        self.frames = [np.full((24, 32, 3), i, np.uint8) for i in range(n)]
        self.clock, self.read_s, self.fps, self.position = clock, read_s, fps, 0

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def read(self):
        if self.position >= len(self.frames):
            return False, None
        if self.clock is not None:
            self.clock.now += self.read_s
        self.position += 1
        return True, self.frames[self.position - 1].copy()

    def grab(self):
        return self.read()[0]

    def get(self, prop):
        import cv2

        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_COUNT: len(self.frames)}.get(prop, 0.0)

    def release(self):
        pass


class _SlowNoFace:
    def __init__(self, clock, seconds):
        self.clock, self.seconds = clock, seconds

    def detect(self, image):
        self.clock.now += self.seconds
        return []


def test_keeping_pace_drops_a_frame_only_when_a_whole_frame_behind(monkeypatch):
    """realtime-paced-video-drops-any-late-frame: 10 fps, 130 ms per frame. By hand: frame 0 done at 0.13
    (frame 1 due 0.1: 0.03 late, kept), 0.26 (frame 2: 0.06 late), 0.39, 0.52; frame 4 is 0.12 late (more
    than a frame, 0.1 s): dropped; frame 5 0.02 late, 6, 7 kept, frame 8 0.11 late: dropped, frame 9 kept."""
    from dsan_tf import realtime

    fake = _VirtualTime()
    monkeypatch.setattr(realtime, "time", fake)
    report = realtime.StreamReport("clip")
    results = list(realtime.stream(_Capture(10), _SlowNoFace(fake, 0.13), realtime=True, report=report))
    assert [r.index for r in results] == [0, 1, 2, 3, 5, 6, 7, 9]
    assert report.dropped == 2 and report.read == 10


def test_live_latency_counts_the_read_and_every_search_is_counted():
    """realtime-latency-without-the-read, realtime-refit-search-not-counted: reading a frame costs 5 ms, the
    detector 20 ms, classifying 8 ms a face: latency 33 ms per one-face frame (by hand); frames whose step is
    "search" or "refit+search" ran MTCNN's cascade (2 of 4)."""
    from dsan_tf.data.align import Detection
    from dsan_tf.live_detection import Step
    from dsan_tf.realtime import StreamReport, live_stream

    clock = _VirtualTime()
    kinds = iter(["search", "refit", "refit+search", "refit"])

    def detector(frame):
        clock.now += 0.020
        return Step(next(kinds), [Detection((4.0, 3.0, 12.0, 12.0), np.zeros((5, 2), np.float32), 0.99)])

    class Recognizer:
        def __init__(self):
            self.aligner = self

        def align_detections(self, image, faces):
            return [type("Face", (), {"image": image[:4, :4], "box": f.box, "confidence": f.confidence})()
                    for f in faces]

        def classify(self, crops):
            clock.now += 0.008 * len(crops)
            return np.tile([[0.3, 0.7]], (len(crops), 1))

        def rows(self, faces, probabilities, shape):
            return [{"box": [4, 3, 12, 12], "label": "b", "probabilities": {"a": 0.3, "b": 0.7},
                     "detection_confidence": 0.99} for _ in faces]

    report = StreamReport("cam")
    results = list(live_stream(_Capture(4, clock, read_s=0.005), Recognizer(), detector=detector, report=report,
                               clock=clock.perf_counter))
    assert [r.latency_s for r in results] == pytest.approx([0.033] * 4)
    assert report.summary()["latency_ms_median"] == pytest.approx(33.0)
    assert report.searches == 2 and report.summary()["searches"] == 2


def test_an_onet_box_is_clipped_to_the_frames_width_and_height():
    """live-onet-box-clipped-hw-swapped: a 100 x 200 (h x w) frame; ONet's box (-5, -3)-(250, 150) becomes
    (0, 0)-(199, 99): x to the width, y to the height."""
    from dsan_tf.live_detection import _detection

    row = [0, -5.0, -3.0, 250.0, 150.0, 0.97, *range(1, 6), *range(11, 16)]
    face = _detection(np.array(row, np.float64), (100, 200, 3))
    assert face.box == pytest.approx((0.0, 0.0, 199.0, 99.0)) and face.confidence == pytest.approx(0.97)
    np.testing.assert_allclose(face.landmarks, [[1, 11], [2, 12], [3, 13], [4, 14], [5, 15]])
    inside = _detection(np.array([0, 10.0, 20.0, 60.0, 90.0, 0.9, *[0] * 10], np.float64), (100, 200, 3))
    assert inside.box == pytest.approx((10.0, 20.0, 50.0, 70.0))


# round 2 blind mutants (issue 34)

def test_a_steadily_moving_face_keeps_its_id_though_it_left_its_first_box():
    tracker = Tracker(max_missed=0)
    box = [0.0, 0.0, 20.0, 30.0]
    assert tracker.update([box, [300, 200, 50, 40]]) == [1, 2]
    for _ in range(6):  # 8 px a frame: IoU 0.43 with the last frame's box, 0 with the first box after 3 frames
        box[0] += 8
        assert tracker.update([[300, 200, 50, 40], box]) == [2, 1]
    assert [t.box for t in tracker.tracks if t.id == 1] == [(48.0, 0.0, 20.0, 30.0)]


def test_a_pair_at_exactly_the_minimum_overlap_is_associated():
    a, b = (0, 0, 10, 10), (0, 0, 10, 20)  # intersection 100, union 200: IoU 0.5 exactly
    assert iou(a, b) == 0.5
    assert associate([a], [b], min_iou=0.5) == [(0, 0)]
    assert associate([a], [b], min_iou=0.51) == []


def test_the_longest_loss_is_a_run_of_consecutive_frames():
    from dsan_tf.realtime import agreement

    a, b = (10, 10, 50, 50), (200, 40, 30, 30)
    with_b = [{"box": a, "label": "x"}, {"box": b, "label": "y"}]
    without_b = [{"box": a, "label": "x"}]
    live = [without_b, with_b, without_b, without_b, with_b, without_b]  # b lost in frames 0, 2, 3, 5
    out = agreement([with_b] * 6, live, [[a, b]] * 6)
    assert out["longest_loss_frames"] == [0, 2]


def test_live_detections_are_largest_first_and_largest_only_keeps_the_largest():
    from dsan_tf.data.align import FaceAligner

    marks = np.zeros((5, 2), np.float32)
    faces = [Detection((0, 0, 30, 30), marks, 0.99), Detection((50, 0, 60, 40), marks, 0.99),
             Detection((0, 100, 25, 50), marks, 0.99)]
    aligner = FaceAligner(output_size=32, min_face_size=20, detector=_RecordingDetector())
    live = LiveDetector(aligner, compile=False)
    assert [d.box for d in live._filtered(faces)] == [(50, 0, 60, 40), (0, 100, 25, 50), (0, 0, 30, 30)]
    aligner.largest_only = True
    assert [d.box for d in live._filtered(faces)] == [(50, 0, 60, 40)]


def test_the_track_chart_shows_the_eight_longest_tracks(tmp_path, monkeypatch):
    import matplotlib.figure

    from dsan_tf.outputs import OutputPolicy
    from dsan_tf.video_outputs import plot_tracks

    rows = []
    for track in range(1, 11):  # track k is seen in k frames: tracks 1 and 2 are the shortest
        for frame in range(track):
            rows.append({"track": track, "frame": frame, "time_s": frame / 10,
                         "probabilities": {"happy": 0.25, "sad": 0.75}})
    shown = []
    save = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda fig, *a, **k: (shown.extend(ax.get_ylabel() for ax in fig.axes), save(fig, *a, **k))[1])
    plot_tracks(rows, ["happy", "sad"], tmp_path / "chart.png", OutputPolicy(command="predict", overwrite=True))
    assert shown == [f"track {k}" for k in range(3, 11)]


def test_the_scene_truth_keeps_a_face_in_view_past_the_frames_height(tmp_path):
    from dsan_tf.realtime import make_scene_video

    patch = np.full((40, 40, 3), 150, np.uint8)  # face box (10, 10, 20, 20) in it
    truth = make_scene_video(tmp_path / "scene.avi", [(patch, (10, 10, 20, 20))], frames=30, size=(160, 96),
                             heights=[40])
    boxes = [frame[0] for frame in truth]
    assert all(b is not None for b in boxes)  # the face stays wholly inside the 160 x 96 frame
    assert all(0 <= x and 0 <= y and x + w <= 160 and y + h <= 96 for x, y, w, h in boxes)
    assert max(x + w for x, y, w, h in boxes) > 96  # right of the frame's height: a width/height swap shows


# ---------------------------------------------------------------------- lines its own tests never ran (issue 34)


class _ReadOnly:
    """A capture with read/isOpened/get/release but no grab (skipped frames must be read): ``n`` frames,
    frame i filled with 10 * i, grey (H x W) when ``grey``."""

    def __init__(self, n, grey=False, fps=10.0):
        shape = (6, 8) if grey else (6, 8, 3)
        self.frames = [np.full(shape, 10 * i, np.uint8) for i in range(n)]
        self.fps, self.position, self.reads = fps, 0, 0

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def read(self):
        self.reads += 1
        if self.position >= len(self.frames):
            return False, None
        self.position += 1
        return True, self.frames[self.position - 1].copy()

    def get(self, prop):
        import cv2

        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_COUNT: len(self.frames)}.get(prop, 0.0)

    def release(self):
        pass


def test_a_capture_without_grab_reads_the_skipped_frames_and_grey_frames_become_rgb():
    """Stride 3 over 10 grey frames without grab(): frames 0, 3, 6, 9 yielded (times 0.0, 0.3, 0.6, 0.9 at
    10 fps), the 6 skipped ones read and counted, 11 reads in all (the 11th finds the end); a grey frame
    of value 10 * i becomes RGB with the same value in its three channels. Stride 0 is refused."""
    from dsan_tf.realtime import StreamReport, frames

    capture = _ReadOnly(10, grey=True)
    report = StreamReport("grey")
    got = list(frames(capture, report, stride=3))
    assert [(i, t) for i, t, _ in got] == [(0, 0.0), (3, 0.3), (6, 0.6), (9, 0.9)]
    assert all(image.shape == (6, 8, 3) and (image == 10 * i).all() for i, _, image in got)
    assert report.read == 10 and capture.reads == 11 and report.notes == []
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        next(frames(_ReadOnly(3), StreamReport("x"), stride=0))


def test_keeping_pace_sleeps_until_each_frame_is_due(monkeypatch):
    """10 fps, 30 ms of work per frame: each frame is due at index / 10 s, so after each frame's 30 ms the
    stream sleeps 70 ms (frames 1..9, and before the read that finds the end: 10 sleeps); nothing dropped,
    and the virtual clock ends at 1.0 s."""
    from dsan_tf import realtime

    fake = _VirtualTime()
    slept = []
    monkeypatch.setattr(fake, "sleep", lambda s: (slept.append(s), setattr(fake, "now", fake.now + s)))
    monkeypatch.setattr(realtime, "time", fake)
    report = realtime.StreamReport("clip")
    results = list(realtime.stream(_Capture(10), _SlowNoFace(fake, 0.03), realtime=True, report=report))
    assert [r.index for r in results] == list(range(10)) and report.dropped == 0
    assert slept == pytest.approx([0.07] * 10) and fake.now == pytest.approx(1.0)


def test_check_display_picks_opencv_s_window_or_tk_and_refuses_without_either(monkeypatch):
    import sys

    import cv2

    from dsan_tf.realtime import DisplayError, check_display

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "Video I/O:\n  GUI:                GTK3\n  x: y\n")
    assert check_display() == "opencv"
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:                NONE\n")
    assert check_display() == "tk"
    monkeypatch.setitem(sys.modules, "tkinter", None)  # import tkinter fails
    with pytest.raises(DisplayError, match="no tkinter"):
        check_display()


def test_tk_window_without_an_x_server_show_after_quit_and_closing_twice(monkeypatch):
    import tkinter

    from dsan_tf.realtime import DisplayError, TkWindow

    def refuse():
        raise tkinter.TclError("couldn't connect to display")

    monkeypatch.setenv("DISPLAY", ":77")
    monkeypatch.setattr(tkinter, "Tk", refuse)
    with pytest.raises(DisplayError, match="cannot open a window on display ':77': couldn't connect"):
        TkWindow()

    class Root:
        updates = destroys = 0

        def update(self):
            Root.updates += 1

        def destroy(self):
            Root.destroys += 1
            raise RuntimeError("already gone with its display")

    window = TkWindow.__new__(TkWindow)
    window.root, window.open = Root(), False
    assert window.show(np.zeros((4, 4, 3), np.uint8)) is False and Root.updates == 0  # quit: not drawn
    window.close()
    window.close()  # the second close does nothing
    assert window.root is None and Root.destroys == 1


def test_the_opencv_window_shows_the_rate_quits_on_q_and_closes(monkeypatch):
    """OpenCV's window: the frames/s over the wall time (10 frames in 2 s: "5.0 frames/s") written at
    (8, height - 10) (below the "no face" banner, compared from row 30 down); a key with high bits set whose low byte is q (0x171) quits after the second frame,
    the third is never shown; a destroyWindow error (window never shown) is swallowed."""
    import cv2

    from dsan_tf import realtime

    shown, destroyed = [], []
    keys = iter([-1, 0x100 | ord("q"), -1])
    monkeypatch.setattr(realtime, "check_display", lambda: "opencv")
    monkeypatch.setattr(cv2, "imshow", lambda name, image: shown.append((name, image.copy())))
    monkeypatch.setattr(cv2, "waitKey", lambda delay: next(keys))

    def destroy(name):
        destroyed.append(name)
        raise cv2.error("NULL window")

    monkeypatch.setattr(cv2, "destroyWindow", destroy)
    images = [np.full((80, 120, 3), 30 * (i + 1), np.uint8) for i in range(3)]
    results = [realtime.FrameResult("cam", i, None, images[i], [], 0.0, 0.0) for i in range(3)]
    report = realtime.StreamReport("cam", frames=10, wall_s=2.0)
    realtime.show_window(iter(results), report, window="w")
    assert [name for name, _ in shown] == ["w", "w"] and report.stopped == "quit" and destroyed == ["w"]
    for (_, bgr), image in zip(shown, images):
        wanted = cv2.putText(image.copy(), "5.0 frames/s", (8, 70), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 0), 2,
                             cv2.LINE_AA)
        assert not np.array_equal(wanted[30:], image[30:])
        np.testing.assert_array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[30:], wanted[30:])
    # Without a report: the frame as it is; the stream runs to its end when no quit key comes.
    shown.clear()
    keys = iter([-1, -1, -1])
    realtime.show_window(iter(results), None, window="w")
    assert len(shown) == 3
    np.testing.assert_array_equal(cv2.cvtColor(shown[0][1], cv2.COLOR_BGR2RGB)[30:], images[0][30:])


def test_run_loads_the_default_recognizer_and_paces_only_the_window_by_default(monkeypatch):
    import dsan_tf.api
    from dsan_tf import realtime

    calls = []
    monkeypatch.setattr(dsan_tf.api, "FaceExpressionRecognizer", lambda: "default recognizer")
    monkeypatch.setattr(realtime, "check_display", lambda: "opencv")
    monkeypatch.setattr(realtime, "stream", lambda source, recognizer, **kw: calls.append((recognizer, kw)) or iter([]))
    monkeypatch.setattr(realtime, "show_window", lambda results, report: calls.append(("window", report)))
    report = realtime.run("clip.avi", None, mode="window")
    assert calls[0][0] == "default recognizer" and calls[0][1]["realtime"] is True
    assert calls[1] == ("window", report) and report.source == "clip.avi"
    calls.clear()
    realtime.run("clip.avi", None, out=io.StringIO())
    assert calls[0][1]["realtime"] is False and len(calls) == 1
    realtime.run("clip.avi", None, mode="window", realtime=False)
    assert calls[1][1]["realtime"] is False


class _StubAligner:
    """dsan_tf.data.align.FaceAligner's detect: the given boxes (as Detections), whatever the image."""

    boxes: list = []

    def __init__(self, detector=None, **kwargs):
        pass

    def detect(self, image):
        return [Detection(box, np.zeros((5, 2), np.float32), 0.99) for box in self.boxes]


def test_face_patch_is_a_square_twice_the_face_s_height_clipped_at_the_photo_s_edge(monkeypatch):
    """By hand: face (30, 20, 10, 16) in a 80 x 100 photo: side 32, centre (35, 28), corner (19, 12):
    photo[12:44, 19:51], the face at (11, 8) in it. Face (2, 3, 20, 10) near the corner: side 40, corner
    clipped to (0, 0): photo[0:40, 0:40], the face where it was. No face: DataError."""
    import dsan_tf.data.align
    from dsan_tf.realtime import face_patch

    photo = np.random.default_rng(0).integers(0, 256, (80, 100, 3), dtype=np.uint8)
    monkeypatch.setattr(dsan_tf.data.align, "FaceAligner", _StubAligner)
    monkeypatch.setattr(_StubAligner, "boxes", [(30, 20, 10, 16)])
    patch, box = face_patch(photo)
    np.testing.assert_array_equal(patch, photo[12:44, 19:51])
    assert box == (11, 8, 10, 16)
    monkeypatch.setattr(_StubAligner, "boxes", [(2, 3, 20, 10)])
    patch, box = face_patch(photo)
    np.testing.assert_array_equal(patch, photo[0:40, 0:40])
    assert box == (2, 3, 20, 10)
    monkeypatch.setattr(_StubAligner, "boxes", [])
    with pytest.raises(DataError, match="no face found"):
        face_patch(photo)



class ClosedVideoWriter:
    """cv2.VideoWriter stand-in that could not open its file (no codec, a folder that cannot be written)."""

    def __init__(self, *args):
        pass

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return False

def test_make_video_without_a_face_scales_the_whole_photo_and_refuses_an_unwritable_video(tmp_path, monkeypatch):
    """No face found: the whole 100 x 100 photo, scaled by min(240 / 100, 0.8 * 160 / 100, 0.8 * 120 / 100)
    = 0.96 to 96 x 96, on a 160 x 120 grey (110) canvas; frame 0's offset (dx, dy) = (0, 10): rows 22..117,
    columns 32..127 (by hand)."""
    import cv2

    import dsan_tf.data.align
    from dsan_tf.realtime import make_scene_video, make_video

    monkeypatch.setattr(dsan_tf.data.align, "FaceAligner", _StubAligner)
    monkeypatch.setattr(_StubAligner, "boxes", [])
    path = make_video(tmp_path / "v.avi", np.full((100, 100, 3), 220, np.uint8), frames=3, size=(160, 120))
    capture = cv2.VideoCapture(str(path))
    ok, frame = capture.read()
    count = 1 + sum(capture.read()[0] for _ in range(5))
    capture.release()
    assert ok and frame.shape == (120, 160, 3) and count == 3
    grey = frame[..., 1].astype(int)
    for row, col, value in [(25, 35, 220), (114, 124, 220), (70, 80, 220), (18, 80, 110), (70, 28, 110),
                            (70, 131, 110), (70, 80, 220)]:
        assert abs(grey[row, col] - value) < 25, (row, col, grey[row, col])

    monkeypatch.setattr(cv2, "VideoWriter", ClosedVideoWriter)
    with pytest.raises(OSError, match="cannot write an MJPG video"):
        make_video(tmp_path / "w.avi", np.full((100, 100, 3), 220, np.uint8), frames=3, size=(160, 120))
    with pytest.raises(OSError, match="cannot write an MJPG video"):
        make_scene_video(tmp_path / "s.avi", [(np.zeros((20, 20, 3), np.uint8), (5, 5, 10, 10))], frames=2)


def test_a_scene_face_wholly_outside_the_frame_is_out_of_view(tmp_path):
    """A 40 px face patch drawn 400 px tall (heights=[400]) on a 64 x 48 frame: the face box never lies
    inside (truth None every frame) and nothing raises though the patch overflows every edge."""
    from dsan_tf.realtime import make_scene_video

    truth = make_scene_video(tmp_path / "big.avi", [(np.full((40, 40, 3), 200, np.uint8), (10, 10, 20, 20))],
                             frames=3, size=(64, 48), heights=[400])
    assert truth == [[None], [None], [None]]


def test_agreement_without_truth_has_no_loss_runs():
    from dsan_tf.realtime import agreement

    a, b = {"box": (0, 0, 10, 10), "label": "x"}, {"box": (0, 0, 10, 10), "label": "y"}
    assert agreement([[a], [a]], [[a], [b]]) == {"reference_faces": 2, "agreeing": 1, "unmatched": 0,
                                                  "agreement": 0.5}
    assert agreement([[]], [[a]]) == {"reference_faces": 0, "agreeing": 0, "unmatched": 0, "agreement": None}


def test_benchmark_on_a_given_video_times_the_asked_frames_and_names_the_cpu(tmp_path, monkeypatch):
    """A given 8-frame video: warmup 2 frames, then 5 timed frames (read from the start again): 5 frames,
    one face each (StubRecognizer); the default recognizer is the asked model's; the cpu's name is the
    first "model name" line of /proc/cpuinfo ("" without one, or when it cannot be read)."""
    import time
    import types

    import cv2

    import dsan_tf.api
    from dsan_tf import realtime

    video = tmp_path / "given.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 24))
    for i in range(8):
        writer.write(np.full((24, 32, 3), 20 * i, np.uint8))
    writer.release()
    asked = []

    def recognizer(model):
        asked.append(model)
        stub = StubRecognizer()
        stub.predictor, stub.image_size = type("P", (), {"source": f"{model} weights"})(), 48
        return stub

    class CpuInfo:
        text = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Zen 9 Test CPU\nmodel name\t: other\n"

        def read_text(self):
            if self.text is None:
                raise OSError("no /proc")
            return self.text

    monkeypatch.setattr(dsan_tf.api, "FaceExpressionRecognizer", recognizer)
    monkeypatch.setattr(realtime, "Path", lambda p: CpuInfo() if str(p) == "/proc/cpuinfo" else Path(p))
    monkeypatch.setattr(realtime, "make_video", lambda *a, **k: pytest.fail("a given video is not rebuilt"))
    cpu_clock = iter([10.0, 12.5])  # the timed pass: 2.5 s of process CPU time over 5 frames = 500 ms a frame
    monkeypatch.setattr(realtime, "time", types.SimpleNamespace(perf_counter=time.perf_counter, sleep=time.sleep,
                                                                process_time=lambda: next(cpu_clock)))
    result = realtime.benchmark(None, "affectnet", frames=5, size=(32, 24), warmup=2, video=str(video))
    assert result["cpu_ms_per_frame"] == 500.0
    assert asked == ["affectnet"] and result["model"] == "affectnet weights" and result["image_size"] == 48
    assert result["frames"] == 5 and result["faces"] == 5 and result["frame_size"] == [32, 24]
    assert result["cpu"] == "Zen 9 Test CPU" and result["source"] == "given.avi (32x24)"
    monkeypatch.setattr(CpuInfo, "text", "processor\t: 0\n")
    assert realtime._cpu_name() == ""
    monkeypatch.setattr(CpuInfo, "text", None)
    assert realtime._cpu_name() == ""


def test_tracker_counts_ages_and_misses_and_refuses_bad_settings():
    """Tracker(max_missed=1): a track missed once survives (missed 1, not live), missed twice is gone; a
    matched track's age counts its detections and its missed count restarts at 0. The default min_iou
    is 0.3: a box overlapping the track by 50 / 150 (0.33) continues it, by 25 / 175 (0.14) starts a new one.
    Empty boxes overlap nothing. max_missed < 0 and window < 1 are refused."""
    tracker = Tracker(max_missed=1)
    assert tracker.update([(0, 0, 10, 10), (100, 0, 20, 20)]) == [1, 2]
    assert tracker.update([(5, 0, 10, 10)]) == [1]  # IoU 50 / 150 with track 1's box
    assert [(t.id, t.age, t.missed) for t in tracker.tracks] == [(1, 2, 0), (2, 1, 1)]
    assert [t.id for t in tracker.live()] == [1]
    assert tracker.update([]) == []
    assert [(t.id, t.age, t.missed) for t in tracker.tracks] == [(1, 2, 1)]  # track 2 missed twice: dropped
    assert tracker.update([(5, 0, 10, 10)]) == [1] and tracker.tracks[0].missed == 0 and tracker.tracks[0].age == 3
    assert tracker.update([(12.5, 0, 10, 10)]) == [3]  # IoU 25 / 175 < 0.3: a new id (ids never reused)
    assert iou((0, 0, 0, 10), (0, 0, 10, 10)) == 0.0 and iou((3, 3, 4, 4), (0, 0, 10, 10)) == pytest.approx(0.16)
    assert Tracker(max_missed=0).max_missed == 0
    with pytest.raises(ValueError, match="max_missed must be >= 0, got -1"):
        Tracker(max_missed=-1)
    with pytest.raises(ValueError, match="window must be >= 1, got 0"):
        LabelSmoother(0)


class _FarOnet(_FakeOnet):
    """ONet whose faces come back moved by (dx, dy) px (default (+20, +10): more than 15 % of a 40 px side)."""

    def __init__(self, dx=20, dy=10):
        super().__init__()
        self.dx, self.dy = dx, dy

    def __call__(self, images_normalized, bboxes_batch, threshold_onet, nms_onet):
        self.proposals.append(np.array(bboxes_batch))
        dx, dy = self.dx, self.dy
        rows = [[0, x1 + dx, y1 + dy, x2 + dx, y2 + dy, self.score, *[x1 + 10] * 5, *[y1 + 10] * 5]
                for _, x1, y1, x2, y2, _ in bboxes_batch]
        return np.array(rows).reshape(-1, 16)


def test_a_shrunk_search_is_refitted_once_on_the_full_frame_and_a_tiny_frame_finds_nothing():
    """A 400 x 600 frame, min_face_fraction 0.25: the smallest face wanted is 100 px, so the search runs on
    a copy shrunk by 20 / 100 = 0.2 (120 x 80). MTCNN's face (50, 20)-(80, 60) there is (252, 102, 150, 200)
    on the frame ((50 + 0.5) * 5 - 0.5, ...); it is refitted once (passes=1) by ONet on the frame: the
    proposal is the 200 px square around its centre (327, 202); ONet moves it by (+40, 0), more than 15 % of
    200 px, yet no second pass (one pass after a search). A search at full size (a 100 x 200 frame: 20 px
    wanted, factor 1) keeps MTCNN's box, no ONet. A 10 x 10 frame, under PNet's 12 px window, finds nothing
    without running MTCNN. reset() forgets the followed faces."""
    from dsan_tf.data.align import FaceAligner

    mtcnn = _FakeMtcnn()
    mtcnn._stages[-1] = onet = _FarOnet(40, 0)
    live = LiveDetector(FaceAligner(output_size=32, min_face_size=20, detector=mtcnn), min_face_fraction=0.25,
                        compile=False)
    step = live(np.zeros((400, 600, 3), np.uint8))
    assert step.kind == "search" and step.scale == pytest.approx(0.2) and mtcnn.searches == 1
    assert [p.tolist() for p in onet.proposals] == [[[0, 227.0, 102.0, 427.0, 302.0, 1.0]]]
    assert [d.box for d in step.detections] == [pytest.approx((267.0, 102.0, 200.0, 200.0))]
    full = LiveDetector(FaceAligner(output_size=32, min_face_size=20, detector=mtcnn), compile=False)
    at_full_size = full.search(np.zeros((100, 200, 3), np.uint8))
    assert at_full_size.scale == 1.0
    assert [d.box for d in at_full_size.detections] == [pytest.approx((50.0, 20.0, 30.0, 40.0))]
    assert len(onet.proposals) == 1
    assert live.followed == [d.box for d in step.detections]
    live.reset()
    assert live.followed == [] and live.since_search == 0

    tiny = LiveDetector(FaceAligner(output_size=32, min_face_size=20, detector=_FakeMtcnn()), compile=False)
    step = tiny(np.zeros((10, 10, 3), np.uint8))
    assert (step.kind, step.detections, step.scale, tiny.detector.searches) == ("search", [], 1.0, 0)
    with pytest.raises(ValueError, match="search_every must be >= 1, got 0"):
        LiveDetector(FaceAligner(output_size=32, detector=_FakeMtcnn()), search_every=0, compile=False)


def test_a_face_that_moved_far_gets_a_second_onet_pass_from_where_the_first_put_it():
    """refit_passes=2; ONet moves the 40 px square by (+20, +10), more than 15 % of its side: a second pass
    starts from the first's box (+20, +10 again); two passes, no more."""
    from dsan_tf.data.align import FaceAligner

    mtcnn = _FakeMtcnn()
    mtcnn._stages[-1] = onet = _FarOnet()
    live = LiveDetector(FaceAligner(output_size=32, min_face_size=20, detector=mtcnn), compile=False)
    found = live.refit(np.zeros((200, 300, 3), np.uint8), [(10, 10, 40, 40)])
    assert [p.tolist() for p in onet.proposals] == [[[0, 10.0, 10.0, 50.0, 50.0, 1.0]],
                                                   [[0, 30.0, 20.0, 70.0, 60.0, 1.0]]]
    assert [d.box for d in found] == [pytest.approx((50.0, 30.0, 40.0, 40.0))]


def test_moved_means_beyond_15_percent_of_the_side_in_centre_or_size():
    """Side 40: tolerance 6 px (strictly more moves)."""
    from dsan_tf.live_detection import _moved

    before = [(100, 100, 40, 30)]
    assert not _moved(before, [(106, 100, 40, 30)]) and _moved(before, [(106.5, 100, 40, 30)])
    assert not _moved(before, [(100, 94, 40, 30)]) and _moved(before, [(100, 93.5, 40, 30)])
    assert not _moved(before, [(97, 100, 46, 30)]) and _moved(before, [(97, 97, 47, 47)])  # the size: 46 vs 47
    assert _moved(before, []) and _moved(before, before * 2) and not _moved([], [])


def test_compile_mtcnn_compiles_once_per_detector_and_leaves_the_original():
    from dsan_tf.live_detection import compile_mtcnn

    class Stage:
        def __init__(self):
            self._model = lambda x: x

    class Mtcnn:
        def __init__(self):
            self._stages = [Stage(), Stage()]

    mtcnn = Mtcnn()
    originals = [s._model for s in mtcnn._stages]
    fast = compile_mtcnn(mtcnn)
    assert fast is not mtcnn and compile_mtcnn(mtcnn) is fast  # cached: traced once per process
    assert [s._model for s in mtcnn._stages] == originals and len(fast._stages) == 2
    assert all(s._model is not o for s, o in zip(fast._stages, originals))
    other = Mtcnn()
    assert compile_mtcnn(other) is not fast
    plain = _RecordingDetector()
    assert compile_mtcnn(plain) is plain


def test_video_writer_refuses_other_suffixes_and_an_unwritable_video(tmp_path, monkeypatch):
    import cv2

    from dsan_tf.outputs import OutputPolicy
    from dsan_tf.video_outputs import video_writer

    with OutputPolicy("dsan predict") as policy:
        with pytest.raises(ValueError, match=r"an annotated video ends in \.mp4 or \.avi"):
            with video_writer(policy, tmp_path / "clip.gif", 10.0, (32, 24)):
                pass

        monkeypatch.setattr(cv2, "VideoWriter", ClosedVideoWriter)
        with pytest.raises(OSError, match="OpenCV cannot write a MJPG video"):
            with video_writer(policy, tmp_path / "clip.avi", 10.0, (32, 24)):
                pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing published


def test_the_track_chart_of_a_video_without_tracked_faces_says_so(tmp_path, monkeypatch):
    """Rows without a track (frames without a face) make no panel: one empty panel saying so."""
    import matplotlib.figure

    from dsan_tf.outputs import OutputPolicy
    from dsan_tf.video_outputs import plot_tracks

    rows = [{"frame": i, "time_s": i / 10, "track": None, "probabilities": None} for i in range(3)]
    rows.append({"frame": 3, "time_s": 0.3, "probabilities": None})
    drawn = []
    save = matplotlib.figure.Figure.savefig
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, *a, **k: (
        drawn.extend((len(fig.axes), ax.get_ylabel(), [t.get_text() for t in ax.texts]) for ax in fig.axes),
        save(fig, *a, **k))[1])
    path = plot_tracks(rows, ["happy", "sad"], tmp_path / "chart.png", OutputPolicy(command="predict", overwrite=True))
    assert drawn == [(1, "", ["no face in the video"])] and path.is_file()


def test_make_video_crops_a_square_twice_the_face_s_longer_side_around_it(tmp_path, monkeypatch):
    """Face (80, 60, 20, 40) in a 200 x 200 photo: the square of side 2 * 40 = 80 around its centre (90, 80)
    is photo[40:120, 50:130], scaled by min(240 / 80, 0.8 * 160 / 80, 0.8 * 120 / 80) = 1.2 to 96 x 96,
    at rows 22..117, columns 32..127 of frame 0 (as above). The photo is dark (0) in rows 40..49 (the
    crop's top 10 rows: 12 rows of the patch, 22..33) and 220 elsewhere; a crop of another side or centre
    shows another top band."""
    import cv2

    import dsan_tf.data.align
    from dsan_tf.realtime import make_video

    photo = np.full((200, 200, 3), 220, np.uint8)
    photo[40:50] = 0
    monkeypatch.setattr(dsan_tf.data.align, "FaceAligner", _StubAligner)
    monkeypatch.setattr(_StubAligner, "boxes", [(80, 60, 20, 40)])
    path = make_video(tmp_path / "v.avi", photo, frames=1, size=(160, 120))
    capture = cv2.VideoCapture(str(path))
    ok, frame = capture.read()
    capture.release()
    grey = frame[..., 1].astype(int)
    for row, col, value in [(18, 80, 110), (26, 80, 0), (30, 40, 0), (30, 120, 0), (40, 80, 220), (110, 80, 220),
                            (70, 28, 110), (70, 131, 110)]:
        assert abs(grey[row, col] - value) < 25, (row, col, grey[row, col])


# ---------------------------------------------------------------------- round 4 blind mutants (issue 34)


def test_labelled_rows_prefix_every_tracked_face_track_0_included():
    from dsan_tf.video_outputs import labelled_rows

    rows = [{"track": 0, "label": "happy 0.91"}, {"track": 2, "label": "sad 0.55"},
            {"track": None, "label": "neutral 0.40"}, {"label": "anger 0.30"}]
    assert [r["label"] for r in labelled_rows(rows)] == ["#0 happy 0.91", "#2 sad 0.55", "neutral 0.40", "anger 0.30"]
    assert rows[0]["label"] == "happy 0.91"  # the caller's rows are not changed


# ---- round 4 blind mutants (issue 34)


def test_bench_realtime_json_exits_1_when_a_video_had_no_frames(tmp_path, capsys, monkeypatch):
    """r4-bench-realtime-json-status-always-0: with --json, as in text mode, a video of no frames makes the exit
    status 1 (and all videos with frames 0). The recogniser and the benchmark are stand-ins."""
    from types import SimpleNamespace

    import dsan_tf.api
    import dsan_tf.realtime

    class Recognizer:
        def __init__(self, weights):
            self.predictor, self.image_size, self.aligner = SimpleNamespace(source="stub"), 32, None

        def detect(self, photo):
            return [object()]

    frames = []
    monkeypatch.setattr(dsan_tf.api, "FaceExpressionRecognizer", Recognizer)
    monkeypatch.setattr(dsan_tf.api, "to_rgb_image", lambda photo: None)
    monkeypatch.setattr(dsan_tf.realtime, "benchmark_live", lambda *args, **kwargs: [
        {"scene": scene, "frames": n} for scene, n in zip(("one face", "three faces"), frames)])
    monkeypatch.setattr(dsan_tf.realtime, "_cpu_name", lambda: "cpu")
    photo = tmp_path / "face.png"
    photo.write_bytes(b"stand-in")
    frames[:] = [3, 0]
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", photo, "--classifier", "keras", "--json")
    assert status == 1, err
    assert [json.loads(line)["frames"] for line in out.splitlines()] == [3, 0]
    frames[:] = [3, 2]
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", photo, "--classifier", "keras", "--json")
    assert status == 0, err


# ---- round 7 blind mutants (issue 34)


def test_agreement_by_default_needs_half_overlap():
    """A live box over 40 % of its reference face (IoU 40 / 100 = 0.4) is not the same face at the default
    min_iou 0.5: the reference face is unmatched; at min_iou 0.3 it agrees."""
    from dsan_tf.realtime import agreement

    ref, live = [[{"box": (0, 0, 10, 10), "label": "x"}]], [[{"box": (0, 0, 10, 4), "label": "x"}]]
    assert agreement(ref, live) == {"reference_faces": 1, "agreeing": 0, "unmatched": 1, "agreement": 0.0}
    assert agreement(ref, live, min_iou=0.3)["agreeing"] == 1


def test_a_small_followed_face_never_lowers_the_search_below_min_face_size():
    """Followed 24x30 px face: half its shorter side is 12 px, under the aligner's min_face_size 20, so the
    next search looks for 20 px faces (the frame's share, 0.1 * 300 = 30 px, is larger: min(30, 12) = 12)."""
    from dsan_tf.data.align import FaceAligner

    live = LiveDetector(FaceAligner(output_size=32, min_face_size=20, detector=_RecordingDetector()),
                        min_face_fraction=0.1)
    live.followed = [(0, 0, 24, 30)]
    assert live.min_face((300, 500, 3)) == 20


# ---- round 8 blind mutants (issue 34)


def test_agreement_pairs_faces_by_overlap_whatever_order_the_live_path_lists_them():
    """r8-realtime-agreement-label-by-reference-index: the live path lists the two faces in the other order
    (b, a); each is paired with the reference face it overlaps and both labels agree: 2 of 2."""
    from dsan_tf.realtime import agreement

    a, b = {"box": (10, 10, 50, 50), "label": "x"}, {"box": (200, 40, 30, 30), "label": "y"}
    assert agreement([[a, b]], [[b, a]]) == {"reference_faces": 2, "agreeing": 2, "unmatched": 0, "agreement": 1.0}
    c = {"box": (300, 40, 30, 30), "label": "x"}  # a third live face, first in the list, over no reference face
    assert agreement([[a, b]], [[c, b, a]])["agreeing"] == 2


# ---- issue 34: line-by-line sweep (realtime)


def test_source_names_and_a_digit_string_opens_that_camera_with_a_one_frame_buffer(tmp_path):
    """"2" is camera 2 (the factory gets the integer, the camera's buffer is set to 1 frame); a video file's
    path reaches the factory as text, its buffer left alone; a capture-like object is used as it is, not as a
    camera; one that cannot be opened is released before the error."""
    import cv2

    from dsan_tf.realtime import open_capture, source_name

    class Recording(FakeCapture):
        def __init__(self, opened=True):
            super().__init__([], opened=opened)
            self.settings = []

        def set(self, prop, value):
            self.settings.append((prop, value))
            return True

    video = tmp_path / "My Clip.AVI"
    video.write_bytes(b"stand-in")
    assert source_name(0) == "camera 0" and source_name("3") == "camera 3" and source_name(video) == str(video)
    assert source_name(Recording()) == "Recording"
    opened, camera_capture, file_capture = [], Recording(), Recording()
    assert open_capture("2", lambda target: opened.append(target) or camera_capture) == (camera_capture, True)
    assert opened == [2] and camera_capture.settings == [(cv2.CAP_PROP_BUFFERSIZE, 1)]
    assert open_capture(video, lambda target: opened.append(target) or file_capture) == (file_capture, False)
    assert opened[1] == str(video) and isinstance(opened[1], str) and file_capture.settings == []
    given = Recording()
    assert open_capture(given) == (given, False) and given.settings == []
    closed = Recording(opened=False)
    with pytest.raises(DataError, match="camera 1: cannot be opened"):
        open_capture(1, lambda target: closed)
    assert closed.released


def test_frame_rows_round_probabilities_number_the_faces_and_carry_a_track_only_when_followed():
    from dsan_tf.realtime import FrameResult

    faces = [{"box": [5, 6, 30, 40], "label": "b", "probabilities": {"a": 0.123456789, "b": 0.876543211},
              "detection_confidence": 0.97},
             {"box": [50, 8, 12, 16], "label": "a", "probabilities": {"a": 0.6666666666, "b": 0.3333333334},
              "detection_confidence": 0.91, "track": 4}]
    rows = FrameResult("My Cam", 7, 0.28, np.zeros((60, 80, 3), np.uint8), faces, 0.0, 0.0).rows()
    assert rows == [
        {"source": "My Cam", "box": [5, 6, 30, 40], "label": "b", "probabilities": {"a": 0.123457, "b": 0.876543},
         "frame": 7, "time_s": 0.28, "face": 0, "detection_confidence": 0.97, "probability": 0.876543, "note": ""},
        {"source": "My Cam", "box": [50, 8, 12, 16], "label": "a", "probabilities": {"a": 0.666667, "b": 0.333333},
         "frame": 7, "time_s": 0.28, "face": 1, "track": 4, "detection_confidence": 0.91, "probability": 0.666667,
         "note": ""}]
    empty = FrameResult("My Cam", 8, None, np.zeros((60, 80, 3), np.uint8), [], 0.0, 0.0).rows()
    assert empty == [{"source": "My Cam", "box": None, "label": None, "probabilities": None, "frame": 8,
                      "time_s": None, "face": None, "detection_confidence": None, "probability": None,
                      "note": "no face"}]


def test_the_report_line_and_summary_fields_written_out_by_hand():
    """8 frames, 12 faces in 2.5 s: 3.2 frames/s, 4.8 faces/s; per frame 40 / 8 = 5 ms decoding, 600 / 8 = 75 ms
    detection, 240 / 8 = 30 ms classification (20 ms a face); the live path's median latency of 30, 50, 10,
    200 ms is 40 ms. Equal stage times: the detector bounds. No frame: bound by nothing, rates 0."""
    from dsan_tf.realtime import StreamReport

    report = StreamReport("clip.avi", frames=8, faces=12, no_face_frames=2, dropped=3, read_s=0.04, detect_s=0.6,
                          classify_s=0.24, wall_s=2.5, notes=["clip.avi: truncated"])
    s = report.summary()
    assert (s["source"], s["frames"], s["faces"], s["no_face_frames"], s["dropped"]) == ("clip.avi", 8, 12, 2, 3)
    assert s["classification_ms_per_face"] == 20.0 and s["notes"] == ["clip.avi: truncated"]
    assert "latency_ms_median" not in s and "searches" not in s
    assert report.line() == ("clip.avi: 8 frames, 12 faces (2 frames without a face) in 2.5 s: 3.20 frames/s, "
                             "4.80 faces/s; per frame: detection 75.0 ms, classification 30.0 ms, decoding 5.0 ms; "
                             "bound by the detector; 3 frames dropped to keep the video's pace; clip.avi: truncated")
    live = StreamReport("cam", frames=4, faces=6, detect_s=0.1, classify_s=0.3, wall_s=0.8,
                        latencies=[0.03, 0.05, 0.01, 0.2], searches=2)
    s = live.summary()
    assert s["latency_ms_median"] == 40.0 and s["searches"] == 2 and s["bound"] == "classifier"
    assert live.line() == ("cam: 4 frames, 6 faces (0 frames without a face) in 0.8 s: 5.00 frames/s, 7.50 faces/s; "
                           "per frame: detection 25.0 ms, classification 75.0 ms, decoding 0.0 ms; bound by the "
                           "classifier; median latency 40.0 ms from a frame's capture to its labels; 2 MTCNN searches")
    assert StreamReport("x", frames=1, detect_s=0.25, classify_s=0.25).bound() == "detector"
    assert StreamReport("cam").line() == ("cam: 0 frames, 0 faces (0 frames without a face) in 0.0 s: 0.00 frames/s, "
                                          "0.00 faces/s; per frame: detection 0.0 ms, classification 0.0 ms, "
                                          "decoding 0.0 ms; bound by the nothing (no frame)")


def test_frames_record_the_rate_and_count_and_a_camera_is_neither_paced_nor_timed_by_its_rate(monkeypatch):
    """A 3 fps video: times index / 3 rounded to the millisecond. No rate and a count of -1: both unknown.
    A 10 fps camera at 250 ms a frame with realtime=True: nothing dropped (only video files are paced), its
    times from the clock (0, 0.25, 0.5), not index / 10."""
    from dsan_tf import realtime
    from dsan_tf.realtime import StreamReport, frames

    blank = np.zeros((4, 6, 3), np.uint8)
    report = StreamReport("v")
    assert [(i, t) for i, t, _ in frames(FakeCapture([blank] * 4, fps=3.0), report)] == [
        (0, 0.0), (1, 0.333), (2, 0.667), (3, 1.0)]
    assert report.source_fps == 3.0 and report.expected_frames == 4 and report.notes == []
    report = StreamReport("v")
    list(frames(FakeCapture([blank], fps=0.0, frame_count=-1), report, realtime=True))
    assert report.source_fps is None and report.expected_frames is None
    fake = _VirtualTime()
    monkeypatch.setattr(realtime, "time", fake)
    report, times = StreamReport("cam"), []
    for _, seconds, _ in frames(FakeCapture([blank] * 3, fps=10.0), report, camera=True, realtime=True):
        times.append(seconds)
        fake.now += 0.25
    assert times == [0.0, 0.25, 0.5] and report.dropped == 0 and report.read == 3
    assert report.source_fps == 10.0 and report.expected_frames is None


class _NoneFrameAt(FakeCapture):
    """A capture whose read at ``position`` says ok but gives no frame (a damaged file)."""

    def __init__(self, frames, at):
        super().__init__(frames)
        self.at = at

    def read(self):
        if self.position == self.at:
            return True, None
        return super().read()


def test_a_frame_read_as_none_ends_the_video_and_stopping_at_max_frames_is_no_truncation():
    from dsan_tf.realtime import StreamReport, frames

    blank = [np.zeros((4, 6, 3), np.uint8)] * 5
    capture, report = _NoneFrameAt(blank, 2), StreamReport("v")
    assert len(list(frames(capture, report))) == 2 and report.read == 2 and capture.released
    assert report.notes == ["v: truncated or damaged: its header says 5 frames, only 2 could be decoded"]
    capture, report = FakeCapture(blank), StreamReport("v")
    assert len(list(frames(capture, report, max_frames=2))) == 2
    assert report.read == 2 and report.notes == [] and capture.released


def test_colour_frames_are_turned_from_bgr_and_bgra_to_rgb():
    from dsan_tf.realtime import StreamReport, frames

    bgr, bgra = np.zeros((3, 5, 3), np.uint8), np.zeros((3, 5, 4), np.uint8)
    bgr[...], bgra[...] = (10, 20, 30), (10, 20, 30, 255)
    images = [image for _, _, image in frames(FakeCapture([bgr, bgra]), StreamReport("v"))]
    assert [image.shape for image in images] == [(3, 5, 3), (3, 5, 3)]
    assert all((image == (30, 20, 10)).all() for image in images)


def test_stream_gives_rows_the_frame_s_height_and_width_and_names_results_after_the_source():
    from dsan_tf.realtime import stream

    shapes = []

    class Recording(StubRecognizer):
        def rows(self, faces, probabilities, shape):
            shapes.append(shape)
            return super().rows(faces, probabilities, shape)

    results = list(stream(FakeCapture([np.zeros((30, 50, 3), np.uint8)]), Recording()))
    assert shapes == [(30, 50, 3)] and results[0].source == "FakeCapture"
    assert results[0].latency_s is None and results[0].step == ""


class _SequenceRecognizer(_StubLiveRecognizer):
    """_StubLiveRecognizer whose classify returns the next of ``probabilities`` for each call (one face)."""

    def __init__(self, clock, probabilities):
        super().__init__(clock)
        self.sequence = iter(probabilities)

    def classify(self, crops):
        return np.array([next(self.sequence) for _ in crops])


def test_live_stream_passes_its_arguments_to_the_detector_tracker_smoother_and_frames(monkeypatch):
    """Camera 5 through the factory, stride 2, at most 3 frames: frames 0, 2, 4. The default detector is built
    with search_every and min_face_fraction; the tracker with max_missed; smooth=2 averages each track's last
    two frames: (0.9, 0.1), (0.3, 0.7), (0.5, 0.5) -> (0.9, 0.1), (0.6, 0.4), (0.4, 0.6)."""
    import dsan_tf.live_detection
    import dsan_tf.tracking
    from dsan_tf.realtime import StreamReport, live_stream

    built = {}

    class Detector:
        def __init__(self, aligner, **kwargs):
            built["detector"] = (aligner, kwargs)

        def __call__(self, frame):
            return Step("search", [_face(4, 3, 12)])

    class RecordingTracker(Tracker):
        def __init__(self, max_missed):
            built["max_missed"] = max_missed
            super().__init__(max_missed=max_missed)

    monkeypatch.setattr(dsan_tf.live_detection, "LiveDetector", Detector)
    monkeypatch.setattr(dsan_tf.tracking, "Tracker", RecordingTracker)
    clock, opened = _Clock(), []
    recognizer = _SequenceRecognizer(clock, [[0.9, 0.1], [0.3, 0.7], [0.5, 0.5]])
    frames = [np.full((24, 32, 3), i, np.uint8) for i in range(6)]
    report = StreamReport("cam")
    results = list(live_stream("5", recognizer, search_every=4, min_face_fraction=0.3, smooth=2, max_missed=7,
                               stride=2, max_frames=3, report=report, clock=clock,
                               capture_factory=lambda i: opened.append(i) or FakeCapture(frames, frame_count=-1)))
    assert opened == [5] and [r.index for r in results] == [0, 2, 4] and results[0].source == "camera 5"
    assert built == {"detector": (recognizer, {"search_every": 4, "min_face_fraction": 0.3}), "max_missed": 7}
    probabilities = [[r.faces[0]["probabilities"][k] for k in "ab"] for r in results]
    np.testing.assert_allclose(probabilities, [[0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    assert [r.faces[0]["label"] for r in results] == ["a", "a", "b"] and [r.step for r in results] == ["search"] * 3


def test_live_stream_keeps_a_video_s_pace_when_asked(monkeypatch):
    """As the full path (test_keeping_pace_drops_a_frame_only_when_a_whole_frame_behind): 10 fps, 130 ms a frame:
    frames 4 and 8 dropped."""
    from dsan_tf import realtime

    fake = _VirtualTime()
    monkeypatch.setattr(realtime, "time", fake)

    def detector(frame):
        fake.now += 0.13
        return Step("search", [])

    report = realtime.StreamReport("clip")
    results = list(realtime.live_stream(_Capture(10), _StubLiveRecognizer(fake), detector=detector, realtime=True,
                                        report=report, clock=fake.perf_counter))
    assert [r.index for r in results] == [0, 1, 2, 3, 5, 6, 7, 9] and report.dropped == 2


def test_json_lines_one_per_face_and_one_for_a_frame_without_flushed_every_frame():
    from dsan_tf.realtime import FrameResult, write_json_lines

    class Out(io.StringIO):
        flushed_at = []

        def flush(self):
            self.flushed_at.append(len(self.getvalue().splitlines()))

    face = {"box": [1, 2, 3, 4], "label": "a", "probabilities": {"a": 0.75, "b": 0.25}, "detection_confidence": 0.9}
    image = np.zeros((10, 12, 3), np.uint8)
    out = Out()
    write_json_lines([FrameResult("clip", 0, 0.0, image, [face, face], 0.0, 0.0),
                      FrameResult("clip", 1, 0.1, image, [], 0.0, 0.0)], out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["frame"], r["face"], r["note"]) for r in rows] == [(0, 0, ""), (0, 1, ""), (1, None, "no face")]
    assert out.flushed_at == [2, 3]


def test_a_wayland_display_is_a_display(monkeypatch):
    import cv2

    from dsan_tf.realtime import check_display

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:                QT5\n")
    assert check_display() == "opencv"


def test_the_opencv_window_quits_on_esc_and_writes_no_rate_before_time_has_passed(monkeypatch):
    import cv2

    from dsan_tf import realtime

    shown = []
    monkeypatch.setattr(realtime, "check_display", lambda: "opencv")
    monkeypatch.setattr(cv2, "imshow", lambda name, image: shown.append(image.copy()))
    keys = iter([27, -1])  # Esc at the first frame
    monkeypatch.setattr(cv2, "waitKey", lambda delay: next(keys))
    monkeypatch.setattr(cv2, "destroyWindow", lambda name: None)
    image = np.full((80, 120, 3), 60, np.uint8)
    report = realtime.StreamReport("cam", frames=0, wall_s=0.0)
    realtime.show_window(iter([realtime.FrameResult("cam", i, None, image, [], 0.0, 0.0) for i in range(2)]), report)
    assert len(shown) == 1 and report.stopped == "quit"
    np.testing.assert_array_equal(cv2.cvtColor(shown[0], cv2.COLOR_BGR2RGB)[30:], image[30:])  # no rate written


def test_run_passes_stride_max_frames_and_the_factory_on_and_writes_to_stdout_by_default(monkeypatch, capsys):
    from dsan_tf import realtime

    calls, factory = [], object()
    image = np.zeros((10, 12, 3), np.uint8)
    monkeypatch.setattr(realtime, "stream", lambda source, recognizer, **kw: calls.append((source, recognizer, kw))
                        or iter([realtime.FrameResult("camera 4", 0, 0.0, image, [], 0.0, 0.0)]))
    report = realtime.run("4", "recognizer", stride=3, max_frames=7, capture_factory=factory)
    ((source, recognizer, kw),) = calls
    assert (source, recognizer, report.source) == ("4", "recognizer", "camera 4")
    assert kw == {"stride": 3, "max_frames": 7, "realtime": False, "report": report, "capture_factory": factory}
    assert json.loads(capsys.readouterr().out)["note"] == "no face"


def test_make_video_fits_a_wide_photo_by_its_width_at_30_fps_with_the_detector_given(tmp_path, monkeypatch):
    """No face in a 50 x 200 (h x w) photo: scale min(240 / 50, 0.8 * 160 / 200, 0.8 * 120 / 50) = 0.64 to a
    128 x 32 patch; frame 0 (offset (0, 10)): rows 54..85, columns 16..143 (by hand). The video is 30 fps and
    the detector given reaches the face aligner."""
    import cv2

    import dsan_tf.data.align
    from dsan_tf.realtime import make_video

    detectors = []

    class Aligner(_StubAligner):
        def __init__(self, detector=None, **kwargs):
            detectors.append(detector)

    monkeypatch.setattr(dsan_tf.data.align, "FaceAligner", Aligner)
    monkeypatch.setattr(_StubAligner, "boxes", [])
    path = make_video(tmp_path / "wide.avi", np.full((50, 200, 3), 220, np.uint8), frames=2, size=(160, 120),
                      detector="the mtcnn")
    capture = cv2.VideoCapture(str(path))
    fps, (ok, frame) = capture.get(cv2.CAP_PROP_FPS), capture.read()
    capture.release()
    assert detectors == ["the mtcnn"] and ok and fps == pytest.approx(30.0)
    grey = frame[..., 1].astype(int)
    for row, col, value in [(70, 22, 220), (70, 137, 220), (58, 80, 220), (81, 80, 220), (70, 10, 110),
                            (70, 149, 110), (48, 80, 110), (91, 80, 110)]:
        assert abs(grey[row, col] - value) < 25, (row, col, grey[row, col])


def test_make_video_scales_the_face_to_face_height_and_drifts_it_frame_by_frame(tmp_path, monkeypatch):
    """face_height 48, a 100 x 100 photo without a face: scale min(48 / 100, 1.28, 0.96) = 0.48, a 48 x 48 patch
    whose corner is ((160 - 48) // 2 + dx, (120 - 48) // 2 + dy) = (56 + dx, 36 + dy), frame i's offset
    (dx, dy) = (round(20 sin(i / 7)), round(10 cos(i / 5))): frame 0 (0, 10), frame 7 (17, 2), frame 15 (17, -10).
    The patch's top and left edges are found where the grey (110) turns bright (220), to a pixel."""
    import cv2

    import dsan_tf.data.align
    from dsan_tf.realtime import make_video

    monkeypatch.setattr(dsan_tf.data.align, "FaceAligner", _StubAligner)
    monkeypatch.setattr(_StubAligner, "boxes", [])
    path = make_video(tmp_path / "v.avi", np.full((100, 100, 3), 220, np.uint8), frames=16, size=(160, 120),
                      face_height=48)
    capture = cv2.VideoCapture(str(path))
    frames = [capture.read()[1][..., 1].astype(int) for _ in range(16)]
    capture.release()
    for index, (left, top) in [(0, (56, 46)), (7, (73, 38)), (15, (73, 26))]:
        grey = frames[index]
        found_top = int(np.argmax(grey[:, left + 24] > 165))  # down the patch's middle column
        found_left = int(np.argmax(grey[top + 24] > 165))  # along its middle row
        assert abs(found_top - top) <= 1 and abs(found_left - left) <= 1, (index, found_left, found_top)
        bright = grey > 165  # the patch is 48 px on each side
        assert abs(bright[:, left + 24].sum() - 48) <= 2 and abs(bright[top + 24].sum() - 48) <= 2


def test_the_scene_truth_of_two_faces_with_the_default_heights_by_hand(tmp_path):
    """Two patches on a 160 x 96 frame, heights by default half the frame's (48 px). Frame 0 by hand:
    face 0 (a 40 x 60 (h x w) patch, face (10, 8, 20, 16)): scale 48 / 40 = 1.2 -> 72 x 48 px, centre
    (40, 48 + 14.4), corner (4, 38): box (4 + 12, 38 + 9.6, 24, 19.2). Face 1 (30 x 30, face (5, 5, 10, 10)):
    scale 1.6 (1 + 0.2 sin 1) -> 56 px, centre (120 + 12 sin 2, 48 + 14.4 cos 1), corner (103, 28):
    box (103 + 28 / 3, 28 + 28 / 3, 56 / 3, 56 / 3). The video is 30 fps, one frame per truth row."""
    import cv2

    from dsan_tf.realtime import make_scene_video

    patches = [(np.full((40, 60, 3), 200, np.uint8), (10, 8, 20, 16)), (np.full((30, 30, 3), 30, np.uint8), (5, 5, 10, 10))]
    truth = make_scene_video(tmp_path / "two.avi", patches, frames=4, size=(160, 96))
    assert len(truth) == 4
    assert truth[0][0] == pytest.approx((16.0, 47.6, 24.0, 19.2))
    assert truth[0][1] == pytest.approx((103 + 28 / 3, 28 + 28 / 3, 56 / 3, 56 / 3))
    capture = cv2.VideoCapture(str(tmp_path / "two.avi"))
    assert capture.get(cv2.CAP_PROP_FPS) == pytest.approx(30.0) and capture.get(cv2.CAP_PROP_FRAME_COUNT) == 4
    grey = capture.read()[1][..., 1].astype(int)
    capture.release()
    # frame 0 as drawn: patch 0 (200) over columns 4..75, rows 38..85; patch 1 (30) over columns 103..158, rows
    # 28..83 (on a 160 px wide frame: cut at the width, not at the height of 96); the grey (110) elsewhere
    for row, col, value in [(60, 40, 200), (45, 10, 200), (80, 70, 200), (55, 130, 30), (35, 108, 30),
                            (78, 154, 30), (20, 40, 110), (90, 130, 110), (60, 90, 110)]:
        assert abs(grey[row, col] - value) < 25, (row, col, grey[row, col])


def test_agreement_rounds_to_four_places_and_a_face_is_found_at_an_overlap_of_0_3():
    from dsan_tf.realtime import agreement

    a = (0, 0, 10, 10)
    ref = [[{"box": a, "label": "x"}]] * 3
    live = [[{"box": a, "label": "x"}], [{"box": a, "label": "y"}], [{"box": a, "label": "y"}]]
    assert agreement(ref, live)["agreement"] == 0.3333
    # IoU 30 / 100 = 0.3 exactly: found; 25 / 100: lost
    assert agreement([[]], [[{"box": (0, 0, 10, 3), "label": "x"}]], [[a]])["longest_loss_frames"] == [0]
    assert agreement([[]], [[{"box": (0, 0, 10, 2.5), "label": "x"}]], [[a]])["longest_loss_frames"] == [1]


def test_copy_recognizer_shares_the_model_and_leaves_the_original_s_aligner():
    import types

    from dsan_tf.realtime import copy_recognizer

    original = types.SimpleNamespace(aligner="photo aligner", predictor="the model")
    other = copy_recognizer(original, "live aligner")
    assert other is not original and other.aligner == "live aligner" and other.predictor == "the model"
    assert original.aligner == "photo aligner"


def test_benchmark_builds_a_video_of_warmup_plus_frames_and_times_only_the_frames_asked(monkeypatch):
    """No video given: one of frames + warmup = 7 frames at the size asked (48 x 32), made with the recognizer's
    own detector; 2 warm-up frames, then 5 timed: 7 detections in all, 5 frames in the report. The CPU is
    platform's when /proc/cpuinfo names none; the machine's CPU count is reported."""
    import platform
    import types

    import cv2

    from dsan_tf import realtime

    made, detections = [], []

    def make_video(path, photo, frames, size, detector):
        made.append((photo, frames, size, detector))
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, size)
        for i in range(frames):
            writer.write(np.full((size[1], size[0], 3), 20 * i, np.uint8))
        writer.release()
        return path

    class Counting(StubRecognizer):
        aligner = types.SimpleNamespace(detector="its mtcnn")
        predictor = types.SimpleNamespace(source="the model")
        image_size = 48

        def detect(self, image):
            detections.append(image.shape)
            return super().detect(image)

    monkeypatch.setattr(realtime, "make_video", make_video)
    monkeypatch.setattr(realtime, "_cpu_name", lambda: "")
    monkeypatch.setattr(platform, "processor", lambda: "x86_64 stand-in")
    monkeypatch.setattr(realtime.os, "cpu_count", lambda: 3)
    result = realtime.benchmark("face.jpg", frames=5, size=(48, 32), warmup=2, recognizer=Counting())
    assert made == [("face.jpg", 7, (48, 32), "its mtcnn")]
    assert detections == [(32, 48, 3)] * 7 and result["frames"] == 5 and result["source"] == "one_face.avi (48x32)"
    assert result["cpu"] == "x86_64 stand-in" and result["cpu_count"] == 3 and result["model"] == "the model"


def _stand_in_benchmark_live(monkeypatch):
    """benchmark_live's helpers replaced; returns the record of their calls. The live path finds one face labelled x
    in each of 3 frames (20 ms detection, 10 ms classification, 40 ms latency, 50 ms a frame); full detection
    labels it x, x, y, z at 300 ms a frame (4 frames); the truth has a second face (at (50, 50)) in the three-face scene."""
    import dsan_tf.data.align
    import dsan_tf.live_detection
    from dsan_tf import realtime

    calls = {"patch": [], "scene": [], "live": [], "full": []}
    monkeypatch.setattr(realtime, "face_patch", lambda photo, detector: calls["patch"].append((photo, detector))
                        or (f"patch of {photo}", (1, 2, 3, 4)))

    def scene(path, patches, *, frames, size, heights):
        calls["scene"].append((Path(path).name, [p for p, _ in patches], heights, frames, size))
        boxes = [(0, 0, 10, 10), (50, 50, 10, 10), None][:len(patches)]
        return [boxes] * frames

    def live_stream(video, recognizer, **kwargs):
        calls["live"].append((Path(video).name, recognizer, kwargs))
        report = kwargs.get("report")
        for i in range(3):
            if report is not None:
                report.frames, report.faces = report.frames + 1, report.faces + 1
                report.detect_s, report.classify_s = report.detect_s + 0.02, report.classify_s + 0.01
                report.latencies.append(0.04)
                report.wall_s += 0.05
            yield realtime.FrameResult("v", i, i / 10, None, [{"box": (0, 0, 10, 10), "label": "x"}], 0.02, 0.01)

    def stream(video, recognizer, report):
        calls["full"].append((Path(video).name, recognizer))
        for i, label in enumerate("xxyz"):  # a 4th frame: its per-frame time is over its own frames (1.2 s / 4)
            report.frames, report.detect_s = report.frames + 1, report.detect_s + 0.3
            yield realtime.FrameResult("v", i, i / 10, None, [{"box": (0, 0, 10, 10), "label": label}], 0.3, 0.0)

    monkeypatch.setattr(realtime, "make_scene_video", scene)
    monkeypatch.setattr(realtime, "live_stream", live_stream)
    monkeypatch.setattr(realtime, "stream", stream)
    monkeypatch.setattr(dsan_tf.data.align, "FaceAligner", lambda **kwargs: ("aligner", kwargs))
    monkeypatch.setattr(dsan_tf.live_detection, "compile_mtcnn", lambda detector: ("compiled", detector))
    return calls


def test_benchmark_live_builds_both_scenes_times_the_live_path_and_compares_it_with_full_detection(monkeypatch):
    """Two photos, 160 x 96 frames: one face 0.55 * 96 = 52 px tall; three faces (photos 0, 1, 0) 40, 30 and
    23 px (0.42, 0.32, 0.24 of 96). Each scene: warm-up frames untimed (max_frames, no report), then the timed
    live pass (its report and the clock given), then full detection by the reference's model with a face aligner
    like the live one on the compiled MTCNN; agreement 2 of 3 face-frames, 300 ms per frame of full detection."""
    import types

    from dsan_tf import realtime

    calls = _stand_in_benchmark_live(monkeypatch)
    aligner = types.SimpleNamespace(detector="mtcnn", output_size=48, min_confidence=0.93, min_face_size=24)
    live = types.SimpleNamespace(aligner=aligner, predictor="tflite model")
    reference = types.SimpleNamespace(aligner="keras aligner", predictor="keras model")
    clock = _Clock()
    results = realtime.benchmark_live(["a.jpg", "b.jpg"], live, frames=3, size=(160, 96), warmup=2, search_every=5,
                                      reference=reference, clock=clock)
    assert calls["patch"] == [("a.jpg", "mtcnn"), ("b.jpg", "mtcnn")]
    assert calls["scene"] == [
        ("one_face.avi", ["patch of a.jpg"], [52], 3, (160, 96)),
        ("three_faces.avi", ["patch of a.jpg", "patch of b.jpg", "patch of a.jpg"], [40, 30, 23], 3, (160, 96))]
    for k, name in enumerate(("one_face.avi", "three_faces.avi")):
        warm, timed = calls["live"][2 * k: 2 * k + 2]
        assert warm == (name, live, {"max_frames": 2, "search_every": 5})
        assert timed[:2] == (name, live) and set(timed[2]) == {"search_every", "report", "clock"}
        assert timed[2]["search_every"] == 5 and timed[2]["clock"] is clock
        full_name, full = calls["full"][k]
        assert full_name == name and full.predictor == "keras model" and reference.aligner == "keras aligner"
        assert full.aligner == ("aligner", {"output_size": 48, "min_confidence": 0.93, "min_face_size": 24,
                                            "detector": ("compiled", "mtcnn")})
    want = [{"source": "one face (160x96)", "scene": "one face", "faces_in_scene": 1, "longest_loss_frames": [0]},
            {"source": "three faces (160x96)", "scene": "three faces", "faces_in_scene": 3,
             "longest_loss_frames": [0, 3, 0]}]
    for result, wanted in zip(results, want):
        assert {k: result[k] for k in wanted} == wanted
        assert (result["frames"], result["faces"], result["detection_ms_per_frame"], result["latency_ms_median"]) == (
            3, 3, 20.0, 40.0)
        assert (result["reference_faces"], result["agreeing"], result["unmatched"], result["agreement"]) == (
            3, 2, 0, 0.6667)
        assert result["full_detection_ms_per_frame"] == 300.0 and result["frames_per_s"] == 20.0
    assert len(results) == 2


def test_benchmark_live_compares_with_its_own_model_by_default_and_reuses_one_photo(monkeypatch):
    """reference=None: full detection runs the live recognizer's model; one photo fills all three faces."""
    import types

    from dsan_tf import realtime

    calls = _stand_in_benchmark_live(monkeypatch)
    aligner = types.SimpleNamespace(detector="mtcnn", output_size=48, min_confidence=0.9, min_face_size=20)
    live = types.SimpleNamespace(aligner=aligner, predictor="keras model")
    realtime.benchmark_live(["a.jpg"], live, frames=3, size=(160, 96))
    assert calls["scene"][1][1] == ["patch of a.jpg"] * 3
    assert [full.predictor for _, full in calls["full"]] == ["keras model"] * 2
    assert calls["live"][0][2] == {"max_frames": 10, "search_every": 10}  # the defaults: 10 warm-up frames


def _stand_in_bench_realtime(monkeypatch, reports):
    """dsan bench-realtime's recognizer, photo reader, TFLite conversion and benchmark replaced; returns the
    events (photo reads, model load, face checks) and the benchmark's calls."""
    import types

    import dsan_tf.api
    import dsan_tf.tflite_predictor
    from dsan_tf import realtime

    events, runs = [], []

    class Recognizer:
        def __init__(self, weights):
            events.append(("model", str(weights)))
            self.predictor = types.SimpleNamespace(source=f"{weights} weights")
            self.image_size, self.aligner = 32, "aligner"

        def detect(self, photo):
            events.append(("detect", Path(photo).name))
            return ["a face"]

    def benchmark_live(photos, live, **kwargs):
        runs.append(([Path(p).name for p in photos], live, kwargs))
        return [dict(r) for r in reports]

    monkeypatch.setattr(dsan_tf.api, "FaceExpressionRecognizer", Recognizer)
    monkeypatch.setattr(dsan_tf.api, "to_rgb_image", lambda photo: events.append(("read", Path(photo).name)))
    monkeypatch.setattr(dsan_tf.tflite_predictor, "tflite_bytes", lambda predictor: f"flatbuffer of {predictor.source}")
    monkeypatch.setattr(dsan_tf.tflite_predictor, "TFLitePredictor", lambda content, predictor: types.SimpleNamespace(
        source=f"{predictor.source} (TFLite)", content=content))
    monkeypatch.setattr(realtime, "benchmark_live", benchmark_live)
    monkeypatch.setattr(realtime, "_cpu_name", lambda: "a cpu")
    return events, runs


def test_bench_realtime_reads_the_photos_first_and_passes_its_flags_to_the_live_path_on_tflite(tmp_path, capsys,
                                                                                              monkeypatch):
    """Two photos (one name with a space and capitals), --frames 7 --size 200X100 --search-every 4 --json: the photos
    are read before the model loads and checked for a face after; the live path runs the model converted to
    TFLite (the default classifier), full detection the original; each JSON report names the TFLite model."""
    events, runs = _stand_in_bench_realtime(monkeypatch, [{"scene": "one face", "frames": 2},
                                                          {"scene": "three faces", "frames": 2}])
    photos = [tmp_path / "A Face.PNG", tmp_path / "b.png"]
    for photo in photos:
        photo.write_bytes(b"stand-in")
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", *photos, "--frames", 7, "--size", "200X100",
                             "--search-every", 4, "--json")
    assert status == 0, err
    assert events == [("read", "A Face.PNG"), ("read", "b.png"), ("model", "ferplus"), ("detect", "A Face.PNG"),
                      ("detect", "b.png")]
    ((names, live, kwargs),) = runs
    reference = kwargs.pop("reference")
    assert names == ["A Face.PNG", "b.png"] and kwargs == {"frames": 7, "size": (200, 100), "search_every": 4}
    assert live.predictor.source == "ferplus weights (TFLite)" and live.predictor.content == "flatbuffer of ferplus weights"
    assert reference.predictor.source == "ferplus weights" and live.aligner == "aligner" and live is not reference
    assert [json.loads(line) for line in out.splitlines()] == [
        {"scene": scene, "frames": 2, "model": "ferplus weights (TFLite)", "classifier": "tflite", "cpu": "a cpu",
         "frame_size": [200, 100]} for scene in ("one face", "three faces")]
    runs.clear()
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", photos[1], "--json")
    assert status == 0 and runs[0][2]["frames"] == 90 and runs[0][2]["size"] == (640, 480)
    assert runs[0][2]["search_every"] == 10


def test_bench_realtime_text_names_its_settings_and_sends_notes_to_stderr(tmp_path, capsys, monkeypatch):
    scene = {"scene": "one face", "frames": 3, "faces": 3, "frames_per_s": 9.5, "detection_ms_per_frame": 20.0,
             "searches": 1, "full_detection_ms_per_frame": 90.0, "classification_ms_per_frame": 8.0,
             "read_ms_per_frame": 1.0, "latency_ms_median": 30.0, "agreement": 1.0, "reference_faces": 3,
             "unmatched": 0, "longest_loss_frames": [1], "notes": ["clip: truncated"]}
    _stand_in_bench_realtime(monkeypatch, [scene])
    photo = tmp_path / "face.png"
    photo.write_bytes(b"stand-in")
    status, out, err = _dsan(capsys, "bench-realtime", "--photo", photo, "--size", "320x160", "--search-every", 6)
    assert status == 0, err
    assert out.splitlines()[0] == ("model ferplus weights (TFLite) (32 px faces, tflite classifier), a cpu, 320x160, "
                                   "MTCNN search every 6 frames")
    assert err.splitlines() == ["dsan bench-realtime: clip: truncated"]


def test_bench_realtime_frame_sizes_in_either_case_and_each_side_s_bounds(tmp_path, capsys):
    from dsan_tf.cli.bench_realtime import _size

    assert _size("640X480") == (640, 480) and _size("4096x64") == (4096, 64) and _size("64x480") == (64, 480)
    assert _size("4097x480") is None and _size("640x480x3") is None and _size("wide") is None
    assert _size("0x480") is None
    with pytest.raises(SystemExit) as exit_:
        photo = tmp_path / "face.png"
        photo.write_bytes(b"stand-in")
        _dsan(capsys, "bench-realtime", "--photo", photo, "--size", "640x63")
    assert exit_.value.code == 2 and "--size" in capsys.readouterr().err


def test_tk_window_binds_q_shift_q_esc_and_the_close_button_and_draws_each_frame(monkeypatch):
    """TkWindow on a stand-in tkinter: titled as asked; q, Q, Esc and the close button each end it; show() turns
    the RGB frame into a photo of the root (width x height), keeps a reference to it and lets Tk draw."""
    import sys
    import types

    import PIL.ImageTk

    from dsan_tf.realtime import TkWindow

    class Root:
        def __init__(self):
            self.bound, self.protocols, self.titles, self.updates, self.destroyed = {}, {}, [], 0, False

        def title(self, text):
            self.titles.append(text)

        def bind(self, key, handler):
            self.bound[key] = handler

        def protocol(self, name, handler):
            self.protocols[name] = handler

        def update(self):
            self.updates += 1

        def destroy(self):
            self.destroyed = True

    class Label:
        def __init__(self, root, borderwidth):
            self.root, self.borderwidth, self.images, self.packed = root, borderwidth, [], False

        def pack(self):
            self.packed = True

        def configure(self, image):
            self.images.append(image)

    fake = types.ModuleType("tkinter")
    fake.Tk, fake.Label, fake.TclError = Root, Label, type("TclError", (Exception,), {})
    monkeypatch.setitem(sys.modules, "tkinter", fake)
    photos = []
    monkeypatch.setattr(PIL.ImageTk, "PhotoImage", lambda image, master: photos.append(
        (image.size, image.mode, image.getpixel((0, 0)), master)) or "photo")
    window = TkWindow("My Window")
    root = window.root
    assert root.titles == ["My Window"] and window.label.packed and window.label.root is root
    assert set(root.bound) == {"<KeyPress-q>", "<KeyPress-Q>", "<Escape>"} and set(root.protocols) == {"WM_DELETE_WINDOW"}
    frame = np.zeros((30, 50, 3), np.uint8)
    frame[0, 0] = (200, 100, 50)
    assert window.show(frame) is True
    assert photos == [((50, 30), "RGB", (200, 100, 50), root)] and window.label.images == ["photo"]
    assert window.label.image == "photo" and root.updates == 1
    for key in ("<KeyPress-q>", "<KeyPress-Q>", "<Escape>"):
        window.open = True
        root.bound[key](object())
        assert window.open is False
    window.open = True
    root.protocols["WM_DELETE_WINDOW"]()
    assert window.open is False
    window.close()
    assert root.destroyed and window.root is None


def test_show_window_draws_in_the_tk_window_until_it_is_closed_and_then_closes_it(monkeypatch):
    """check_display says "tk": the frames go to TkWindow as RGB (teal stays (0, 128, 128)) until show() says
    closed (after the 2nd), then the window is closed once; OpenCV's window is not used."""
    import cv2

    from dsan_tf import realtime

    windows = []

    class Window:
        def __init__(self, title):
            self.title, self.frames, self.closed = title, [], 0
            windows.append(self)

        def show(self, frame):
            self.frames.append(frame.copy())
            return len(self.frames) < 2

        def close(self):
            self.closed += 1

    monkeypatch.setattr(realtime, "check_display", lambda: "tk")
    monkeypatch.setattr(realtime, "TkWindow", Window)
    monkeypatch.setattr(cv2, "imshow", lambda *args: pytest.fail("OpenCV's window used"))
    report = realtime.StreamReport("cam")
    realtime.show_window(_window_frames(5), report, window="Title")
    (window,) = windows
    assert window.title == "Title" and len(window.frames) == 2 and window.closed == 1 and report.stopped == "quit"
    assert window.frames[0].shape == (120, 160, 3) and (window.frames[0][100:115, 85:95] == (0, 128, 128)).all()


# ---- issue 34: a stream timed in no measurable wall time has no rate, never NaN
def test_frames_in_no_measurable_wall_time_give_no_rate_and_never_nan():
    import json

    from dsan_tf.realtime import StreamReport

    report = StreamReport(source="clip.mp4", frames=3, faces=2, wall_s=0.0, detect_s=0.0, classify_s=0.0)
    summary = report.summary()
    assert summary["frames_per_s"] is None and summary["faces_per_s"] is None
    json.loads(json.dumps(summary, allow_nan=False))  # valid JSON: null, not NaN
    assert "n/a frames/s, n/a faces/s" in report.line()
    timed = StreamReport(source="clip.mp4", frames=3, faces=2, wall_s=1.5)
    assert (timed.summary()["frames_per_s"], timed.summary()["faces_per_s"]) == (2.0, 1.333)
    assert "2.00 frames/s, 1.33 faces/s" in timed.line()
    assert StreamReport(source="none").summary()["frames_per_s"] == 0.0
