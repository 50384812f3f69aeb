"""FERPlus reader: the `FER2013Train|Valid|Test/label.csv` folders and the raw CSV pair.

Label modes follow FERPlus' own code (microsoft/FERPlus `src/ferplus.py`,
`_process_data` + `load_folders`):

- outlier removal: every count <= 1 is set to 0 (a single vote is an outlier);
- ``majority``: keep a row only if its top count (over all 10 columns) is more than
  half of the remaining votes and the winner is one of the 8 emotions (not
  ``unknown``/``NF``); target is one-hot;
- ``probability``: the remaining votes of the 8 emotions, normalised, as a soft target;
  rows whose top count (first on ties, as `np.argmax`) is ``unknown``/``NF``, or with
  no emotion vote left, are dropped. (FERPlus' own "probability" training mode then
  samples a one-hot target from this distribution every batch; here the distribution
  itself is the target, which is what a soft-label cross-entropy needs.)
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from dsan_tf.data import table as tbl
from dsan_tf.data.classes import FERPLUS_CLASSES, FERPLUS_VOTE_COLUMNS
from dsan_tf.data.errors import DataError

LABEL_MODES = ("majority", "probability")
FOLDERS = {"train": "FER2013Train", "valid": "FER2013Valid", "test": "FER2013Test"}
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "valid", "PrivateTest": "test"}
LABEL_FILE = "label.csv"
_BOX = re.compile(r"^\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$")
_NUM_VOTES = len(FERPLUS_VOTE_COLUMNS)


def votes_to_targets(votes: np.ndarray, label_mode: str):
    """FERPlus vote counts [N, 10] -> (keep [N] bool, targets [N, 8] float32, notes).

    ``notes`` counts why rows were dropped ("no majority", "unknown/NF winner",
    "no emotion vote").
    """
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {LABEL_MODES}, got {label_mode!r}")
    v = np.asarray(votes, dtype=np.float64).copy()
    v[v <= 1.0] = 0.0  # outlier removal, as FERPlus: count < 1 + eps -> 0
    total = v.sum(axis=1)
    winner = v.argmax(axis=1)
    emotion_winner = winner < 8
    if label_mode == "majority":
        has_majority = v.max(axis=1) > 0.5 * total
        keep = has_majority & emotion_winner
        targets = np.eye(8, dtype=np.float32)[np.minimum(winner, 7)]
        notes = {"no majority": int((~has_majority).sum()),
                 "unknown/NF winner": int((has_majority & ~emotion_winner).sum())}
    else:
        emo = v[:, :8]
        emo_total = emo.sum(axis=1)
        keep = emotion_winner & (emo_total > 0)
        targets = (emo / np.where(emo_total > 0, emo_total, 1.0)[:, None]).astype(np.float32)
        notes = {"unknown/NF winner": int((~emotion_winner).sum()),
                 "no emotion vote": int((emotion_winner & (emo_total <= 0)).sum())}
    return keep, targets, notes


def _parse_votes(fields, where: str) -> list[float]:
    try:
        votes = [float(x) for x in fields]
    except ValueError:
        raise DataError(f"{where}: vote counts must be numbers, got {list(fields)}") from None
    if not all(math.isfinite(x) and x >= 0 for x in votes):
        raise DataError(f"{where}: vote counts must be finite and >= 0, got {list(fields)}")
    return votes


def parse_box(text: str, where: str) -> tuple[int, int, int, int]:
    m = _BOX.match(text.strip())
    if not m:
        raise DataError(f'{where}: face box must look like "(x, y, w, h)", got {text!r}')
    return tuple(int(g) for g in m.groups())


def read_label_csv(path: Path) -> pd.DataFrame:
    """One FERPlus folder's label.csv -> DataFrame(name, box, votes, line).

    Rows: ``name, "(x, y, w, h)", 10 counts`` (no header); the older 11-field form
    without the box is accepted (box None).
    """
    if not path.is_file():
        raise DataError(f"{path}: label file not found; expected FERPlus' label.csv "
                        "(name, \"(x, y, w, h)\", 10 vote counts per line)")
    names, boxes, votes, lines = [], [], [], []
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") must not become part of the first name.
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            for row in reader:
                where = f"{path} line {reader.line_num}"
                if not row or all(not x.strip() for x in row):
                    continue
                if len(row) == 2 + _NUM_VOTES:
                    box = parse_box(row[1], where)
                elif len(row) == 1 + _NUM_VOTES:
                    box = None
                else:
                    raise DataError(
                        f"{where}: expected {2 + _NUM_VOTES} fields (name, \"(x, y, w, h)\", "
                        f"{_NUM_VOTES} vote counts), got {len(row)}")
                name = row[0].strip()
                if not name:
                    raise DataError(f"{where}: empty image name")
                names.append(name)
                boxes.append(box)
                votes.append(_parse_votes(row[-_NUM_VOTES:], where))
                lines.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"{path} line {reader.line_num}: not a CSV label file ({err})") from None
    if not names:
        raise DataError(f"{path}: label file is empty; expected one line per image")
    return pd.DataFrame({"name": names, "box": boxes, "votes": votes, "line": lines})


def duplicate_notes(frame: pd.DataFrame, where: str) -> list[str]:
    """Report names listed more than once, and whether their votes disagree."""
    named = frame[frame["name"] != ""]
    dup = named[named["name"].duplicated(keep=False)]
    if dup.empty:
        return []
    notes, conflicts = [], []
    for name, group in dup.groupby("name", sort=True):
        lines = ", ".join(str(x) for x in group["line"])
        same = all(list(v) == list(group["votes"].iloc[0]) for v in group["votes"])
        if not same:
            conflicts.append(name)
        notes.append(f"{where}: image name {name} appears on lines {lines} "
                     f"({'identical' if same else 'CONFLICTING'} votes); all rows kept")
    head = (f"{where}: {dup['name'].nunique()} image name(s) listed more than once, "
            f"{len(conflicts)} with conflicting votes"
            + (f" ({', '.join(conflicts)})" if conflicts else ""))
    return [head] + notes


def _filter(frame: pd.DataFrame, label_mode: str, what: str, report: list[str]):
    keep, targets, notes = votes_to_targets(np.stack(frame["votes"].to_numpy()), label_mode)
    dropped = ", ".join(f"{n} {why}" for why, n in notes.items() if n)
    report.append(f"{what}: {len(frame)} rows, {int(keep.sum())} kept under {label_mode}"
                  + (f" (dropped: {dropped})" if dropped else ""))
    kept = frame[keep].copy()
    kept["target"] = list(targets[keep])
    tbl.require_rows(kept, what, f"at least one row whose votes pass the {label_mode} "
                     "protocol (emotion winner, majority for 'majority')")
    return kept


def read_ferplus_folders(data_dir, label_mode: str = "majority", *,
                         check_images: str = "header", skip_missing: bool = False
                         ) -> tbl.LabelledImages:
    """FERPlus in the layout of FERPlus' generate_training_data.py.

    A missing split folder is allowed (the shared data has no FER2013Test) and noted
    in ``report``; a folder without label.csv is an error.
    """
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"{root}: FERPlus data folder not found")
    report: list[str] = []
    tables = []
    for split, folder in FOLDERS.items():
        sub = root / folder
        if not sub.is_dir():
            report.append(f"{sub}: not found, no '{split}' split")
            continue
        label_path = sub / LABEL_FILE
        frame = read_label_csv(label_path)
        report += duplicate_notes(frame, str(label_path))
        kept = _filter(frame, label_mode, str(label_path), report)
        t = tbl.make_table(split, kept["name"], [os.path.join(str(sub), n) for n in kept["name"]],
                           kept["target"], kept["box"])
        t = tbl.check_images(t, mode=check_images, skip_missing=skip_missing,
                             report=report, what=str(label_path))
        tbl.require_rows(t, str(label_path), "image files next to label.csv")
        tables.append(t)
    if not tables:
        raise DataError(f"{root}: no FERPlus split folder found; expected "
                        f"{', '.join(FOLDERS.values())} (each with label.csv + PNGs)")
    return tbl.LabelledImages("ferplus", FERPLUS_CLASSES, tbl.concat(tables), report)


def read_fer2013new(path) -> pd.DataFrame:
    """fer2013new.csv -> DataFrame(usage, name, votes, line); name "" = dropped image."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: FERPlus label file fer2013new.csv not found")
    expected = ["Usage", "Image name", *FERPLUS_VOTE_COLUMNS]
    usage, names, votes, lines = [], [], [], []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != expected:
            raise DataError(f"{path} line 1: expected header {','.join(expected)}, "
                            f"got {header}")
        for row in reader:
            where = f"{path} line {reader.line_num}"
            if not row:
                continue
            if len(row) != len(expected):
                raise DataError(f"{where}: expected {len(expected)} fields, got {len(row)}")
            if row[0] not in USAGE_TO_SPLIT:
                raise DataError(f"{where}: Usage must be one of {list(USAGE_TO_SPLIT)}, "
                                f"got {row[0]!r}")
            usage.append(row[0])
            names.append(row[1].strip())
            votes.append(_parse_votes(row[2:], where))
            lines.append(reader.line_num)
    if not names:
        raise DataError(f"{path}: no label rows")
    return pd.DataFrame({"usage": usage, "name": names, "votes": votes, "line": lines})


