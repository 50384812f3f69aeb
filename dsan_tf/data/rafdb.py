"""RAF-DB basic reader: `EmoLabel/list_patition_label.txt` + `Image/aligned|original`.

Lines look like ``train_00001.jpg 5``; labels 1..7 index RAFDB_CLASSES. The aligned
crops are named ``train_00001_aligned.jpg``. RAF-DB has no validation split: its test
split is the evaluation set of the literature.
"""

from __future__ import annotations

from pathlib import Path

from dsan_tf.data import table as tbl
from dsan_tf.data.classes import RAFDB_CLASSES
from dsan_tf.data.errors import DataError

LABEL_FILE = Path("EmoLabel") / "list_patition_label.txt"


def aligned_name(name: str) -> str:
    """train_00001.jpg -> train_00001_aligned.jpg"""
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_aligned.{ext}" if dot else f"{name}_aligned"


def read_label_list(path: Path) -> list[tuple[str, str, int, int]]:
    """-> [(split, name, label index, line)]; DataError naming the line otherwise."""
    if not path.is_file():
        raise DataError(f"{path}: RAF-DB label file not found; expected lines like "
                        "'train_00001.jpg 5'")
    rows = []
    with open(path, encoding="utf-8-sig", errors="replace") as f:  # -sig: a byte-order mark is not part of a name
        for line_no, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            where = f"{path} line {line_no}"
            if len(fields) != 2:
                raise DataError(f"{where}: expected '<name> <label 1..7>', got {line.strip()!r}")
            name, label = fields
            if not label.isdigit() or not 1 <= int(label) <= len(RAFDB_CLASSES):
                raise DataError(f"{where}: label must be an integer 1..7, got {label!r}")
            split = name.split("_", 1)[0]
            if split not in ("train", "test"):
                raise DataError(f"{where}: image name must start with 'train_' or 'test_', "
                                f"got {name!r}")
            rows.append((split, name, int(label) - 1, line_no))
    if not rows:
        raise DataError(f"{path}: label file is empty")
    return rows


def read_rafdb(data_dir, *, aligned: bool | None = None, check_images: str = "header",
               skip_missing: bool = False) -> tbl.LabelledImages:
    """RAF-DB basic. ``aligned=None`` uses Image/aligned when it exists, else Image/original."""
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"{root}: RAF-DB data folder not found")
    label_path = root / LABEL_FILE
    rows = read_label_list(label_path)
    if aligned is None:
        aligned = (root / "Image" / "aligned").is_dir()
    image_dir = root / "Image" / ("aligned" if aligned else "original")
    if not image_dir.is_dir():
        raise DataError(f"{image_dir}: RAF-DB image folder not found")
    report = [f"{label_path}: {len(rows)} rows; images from {image_dir}",
              "RAF-DB has no validation split: 'test' is the evaluation split"]
    names = [r[1] for r in rows]
    files = [str(image_dir / (aligned_name(n) if aligned else n)) for n in names]
    table = tbl.make_table([r[0] for r in rows], names, files,
                           tbl.one_hot([r[2] for r in rows], len(RAFDB_CLASSES)))
    table = tbl.check_images(table, mode=check_images, skip_missing=skip_missing,
                             report=report, what=str(label_path))
    tbl.require_rows(table, str(label_path), f"image files under {image_dir}")
    return tbl.LabelledImages("rafdb", RAFDB_CLASSES, table, report)
