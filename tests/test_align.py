"""MTCNN alignment on the shared photos, the similarity fit, and the resumable folder run.

MTCNN is slow on CPU: one detector per module, and each distinct image is detected
once (a cache keyed by the pixels), however many tests look at it.
"""

import csv
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from dsan_tf.data.align import (FaceAligner, align_folder, canonical_template, read_rgb,
                                similarity_transform, transform_points)
from dsan_tf.data.errors import DataError

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "photos"
needs_photos = pytest.mark.skipif(
    not (PHOTOS / "ivan.jpg").is_file() or not (PHOTOS / "no-faces.jpg").is_file(),
    reason=f"shared photos not found at {PHOTOS} (ivan.jpg, no-faces.jpg live beside the repo)")


class CachedDetector:
    """Wraps mtcnn.MTCNN; detects each distinct image once per test module."""

    def __init__(self):
        from mtcnn import MTCNN

        self.inner, self.cache, self.calls = MTCNN(), {}, 0

    def detect_faces(self, image, **kwargs):
        key = (hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest(), image.shape,
               tuple(sorted(kwargs.items())))
        if key not in self.cache:
            self.calls += 1
            self.cache[key] = self.inner.detect_faces(image, **kwargs)
        return self.cache[key].copy()


@pytest.fixture(scope="module")
def aligner():
    pytest.importorskip("mtcnn")
    return FaceAligner(112, detector=CachedDetector())


