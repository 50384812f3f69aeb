"""MTCNN for live video: search at the scale the faces need, refit tracked faces in between.

MTCNN's cost on a 640x480 frame is mostly not arithmetic: mtcnn 1.0 calls its three Keras
networks eagerly (one call per pyramid level), ~30 ms of Python and dispatch each. So:

* the networks are wrapped in ``tf.function`` (same weights, same numbers: graph execution),
* a *search* (the whole MTCNN cascade) runs on a copy of the frame shrunk so that the
  smallest face wanted is ~20 px there (MTCNN's own minimum), every ``search_every`` frames,
  when there is no face yet, or when a followed face is lost; boxes and landmarks are scaled
  back to the frame,
* in between, each followed face is *refitted*: its box from the last frame, squared, is
  given to MTCNN's last network (ONet) on the full-resolution frame, which returns the moved
  box, five landmarks and a face score, for all faces in one call. A score under
  ``min_confidence`` means the face is lost (a search runs on the same frame).

The smallest face wanted: the detector's ``min_face_size``, raised to ``min_face_fraction``
of the frame's shorter side, but lowered to half the smallest face followed (a face seen at
60 px may shrink). Search results are refitted on the full frame too, so every landmark the
aligner warps from comes from full-resolution pixels.
"""

from __future__ import annotations

import dataclasses
import weakref

import numpy as np

from dsan_tf.data.align import (_MTCNN_SAFE_MIN_FACE, _PNET_WINDOW, Detection, FaceAligner, _mtcnn_detections,
                                _rescaled)


_COMPILED = weakref.WeakKeyDictionary()  # detector -> its compiled copy: traced once per process


def compile_mtcnn(detector):
    """A copy of an ``mtcnn.MTCNN`` whose three networks run as ``tf.function`` graphs (the original is
    left as it is: photos keep their eager detector). Objects without mtcnn's stages come back unchanged."""
    stages = getattr(detector, "_stages", None)
    if not stages or not all(hasattr(s, "_model") for s in stages):
        return detector
    if detector not in _COMPILED:
        _COMPILED[detector] = _compiled_copy(detector, stages)
    return _COMPILED[detector]


