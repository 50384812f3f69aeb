"""Face alignment for raw photos: MTCNN detection + 5-point similarity warp.

FERPlus, RAF-DB's aligned crops and AffectNet (face box in its CSV) need no detector;
this module is for photos that arrive uncropped. Each detected face is warped by the
least-squares similarity transform (Umeyama) that maps its five MTCNN landmarks onto
the ArcFace 112x112 template scaled to the output size, so eyes end up level and at a
fixed place whatever the head roll and distance to the camera.

The MTCNN detector (`mtcnn` package, TensorFlow) is built lazily on first use: it
loads the PNet/RNet/ONet weights bundled inside the pip package (nothing downloaded),
and importing this module stays cheap.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from dsan_tf.data.errors import DataError
from dsan_tf.data.images import IMAGE_SUFFIXES, scan_images, show_path
from dsan_tf.io_utils import atomic_path
from dsan_tf.state_files import read_csv_rows_state, read_json_state

# ArcFace (insightface) 112x112 template: left eye, right eye, nose, mouth left, mouth right
# ("left" = image left, the order MTCNN's keypoints use).
ARCFACE_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
IMAGE_EXTENSIONS = IMAGE_SUFFIXES  # the one list (dsan_tf.data.images)

# MTCNN's time and memory grow with the pixel count (an 8000x8000 photo took 9.4 GB and
# 69 s), so it looks at a copy whose longer side is at most this many pixels; its boxes and
# landmarks are scaled back and every face is warped from the full-resolution image. The
# price: a face narrower than about 20 px in that copy (20 * longer side / 1600 px in the
# photo, i.e. 100 px in an 8000 px photo) is not found. FaceAligner(max_detection_side=...)
# changes it.
MAX_DETECTION_SIDE = 1600

# PNet's window: MTCNN cannot look at anything smaller.
_PNET_WINDOW = 12
# mtcnn 1.0 builds its image pyramid from `min_face_size` but counts levels as if it were
# 20, so a larger value shrinks the last level below PNet's window and its Conv2D raises.
# Run the detector at <= 20 and apply the caller's minimum as a filter afterwards.
_MTCNN_SAFE_MIN_FACE = 20


@dataclasses.dataclass(frozen=True)
class Detection:
    """One MTCNN face in source-image pixels."""

    box: tuple  # (x, y, w, h), floats
    landmarks: np.ndarray  # (5, 2) float32, LANDMARK_NAMES order
    confidence: float

    @property
    def area(self) -> float:
        return float(self.box[2] * self.box[3])


@dataclasses.dataclass(frozen=True)
class AlignedFace:
    """A detected face and its aligned crop; `matrix` maps source pixels to crop pixels."""

    box: tuple  # (x, y, w, h) in the source image
    landmarks: np.ndarray  # (5, 2) float32, source-image pixels
    confidence: float
    image: np.ndarray  # uint8 [S, S, 3]
    matrix: np.ndarray  # (2, 3) float64 similarity transform

    def aligned_landmarks(self) -> np.ndarray:
        """Landmarks in crop pixels (the transform applied to `landmarks`)."""
        return transform_points(self.matrix, self.landmarks)


def canonical_template(output_size: int) -> np.ndarray:
    """The ArcFace 5-point template scaled from 112x112 to `output_size` square."""
    return ARCFACE_TEMPLATE_112 * (float(output_size) / 112.0)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) src -> dst, 2x3.

    Closed-form Umeyama (1991), as skimage's SimilarityTransform.estimate: exact least
    squares over all points, no RANSAC, so the same landmarks always give the same crop.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two matching (N>=2, 2) point sets, got {src.shape} and {dst.shape}")
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection: flip the weakest axis
        d[1] = -1.0
    rotation = u @ np.diag(d) @ vt
    src_var = (src_c ** 2).sum() / len(src)
    if src_var <= 0:
        raise ValueError("source points are all identical: no transform")
    scale = float((s * d).sum() / src_var)
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def warp_face(image: np.ndarray, landmarks: np.ndarray, output_size: int,
              template: np.ndarray | None = None) -> tuple:
    """Warp `image` so `landmarks` land on the template; returns (crop uint8, matrix)."""
    import cv2  # opencv-python-headless; imported here to keep module import light

    dst = canonical_template(output_size) if template is None else np.asarray(template, np.float64)
    matrix = similarity_transform(landmarks, dst)
    crop = cv2.warpAffine(
        np.ascontiguousarray(image), matrix, (output_size, output_size),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )
    return crop, matrix


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Grayscale, gray+alpha or RGBA -> RGB; refuses non-uint8 so 0..1 floats are not misread."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {image.dtype}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected an [H, W, C] image with C in 1..4, got shape {image.shape}")
    channels = image.shape[2]
    if channels in (1, 2):
        image = np.repeat(image[:, :, :1], 3, axis=2)
    elif channels == 4:
        image = image[:, :, :3]
    return np.ascontiguousarray(image)


def read_rgb(path, data: bytes | None = None) -> np.ndarray:
    """Decode an image file (EXIF orientation applied) to uint8 RGB; DataError names the file."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    from dsan_tf.data.preprocess import pil_to_rgb

    try:
        if data is None:
            data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            return pil_to_rgb(ImageOps.exif_transpose(img))
    except FileNotFoundError as err:
        raise DataError(f"{path}: image file does not exist") from err
    except UnidentifiedImageError as err:
        what = "the file is empty" if not data else f"{len(data)} bytes in no known image format"
        raise DataError(f"{path}: not a readable image ({what})") from err
    except (OSError, ValueError, Image.DecompressionBombError) as err:  # truncated, corrupt, huge
        raise DataError(f"{path}: not a readable image ({type(err).__name__}: {err})") from err


