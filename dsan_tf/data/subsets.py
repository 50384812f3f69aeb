"""RAN's occlusion and head-pose test lists (Wang et al. 2020), in their own formats.

The paper's Table 4 uses nine lists: occlusion, pose > 30° and pose > 45° for FERPlus,
RAF-DB and AffectNet. Each line names one image; everything else on the line (RAN's class
folders, label and occlusion-type numbers) is RAN's own bookkeeping and is never used as a
label. Accepted line formats, one per line (blank lines are skipped):

- FERPlus occlusion, ``<n>_<name> <label> <type>``: ``1_fer0034656.png 8 0``
- RAF-DB occlusion, ``<stem> <n> <n>``: ``test_0003_aligned 3 4``
- FERPlus or RAF-DB pose, ``<class folder>/<name>``: ``0/fer0032226.jpg``,
  ``0/test_0004_aligned.jpg``
- AffectNet, any path with exactly one part that is a 56-hex-digit image stem (with or
  without its extension): occlusion ``val/0/<stem>/``, pose > 30° ``0/<stem>.jpg``,
  pose > 45° ``7/<stem>/8.jpg``, where <stem> is e.g.
  ``737db2483489148d783ef278f43f486c0a97e140fc4b6b61b84363ca``.

Names are matched to a dataset table's ``name`` column by `match_key`: the file stem
(the pose lists say .jpg where FERPlus has .png), without RAF-DB's ``_aligned`` suffix
(the lists name aligned crops, RAF-DB's label file the originals), lower-cased when it is
an AffectNet hex stem (AffectNet's table names are ``<folder>/<stem>.<ext>``).

The FERPlus and RAF-DB lists name test-split images; the AffectNet lists name the
validation set. `match_subset` reports how many list names matched nothing, so a wrong
split or dataset cannot pass silently. A name listed twice is counted once and reported.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from dsan_tf.data.errors import DataError

log = logging.getLogger(__name__)

_EXTENSION = r"\.(?:png|jpe?g|bmp|gif|tiff?|webp)"
_FERPLUS_OCCLUSION = re.compile(rf"^\d+_(\S+{_EXTENSION})\s+\d+\s+\d+$", re.IGNORECASE)
_RAFDB_OCCLUSION = re.compile(rf"^((?:train|test)_\d+(?:_aligned)?(?:{_EXTENSION})?)\s+\d+\s+\d+$",
                              re.IGNORECASE)
_POSE = re.compile(rf"^\d+/([^/\s]+{_EXTENSION})$", re.IGNORECASE)
_AFFECTNET_PART = re.compile(rf"^([0-9a-f]{{56}})(?:{_EXTENSION})?$", re.IGNORECASE)
_HEX_STEM = re.compile(r"^[0-9a-f]{56}$", re.IGNORECASE)

FORMATS = ("'1_fer0034656.png 8 0' (FERPlus occlusion), 'test_0003_aligned 3 4' (RAF-DB "
           "occlusion), '0/fer0032226.jpg' or '0/test_0004_aligned.jpg' (FERPlus/RAF-DB pose), "
           "or a path with one 56-hex-digit image stem such as 'val/0/<stem>/', "
           "'0/<stem>.jpg', '7/<stem>/8.jpg' (AffectNet)")


@dataclass(frozen=True)
class SubsetList:
    """A parsed list: its distinct names in list order, and the names listed more than once
    with the line numbers where they appear."""

    path: Path
    names: list[str]
    duplicates: dict[str, list[int]]

    def duplicate_note(self, shown: int = 3) -> str | None:
        if not self.duplicates:
            return None
        items = list(self.duplicates.items())
        listed = "; ".join(f"{name} (lines {', '.join(map(str, lines))})"
                           for name, lines in items[:shown])
        more = f"; and {len(items) - shown} more" if len(items) > shown else ""
        return (f"{self.path}: {len(items)} name(s) listed more than once, counted once: "
                f"{listed}{more}")


def match_key(name: str) -> str:
    """The part of an image name that RAN's lists and the dataset tables share."""
    stem = PurePosixPath(str(name)).stem
    if _HEX_STEM.match(stem):
        return stem.lower()
    return stem.removesuffix("_aligned")


def _affectnet_name(text: str) -> str | None:
    """The 56-hex-digit stem of a one-token path that holds exactly one, else None."""
    if len(text.split()) != 1:
        return None
    stems = [m.group(1) for part in text.split("/") if (m := _AFFECTNET_PART.match(part))]
    return stems[0] if len(stems) == 1 else None


def parse_line(text: str) -> str | None:
    """The image name one list line gives (RAN's prefix and folders stripped), else None."""
    affectnet = _affectnet_name(text)
    if affectnet:
        return affectnet
    for pattern in (_FERPLUS_OCCLUSION, _RAFDB_OCCLUSION, _POSE):
        m = pattern.match(text)
        if m:
            return m.group(1)
    return None


def read_subset_list(path) -> SubsetList:
    """Parse a RAN list; DataError naming the file and line when a line fits no format."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: subset list not found")
    first_name: dict[str, str] = {}  # match key -> the name as first listed
    lines_of: dict[str, list[int]] = {}  # match key -> the lines that list it
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        for line_no, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            name = parse_line(text)
            if name is None:
                raise DataError(f"{path} line {line_no}: expected one of {FORMATS}; got {text!r}")
            key = match_key(name)
            first_name.setdefault(key, name)
            lines_of.setdefault(key, []).append(line_no)
    if not first_name:
        raise DataError(f"{path}: subset list is empty")
    duplicates = {first_name[key]: lines for key, lines in lines_of.items() if len(lines) > 1}
    names = list(first_name.values())
    return SubsetList(path, names, duplicates)


def load_subset_list(path) -> list[str]:
    """Distinct image names listed in a RAN occlusion or pose list (prefixes stripped);
    duplicates are logged as a warning."""
    listing = read_subset_list(path)
    note = listing.duplicate_note()
    if note:
        log.warning("%s", note)
    return listing.names


def match_subset(table: pd.DataFrame, names) -> tuple[np.ndarray, int]:
    """-> (boolean mask over ``table`` rows whose name is listed, number of distinct list
    names that match no row), comparing `match_key`s."""
    wanted = {match_key(n) for n in names}
    keys = table["name"].map(match_key)
    mask = keys.isin(wanted).to_numpy()
    unmatched = len(wanted - set(keys[mask]))
    return mask, unmatched
