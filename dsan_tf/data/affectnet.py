"""AffectNet reader: the manually annotated `training.csv` / `validation.csv`.

Columns: subDirectory_filePath, face_x, face_y, face_width, face_height,
facial_landmarks, expression, valence, arousal (validation.csv ships without the
header line in some releases: both forms are read). Expression codes 8 (none),
9 (uncertain) and 10 (non-face) are dropped; AffectNet-7 also drops 7 (contempt).
training.csv -> "train", validation.csv -> "valid"; there is no public test split,
so papers report the validation split as their test result.
"""

from __future__ import annotations

import csv
from pathlib import Path

from dsan_tf.data import table as tbl
from dsan_tf.data.classes import AFFECTNET7_CLASSES, AFFECTNET8_CLASSES
from dsan_tf.data.errors import DataError

COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
           "facial_landmarks", "expression", "valence", "arousal")
CSV_FILES = {"train": "training.csv", "valid": "validation.csv"}
IMAGE_DIR = "Manually_Annotated_Images"


def _find_csv(root: Path, file_name: str) -> Path | None:
    for candidate in (root / file_name, root / "Manually_Annotated_file_lists" / file_name):
        if candidate.is_file():
            return candidate
    return None


def read_annotation_csv(path: Path):
    """-> [(name, (x, y, w, h), expression, line)]; DataError naming the line otherwise."""
    rows = []
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:  # -sig: skip a byte-order mark
        reader = csv.reader(f)
        for row in reader:
            where = f"{path} line {reader.line_num}"
            if not row:
                continue
            if reader.line_num == 1 and row[0].strip() == COLUMNS[0]:
                continue  # header
            if len(row) != len(COLUMNS):
                raise DataError(f"{where}: expected {len(COLUMNS)} fields "
                                f"({','.join(COLUMNS)}), got {len(row)}")
            try:
                box = tuple(int(round(float(v))) for v in row[1:5])
                expression = int(row[6])
            except ValueError:
                raise DataError(f"{where}: face box and expression must be numbers, got "
                                f"{row[1:5]} and {row[6]!r}") from None
            if not 0 <= expression <= 10:
                raise DataError(f"{where}: expression must be a code 0..10, got {expression}")
            if box[2] <= 0 or box[3] <= 0:
                raise DataError(f"{where}: face_width/face_height must be > 0, got {box}")
            rows.append((row[0].strip(), box, expression, reader.line_num))
    if not rows:
        raise DataError(f"{path}: annotation file has no rows")
    return rows


def read_affectnet(data_dir, num_classes: int = 8, *, image_dir=None,
                   check_images: str = "header", skip_missing: bool = False
                   ) -> tbl.LabelledImages:
    """AffectNet-7 or -8 (``num_classes``) with each image's face box in ``box``."""
    if num_classes not in (7, 8):
        raise ValueError(f"AffectNet has 7 or 8 classes, got num_classes={num_classes}")
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"{root}: AffectNet data folder not found")
    images = Path(image_dir).expanduser().resolve() if image_dir else root / IMAGE_DIR
    if not images.is_dir():
        raise DataError(f"{images}: AffectNet image folder not found; expected "
                        f"{IMAGE_DIR}/<subDirectory_filePath>")
    class_names = AFFECTNET8_CLASSES if num_classes == 8 else AFFECTNET7_CLASSES
    report = ["AffectNet has no public test split: 'valid' (validation.csv) is the "
              "evaluation split"]
    tables = []
    for split, file_name in CSV_FILES.items():
        path = _find_csv(root, file_name)
        if path is None:
            report.append(f"{root}: {file_name} not found, no '{split}' split")
            continue
        rows = read_annotation_csv(path)
        kept = [r for r in rows if r[2] < num_classes]
        dropped = {}
        for r in rows:
            if r[2] >= num_classes:
                dropped[r[2]] = dropped.get(r[2], 0) + 1
        report.append(f"{path}: {len(rows)} rows, {len(kept)} kept for AffectNet-"
                      f"{num_classes}; dropped by expression code: "
                      + (", ".join(f"{k}: {v}" for k, v in sorted(dropped.items())) or "none"))
        tbl.require_rows(kept, str(path), f"rows with expression codes 0..{num_classes - 1}")
        t = tbl.make_table(split, [r[0] for r in kept], [str(images / r[0]) for r in kept],
                           tbl.one_hot([r[2] for r in kept], num_classes),
                           [r[1] for r in kept])
        t = tbl.check_images(t, mode=check_images, skip_missing=skip_missing,
                             report=report, what=str(path))
        tbl.require_rows(t, str(path), f"image files under {images}")
        tables.append(t)
    if not tables:
        raise DataError(f"{root}: expected AffectNet's training.csv and/or validation.csv")
    return tbl.LabelledImages(f"affectnet{num_classes}", class_names, tbl.concat(tables),
                              report)