class StopWhenEmpty:
    """An MTCNN stage that is not run on zero proposals. mtcnn runs RNet and ONet on an empty batch
    when PNet finds nothing; ONet then fails (InvalidArgumentError, which mtcnn takes for "no face")
    and TensorFlow logs "local_rendezvous.cc ... Incompatible shapes: [0,48,48,3]" on stderr,
    past any Python log level. Raising that same error before the op runs gives mtcnn's own
    "no face" answer without the line."""

    def __init__(self, stage):
        self.stage = stage

    def __call__(self, bboxes_batch=None, **kwargs):
        if bboxes_batch is not None and len(bboxes_batch) == 0:
            import tensorflow as tf

            raise tf.errors.InvalidArgumentError(None, None, "no face proposals left")
        return self.stage(bboxes_batch=bboxes_batch, **kwargs)

    def __getattr__(self, name):  # the stage's name, id, model, ...
        if name == "stage":  # asked before __init__ ran (copy.copy, pickle): no endless recursion
            raise AttributeError(name)
        return getattr(self.stage, name)


def _mtcnn_detections(detector, image: np.ndarray, min_face_size: int) -> list:
    """Call mtcnn's detector and normalise its output to Detection objects.

    mtcnn >= 1.0 gives sub-pixel landmarks with output_type="numpy": rows are
    [image_id, x1, y1, x2, y2, confidence, 5 landmark x, 5 landmark y]. Older versions
    only have the JSON form (integer pixels), used as a fallback.
    """
    try:
        rows = detector.detect_faces(image, output_type="numpy", box_format="xyxy",
                                     min_face_size=min_face_size)
    except TypeError:  # mtcnn < 1.0: no output_type / box_format keywords
        rows = None
    out = []
    if rows is not None:
        for row in np.asarray(rows, dtype=np.float64).reshape(-1, 16):
            x1, y1, x2, y2, conf = row[1:6]
            marks = np.stack([row[6:11], row[11:16]], axis=1).astype(np.float32)
            box = (float(x1), float(y1), float(x2 - x1), float(y2 - y1))
            out.append(Detection(box, marks, float(conf)))
        return out
    for face in detector.detect_faces(image):
        x, y, w, h = (float(v) for v in face["box"])
        kp = face["keypoints"]
        marks = np.array([kp[name] for name in LANDMARK_NAMES], dtype=np.float32)
        out.append(Detection((x, y, w, h), marks, float(face["confidence"])))
    return out


def shrink_for_detection(image: np.ndarray, max_side: int) -> tuple:
    """(copy whose longer side is at most ``max_side``, (x scale, y scale) back to ``image``)."""
    height, width = image.shape[:2]
    if max(height, width) <= max_side:
        return image, (1.0, 1.0)
    import cv2

    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)  # area averaging: no aliasing
    return small, (width / size[0], height / size[1])