def _pixels_to_png(pixels: str, where: str) -> bytes:
    from PIL import Image

    try:
        values = np.array(pixels.split(), dtype=np.int64)
    except ValueError:
        raise DataError(f"{where}: pixels must be space-separated integers") from None
    side = int(round(np.sqrt(values.size)))
    if values.size == 0 or side * side != values.size or values.min() < 0 or values.max() > 255:
        raise DataError(f"{where}: pixels must be a square image of 0..255 values, got "
                        f"{values.size} values")
    buf = io.BytesIO()
    Image.fromarray(values.reshape(side, side).astype(np.uint8), mode="L").save(buf, "PNG")
    return buf.getvalue()


def read_ferplus_raw(fer2013_csv, fer2013new_csv, label_mode: str = "majority"
                     ) -> tbl.LabelledImages:
    """The raw pair: images from fer2013.csv pixels, labels/names from fer2013new.csv.

    Row i of one file pairs with row i of the other. Duplicate names are kept (each
    row is a distinct FER2013 image) and reported, with conflicting votes flagged.
    Images are PNG-encoded into the ``image_bytes`` column (``path`` is "").
    """
    fer2013_csv = Path(fer2013_csv)
    labels = read_fer2013new(fer2013new_csv)
    if not fer2013_csv.is_file():
        raise DataError(f"{fer2013_csv}: fer2013.csv (emotion,pixels,Usage) not found; it "
                        f"holds the images that {fer2013new_csv} labels")
    try:
        pixels = pd.read_csv(fer2013_csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{fer2013_csv}: not a CSV file ({err})") from None
    missing = {"emotion", "pixels", "Usage"} - set(pixels.columns)
    if missing:
        raise DataError(f"{fer2013_csv} line 1: expected columns emotion,pixels,Usage; "
                        f"missing {sorted(missing)}")
    if len(pixels) != len(labels):
        raise DataError(f"{fer2013_csv} has {len(pixels)} rows but {fer2013new_csv} has "
                        f"{len(labels)}: row i of one must pair with row i of the other")
    mismatch = np.flatnonzero(pixels["Usage"].to_numpy() != labels["usage"].to_numpy())
    if mismatch.size:
        i = int(mismatch[0])
        raise DataError(f"{fer2013_csv} line {i + 2} says Usage {pixels['Usage'][i]!r} but "
                        f"{fer2013new_csv} line {labels['line'][i]} says "
                        f"{labels['usage'][i]!r}: the two files do not pair row by row")
    report: list[str] = []
    labels["pixels"] = pixels["pixels"].to_numpy()
    labels["pixel_line"] = np.arange(len(labels)) + 2
    no_name = labels["name"] == ""
    report.append(f"{fer2013new_csv}: {int(no_name.sum())} rows without an image name "
                  "(dropped by FERPlus)")
    report += duplicate_notes(labels, str(fer2013new_csv))
    tables = []
    for usage, split in USAGE_TO_SPLIT.items():
        part = labels[(labels["usage"] == usage) & ~no_name]
        what = f"{fer2013new_csv} [{usage} -> {split}]"
        if part.empty:
            report.append(f"{what}: no rows, no '{split}' split")
            continue
        kept = _filter(part, label_mode, what, report)
        images = [_pixels_to_png(p, f"{fer2013_csv} line {ln}")
                  for p, ln in zip(kept["pixels"], kept["pixel_line"])]
        tables.append(tbl.make_table(split, kept["name"], [""] * len(kept),
                                     kept["target"], None, images))
    table = tbl.concat(tables)
    tbl.require_rows(table, str(fer2013new_csv), "rows with an image name")
    return tbl.LabelledImages("ferplus", FERPLUS_CLASSES, table, report)


def read_ferplus(data_dir, label_mode: str = "majority", *, check_images: str = "header",
                 skip_missing: bool = False) -> tbl.LabelledImages:
    """FERPlus from ``data_dir``: the folder layout if present, else the raw CSV pair."""
    root = Path(data_dir).expanduser().resolve()
    if not root.is_dir():
        raise DataError(f"{root}: FERPlus data folder not found")
    if any((root / f).is_dir() for f in FOLDERS.values()):
        data = read_ferplus_folders(root, label_mode, check_images=check_images,
                                    skip_missing=skip_missing)
        if (root / "fer2013new.csv").is_file():
            data.report.append(f"{root}: read the FER2013* folders; fer2013new.csv there "
                               "was not used (it is a later label revision)")
        return data
    if (root / "fer2013new.csv").is_file() or (root / "fer2013.csv").is_file():
        return read_ferplus_raw(root / "fer2013.csv", root / "fer2013new.csv", label_mode)
    raise DataError(f"{root}: expected FERPlus folders ({', '.join(FOLDERS.values())}) "
                    "or the pair fer2013.csv + fer2013new.csv")
