"""Faces followed from frame to frame: IoU association, a track id per face, label smoothing.

Pure numpy (and scipy's assignment solver): no detector, no model, so it is tested on boxes.

    tracker = Tracker(max_missed=5)
    ids = tracker.update([(10, 20, 50, 60), (200, 40, 90, 110)])   # [1, 2]
    ids = tracker.update([(204, 44, 90, 110)])                      # [2]: the same face moved

Boxes are ``(x, y, w, h)`` in frame pixels. A track that finds no detection for more than
``max_missed`` updates in a row is dropped; a face that comes back later gets a new id.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Sequence

import numpy as np


def iou(a, b) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes (0 when either is empty)."""
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def iou_matrix(boxes_a: Sequence, boxes_b: Sequence) -> np.ndarray:
    """(len(a), len(b)) IoUs."""
    return np.array([[iou(a, b) for b in boxes_b] for a in boxes_a], np.float64).reshape(len(boxes_a), len(boxes_b))


def associate(boxes_a: Sequence, boxes_b: Sequence, min_iou: float = 0.3) -> list[tuple[int, int]]:
    """Pairs (i, j) of boxes_a[i] and boxes_b[j] that maximise the summed IoU (Hungarian algorithm),
    each pair with IoU >= ``min_iou``; every box is in at most one pair."""
    if not len(boxes_a) or not len(boxes_b):
        return []
    from scipy.optimize import linear_sum_assignment

    overlap = iou_matrix(boxes_a, boxes_b)
    rows, cols = linear_sum_assignment(-overlap)
    return [(int(i), int(j)) for i, j in zip(rows, cols) if overlap[i, j] >= min_iou]


@dataclasses.dataclass
class Track:
    """One face followed over frames."""

    id: int
    box: tuple
    missed: int = 0  # updates in a row without a detection
    age: int = 1  # updates with a detection


class Tracker:
    """Track ids for the detections of successive frames (IoU association).

    ``update(boxes)`` returns one id per box, in the boxes' order: the id of the track the box
    continues, or a new id. Tracks not seen for more than ``max_missed`` updates are dropped.
    """

    def __init__(self, max_missed: int = 5, min_iou: float = 0.3):
        if max_missed < 0:
            raise ValueError(f"max_missed must be >= 0, got {max_missed}")
        self.max_missed = int(max_missed)
        self.min_iou = float(min_iou)
        self.tracks: list[Track] = []
        self._next_id = 1

    def update(self, boxes: Sequence) -> list[int]:
        boxes = [tuple(float(v) for v in b) for b in boxes]
        pairs = associate([t.box for t in self.tracks], boxes, self.min_iou)
        ids: list = [None] * len(boxes)
        matched = set()
        for ti, bi in pairs:
            track = self.tracks[ti]
            track.box, track.missed, track.age = boxes[bi], 0, track.age + 1
            ids[bi] = track.id
            matched.add(ti)
        for ti, track in enumerate(self.tracks):
            if ti not in matched:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for bi, box in enumerate(boxes):
            if ids[bi] is None:
                track = Track(self._next_id, box)
                self._next_id += 1
                self.tracks.append(track)
                ids[bi] = track.id
        return ids

    def live(self) -> list[Track]:
        """Tracks seen at the last update (missed == 0)."""
        return [t for t in self.tracks if t.missed == 0]


class LabelSmoother:
    """Mean class probabilities of each track over its last ``window`` frames (1: no smoothing).

    Averaging the probabilities (not voting on labels) keeps them a distribution; a track's
    history is forgotten with :meth:`forget` when the tracker drops it.
    """

    def __init__(self, window: int = 1):
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = int(window)
        self._history: dict = {}

    def __call__(self, track_id: int, probabilities) -> np.ndarray:
        p = np.asarray(probabilities, np.float64)
        if self.window == 1:
            return p
        history = self._history.setdefault(track_id, collections.deque(maxlen=self.window))
        history.append(p)
        return np.mean(history, axis=0)

    def forget(self, keep_ids) -> None:
        keep = set(keep_ids)
        for track_id in list(self._history):
            if track_id not in keep:
                del self._history[track_id]
