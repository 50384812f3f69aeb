"""dsan_tf.data.images: the image suffixes, printable paths and the folder scan of every command."""

import os

import pytest

from dsan_tf.data.images import IMAGE_SUFFIXES, ImageScan, is_image_name, scan_images, show_path


# ---- lines its own tests never ran (issue 34)

def test_image_names_by_suffix_whatever_the_case():
    assert IMAGE_SUFFIXES == (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
    assert [is_image_name(n) for n in ("a.JPG", "b.Jpeg", "c.png", "d.BMP", "e.gif", "f.WebP")] == [True] * 6
    assert [is_image_name(n) for n in ("a.tiff", "b.jpg.txt", "png", "c.pn", "d")] == [False] * 5


def test_show_path_writes_undecodable_bytes_as_escapes():
    assert show_path(os.fsdecode(b"caf\xff.png")) == "caf\\xff.png"
    assert show_path(b"dir/caf\xc3\xa9.png") == "dir/café.png"
    assert show_path("plain/a.png") == "plain/a.png"


def touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_scan_finds_images_recursively_sorted_and_counts_the_rest(tmp_path):
    root = tmp_path / "photos"
    for rel in ("z.PNG", "b/2.jpg", "a/1.jpeg", "a/.hidden.png", "a/notes.txt", "b/c/3.webp", "readme"):
        touch(root / rel)
    (root / "a" / "broken.png").symlink_to(root / "nowhere.png")  # not a file: neither image nor skipped
    os.mkfifo(root / "pipe.jpg")
    scan = scan_images(root)
    assert [p.relative_to(root).as_posix() for p in scan.images] == [
        "a/.hidden.png", "a/1.jpeg", "b/2.jpg", "b/c/3.webp", "z.PNG"]
    assert scan.skipped == 2 and scan.unreadable == [] and scan.notes() == [] and scan.root == root
    only_png = scan_images(root, suffixes=(".png",))
    assert [p.name for p in only_png.images] == [".hidden.png", "z.PNG"] and only_png.skipped == 5


def test_scan_follows_a_linked_folder_once(tmp_path):
    root, other = tmp_path / "photos", tmp_path / "elsewhere"
    touch(root / "a" / "1.png")
    touch(other / "2.png")
    (root / "loop").symlink_to(root)  # back up the tree: not walked again
    (root / "more").symlink_to(other)
    scan = scan_images(root)
    assert [p.relative_to(root).as_posix() for p in scan.images] == ["a/1.png", "more/2.png"]


def test_scan_reports_a_missing_root_and_unreadable_folders(tmp_path, monkeypatch):
    scan = scan_images(tmp_path / "nope")
    assert scan.images == [] and scan.unreadable == [(tmp_path / "nope", "No such file or directory")]
    assert scan.notes() == [f"{tmp_path / 'nope'}: folder cannot be read (No such file or directory); "
                            "its images were skipped"]
    root = tmp_path / "photos"
    touch(root / "a.png")
    touch(root / "locked" / "b.png")
    touch(root / "sub" / "c.png")
    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):
        for folder, dirs, files in real_walk(top, onerror=onerror, **kwargs):
            if os.path.basename(folder) == "locked":
                onerror(PermissionError(13, "Permission denied", folder))
                dirs[:] = []
                continue
            if os.path.basename(folder) == "sub":
                onerror(OSError("no name given"))  # an error naming no folder: the root's
                continue
            yield folder, dirs, files

    monkeypatch.setattr("dsan_tf.data.images.os.walk", walk)
    scan = scan_images(root)
    assert [p.name for p in scan.images] == ["a.png"]
    assert scan.unreadable == [(root / "locked", "Permission denied"), (root, "no name given")]
    assert scan.notes()[0] == f"{root / 'locked'}: folder cannot be read (Permission denied); its images were skipped"


def test_an_image_scan_of_nothing():
    scan = ImageScan("r", [])
    assert (scan.skipped, scan.unreadable, scan.notes()) == (0, [], [])
    with pytest.raises(TypeError):
        ImageScan("r")  # images is required