def _compiled_copy(detector, stages):
    import copy
    import tensorflow as tf

    from dsan_tf.data.align import StopWhenEmpty

    fast = copy.copy(detector)
    fast._stages = []
    for stage in stages:
        # FaceAligner's detector wraps each stage (no run on zero proposals): compile the stage inside
        # and keep the wrapper, so the copy is as quiet as the original.
        guarded = isinstance(stage, StopWhenEmpty)
        inner = copy.copy(stage.stage if guarded else stage)
        # Any batch and image size: one trace per network, not one per pyramid level.
        inner._model = tf.function(inner._model, reduce_retracing=True,
                                   input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        fast._stages.append(StopWhenEmpty(inner) if guarded else inner)
    return fast


def detection_scale(min_face: float) -> float:
    """Factor (<= 1) that shrinks a frame so a ``min_face`` px face is MTCNN's 20 px minimum."""
    return min(1.0, _MTCNN_SAFE_MIN_FACE / max(float(min_face), 1.0))


def shrink(frame: np.ndarray, factor: float) -> tuple:
    """(frame resized by ``factor``, (x scale, y scale) from the copy back to the frame)."""
    height, width = frame.shape[:2]
    if factor >= 1.0:
        return frame, (1.0, 1.0)
    import cv2

    size = (max(1, round(width * factor)), max(1, round(height * factor)))  # cv2 takes (width, height)
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return small, (width / size[0], height / size[1])


def square_proposals(boxes) -> np.ndarray:
    """ONet proposals [image 0, x1, y1, x2, y2, score 1] of (x, y, w, h) boxes: squares of the longer
    side around each box's centre (what MTCNN's earlier stages hand to ONet)."""
    rows = []
    for x, y, w, h in boxes:
        side = max(w, h)
        cx, cy = x + w / 2, y + h / 2
        rows.append([0, cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, 1.0])
    return np.asarray(rows, np.float64).reshape(-1, 6)


@dataclasses.dataclass
class Step:
    """What the detector did on one frame: "search" (full cascade on a shrunk copy), "refit" (ONet on the
    followed faces) or "refit+search" (a face was lost: searched again)."""

    kind: str
    detections: list
    scale: float = 1.0  # the search's shrink factor (1: no search or full size)


class LiveDetector:
    """Detections for successive frames of one stream (MTCNN searches and ONet refits).

    ``aligner``: the FaceAligner whose detector, ``min_confidence``, ``min_face_size`` and
    ``largest_only`` are used. ``search_every``: frames between searches while faces are
    followed. ``refit_passes``: ONet passes per frame (the second corrects larger motion).
    """

    def __init__(self, aligner: FaceAligner, *, search_every: int = 10, min_face_fraction: float = 0.1,
                 refit_passes: int = 2, compile: bool = True):
        if search_every < 1:
            raise ValueError(f"search_every must be >= 1, got {search_every}")
        self.aligner = aligner
        self.detector = compile_mtcnn(aligner.detector) if compile else aligner.detector
        self.search_every = int(search_every)
        self.min_face_fraction = float(min_face_fraction)
        self.refit_passes = int(refit_passes)
        # ONet refits need mtcnn >= 1.0's stages; any other detector (older mtcnn, a stand-in) searches every frame.
        stages = getattr(self.detector, "_stages", None)
        self.can_refit = bool(stages) and hasattr(stages[-1], "_model")
        self.since_search = 0
        self.followed: list = []  # boxes of the last frame's faces

    def min_face(self, frame_shape) -> float:
        """The smallest face (px) a search looks for in this frame."""
        wanted = max(self.aligner.min_face_size, self.min_face_fraction * min(frame_shape[:2]))
        if self.followed:
            wanted = min(wanted, 0.5 * min(min(b[2], b[3]) for b in self.followed))
        return max(wanted, self.aligner.min_face_size)

    def __call__(self, frame: np.ndarray) -> Step:
        if self.can_refit and self.followed and self.since_search + 1 < self.search_every:
            found = self.refit(frame, self.followed)
            if len(found) >= len(self.followed):
                self.since_search += 1
                return self._keep(Step("refit", found))
            step = self.search(frame)  # a face lost: look again now rather than a frame late
            step.kind = "refit+search"
            return step
        return self.search(frame)

    def search(self, frame: np.ndarray) -> Step:
        factor = detection_scale(self.min_face(frame.shape))
        small, (sx, sy) = shrink(frame, factor)
        if min(small.shape[:2]) < _PNET_WINDOW:
            found = []
        else:
            found = [_rescaled(d, sx, sy) for d in _mtcnn_detections(self.detector, small, _MTCNN_SAFE_MIN_FACE)]
            found = [d for d in found if d.confidence >= self.aligner.min_confidence]
            if found and factor < 1.0 and self.can_refit:  # landmarks from the full-resolution pixels
                found = self.refit(frame, [d.box for d in found], passes=1)
        self.since_search = 0
        return self._keep(Step("search", self._filtered(found), factor))

    def refit(self, frame: np.ndarray, boxes, passes: int | None = None) -> list:
        """ONet on squares around ``boxes``: the faces there now (score >= min_confidence)."""
        onet = self.detector._stages[-1]
        normalized = (np.asarray(frame, np.float32)[None] - 127.5) / 128.0  # mtcnn's normalisation
        found = []
        for _ in range(passes or self.refit_passes):
            proposals = square_proposals(boxes)
            rows = onet(images_normalized=normalized, bboxes_batch=proposals,
                        threshold_onet=self.aligner.min_confidence, nms_onet=0.7)
            found = [_detection(row, frame.shape) for row in np.asarray(rows, np.float64).reshape(-1, 16)]
            if not found or not _moved(boxes, [d.box for d in found]):
                break  # another pass only when the faces moved more than ONet's proposals tolerate well
            boxes = [d.box for d in found]
        return self._filtered(found)

    def _filtered(self, found) -> list:
        faces = [d for d in found if min(d.box[2], d.box[3]) >= self.aligner.min_face_size]
        faces.sort(key=lambda d: d.area, reverse=True)
        return faces[:1] if self.aligner.largest_only else faces

    def _keep(self, step: Step) -> Step:
        self.followed = [d.box for d in step.detections]
        return step

    def reset(self) -> None:
        self.followed, self.since_search = [], 0


def _moved(before, after, tolerance: float = 0.15) -> bool:
    """Whether some face's centre moved, or its size changed, by more than ``tolerance`` of its side."""
    from dsan_tf.tracking import associate

    if len(before) != len(after):
        return True
    pairs = associate(before, after, min_iou=0.0)
    for i, j in pairs:
        (x0, y0, w0, h0), (x1, y1, w1, h1) = before[i], after[j]
        side = max(w0, h0, 1.0)
        if (abs(x0 + w0 / 2 - x1 - w1 / 2) > tolerance * side or abs(y0 + h0 / 2 - y1 - h1 / 2) > tolerance * side
                or abs(max(w1, h1) - side) > tolerance * side):
            return True
    return len(pairs) != len(before)


def _detection(row, frame_shape) -> Detection:
    """An ONet output row [image, x1, y1, x2, y2, score, 5 x, 5 y] as a Detection clipped to the frame."""
    height, width = frame_shape[:2]
    x1, y1 = max(float(row[1]), 0.0), max(float(row[2]), 0.0)
    x2, y2 = min(float(row[3]), width - 1.0), min(float(row[4]), height - 1.0)
    marks = np.stack([row[6:11], row[11:16]], axis=1).astype(np.float32)
    return Detection((x1, y1, max(x2 - x1, 0.0), max(y2 - y1, 0.0)), marks, float(row[5]))
