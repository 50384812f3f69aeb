"""RAN's occlusion and head-pose test lists (Wang et al. 2020), in their own formats.

- occlusion list: ``<prefix>_<name> <label> <occlusion type>``, e.g.
  ``1_fer0034656.png 8 0``;
- pose lists (>30°, >45°): ``<label>/<name>.jpg``, e.g. ``0/fer0032226.jpg``.

The pose lists end in .jpg while FERPlus files are .png, so names are matched by stem.
The lists name images of the FERPlus test split; `match_subset` reports how many list
names matched nothing, so a wrong split or dataset cannot pass silently.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from dsan_tf.data.errors import DataError

_OCCLUSION = re.compile(r"^\d+_(\S+)\s+\d+\s+\d+$")
_POSE = re.compile(r"^\d+/(\S+)$")
_IMAGE = re.compile(r"\.(png|jpe?g|bmp|gif)$", re.IGNORECASE)


def load_subset_list(path) -> list[str]:
    """Image names listed in a RAN occlusion or pose list file (prefixes stripped)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: subset list not found")
    names = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            m = _OCCLUSION.match(text) or _POSE.match(text)
            if not m or not _IMAGE.search(m.group(1)):
                raise DataError(
                    f"{path} line {line_no}: expected '<prefix>_<name> <label> <type>' "
                    f"(occlusion list) or '<label>/<name>.jpg' (pose list), got {text!r}")
            names.append(m.group(1))
    if not names:
        raise DataError(f"{path}: subset list is empty")
    return names


def _stem(name: str) -> str:
    return PurePosixPath(str(name)).stem


def match_subset(table: pd.DataFrame, names) -> tuple[np.ndarray, int]:
    """-> (boolean mask over ``table`` rows whose name's stem is listed, number of list
    names whose stem matches no row)."""
    wanted = {_stem(n) for n in names}
    stems = table["name"].map(_stem)
    mask = stems.isin(wanted).to_numpy()
    unmatched = len(wanted - set(stems[mask]))
    return mask, unmatched