def _rescaled(face: Detection, scale_x: float, scale_y: float) -> Detection:
    """A detection of the shrunken copy in the full image's pixels.

    Pixel centres line up: copy pixel i covers full pixels [i*s, (i+1)*s), so coordinate
    u maps to (u + 0.5) * s - 0.5; lengths scale by s.
    """
    if scale_x == scale_y == 1.0:
        return face
    scale = np.array([scale_x, scale_y])
    marks = ((np.asarray(face.landmarks, np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    x, y, w, h = face.box
    box = ((x + 0.5) * scale_x - 0.5, (y + 0.5) * scale_y - 0.5, w * scale_x, h * scale_y)
    return Detection(tuple(float(v) for v in box), marks, face.confidence)


class FaceAligner:
    """Detect faces with MTCNN and return 5-point-aligned square crops, largest first.

    `detector` may be any object with mtcnn's `detect_faces` (tests inject a cached one);
    by default an `mtcnn.MTCNN()` is built on first use.
    """

    def __init__(self, output_size: int = 112, min_confidence: float = 0.9,
                 min_face_size: int = 20, *, largest_only: bool = False,
                 template: np.ndarray | None = None, detector=None,
                 max_detection_side: int = MAX_DETECTION_SIDE):
        if output_size < 8:
            raise ValueError(f"output_size must be >= 8 pixels, got {output_size}")
        if max_detection_side < _PNET_WINDOW:
            raise ValueError(f"max_detection_side must be >= {_PNET_WINDOW} pixels, got {max_detection_side}")
        self.max_detection_side = int(max_detection_side)
        self.output_size = int(output_size)
        self.min_confidence = float(min_confidence)
        self.min_face_size = int(min_face_size)
        self.largest_only = largest_only
        self.template = None if template is None else np.asarray(template, np.float64)
        self._detector = detector

    @property
    def detector(self):
        if self._detector is None:
            from mtcnn import MTCNN  # heavy: imports TensorFlow and loads bundled weights

            self._detector = MTCNN()
            stages = getattr(self._detector, "stages", None)
            if isinstance(stages, list):
                stages[:] = [StopWhenEmpty(stage) for stage in stages]  # MTCNN.stages is read-only; its list is not
        return self._detector

    def detect(self, image: np.ndarray) -> list:
        """Faces above `min_confidence` and `min_face_size` (shorter box side), largest first."""
        image = to_rgb_uint8(image)
        small, (scale_x, scale_y) = shrink_for_detection(image, self.max_detection_side)
        if min(small.shape[:2]) < _PNET_WINDOW:
            return []  # smaller than MTCNN's window: nothing to find, and PNet would raise
        # The caller's minimum face size, in the detection copy's pixels.
        wanted = round(self.min_face_size / max(scale_x, scale_y))
        run_min = min(max(wanted, _PNET_WINDOW), _MTCNN_SAFE_MIN_FACE)
        found = [_rescaled(f, scale_x, scale_y) for f in _mtcnn_detections(self.detector, small, run_min)]
        faces = [f for f in found
                 if f.confidence >= self.min_confidence and min(f.box[2], f.box[3]) >= self.min_face_size]
        return sorted(faces, key=lambda f: f.area, reverse=True)

    def align(self, image: np.ndarray, *, largest_only: bool | None = None) -> list:
        """Aligned crops of the faces in an RGB uint8 image, largest first; [] when none."""
        image = to_rgb_uint8(image)
        faces = self.detect(image)
        if self.largest_only if largest_only is None else largest_only:
            faces = faces[:1]
        return self.align_detections(image, faces)

    def align_detections(self, image: np.ndarray, faces: Sequence) -> list:
        """Warp already-detected faces (lets a caller count faces and align one)."""
        image = to_rgb_uint8(image)
        template = None if self.template is None else self.template * (self.output_size / 112.0)
        aligned = []
        for face in faces:
            crop, matrix = warp_face(image, face.landmarks, self.output_size, template)
            aligned.append(AlignedFace(face.box, face.landmarks, face.confidence, crop, matrix))
        return aligned


# ---------------------------------------------------------------- folder runner ----

REPORT_FIELDS = ("path", "status", "faces", "message")
_STATUSES = {"ok", "unreadable", "error", "no_face", "several_faces", "unreadable_folder"}  # _align_one's outcomes
_LEDGER = ".align-ledger.csv"
_SETTINGS = ".align-settings.json"


def list_images(root: Path) -> list:
    """Image files under `root` (recursive, case-insensitive extensions), sorted
    (:func:`dsan_tf.data.images.scan_images`, which also reports unreadable sub-folders)."""
    return scan_images(root).images


def output_paths(rel: Path, output_dir: Path, count: int, all_faces: bool,
                 keep_suffix: bool = False) -> list:
    """Where the crops of `rel` go: `<stem>.png`, or `<stem>_<i>.png` with --all-faces.

    `keep_suffix` (a.jpg beside a.png): `<name>.png`, e.g. `a.jpg.png`, so neither is lost.
    """
    base = output_dir / rel.parent
    stem = rel.name if keep_suffix else rel.stem
    if not all_faces:
        return [base / f"{stem}.png"]
    return [base / f"{stem}_{i}.png" for i in range(count)]


def _clashing(images: Sequence[Path]) -> set:
    """Inputs whose stems collide in one folder (a.jpg, a.png): they keep their suffix."""
    seen: dict = {}
    for path in images:
        seen.setdefault((path.parent, path.stem.lower()), []).append(path)
    return {p for group in seen.values() if len(group) > 1 for p in group}


def _write_png_atomic(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def _read_ledger(path: Path) -> dict:
    if not path.exists():
        return {}
    # surrogateescape: a file name that is not UTF-8 goes into the ledger as its own bytes and back.
    rows = read_csv_rows_state(path, REPORT_FIELDS, what="align's ledger of finished files",
                               hint="delete it to check every file again (crops already made are kept)",
                               allowed={"status": _STATUSES}, errors="surrogateescape")
    return {row["path"]: row for row in rows}


def _check_settings(output_dir: Path, settings: dict, policy) -> None:
    """Refuse to resume into a folder written with another size/mode: crops would mix."""
    path = output_dir / _SETTINGS
    if path.exists():
        old = read_json_state(path, dict, what="the settings this output folder was aligned with",
                              hint="use another --output, or delete the file if you know the settings match")
        if old != settings:
            raise DataError(
                f"{path}: this output folder was written with {old}, now asked for {settings}; "
                "use another --output or delete the folder"
            )
    else:
        with policy.publish(path) as tmp:
            Path(tmp).write_text(json.dumps(settings, sort_keys=True), encoding="utf-8")


@dataclasses.dataclass
class FolderSummary:
    total: int = 0
    skipped: int = 0  # done by an earlier run
    ok: int = 0
    several_faces: int = 0
    no_face: int = 0
    unreadable: int = 0
    error: int = 0
    report: str = ""
    unreadable_folders: int = 0  # sub-folders that could not be listed: their images were not seen

    def line(self) -> str:
        return (
            f"{self.total} images: {self.skipped} already done, {self.total - self.skipped} processed now; "
            f"over all runs: {self.ok} one face, {self.several_faces} several faces, "
            f"{self.no_face} no face, {self.unreadable} unreadable, {self.error} failed; "
            + (f"{self.unreadable_folders} unreadable folder(s) skipped; " if self.unreadable_folders else "")
            + f"report: {self.report}"
        )


def align_folder(input_dir, output_dir, aligner: FaceAligner, *, all_faces: bool = False,
                 report_path=None, progress: bool = True,
                 on_file: Callable[[Path], None] | None = None, policy=None) -> FolderSummary:
    """Align every image under `input_dir` into `output_dir`, resumably.

    Each finished input is appended (flushed) to a ledger in `output_dir`; a rerun skips
    what the ledger lists (except detector failures, retried) or whose crop already
    exists, so an interrupted run continues.
    Crops are written atomically (a temporary beside, then rename). The report CSV lists
    files with no face, several faces or unreadable bytes over all runs.

    ``policy``: the :class:`dsan_tf.outputs.OutputPolicy` that claimed ``output_dir`` (and
    ``report_path``), through which the settings and the report are published; without one
    (the Python API) the caller owns both and the report is replaced.
    """
    from dsan_tf.outputs import OutputPolicy

    if policy is None:  # ours: closed (its locks released) on return, not whenever it is collected
        with OutputPolicy(command="align", overwrite=True) as own:
            return align_folder(input_dir, output_dir, aligner, all_faces=all_faces, report_path=report_path,
                                progress=progress, on_file=on_file, policy=own)
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    if not input_dir.is_dir():
        raise DataError(f"{input_dir}: input folder does not exist")
    _check_settings(output_dir, {"size": aligner.output_size, "all_faces": all_faces,
                                 "min_confidence": aligner.min_confidence,
                                 "min_face_size": aligner.min_face_size}, policy)
    ledger_path = output_dir / _LEDGER
    ledger = _read_ledger(ledger_path)
    scan = scan_images(input_dir)
    images = scan.images
    summary = FolderSummary(total=len(images), unreadable_folders=len(scan.unreadable))
    clash = _clashing(images)
    todo = []
    for path in images:
        rel = path.relative_to(input_dir)
        done = rel.as_posix() in ledger and ledger[rel.as_posix()]["status"] != "error"  # retry failures
        crop = output_paths(rel, output_dir, 1, False, path in clash)[0]
        if done or (not all_faces and crop.exists()):
            summary.skipped += 1
        else:
            todo.append(path)

    new_ledger = not ledger_path.exists()
    with ledger_path.open("a", newline="", encoding="utf-8", errors="surrogateescape") as fh:
        writer = csv.DictWriter(fh, fieldnames=REPORT_FIELDS)
        if new_ledger:
            writer.writeheader()
        bar = _progress(todo, progress, initial=summary.skipped, total=len(images))
        for path in bar:
            if on_file is not None:
                on_file(path)
            rel = path.relative_to(input_dir)
            row = _align_one(path, rel, output_dir, aligner, all_faces, path in clash)
            writer.writerow(row)
            fh.flush()
            ledger[row["path"]] = row

    for path in images:
        row = ledger.get(path.relative_to(input_dir).as_posix())
        status = row["status"] if row else "ok"  # crop found from an earlier run without ledger
        setattr(summary, status, getattr(summary, status) + 1)
    report_path = Path(report_path) if report_path else output_dir / "align-report.csv"
    wanted = {p.relative_to(input_dir).as_posix() for p in images}
    with policy.publish(report_path) as tmp, open(tmp, "w", newline="", encoding="utf-8",
                                                  errors="surrogateescape") as fh:
        writer = csv.DictWriter(fh, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        for folder, reason in scan.unreadable:
            writer.writerow({"path": Path(folder).relative_to(input_dir).as_posix() + "/" if folder != input_dir
                             else "./", "status": "unreadable_folder", "faces": 0,
                             "message": f"{show_path(folder)}: folder cannot be read ({reason}); its images were skipped"})
        for key in sorted(wanted):
            row = ledger.get(key)
            if row and row["status"] != "ok":
                writer.writerow(row)
    summary.report = str(report_path)
    return summary


def _align_one(path: Path, rel: Path, output_dir: Path, aligner: FaceAligner, all_faces: bool,
               keep_suffix: bool) -> dict:
    """Process one file; every outcome becomes a ledger row, never an exception."""
    row = {"path": rel.as_posix(), "status": "ok", "faces": 0, "message": ""}
    try:
        image = read_rgb(path)
    except DataError as err:
        return {**row, "status": "unreadable", "message": str(err)}
    try:
        faces = aligner.detect(image)
        aligned = aligner.align_detections(image, faces if all_faces else faces[:1])
    except Exception as err:  # a detector failure on one odd file must not stop 10k others
        return {**row, "status": "error", "message": f"{path}: {type(err).__name__}: {err}"}
    row["faces"] = len(faces)
    if not faces:
        return {**row, "status": "no_face", "message": f"{path}: no face found"}
    for face, out in zip(aligned, output_paths(rel, output_dir, len(aligned), all_faces, keep_suffix)):
        _write_png_atomic(out, face.image)
    if len(faces) > 1:
        kept = "all kept" if all_faces else "largest kept"
        return {**row, "status": "several_faces", "message": f"{path}: {len(faces)} faces, {kept}"}
    return row


def _progress(items: Sequence, enabled: bool, initial: int, total: int) -> Iterable:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, initial=initial, total=total, unit="img", desc="align")
