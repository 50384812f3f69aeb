"""Folder-per-class reader: ``root/<split>/<class>/*.jpg`` or ``root/<class>/*.jpg``.

Split folders are recognised by name (train; valid/val/validation; test). Class names
are the sorted class folder names unless given; given names fix the label order and
an unknown class folder is an error (a typo would otherwise become a new class).
"""

from __future__ import annotations

from pathlib import Path

from dsan_tf.data import table as tbl
from dsan_tf.data.errors import DataError
from dsan_tf.data.images import IMAGE_SUFFIXES, scan_images

IMAGE_EXTENSIONS = IMAGE_SUFFIXES  # the one list (dsan_tf.data.images)
SPLIT_FOLDERS = {"train": "train", "valid": "valid", "val": "valid",
                 "validation": "valid", "test": "test"}


def _subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_split(split_dir: Path, split: str, class_names, report) -> list[tuple]:
    rows = []
    for class_dir in _subdirs(split_dir):
        if class_dir.name not in class_names:
            raise DataError(f"{class_dir}: class folder '{class_dir.name}' is not one of the "
                            f"classes {list(class_names)}")
        label = class_names.index(class_dir.name)
        scan = scan_images(class_dir)
        if scan.unreadable:  # its images would silently be missing from the split
            raise DataError("; ".join(scan.notes()) + "; fix its permissions or move it out of the data folder")
        images, others = scan.images, scan.skipped
        if others:
            report.append(f"{class_dir}: ignored {others} file(s) without an image "
                          f"extension {IMAGE_EXTENSIONS}")
        rows += [(split, p.relative_to(split_dir).as_posix(), str(p), label) for p in images]
    missing = [c for c in class_names if not (split_dir / c).is_dir()]
    if missing:
        report.append(f"{split_dir}: no folder for class(es) {missing}")
    return rows


def read_folder(data_dir, class_names=None, *, split: str = "train",
                check_images: str = "header", skip_missing: bool = False,
                dataset: str = "folder") -> tbl.LabelledImages:
    """Any folder-per-class tree. Without split folders every image goes to ``split``."""
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"{root}: image folder not found")
    subdirs = _subdirs(root)
    is_split = [d.name.lower() in SPLIT_FOLDERS for d in subdirs]
    if any(is_split) and not all(is_split):
        raise DataError(f"{root}: mixes split folders and class folders "
                        f"({[d.name for d in subdirs]}); expected either "
                        "<split>/<class>/images or <class>/images")
    split_dirs = ({SPLIT_FOLDERS[d.name.lower()]: d for d in subdirs} if subdirs and all(is_split)
                  else {split: root})
    if class_names is None:
        names = set()
        for d in split_dirs.values():
            names.update(c.name for c in _subdirs(d))
        class_names = tuple(sorted(names))
    class_names = tuple(class_names)
    if not class_names:
        raise DataError(f"{root}: no class folders; expected <class>/images or "
                        "<split>/<class>/images")
    report = [f"{root}: classes {list(class_names)}"]
    rows = []
    for split_name, d in split_dirs.items():
        found = _read_split(d, split_name, class_names, report)
        if not found:
            raise DataError(f"{d}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in its "
                            "class folders")
        rows += found
    table = tbl.make_table([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                           tbl.one_hot([r[3] for r in rows], len(class_names)))
    table = tbl.check_images(table, mode=check_images, skip_missing=skip_missing,
                             report=report, what=str(root))
    tbl.require_rows(table, str(root), "readable images in the class folders")
    return tbl.LabelledImages(dataset, class_names, table, report)
