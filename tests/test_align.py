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
