"""Input files against careless use (issue 24): one list of image suffixes for every folder scan,
unreadable sub-folders reported (not "0 unreadable"), file names that are not UTF-8.

SCANS lists every library folder scan; a new one gets these tests by being added to it.
"""

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dsan_tf.data import align, folder
from dsan_tf.data.errors import DataError
from dsan_tf.data.images import IMAGE_SUFFIXES, scan_images

SCANS = {  # name -> (root) -> the image paths a command would process
    "scan_images": lambda root: scan_images(root).images,
    "align.list_images": lambda root: align.list_images(root),
    "folder dataset": lambda root: [Path(p) for p in folder.read_folder(root, check_images="none").table["path"]],
}


def photo(path, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((12, 12, 3), 90, np.uint8)).save(path, format=fmt)
    return path


def test_every_scan_uses_the_one_suffix_list():
    assert align.IMAGE_EXTENSIONS == IMAGE_SUFFIXES == folder.IMAGE_EXTENSIONS
    assert ".gif" in IMAGE_SUFFIXES and ".webp" in IMAGE_SUFFIXES
    assert ".tif" not in IMAGE_SUFFIXES  # TensorFlow (training, the SavedModel, TF Serving) cannot decode it


@pytest.mark.parametrize("scan", sorted(SCANS))
def test_gif_files_are_found_by_every_scan(scan, tmp_path):
    """.gif was skipped by predict's and align_faces' folder scans, while the client and SavedModel take it."""
    root = tmp_path / "faces"
    made = {photo(root / "happy" / "a.gif", "GIF"), photo(root / "happy" / "b.png"), photo(root / "sad" / "c.WEBP", "WEBP")}
    (root / "sad" / "notes.txt").write_text("not an image")
    assert {Path(p).resolve() for p in SCANS[scan](root)} == {p.resolve() for p in made}


@pytest.fixture
def locked_subfolder(monkeypatch):
    """A sub-folder named 'locked' that cannot be listed (as chmod 000 would do for a non-root user)."""
    real = os.scandir

    def scandir(path="."):
        if os.fsdecode(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_subfolder_is_reported(tmp_path, locked_subfolder):
    root = tmp_path / "photos"
    photo(root / "a.png")
    photo(root / "locked" / "b.png")
    scan = scan_images(root)
    assert [p.name for p in scan.images] == ["a.png"]
    assert [folder_.name for folder_, _ in scan.unreadable] == ["locked"]
    assert "locked: folder cannot be read (Permission denied); its images were skipped" in scan.notes()[0]
    with pytest.raises(DataError, match="locked: folder cannot be read"):  # a dataset would silently shrink
        folder.read_folder(tmp_path, check_images="none")


class NoFaces:
    """An aligner that finds no face: align_folder's bookkeeping without MTCNN."""

    output_size, min_confidence, min_face_size = 32, 0.9, 20

    def detect(self, image):
        return []

    def align_detections(self, image, faces):
        return []


def test_align_folder_reports_unreadable_folders_and_keeps_non_utf8_names(tmp_path, locked_subfolder):
    """'0 unreadable' was reported for a locked sub-folder; a non-UTF-8 name raised UnicodeEncodeError in the ledger."""
    src, out = tmp_path / "src", tmp_path / "out"
    odd = os.fsdecode(b"caf\xe9.png")
    photo(src / odd)
    photo(src / "locked" / "b.png")
    summary = align.align_folder(src, out, NoFaces(), progress=False)
    assert summary.total == 1 and summary.no_face == 1 and summary.unreadable_folders == 1
    assert "1 unreadable folder(s) skipped" in summary.line()
    with open(summary.report, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        rows = {row["path"]: row for row in csv.DictReader(fh)}
    assert rows["locked/"]["status"] == "unreadable_folder" and rows[odd]["status"] == "no_face"
    again = align.align_folder(src, out, NoFaces(), progress=False)  # the ledger reads the name back
    assert again.skipped == 1
