"""`LabelledImages`: the one table type every reader returns, and helpers to build it.

A reader's only job is to turn a dataset's own files into this table; the pipeline
only ever sees the table. Columns:

- ``split``  "train" / "valid" / "test"
- ``name``   image file name as the dataset names it (used to match RAN subset lists)
- ``path``   absolute image path (str), or "" when the bytes are in ``image_bytes``
- ``label``  int index into ``class_names`` (argmax of ``target``)
- ``target`` float32 array of length K (one-hot, or a vote distribution)
- ``box``    (x, y, w, h) face box in pixels, or None
- ``image_bytes`` (optional) encoded image bytes, for datasets stored inside a CSV
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from dsan_tf.data.errors import DataError

SPLITS = ("train", "valid", "test")
COLUMNS = ("split", "name", "path", "label", "target", "box")

# Magic numbers of the formats tf.io.decode_image reads.
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
CHECK_MODES = ("none", "exists", "header", "decode")


@dataclasses.dataclass
class LabelledImages:
    """A dataset as one table plus its class names and the reader's notes."""

    dataset: str
    class_names: tuple[str, ...]
    table: pd.DataFrame
    report: list[str] = dataclasses.field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def splits(self) -> tuple[str, ...]:
        """Splits present, in train/valid/test order."""
        present = set(self.table["split"].unique())
        return tuple(s for s in SPLITS if s in present) + tuple(
            sorted(present - set(SPLITS)))

    def split(self, name: str) -> pd.DataFrame:
        """Rows of one split; DataError naming the available splits if absent."""
        if name not in self.splits:
            raise DataError(
                f"{self.dataset}: no '{name}' split; available splits: "
                f"{', '.join(self.splits) or 'none'}")
        return self.table[self.table["split"] == name].reset_index(drop=True)

    def class_counts(self, split: str) -> list[int]:
        labels = self.split(split)["label"].to_numpy()
        return np.bincount(labels, minlength=self.num_classes).astype(int).tolist()

    def summary(self) -> dict:
        """{split: {"count": N, "class_counts": [...]}} for every present split."""
        return {s: {"count": int((self.table["split"] == s).sum()),
                    "class_counts": self.class_counts(s)} for s in self.splits}


def one_hot(labels: Sequence[int], num_classes: int) -> list[np.ndarray]:
    eye = np.eye(num_classes, dtype=np.float32)
    return [eye[int(k)].copy() for k in labels]


def make_table(split, name, path, target, box=None, image_bytes=None) -> pd.DataFrame:
    """Build a table from per-row lists; ``label`` is the argmax of ``target``."""
    n = len(name)
    target = [np.asarray(t, dtype=np.float32) for t in target]
    data = {
        "split": list(split) if not isinstance(split, str) else [split] * n,
        "name": list(name),
        "path": [str(p) for p in path],
        "label": [int(np.argmax(t)) for t in target],
        "target": target,
        "box": list(box) if box is not None else [None] * n,
    }
    if image_bytes is not None:
        data["image_bytes"] = list(image_bytes)
    table = pd.DataFrame(data)
    table["label"] = table["label"].astype(np.int64)
    return table


def image_problem(path: str | Path, mode: str = "header") -> str | None:
    """Why ``path`` is not a usable image ("missing", "not an image"), or None."""
    if mode == "none":
        return None
    p = Path(path)
    if not p.is_file():
        return "missing"
    if mode == "exists":
        return None
    try:
        with open(p, "rb") as f:
            head = f.read(8)
    except OSError as err:
        return f"unreadable ({err.strerror})"
    if not head.startswith(_MAGIC):
        return "not an image (not PNG/JPEG/GIF/BMP bytes)"
    if mode == "decode":
        from PIL import Image  # only for the thorough check

        try:
            with Image.open(p) as im:
                im.load()
        except Exception as err:  # PIL raises many types for corrupt data
            return f"not a decodable image ({err})"
    return None


def check_images(table: pd.DataFrame, *, mode: str, skip_missing: bool,
                 report: list[str], what: str) -> pd.DataFrame:
    """Check each row's image file; raise DataError, or drop and report if skipping.

    ``mode``: "none" (trust the label file), "exists", "header" (file starts with a
    PNG/JPEG/GIF/BMP signature; default: cheap and catches most bad bytes) or
    "decode" (full PIL decode; slow, catches truncated files too).
    """
    if mode not in CHECK_MODES:
        raise ValueError(f"check_images must be one of {CHECK_MODES}, got {mode!r}")
    if mode == "none" or table.empty:
        return table
    has_bytes = "image_bytes" in table.columns
    problems = []
    for i, row in enumerate(table.itertuples(index=False)):
        if has_bytes and row.path == "":
            continue
        problem = image_problem(row.path, mode)
        if problem:
            problems.append((i, row.path, problem))
    if not problems:
        return table
    if not skip_missing:
        i, path, problem = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataError(
            f"{what}: image file {path} listed for '{table.iloc[i]['name']}' is "
            f"{problem}; expected a PNG/JPEG/GIF/BMP file{more}. "
            "Pass skip_missing=True to skip such rows.")
    kinds: dict[str, int] = {}
    for _, _, problem in problems:
        kind = problem.split(" (")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    for kind, count in kinds.items():
        example = next(p for _, p, pr in problems if pr.split(" (")[0] == kind)
        report.append(f"{what}: skipped {count} row(s) whose image is {kind} "
                      f"(e.g. {example})")
    drop = [i for i, _, _ in problems]
    return table.drop(index=table.index[drop]).reset_index(drop=True)


def require_rows(rows, what: str, expected: str) -> None:
    """DataError when filtering left nothing (table or list) to train or evaluate on."""
    if len(rows) == 0:
        raise DataError(f"{what}: no image left; expected {expected}")


def concat(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    tables = [t for t in tables if not t.empty]
    if not tables:
        return make_table([], [], [], [])
    return pd.concat(tables, ignore_index=True)