def test_similarity_transform_recovers_known_motion():
    src = canonical_template(112)
    angle, scale, shift = np.deg2rad(17.0), 1.7, np.array([5.0, -3.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = src @ (scale * rot).T + shift
    matrix = similarity_transform(src, dst)
    np.testing.assert_allclose(transform_points(matrix, src), dst, atol=1e-9)
    np.testing.assert_allclose(matrix[:, :2], scale * rot, atol=1e-9)


@needs_photos
def test_ivan_face_found_and_eyes_level(aligner):
    faces = aligner.align(read_rgb(PHOTOS / "ivan.jpg"))
    assert len(faces) >= 1
    face = faces[0]
    assert face.image.shape == (112, 112, 3) and face.image.dtype == np.uint8
    assert face.confidence >= 0.9
    # Transformed-landmark check: the fitted similarity applied to the detected eyes.
    eyes = face.aligned_landmarks()[:2]
    assert abs(eyes[0, 1] - eyes[1, 1]) <= 2.0, eyes
    assert np.abs(eyes - canonical_template(112)[:2]).max() < 4.0
    areas = [f.box[2] * f.box[3] for f in faces]
    assert areas == sorted(areas, reverse=True)


@needs_photos
def test_no_faces_photo_gives_empty_list(aligner):
    assert aligner.align(read_rgb(PHOTOS / "no-faces.jpg")) == []


def test_unreadable_bytes_name_the_file(tmp_path):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg")
    with pytest.raises(DataError, match="junk.jpg"):
        read_rgb(junk)
    with pytest.raises(DataError, match="does not exist"):
        read_rgb(tmp_path / "nope.png")


def test_tiny_image_has_no_face_without_running_mtcnn():
    class Boom:
        def detect_faces(self, *a, **k):
            raise AssertionError("detector must not run on an image below PNet's window")

    assert FaceAligner(detector=Boom()).align(np.zeros((8, 30, 3), np.uint8)) == []


@needs_photos
def test_folder_report_and_resume(aligner, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    shutil.copy(PHOTOS / "ivan.jpg", src / "sub" / "ivan.JPG")
    shutil.copy(PHOTOS / "no-faces.jpg", src / "no-faces.jpg")
    (src / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n but then garbage")
    (src / "notes.txt").write_text("not an image, not listed")

    first = []
    summary = align_folder(src, out, aligner, progress=False, on_file=first.append)
    assert len(first) == 3 and summary.skipped == 0
    assert (out / "sub" / "ivan.png").is_file()
    assert (summary.ok + summary.several_faces, summary.no_face, summary.unreadable) == (1, 1, 1)
    with open(summary.report, newline="") as fh:
        report = {row["path"]: row for row in csv.DictReader(fh)}
    assert report["no-faces.jpg"]["status"] == "no_face"
    assert report["garbage.png"]["status"] == "unreadable"
    assert "garbage.png" in report["garbage.png"]["message"]
    assert "sub/ivan.JPG" not in report or report["sub/ivan.JPG"]["status"] == "several_faces"
    assert not list(out.rglob("*.tmp"))

    again = []
    second = align_folder(src, out, aligner, progress=False, on_file=again.append)
    assert again == [] and second.skipped == 3
    assert (second.no_face, second.unreadable) == (1, 1)  # report still covers all runs
    with pytest.raises(DataError, match="written with"):
        align_folder(src, out, FaceAligner(64, detector=aligner.detector), progress=False)


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


class _OneFaceDetector:
    """mtcnn's numpy rows for one face in the middle of whatever image it is given."""

    def detect_faces(self, image, **kwargs):
        h, w = image.shape[:2]
        x0, y0, x1, y1 = 0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h
        xs = [0.4 * w, 0.6 * w, 0.5 * w, 0.42 * w, 0.58 * w]
        ys = [0.4 * h, 0.4 * h, 0.5 * h, 0.62 * h, 0.62 * h]
        return np.array([[0, x0, y0, x1, y1, 0.99, *xs, *ys]])


def test_photos_whose_names_differ_only_in_suffix_keep_both_crops(tmp_path):
    """align-clashing-names-lose-their-suffix: a.jpg and a.png in one folder give a.jpg.png and a.png.png
    (neither crop lost); b.jpg alone gives b.png."""
    from PIL import Image

    from dsan_tf.data.align import FaceAligner, align_folder

    source, out = tmp_path / "photos", tmp_path / "aligned"
    source.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "a.png", "b.jpg"):
        Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(source / name)
    summary = align_folder(source, out, FaceAligner(16, min_face_size=1, detector=_OneFaceDetector()),
                           progress=False)
    assert summary.ok == 3
    assert sorted(p.name for p in out.glob("*.png") if p.name != "align-report.csv") == ["a.jpg.png", "a.png.png",
                                                                                           "b.png"]


# round 2 blind mutants (issue 34)

class _FaceWhenBright:
    """One face (mtcnn's numpy row) in a bright image, none in a dark one."""

    def detect_faces(self, image, **kwargs):
        if image.mean() < 128:
            return np.zeros((0, 16))
        return _OneFaceDetector().detect_faces(image)


def test_the_folder_report_lists_only_the_files_that_went_wrong(tmp_path):
    from PIL import Image

    source, out = tmp_path / "photos", tmp_path / "aligned"
    source.mkdir()
    Image.fromarray(np.full((50, 70, 3), 200, np.uint8)).save(source / "bright.png")
    Image.fromarray(np.full((70, 50, 3), 200, np.uint8)).save(source / "tall.png")
    Image.fromarray(np.full((40, 90, 3), 20, np.uint8)).save(source / "dark.png")
    (source / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    summary = align_folder(source, out, FaceAligner(16, min_face_size=1, detector=_FaceWhenBright()),
                           progress=False)
    assert (summary.ok, summary.several_faces, summary.no_face, summary.unreadable) == (2, 0, 1, 1)
    with open(summary.report, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["path"], r["status"]) for r in rows] == [("bad.png", "unreadable"), ("dark.png", "no_face")]


# ---- lines its own tests never ran (issue 34)

def test_similarity_transform_refuses_mismatched_and_degenerate_points():
    good = canonical_template(112)
    with pytest.raises(ValueError, match=r"got \(5, 2\) and \(4, 2\)"):
        similarity_transform(good, good[:4])
    with pytest.raises(ValueError, match=r"need two matching"):
        similarity_transform(good[:1], good[:1])  # one point: no rotation or scale to fit
    with pytest.raises(ValueError, match=r"got \(2, 3\) and \(2, 3\)"):
        similarity_transform(np.zeros((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="all identical"):
        similarity_transform(np.full((3, 2), 4.0), good[:3])
    # two points are enough: (0,0)->(1,1), (2,0)->(1,3) is a quarter turn, no scale, moved by (1,1)
    matrix = similarity_transform([[0, 0], [2, 0]], [[1, 1], [1, 3]])
    np.testing.assert_allclose(matrix, [[0, -1, 1], [1, 0, 1]], atol=1e-12)


def test_to_rgb_uint8_channels_and_refusals():
    from dsan_tf.data.align import to_rgb_uint8

    grey = np.arange(15, dtype=np.uint8).reshape(3, 5)  # non-square: a transpose shows
    out = to_rgb_uint8(grey)
    assert out.shape == (3, 5, 3) and all((out[:, :, c] == grey).all() for c in range(3))
    grey_alpha = np.stack([grey, np.full_like(grey, 255)], axis=2)
    assert (to_rgb_uint8(grey_alpha) == out).all()  # the grey repeated, the alpha dropped
    rgba = np.stack([grey, grey + 100, grey + 200, np.zeros_like(grey)], axis=2)
    assert (to_rgb_uint8(rgba) == rgba[:, :, :3]).all()
    rgb = rgba[:, :, :3].copy()
    assert (to_rgb_uint8(rgb) == rgb).all()
    with pytest.raises(ValueError, match="expected a uint8 image, got dtype float32"):
        to_rgb_uint8(np.zeros((3, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"C in 1\.\.4, got shape \(3, 5, 5\)"):
        to_rgb_uint8(np.zeros((3, 5, 5), np.uint8))
    with pytest.raises(ValueError, match=r"got shape \(1, 3, 5, 3\)"):
        to_rgb_uint8(np.zeros((1, 3, 5, 3), np.uint8))


def test_stop_when_empty_refuses_only_an_empty_batch():
    import copy

    import tensorflow as tf

    from dsan_tf.data.align import StopWhenEmpty

    calls = []

    class Stage:
        name = "rnet"

        def __call__(self, bboxes_batch=None, **kwargs):
            calls.append((bboxes_batch, kwargs))
            return "ran"

    stage = StopWhenEmpty(Stage())
    with pytest.raises(tf.errors.InvalidArgumentError, match="no face proposals left"):
        stage(bboxes_batch=np.zeros((0, 16)), images=1)
    assert calls == []
    assert stage(bboxes_batch=np.zeros((2, 16)), images=1) == "ran"
    assert stage(images=2) == "ran"  # no batch given (PNet): run
    assert calls[0][1] == {"images": 1} and len(calls[0][0]) == 2 and calls[1] == (None, {"images": 2})
    assert stage.name == "rnet"  # the stage's own attributes show through
    assert copy.copy(stage).name == "rnet"  # no endless __getattr__ before __init__


class _OldMtcnn:
    """mtcnn < 1.0: no keywords, the JSON form in integer pixels."""

    def __init__(self, faces):
        self.faces = faces

    def detect_faces(self, image, **kwargs):
        if kwargs:
            raise TypeError("detect_faces() got an unexpected keyword argument 'output_type'")
        return self.faces


def test_the_json_form_of_old_mtcnn_is_read():
    keypoints = {"left_eye": (30, 40), "right_eye": (50, 41), "nose": (40, 50),
                 "mouth_left": (32, 60), "mouth_right": (48, 61)}
    aligner = FaceAligner(16, min_face_size=5, detector=_OldMtcnn([
        {"box": [20, 30, 40, 44], "keypoints": keypoints, "confidence": 0.97}]))
    [face] = aligner.detect(np.zeros((100, 80, 3), np.uint8))
    assert face.box == (20.0, 30.0, 40.0, 44.0) and face.confidence == pytest.approx(0.97)
    np.testing.assert_array_equal(face.landmarks, [[30, 40], [50, 41], [40, 50], [32, 60], [48, 61]])


def _row(x0, y0, x1, y1, confidence):
    """mtcnn's numpy row for a face in the box, its landmarks placed as in _OneFaceDetector."""
    w, h = x1 - x0, y1 - y0
    xs = [x0 + f * w for f in (0.3, 0.7, 0.5, 0.34, 0.66)]
    ys = [y0 + f * h for f in (0.3, 0.3, 0.5, 0.74, 0.74)]
    return [0, x0, y0, x1, y1, confidence, *xs, *ys]


class _Rows:
    def __init__(self, rows):
        self.rows = np.array(rows, dtype=np.float64)

    def detect_faces(self, image, **kwargs):
        if isinstance(self.rows, Exception):
            raise self.rows
        return self.rows


def test_detect_keeps_faces_at_the_thresholds_largest_first():
    rows = [_row(0, 0, 20, 30, 0.9),     # 20x30: at both thresholds, kept
            _row(30, 0, 70, 50, 0.95),   # 40x50: the largest, first
            _row(0, 40, 19, 80, 0.99),   # 19 wide: below min_face_size 20
            _row(50, 60, 90, 99, 0.899)]  # under min_confidence 0.9
    faces = FaceAligner(16, min_confidence=0.9, min_face_size=20, detector=_Rows(rows)).detect(
        np.zeros((100, 120, 3), np.uint8))
    assert [f.box for f in faces] == [(30.0, 0.0, 40.0, 50.0), (0.0, 0.0, 20.0, 30.0)]


def test_aligner_refuses_sizes_too_small():
    with pytest.raises(ValueError, match="output_size must be >= 8 pixels, got 7"):
        FaceAligner(7)
    FaceAligner(8)
    with pytest.raises(ValueError, match="max_detection_side must be >= 12 pixels, got 11"):
        FaceAligner(max_detection_side=11)
    FaceAligner(max_detection_side=12)


def test_output_paths_and_list_images(tmp_path):
    from dsan_tf.data.align import list_images, output_paths

    out = tmp_path / "out"
    rel = Path("sub") / "a.jpg"
    assert output_paths(rel, out, 3, False) == [out / "sub" / "a.png"]
    assert output_paths(rel, out, 3, True) == [out / "sub" / f"a_{i}.png" for i in range(3)]
    assert output_paths(rel, out, 2, True, keep_suffix=True) == [out / "sub" / "a.jpg_0.png", out / "sub" / "a.jpg_1.png"]
    (tmp_path / "in" / "b").mkdir(parents=True)
    for name in ("b/z.PNG", "a.jpeg", "b/notes.txt", "c.Jpg"):
        (tmp_path / "in" / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path / "in").as_posix() for p in list_images(tmp_path / "in")] == [
        "a.jpeg", "b/z.PNG", "c.Jpg"]


def test_folder_summary_line():
    from dsan_tf.data.align import FolderSummary

    summary = FolderSummary(total=30, skipped=8, ok=3, several_faces=4, no_face=5, unreadable=6, error=7,
                            report="r.csv")
    assert summary.line() == ("30 images: 8 already done, 22 processed now; over all runs: 3 one face, "
                              "4 several faces, 5 no face, 6 unreadable, 7 failed; report: r.csv")
    summary.unreadable_folders = 2
    assert summary.line().endswith("7 failed; 2 unreadable folder(s) skipped; report: r.csv")


def _two_faces_photo(path):
    """Red on the left (a large face there), blue on the right (a small face there); 60x120."""
    from PIL import Image

    array = np.zeros((60, 120, 3), np.uint8)
    array[:, :60, 0] = 220
    array[:, 60:, 2] = 220
    Image.fromarray(array).save(path)


def test_several_faces_keep_the_largest_or_all(tmp_path):
    from PIL import Image

    source = tmp_path / "in"
    source.mkdir()
    _two_faces_photo(source / "pair.png")
    rows = [_row(85, 20, 110, 45, 0.99), _row(5, 5, 55, 55, 0.99)]  # the small face listed first
    aligner = FaceAligner(16, min_face_size=1, detector=_Rows(rows))
    summary = align_folder(source, tmp_path / "one", aligner, progress=False)
    assert (summary.ok, summary.several_faces) == (0, 1)
    with open(summary.report, newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["path"], row["status"], row["faces"]) == ("pair.png", "several_faces", "2")
    assert row["message"] == f"{source / 'pair.png'}: 2 faces, largest kept"
    [crop] = [p.name for p in (tmp_path / "one").glob("*.png")]
    assert crop == "pair.png"
    red, _, blue = np.asarray(Image.open(tmp_path / "one" / "pair.png")).reshape(-1, 3).mean(0)
    assert red > 100 > blue  # the large face, on the red side

    summary = align_folder(source, tmp_path / "all", aligner, all_faces=True, progress=False)
    with open(summary.report, newline="") as fh:
        assert list(csv.DictReader(fh))[0]["message"].endswith(": 2 faces, all kept")
    means = [np.asarray(Image.open(tmp_path / "all" / f"pair_{i}.png")).reshape(-1, 3).mean(0) for i in (0, 1)]
    assert means[0][0] > 100 > means[0][2] and means[1][2] > 100 > means[1][0]  # largest first, then the small
    assert not (tmp_path / "all" / "pair.png").exists()


def test_a_failed_detection_is_reported_and_retried(tmp_path, capsys):
    """A detector failure is an "error" row, retried by the next run. The detector here keeps the error it
    raised, whose traceback keeps the first run's frame alive: before the fix, the OutputPolicy align_folder
    made for itself was never closed, so its lock on the report outlived the call and the retry was refused
    ("in use by another command (process <this one>)")."""
    source = tmp_path / "in"
    source.mkdir()
    _two_faces_photo(source / "pair.png")
    broken = _Rows([])
    broken.rows = RuntimeError("boom")
    summary = align_folder(source, tmp_path / "out", FaceAligner(16, min_face_size=1, detector=broken), progress=False)
    assert summary.error == 1 and summary.ok == 0
    with open(summary.report, newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["status"], row["message"]) == ("error", f"{source / 'pair.png'}: RuntimeError: boom")
    seen = []
    fixed = FaceAligner(16, min_face_size=1, detector=_Rows([_row(5, 5, 55, 55, 0.99)]))
    summary = align_folder(source, tmp_path / "out", fixed, progress=True, on_file=seen.append)
    assert seen == [source / "pair.png"] and (summary.skipped, summary.ok, summary.error) == (0, 1, 0)
    assert "align" in capsys.readouterr().err  # the progress bar, when asked for
    assert (tmp_path / "out" / "pair.png").is_file()


def test_a_missing_input_and_an_unreadable_sub_folder(tmp_path, monkeypatch):
    from script_loader import refuse_walking_into

    with pytest.raises(DataError, match=r"nowhere: input folder does not exist"):
        align_folder(tmp_path / "nowhere", tmp_path / "out", FaceAligner(16), progress=False)
    source = tmp_path / "in"
    (source / "locked").mkdir(parents=True)
    _two_faces_photo(source / "pair.png")
    _two_faces_photo(source / "locked" / "hidden.png")
    refuse_walking_into(monkeypatch, "locked")
    aligner = FaceAligner(16, min_face_size=1, detector=_Rows([_row(5, 5, 55, 55, 0.99)]))
    summary = align_folder(source, tmp_path / "out", aligner, progress=False)
    assert (summary.total, summary.ok, summary.unreadable_folders) == (1, 1, 1)
    with open(summary.report, newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["path"], row["status"], row["faces"]) == ("locked/", "unreadable_folder", "0")
    assert row["message"] == f"{source / 'locked'}: folder cannot be read (Permission denied); its images were skipped"


def test_the_default_detector_is_built_once_with_its_stages_guarded(monkeypatch):
    import sys
    import types

    from dsan_tf.data.align import StopWhenEmpty

    built = []

    class FakeMTCNN:
        def __init__(self):
            built.append(self)
            self.stages = ["pnet", "rnet", "onet"]

    class NoStages:
        stages = ("a", "b")  # not a list: left alone

    monkeypatch.setitem(sys.modules, "mtcnn", types.SimpleNamespace(MTCNN=FakeMTCNN))
    aligner = FaceAligner()
    detector = aligner.detector
    assert aligner.detector is detector and built == [detector]  # built on first use only
    assert [type(s) for s in detector.stages] == [StopWhenEmpty] * 3
    assert [s.stage for s in detector.stages] == ["pnet", "rnet", "onet"]
    monkeypatch.setitem(sys.modules, "mtcnn", types.SimpleNamespace(MTCNN=NoStages))
    assert FaceAligner().detector.stages == ("a", "b")
    given = object()
    assert FaceAligner(detector=given).detector is given


def test_the_detector_runs_at_the_callers_minimum_face_in_its_own_pixels():
    seen = []

    class Recording:
        def detect_faces(self, image, **kwargs):
            seen.append((image.shape[:2], kwargs["min_face_size"], kwargs["output_type"], kwargs["box_format"]))
            return np.zeros((0, 16))

    image = np.zeros((100, 120, 3), np.uint8)
    for minimum in (5, 15, 50):  # below PNet's 12-px window: 12; 15 as asked; above mtcnn's safe 20: 20
        FaceAligner(16, min_face_size=minimum, detector=Recording()).detect(image)
    assert [s[1] for s in seen] == [12, 15, 20] and seen[0][2:] == ("numpy", "xyxy")
    seen.clear()
    # 40x60 shrunk to 20x30 for a 30-px detection side: 2 source pixels a copy pixel, so 30 asks for 15
    FaceAligner(16, min_face_size=30, detector=Recording(), max_detection_side=30).detect(np.zeros((40, 60, 3), np.uint8))
    assert seen == [((20, 30), 15, "numpy", "xyxy")]


# ---- round 3 blind mutants (issue 34)


def test_names_that_differ_only_in_case_or_suffix_clash_within_one_folder():
    """r3-align-clash-case-sensitive: A.jpg and a.png would be one crop a.png on a case-insensitive file system
    (macOS, Windows): they clash and keep their suffixes; the same stem in two folders does not clash."""
    from dsan_tf.data.align import _clashing

    paths = [Path("A.jpg"), Path("a.png"), Path("b.jpg"), Path("x/c.jpg"), Path("y/c.jpg"), Path("x/C.PNG")]
    assert _clashing(paths) == {Path("A.jpg"), Path("a.png"), Path("x/c.jpg"), Path("x/C.PNG")}


# ---- round 4 blind mutants (issue 34)


def test_align_takes_over_an_earlier_versions_folder_by_its_ledger_only(tmp_path, capsys, monkeypatch):
    """r4-align-report-taken-for-ledger: an unmarked --output holding the ledger (.align-ledger.csv) of an earlier
    version is continued; one holding only someone's align-report.csv is refused before any work. (No photos,
    and a stand-in aligner: only the choice of folder is checked.)"""
    from types import SimpleNamespace

    import dsan_tf.data.align
    from dsan_tf.cli import main

    monkeypatch.setattr(dsan_tf.data.align, "FaceAligner", lambda size, min_confidence, min_face_size: SimpleNamespace(
        output_size=size, min_confidence=min_confidence, min_face_size=min_face_size))
    photos = tmp_path / "photos"
    photos.mkdir()
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / ".align-ledger.csv").write_text("path,status,faces,message\n")
    assert main(["align", "--input", str(photos), "--output", str(earlier), "--no-progress"]) == 0, \
        capsys.readouterr().err
    assert (earlier / "align-report.csv").is_file()
    someone = tmp_path / "someone"
    someone.mkdir()
    (someone / "align-report.csv").write_text("my notes\n")
    assert main(["align", "--input", str(photos), "--output", str(someone), "--no-progress"]) == 2
    assert "--output" in capsys.readouterr().err
    assert (someone / "align-report.csv").read_text() == "my notes\n"


# ---- round 8 blind mutants (issue 34)


@pytest.mark.parametrize("change", [{"min_confidence": 0.5}, {"min_face_size": 40}, {"output_size": 32}])
def test_resuming_into_a_folder_aligned_with_other_settings_is_refused(tmp_path, change):
    """r8-align-settings-ignore-confidence: a folder aligned at 16 px, min_confidence 0.9 and min_face_size 20
    is refused to a rerun that changes any one of them (the crops would mix two selections); the same settings
    resume. (An empty input folder: no detection runs.)"""
    source = tmp_path / "in"
    source.mkdir()
    settings = {"output_size": 16, "min_confidence": 0.9, "min_face_size": 20}
    align_folder(source, tmp_path / "out", FaceAligner(**settings), progress=False)
    align_folder(source, tmp_path / "out", FaceAligner(**settings), progress=False)  # the same: resumes
    with pytest.raises(DataError, match="this output folder was written with"):
        align_folder(source, tmp_path / "out", FaceAligner(**{**settings, **change}), progress=False)


# ---- round 9 blind mutants (issue 34)


def test_an_image_narrower_or_lower_than_the_pnet_window_is_never_detected_on():
    """r9-align-thin-image-to-pnet: a 100 px high, 5 px wide image (and a 5 x 100 one) is smaller than MTCNN's
    12-px window along one side: no face, and the detector (whose PNet would raise) is never called."""
    calls = []

    class Refusing:
        def detect_faces(self, image, **kwargs):
            calls.append(image.shape)
            raise AssertionError("PNet called on an image smaller than its window")

    for shape in ((100, 5, 3), (5, 100, 3)):
        assert FaceAligner(16, detector=Refusing()).detect(np.zeros(shape, np.uint8)) == []
    assert calls == []


# ---- issue 34: line-by-line sweep (align)

# insightface's arcface_src (python-package/insightface/utils/face_align.py), written out here: left eye,
# right eye, nose, mouth left, mouth right ("left" = image left), 112x112 pixels.
INSIGHTFACE_ARCFACE_112 = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                           [70.7299, 92.2041]]


def test_the_template_is_insightfaces_arcface_points_scaled_to_the_crop():
    np.testing.assert_allclose(canonical_template(112), INSIGHTFACE_ARCFACE_112, rtol=0, atol=1e-12)
    np.testing.assert_allclose(canonical_template(56), np.array(INSIGHTFACE_ARCFACE_112) / 2, rtol=0, atol=1e-12)
    np.testing.assert_allclose(canonical_template(32)[0], [38.2946 * 32 / 112, 51.6963 * 32 / 112], rtol=1e-12)


def _complex_fit(src, dst):
    """The least-squares similarity (no reflection) by complex regression: dst ~ a * src + b, a complex."""
    z, w = src[:, 0] + 1j * src[:, 1], dst[:, 0] + 1j * dst[:, 1]
    zc, wc = z - z.mean(), w - w.mean()
    a = (np.conj(zc) * wc).sum() / (np.abs(zc) ** 2).sum()
    b = w.mean() - a * z.mean()
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


@pytest.mark.parametrize("mirror", [False, True])
def test_similarity_transform_is_the_least_squares_fit_and_never_a_reflection(mirror):
    rng = np.random.default_rng(3)
    src = canonical_template(112) + rng.normal(0, 3, (5, 2))
    dst = canonical_template(64) * [1.0, 1.3] + rng.normal(0, 2, (5, 2))  # not an exact similarity
    if mirror:  # a mirrored face: the best proper fit, not the mirror image
        dst = dst * [-1, 1] + [64, 0]
    matrix = similarity_transform(src, dst)
    np.testing.assert_allclose(matrix, _complex_fit(src, dst), atol=1e-9)
    assert np.linalg.det(matrix[:, :2]) > 0


def test_warp_face_moves_the_landmarks_onto_the_template_in_a_wide_image():
    from dsan_tf.data.align import warp_face

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)  # 50 high, 70 wide
    crop, matrix = warp_face(image, canonical_template(32) + [10, 5], 32)  # the face 10 right, 5 down
    np.testing.assert_allclose(matrix, [[1, 0, -10], [0, 1, -5]], atol=1e-9)
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, image[5:37, 10:42])
    # a template given: the same landmarks land 3 right and 2 down of the canonical place
    crop, _ = warp_face(image, canonical_template(32) + [10, 5], 32, template=canonical_template(32) + [3, 2])
    np.testing.assert_array_equal(crop[2:, 3:], image[5:35, 10:39])


def test_warp_face_fills_outside_the_photo_with_black_and_interpolates_linearly():
    from dsan_tf.data.align import warp_face

    rng = np.random.default_rng(1)
    image = rng.integers(1, 256, (40, 60, 3), dtype=np.uint8)  # no black pixel of its own
    crop, _ = warp_face(image, canonical_template(24) + [-6, -4], 24)  # the face past the top-left corner
    assert (crop[:4] == 0).all() and (crop[:, :6] == 0).all()
    np.testing.assert_array_equal(crop[4:, 6:], image[:20, :18])
    crop, _ = warp_face(image, canonical_template(24) + [10.5, 5], 24)  # half a pixel: the mean of two
    halves = (image[5:29, 10:34].astype(float) + image[5:29, 11:35]) / 2
    assert np.abs(crop - halves).max() <= 1


def test_read_rgb_turns_by_exif_orientation_reads_given_bytes_and_names_the_problem(tmp_path):
    from PIL import Image

    array = np.zeros((20, 30, 3), np.uint8)
    array[:, :15, 0] = 255  # red left half
    array[:, 15:, 2] = 255  # blue right half
    picture = Image.fromarray(array)
    exif = picture.getexif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to show"
    picture.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    shown = read_rgb(tmp_path / "phone.jpg")
    assert shown.shape == (30, 20, 3)  # turned: the left half is now the top
    assert shown[:10, :, 0].mean() > 200 > shown[:10, :, 2].mean() and shown[-10:, :, 2].mean() > 200
    data = (tmp_path / "phone.jpg").read_bytes()
    assert read_rgb(tmp_path / "not-there.jpg", data=data).shape == (30, 20, 3)  # the bytes, not the path
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty.png: not a readable image \(the file is empty\)$"):
        read_rgb(tmp_path / "empty.png")
    (tmp_path / "hello.png").write_bytes(b"hello")
    with pytest.raises(DataError, match=r"hello.png: not a readable image \(5 bytes in no known image format\)$"):
        read_rgb(tmp_path / "hello.png")
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    with pytest.raises(DataError, match=r"cut.jpg: not a readable image \(OSError: "):
        read_rgb(tmp_path / "cut.jpg")


def test_detect_reads_x_and_y_landmarks_from_their_own_columns():
    row = _row(10, 20, 50, 70, 0.99)
    [face] = FaceAligner(16, min_face_size=1, detector=_Rows([row])).detect(np.zeros((90, 60, 3), np.uint8))
    np.testing.assert_allclose(face.landmarks, np.stack([row[6:11], row[11:16]], axis=1), atol=1e-5)
    assert face.landmarks.dtype == np.float32 and face.box == (10.0, 20.0, 40.0, 50.0)


def test_shrink_for_detection_per_axis_and_its_boundaries():
    from dsan_tf.data.align import shrink_for_detection

    image = np.zeros((30, 20, 3), np.uint8)
    small, scale = shrink_for_detection(image, 30)  # the longer side exactly at the limit: untouched
    assert small is image and scale == (1.0, 1.0)
    small, scale = shrink_for_detection(np.zeros((41, 61, 3), np.uint8), 30)
    assert small.shape == (20, 30, 3)  # 41 * 30 / 61 = 20.2 -> 20 high, 30 wide
    assert scale == pytest.approx((61 / 30, 41 / 20))
    assert shrink_for_detection(np.zeros((42, 61, 3), np.uint8), 30)[0].shape == (21, 30, 3)  # 20.66 rounds to 21
    small, scale = shrink_for_detection(np.zeros((1, 400, 3), np.uint8), 100)  # 0.25 px high -> 1
    assert small.shape == (1, 100, 3) and scale == pytest.approx((4.0, 1.0))


def test_faces_found_in_the_shrunken_copy_come_back_in_photo_pixels():
    seen = []

    class InCopy:
        def detect_faces(self, image, **kwargs):
            seen.append(image.shape[:2])
            return np.array([_row(4, 2, 24, 18, 0.99)])  # 20 x 16 in the copy's pixels

    sx, sy = 61 / 30, 41 / 20
    # min_face_size 30: the face is 16 px high in the copy, 32.8 in the photo: kept
    [face] = FaceAligner(16, min_face_size=30, detector=InCopy(), max_detection_side=30).detect(
        np.zeros((41, 61, 3), np.uint8))
    assert seen == [(20, 30)] and face.confidence == pytest.approx(0.99)
    np.testing.assert_allclose(face.box, [(4 + 0.5) * sx - 0.5, (2 + 0.5) * sy - 0.5, 20 * sx, 16 * sy], rtol=1e-9)
    row = _row(4, 2, 24, 18, 0.99)
    expected = (np.stack([row[6:11], row[11:16]], axis=1) + 0.5) * [sx, sy] - 0.5
    np.testing.assert_allclose(face.landmarks, expected, rtol=1e-5)
    assert FaceAligner(16, min_face_size=33, detector=InCopy(), max_detection_side=30).detect(
        np.zeros((41, 61, 3), np.uint8)) == []  # 32.8 < 33


def test_an_image_exactly_as_small_as_the_pnet_window_is_detected_on():
    calls = []

    class Counting:
        def detect_faces(self, image, **kwargs):
            calls.append(image.shape[:2])
            return np.zeros((0, 16))

    FaceAligner(16, detector=Counting()).detect(np.zeros((12, 40, 3), np.uint8))
    FaceAligner(16, detector=Counting()).detect(np.zeros((40, 12, 3), np.uint8))
    assert calls == [(12, 40), (40, 12)]


def test_largest_only_from_the_aligner_or_the_call():
    rows = [_row(85, 20, 110, 45, 0.99), _row(5, 5, 55, 55, 0.98)]  # the small face first
    image = np.full((60, 120, 3), 100, np.uint8)
    every = FaceAligner(16, min_face_size=1, detector=_Rows(rows))
    only = FaceAligner(16, min_face_size=1, largest_only=True, detector=_Rows(rows))
    assert [f.box for f in every.align(image)] == [(5.0, 5.0, 50.0, 50.0), (85.0, 20.0, 25.0, 25.0)]
    assert [f.box for f in only.align(image)] == [(5.0, 5.0, 50.0, 50.0)]
    assert len(every.align(image, largest_only=True)) == 1
    assert len(only.align(image, largest_only=False)) == 2


def test_aligned_faces_carry_their_detection_and_land_on_a_custom_template():
    template = np.array([[30.0, 40.0], [80.0, 40.0], [55.0, 65.0], [35.0, 90.0], [75.0, 90.0]])  # in 112 px
    row = _row(5, 5, 55, 55, 0.97)
    marks = np.stack([row[6:11], row[11:16]], axis=1)
    # landmarks that are an exact similarity of the template: they land on it, scaled from 112 to 32 px
    row[6:11], row[11:16] = (template * 0.4 + [3, 7]).T
    [face] = FaceAligner(32, min_face_size=1, template=template, detector=_Rows([row])).align(
        np.full((60, 70, 3), 100, np.uint8))
    np.testing.assert_allclose(face.aligned_landmarks(), template * 32 / 112, atol=1e-4)
    assert face.box == (5.0, 5.0, 50.0, 50.0) and face.confidence == pytest.approx(0.97)
    np.testing.assert_allclose(face.landmarks, template * 0.4 + [3, 7], atol=1e-5)
    assert face.image.shape == (32, 32, 3) and not np.allclose(marks, face.landmarks)
    [plain] = FaceAligner(32, min_face_size=1, detector=_Rows([row])).align(np.full((60, 70, 3), 100, np.uint8))
    assert not np.allclose(plain.aligned_landmarks(), template * 32 / 112, atol=1)  # the ArcFace default


def test_folder_rerun_skips_done_files_and_counts_an_earlier_crop_as_ok(tmp_path):
    from PIL import Image

    source, out = tmp_path / "photos", tmp_path / "aligned"
    source.mkdir()
    Image.fromarray(np.full((50, 70, 3), 200, np.uint8)).save(source / "bright.png")
    Image.fromarray(np.full((40, 90, 3), 20, np.uint8)).save(source / "dark.png")
    Image.fromarray(np.full((40, 40, 3), 200, np.uint8)).save(source / "old.png")
    out.mkdir()
    (out / "old.png").write_bytes(b"a crop from an earlier run without a ledger")
    aligner = FaceAligner(16, min_face_size=1, detector=_FaceWhenBright())
    seen = []
    report = tmp_path / "elsewhere" / "my-report.csv"
    report.parent.mkdir()
    summary = align_folder(source, out, aligner, progress=False, on_file=seen.append, report_path=report)
    assert [p.name for p in seen] == ["bright.png", "dark.png"] and summary.skipped == 1
    assert (summary.ok, summary.no_face) == (2, 1) and summary.report == str(report)
    assert not (out / "align-report.csv").exists()
    with open(report, newline="") as fh:
        assert list(csv.DictReader(fh)) == [{"path": "dark.png", "status": "no_face", "faces": "0",
                                             "message": f"{source / 'dark.png'}: no face found"}]
    with open(out / ".align-ledger.csv", newline="") as fh:
        ledger = {r["path"]: (r["status"], r["faces"]) for r in csv.DictReader(fh)}
    assert ledger == {"bright.png": ("ok", "1"), "dark.png": ("no_face", "0")}
    seen.clear()
    again = align_folder(source, out, aligner, progress=False, on_file=seen.append)
    assert seen == [] and (again.skipped, again.ok, again.no_face) == (3, 2, 1)  # dark.png is not looked at again


def test_all_faces_is_part_of_the_folder_settings(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    align_folder(source, tmp_path / "out", FaceAligner(16), progress=False)
    with pytest.raises(DataError, match="this output folder was written with"):
        align_folder(source, tmp_path / "out", FaceAligner(16), all_faces=True, progress=False)


def test_an_unreadable_photo_is_reported_with_its_path(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "bad.png").write_bytes(b"hello")
    summary = align_folder(source, tmp_path / "out", FaceAligner(16, detector=_FaceWhenBright()), progress=False)
    with open(summary.report, newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert row == {"path": "bad.png", "status": "unreadable", "faces": "0",
                   "message": f"{source / 'bad.png'}: not a readable image (5 bytes in no known image format)"}


def test_faces_are_ordered_by_box_area_not_width():
    rows = [_row(0, 0, 20, 20, 0.99),   # 20 x 20 = 400
            _row(30, 0, 40, 60, 0.99)]  # 10 x 60 = 600: narrower but larger
    faces = FaceAligner(16, min_face_size=1, detector=_Rows(rows)).detect(np.zeros((70, 80, 3), np.uint8))
    assert [f.box for f in faces] == [(30.0, 0.0, 10.0, 60.0), (0.0, 0.0, 20.0, 20.0)]
    assert [f.area for f in faces] == [600.0, 400.0]


def test_the_aligner_defaults_112_px_confidence_0_9_faces_of_20_px_copies_of_1600_px():
    seen = []

    class Recording:
        def detect_faces(self, image, **kwargs):
            seen.append((image.shape[:2], kwargs["min_face_size"]))
            return np.array([_row(0, 0, 30, 30, 0.9), _row(40, 0, 70, 19, 0.99),  # 19 high: too small
                             _row(0, 20, 25, 50, 0.8999)])  # under 0.9
    aligner = FaceAligner(detector=Recording())
    faces = aligner.align(np.zeros((60, 80, 3), np.uint8))
    assert [f.box for f in faces] == [(0.0, 0.0, 30.0, 30.0)] and faces[0].image.shape == (112, 112, 3)
    aligner.detect(np.zeros((12, 1600, 3), np.uint8))  # at the limit: as it is
    aligner.detect(np.zeros((24, 3200, 3), np.uint8))  # twice the limit: halved, and 20 px asks for 10 -> 12
    assert seen == [((60, 80), 20), ((12, 1600), 20), ((12, 1600), 12)]


def test_the_minimum_face_in_the_copy_uses_the_larger_of_the_two_scales():
    seen = []

    class Recording:
        def detect_faces(self, image, **kwargs):
            seen.append((image.shape[:2], kwargs["min_face_size"]))
            return np.zeros((0, 16))

    # 37 x 61 shrunk for a 30-px side: 18 x 30, scales 61/30 = 2.033 (x) and 37/18 = 2.056 (y);
    # 38 px in the photo is 38 / 2.056 = 18.49 -> 18 copy pixels (by the x scale it would be 18.69 -> 19)
    FaceAligner(16, min_face_size=38, detector=Recording(), max_detection_side=30).detect(np.zeros((37, 61, 3), np.uint8))
    assert seen == [((18, 30), 18)]


def test_a_third_run_after_a_photo_is_removed_reports_only_the_photos_there(tmp_path):
    from PIL import Image

    source, out = tmp_path / "photos", tmp_path / "aligned"
    source.mkdir()
    Image.fromarray(np.full((50, 70, 3), 200, np.uint8)).save(source / "bright.png")
    Image.fromarray(np.full((40, 90, 3), 20, np.uint8)).save(source / "dark.png")
    aligner = FaceAligner(16, min_face_size=1, detector=_FaceWhenBright())
    align_folder(source, out, aligner, progress=False)
    align_folder(source, out, aligner, progress=False)  # nothing to do: the ledger gains no second header
    (source / "dark.png").unlink()
    third = align_folder(source, out, aligner, progress=False)
    assert (third.total, third.skipped, third.ok, third.no_face) == (1, 1, 1, 0)
    with open(third.report, newline="") as fh:
        assert list(csv.DictReader(fh)) == []  # dark.png's old no_face row is not reported
    with open(out / ".align-ledger.csv", newline="") as fh:
        assert [r["path"] for r in csv.DictReader(fh)] == ["bright.png", "dark.png"]


def test_a_grey_photo_reaches_the_detector_as_rgb():
    seen = []

    class Recording:
        def detect_faces(self, image, **kwargs):
            seen.append((image.shape, image.dtype))
            return np.array([_row(10, 10, 40, 40, 0.99)])

    grey = np.arange(60 * 80, dtype=np.uint32).reshape(60, 80).astype(np.uint8)
    aligner = FaceAligner(16, min_face_size=1, detector=Recording())
    [found] = aligner.detect(grey)  # asked directly, not through align()
    [face] = aligner.align_detections(grey, [found])
    assert seen == [((60, 80, 3), np.uint8)] and face.image.shape == (16, 16, 3)


def test_the_detection_copy_averages_the_pixels_it_shrinks():
    from dsan_tf.data.align import shrink_for_detection

    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (36, 60, 3), dtype=np.uint8)
    small, scale = shrink_for_detection(image, 20)  # a third: each copy pixel is a 3 x 3 block's mean
    blocks = image.reshape(12, 3, 20, 3, 3).astype(float).mean(axis=(1, 3))
    assert small.shape == (12, 20, 3) and scale == (3.0, 3.0)
    assert np.abs(small - blocks).max() <= 1


def test_stop_when_empty_runs_a_stage_on_a_single_proposal():
    from dsan_tf.data.align import StopWhenEmpty

    class Stage:
        def __call__(self, bboxes_batch=None, **kwargs):
            return len(bboxes_batch)

    assert StopWhenEmpty(Stage())(bboxes_batch=np.zeros((1, 16))) == 1
