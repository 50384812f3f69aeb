"""The one vocabulary for a classified face, written down once.

Every way of asking for faces answers with the same four fields, of the same types:

    source          where the face was found: the file path as given (str), or None for an
                    image passed as bytes, an array or a PIL image
    box             [x, y, w, h] in pixels of that image, integers, clipped to it
                    (None where no face was found, or for a crop sent as it is)
    label           the most probable class name (str)
    probabilities   {class name: probability} for every class, in the model's class order

``dsan_tf.predict`` / :class:`dsan_tf.FaceExpressionRecognizer`, ``dsan predict`` (JSON lines;
CSV flattens them to the columns of :data:`CSV_COLUMNS` and ``p_<class>``), ``dsan client
--json`` and ``dsan explain`` build their face rows with :class:`FaceRecord`, adding their
own extra fields (frame, detection_confidence, note, ...) after these.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

FIELDS = ("source", "box", "label", "probabilities")
BOX_COLUMNS = ("box_x", "box_y", "box_w", "box_h")  # the box in CSV
PROBABILITY_PREFIX = "p_"  # CSV: one p_<class> column per class


def integer_box(box, shape) -> list[int]:
    """[x, y, w, h] integers of a float box (a detector's), rounded and clipped to an image of ``shape``."""
    height, width = shape[:2]
    x, y, w, h = (float(v) for v in box)
    x0, y0 = min(max(int(round(x)), 0), width), min(max(int(round(y)), 0), height)
    x1, y1 = min(max(int(round(x + w)), 0), width), min(max(int(round(y + h)), 0), height)
    return [x0, y0, x1 - x0, y1 - y0]


def probability_column(class_name: str) -> str:
    return f"{PROBABILITY_PREFIX}{class_name}"


@dataclasses.dataclass(frozen=True)
class FaceRecord:
    """One face in the shared vocabulary (see the module docstring)."""

    source: str | None
    box: tuple[int, int, int, int] | None
    label: str | None
    probabilities: Mapping[str, float] | None

    def __post_init__(self):
        if self.box is not None:
            box = tuple(self.box)
            if len(box) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) for v in box):
                raise TypeError(f"box: expected 4 integers [x, y, w, h], got {self.box!r}")
            object.__setattr__(self, "box", box)
        if self.source is not None:
            object.__setattr__(self, "source", str(self.source))

    @classmethod
    def classified(cls, source, box, probabilities: Sequence[float], class_names: Sequence[str],
                   digits: int | None = None) -> "FaceRecord":
        """The record of a face whose class ``probabilities`` (model order) name ``class_names``;
        ``digits``: round the probabilities (None keeps them as they are)."""
        if len(probabilities) != len(class_names):
            raise ValueError(f"{len(probabilities)} probabilities for {len(class_names)} class names")
        exact = [float(p) for p in probabilities]
        named = {str(n): (p if digits is None else round(p, digits)) for n, p in zip(class_names, exact)}
        top = max(range(len(exact)), key=exact.__getitem__)  # the first of equal maxima, as numpy's argmax
        return cls(source, box, str(class_names[top]), named)

    def to_record(self, **extra) -> dict:
        """The JSON-ready dict: the four fields first, then ``extra`` (a command's own fields)."""
        clash = set(extra) & set(FIELDS)
        if clash:
            raise ValueError(f"extra fields may not redefine {sorted(clash)}")
        return {"source": self.source, "box": None if self.box is None else list(self.box), "label": self.label,
                "probabilities": None if self.probabilities is None else dict(self.probabilities), **extra}


def csv_columns(class_names: Sequence[str]) -> list[str]:
    """The CSV header of the four fields: source, box_x .. box_h, label, p_<class> per class."""
    return ["source", *BOX_COLUMNS, "label", *(probability_column(n) for n in class_names)]


def csv_values(record: Mapping, class_names: Sequence[str]) -> dict:
    """The four fields of a record (``FaceRecord.to_record()``'s dict) as CSV columns (None for a missing value)."""
    box = record.get("box") or [None] * 4
    probabilities = record.get("probabilities") or {}
    return {"source": record.get("source"), **dict(zip(BOX_COLUMNS, box)), "label": record.get("label"),
            **{probability_column(n): probabilities.get(n) for n in class_names}}
