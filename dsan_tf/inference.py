"""Loading a trained DSAN for inference and predicting on face crops.

Two kinds of model are accepted:

- a ``.keras`` file saved from a dsan_tf DSAN (anything else is refused with an error
  that names the file and says what it holds), or the name of a model shipped in the
  package (``ferplus``: :mod:`dsan_tf.pretrained`; a file of that name wins);
- a SavedModel directory written by ``export/export_savedmodel.py`` (its
  ``predict_pixels`` signature, class names from ``assets/labels.txt``), or the TF
  Serving base folder above it (the highest numbered version is used).

Both give a :class:`Predictor`: ``predict(faces)`` takes uint8 RGB face crops of any
size and returns the fused class probabilities. A model trained on grey faces (its
recorded ``grayscale_input``, e.g. the shipped FERPlus model) gets grey faces from the
Predictor itself unless the caller passes ``grayscale=False``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from dsan_tf.errors import UserError


class ModelLoadError(UserError, ValueError):
    """The given path is not a DSAN model this project can load."""


# ---------------------------------------------------------------------- loading


# The shipped model a command uses when it is given no --weights.
DEFAULT_SHIPPED_MODEL = "ferplus"


def is_shipped_model(weights) -> bool:
    """True when a --weights value names a model shipped in the package (a file of that name wins)."""
    from dsan_tf import pretrained

    return weights is not None and pretrained.is_shipped_name(str(weights))


def model_files(weights) -> list[Path]:
    """The files a --weights value reads: the model file, or a shipped model's two files.

    For the output checks: an output may not replace them, and a name is not a file in
    the working directory.
    """
    if weights is None:
        return []
    if not is_shipped_model(weights):
        return [Path(weights)]
    from dsan_tf import pretrained

    return [pretrained.SHIPPED_DIR / f"{weights}{suffix}" for suffix in (".json", pretrained.WEIGHTS_SUFFIX)]


def check_model_exists(weights) -> None:
    """ModelLoadError unless ``weights`` is an existing path or a shipped model's name (no TensorFlow needed)."""
    if not is_shipped_model(weights) and not Path(weights).exists():
        from dsan_tf import pretrained

        shipped = ", ".join(pretrained.available())
        hint = (f"shipped models, given by name: {shipped}" if shipped
                else "no model ships with this installation yet")
        raise ModelLoadError(f"{weights}: no such model file ({hint})")


def default_weights() -> str:
    """The shipped model's name used when a command gets no --weights; ModelLoadError when none ships."""
    from dsan_tf import pretrained

    if DEFAULT_SHIPPED_MODEL not in pretrained.available():
        raise ModelLoadError("give --weights MODEL.keras (no model ships with this installation yet)")
    return DEFAULT_SHIPPED_MODEL


def load_dsan(path):
    """A DSAN from a ``.keras`` file or a shipped model's name; ModelLoadError naming the file otherwise."""
    check_model_exists(path)
    if is_shipped_model(path):
        return _load_shipped(str(path))
    path = Path(path)
    if path.is_dir():
        hint = (" holding a SavedModel (predict.py takes it with --savedmodel; Grad-CAM and the analysis need "
                "the .keras file it was exported from)" if _is_savedmodel_tree(path) else "")
        raise ModelLoadError(f"{path}: is a directory{hint}; expected a .keras file saved from a DSAN model")
    _check_keras_archive(path)

    import keras

    import dsan_tf.model  # noqa: F401  (registers DSAN and its layers for deserialisation)
    from dsan_tf.model import DSAN

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a file it cannot rebuild
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelLoadError(f"{path}: not loadable as a DSAN model ({type(err).__name__}: {message[:300]})") from err
    if not isinstance(model, DSAN):
        raise ModelLoadError(
            f"{path}: holds a Keras {type(model).__name__} ({model.name!r}), not a dsan_tf DSAN model")
    return model


def load_predictor(weights=None, savedmodel=None) -> "Predictor":
    """A Predictor for a ``.keras`` DSAN or shipped model's name (``weights``) or a SavedModel directory."""
    if (weights is None) == (savedmodel is None):
        raise ModelLoadError("give exactly one of a .keras model file or a SavedModel directory")
    if weights is not None:
        return KerasPredictor(load_dsan(weights), source=str(weights))
    return SavedModelPredictor(savedmodel)


def _load_shipped(name):
    from dsan_tf import pretrained

    try:
        return pretrained.load(name)
    except pretrained.PretrainedError as err:
        raise ModelLoadError(str(err)) from err


def _is_savedmodel_tree(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or any(
        (p / "saved_model.pb").is_file() for p in path.iterdir() if p.is_dir())


def _check_keras_archive(path: Path) -> None:
    """ModelLoadError unless ``path`` is a whole zip archive holding config.json (a .keras file)."""
    expected = "expected a .keras file saved from a DSAN model"
    with path.open("rb") as f:
        head = f.read(8)
    size = path.stat().st_size
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK\x03\x04"):  # a zip's first entry, but its directory at the end is gone
            raise ModelLoadError(f"{path}: truncated or damaged .keras file ({size} bytes: a zip archive "
                                 f"whose end is missing, e.g. an interrupted copy); {expected}")
        raise ModelLoadError(f"{path}: not a .keras model file (a .keras file is a zip archive; this is "
                             f"{_describe_head(head)}); {expected}")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            damaged = archive.testzip()  # reads every entry: checksums catch flipped or missing bytes
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as err:
        raise ModelLoadError(f"{path}: truncated or damaged .keras file ({size} bytes; the zip archive "
                             f"cannot be read: {err}); {expected}") from err
    if damaged is not None:
        raise ModelLoadError(f"{path}: damaged .keras file ({damaged} inside it fails its checksum); {expected}")
    if "config.json" not in names:
        raise ModelLoadError(f"{path}: a zip archive without config.json, not a .keras model file")


def _describe_head(head: bytes) -> str:
    if not head:
        return "an empty file"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (old Keras .h5 format or .weights.h5)"
    return f"a file starting with {head!r}"


def resolve_savedmodel_dir(path) -> Path:
    """``path`` itself if it holds saved_model.pb, else its highest numbered version folder."""
    path = Path(path)
    if not path.is_dir():
        raise ModelLoadError(f"{path}: no such SavedModel directory")
    if (path / "saved_model.pb").is_file():
        return path
    versions = sorted((int(p.name), p) for p in path.iterdir()
                      if p.is_dir() and p.name.isdigit() and (p / "saved_model.pb").is_file())
    if not versions:
        raise ModelLoadError(
            f"{path}: not a SavedModel directory (no saved_model.pb in it nor in a numbered version folder)")
    return versions[-1][1]


# ---------------------------------------------------------------------- predictors


class Predictor:
    """Fused class probabilities for uint8 RGB face crops.

    ``grayscale`` of ``predict``/``predict_pixels``: None (default) follows the model's
    recorded ``grayscale_input`` (faces are greyed, BT.601, as the training data was);
    True or False forces grey or colour faces.
    """

    class_names: list
    image_size: int | None
    source: str
    grayscale_input: bool = False  # trained on grey faces: colour faces are greyed first

    def uses_grey(self, grayscale: bool | None = None) -> bool:
        """Whether faces are greyed: ``grayscale`` when given, else the model's ``grayscale_input``."""
        return bool(self.grayscale_input if grayscale is None else grayscale)

    def predict_pixels(self, pixels, grayscale: bool | None = None) -> np.ndarray:
        """(N, K) float32 probabilities for float RGB pixels [N, H, W, 3] in 0..255, one size.

        ValueError for any other shape and for NaN, infinite or out-of-range values
        (:func:`dsan_tf.pixels.check_pixels`: a model would turn them into a confident-looking
        answer; nothing is clipped). Greyed as ``predict`` does.
        """
        from dsan_tf.pixels import check_pixels

        pixels = np.asarray(pixels, np.float32)
        if pixels.ndim != 4 or pixels.shape[-1] != 3 or 0 in pixels.shape[1:3]:
            raise ValueError(f"pixels must be RGB images [N, H, W, 3], got shape {pixels.shape}")
        pixels = check_pixels(pixels)
        if self.uses_grey(grayscale):
            pixels = grey_pixels(pixels)
        return self._finite(self._predict_pixels(pixels))

    def _finite(self, probabilities: np.ndarray) -> np.ndarray:
        """The model's probabilities, or NotANumberError naming the model: NaN weights (a diverged or damaged
        model) give NaN probabilities, and argmax of NaN is class 0, a confident-looking "neutral"."""
        from dsan_tf.state_files import require_finite

        return require_finite(probabilities, f"model {self.source}",
                              "its probabilities",
                              "are its weights NaN or infinite? train or export it again")

    def predict(self, faces: Sequence[np.ndarray], batch_size: int = 32,
                grayscale: bool | None = None) -> np.ndarray:
        """(N, K) float32 probabilities for N uint8 [H, W, 3] crops (any sizes), in one call per shape
        and ``batch_size`` faces; grey faces for a grey-trained model unless ``grayscale=False``."""
        faces = [_as_rgb(f) for f in faces]
        if self.uses_grey(grayscale):
            faces = [as_grey_rgb(f) for f in faces]  # idempotent: a grey face stays the same
        if not faces:
            return np.zeros((0, len(self.class_names)), np.float32)
        out = np.zeros((len(faces), len(self.class_names)), np.float32)
        # Batches of one shape (the SavedModel takes a dense tensor; the Keras path resizes anyway).
        by_shape = {}
        for i, f in enumerate(faces):
            by_shape.setdefault(f.shape, []).append(i)
        for indices in by_shape.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start:start + batch_size]
                out[chunk] = self._finite(self._predict_pixels(np.stack([faces[i] for i in chunk])))
        return out

    def _predict_pixels(self, pixels: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class KerasPredictor(Predictor):
    """A DSAN in memory (float32 copy when it was trained in mixed precision)."""

    def __init__(self, model, source: str = "<in memory>"):
        import tensorflow as tf

        from dsan_tf.data.preprocess import preprocess_for_model
        from dsan_tf.model import as_float32

        if model.settings.get("dtype", "float32") != "float32":
            model = as_float32(model)
        self.model = model
        self.source = source
        self.image_size = int(model.settings["image_size"])
        self.grayscale_input = bool(model.settings.get("grayscale_input", False))
        names = model.class_names
        self.class_names = ([str(n) for n in names] if names
                            else [f"class_{i}" for i in range(int(model.settings["num_classes"]))])
        size = self.image_size

        @tf.function(reduce_retracing=True)
        def run(pixels):
            return model(preprocess_for_model(pixels, size), training=False)["probabilities"]

        self._run = run

    def _predict_pixels(self, pixels):
        return np.asarray(self._run(np.asarray(pixels, np.float32)), np.float32)


class SavedModelPredictor(Predictor):
    """An exported SavedModel through its ``predict_pixels`` signature (RGB 0..255, any size).

    A grey-trained model exported by this version greys faces inside its signatures (the same
    formula, so greying here first changes nothing); ``grayscale=False`` cannot give it colour faces.
    """

    def __init__(self, path):
        import tensorflow as tf

        from dsan_tf.export import LABELS_FILE, SETTINGS_FILE, SIGNATURE_BYTES, SIGNATURE_PIXELS

        directory = resolve_savedmodel_dir(path)
        try:
            self._loaded = tf.saved_model.load(str(directory))
        except Exception as err:
            raise ModelLoadError(f"{directory}: could not load the SavedModel ({type(err).__name__}: "
                                 f"{str(err).strip().splitlines()[0][:300] if str(err).strip() else ''})") from err
        signatures = self._loaded.signatures
        self.source = str(directory)
        self.image_size = None
        if SIGNATURE_PIXELS in signatures:
            self._signature = signatures[SIGNATURE_PIXELS]
            self._bytes_input = False
        elif SIGNATURE_BYTES in signatures:
            self._signature = signatures[SIGNATURE_BYTES]
            self._bytes_input = True
        else:
            raise ModelLoadError(f"{directory}: has neither a {SIGNATURE_PIXELS!r} nor a "
                                 f"{SIGNATURE_BYTES!r} signature (found: {', '.join(signatures) or 'none'})")
        inputs = self._signature.structured_input_signature[1]
        if len(inputs) != 1:
            raise ModelLoadError(f"{directory}: signature takes {len(inputs)} inputs; expected one")
        self._input_name = next(iter(inputs))
        if "probabilities" not in self._signature.structured_outputs:
            raise ModelLoadError(f"{directory}: signature has no 'probabilities' output; not a DSAN export")
        recorded = _recorded_settings(directory / "assets" / SETTINGS_FILE)
        self.grayscale_input = bool(recorded.get("grayscale_input"))
        # The model's input size, so faces are aligned at it as for the .keras file (None if unrecorded).
        self.image_size = int(recorded["image_size"]) if recorded.get("image_size") else None
        labels = directory / "assets" / LABELS_FILE
        self.class_names = None
        if labels.is_file():
            self.class_names = [line.strip() for line in labels.read_text().splitlines() if line.strip()]
        k = int(self._signature.structured_outputs["probabilities"].shape[-1] or 0)
        if not self.class_names or (k and len(self.class_names) != k):
            if not k:  # unknown until run: ask with one blank image
                k = int(self._predict_pixels(np.zeros((1, 48, 48, 3), np.uint8)).shape[-1])
            if not self.class_names or len(self.class_names) != k:
                self.class_names = [f"class_{i}" for i in range(k)]

    def _predict_pixels(self, pixels):
        import tensorflow as tf

        if self._bytes_input:
            encoded = [tf.io.encode_png(p).numpy() for p in np.asarray(pixels, np.uint8)]
            feed = tf.constant(encoded)
        else:
            feed = tf.constant(np.asarray(pixels, np.float32))
        return np.asarray(self._signature(**{self._input_name: feed})["probabilities"], np.float32)


def _recorded_settings(path: Path) -> dict:
    """The model settings an export recorded ({} for exports older than the record)."""
    from dsan_tf.state_files import StateFileError, read_json_state

    if not path.is_file():
        return {}
    try:
        return read_json_state(path, {"image_size?": int, "grayscale_input?": bool}, what="an export's model settings",
                               hint="export the model again")
    except StateFileError as err:
        raise ModelLoadError(str(err)) from None


def _as_rgb(image) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGB face crops, got dtype {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected [H, W, 3] face crops, got shape {image.shape}")
    return np.ascontiguousarray(image[..., :3])


# ---------------------------------------------------------------------- images


def load_image(path) -> np.ndarray:
    """uint8 RGB of an image file (EXIF orientation applied); DataError naming the file."""
    from dsan_tf.data.align import read_rgb

    return read_rgb(path)


def model_inputs(images: Sequence[np.ndarray], image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(display uint8 (N, S, S, 3), model inputs float32 (N, S, S, 3)) for face crops of any size."""
    import tensorflow as tf

    from dsan_tf.data.preprocess import normalize_imagenet, resize_image, to_uint8

    shown = np.stack([to_uint8(resize_image(_as_rgb(im), image_size)).numpy() for im in images])
    return shown, normalize_imagenet(tf.constant(shown)).numpy()


# ---------------------------------------------------------------------- raw photos and videos

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
NO_FACE = "no face"


def is_video(path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def collect_inputs(inputs, unreadable=None) -> list[tuple[Path, Path]]:
    """(file, root) for every image or video named or found (recursively) under ``inputs``.

    ``root`` is the folder the file was found under (its own folder for a named file),
    so outputs can mirror relative paths. DataError for a path that does not exist or a
    folder that cannot be read. ``unreadable`` (a list, optional) gets one line per
    sub-folder that could not be read (its files are missing from the result).
    """
    from dsan_tf.data.align import IMAGE_EXTENSIONS
    from dsan_tf.data.errors import DataError
    from dsan_tf.data.images import scan_images

    wanted = IMAGE_EXTENSIONS + VIDEO_EXTENSIONS
    found, seen = [], set()
    for item in map(Path, inputs):
        if item.is_dir():
            scan = scan_images(item, suffixes=wanted)
            if scan.unreadable and scan.unreadable[0][0] == item and not scan.images:
                raise DataError(f"{item}: folder cannot be read ({scan.unreadable[0][1]})")
            if unreadable is not None:
                unreadable.extend(scan.notes())
            files = scan.images
            if not files:
                raise DataError(f"{item}: folder holds no images or videos ({' '.join(wanted)})"
                                + "".join(f"; {note}" for note in scan.notes()))
            pairs = [(f, item) for f in files]
        elif item.is_file():
            pairs = [(item, item.parent)]
        else:
            raise DataError(f"{item}: no such file or folder")
        for f, root in pairs:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                found.append((f, root))
    return found


def iter_video_frames(path, stride: int = 1, max_frames: int | None = None, status: dict | None = None):
    """Yield (frame index, fps, RGB uint8 frame) for frames 0, stride, 2*stride, ... (OpenCV).

    Skipped frames are grabbed, not decoded. DataError when OpenCV cannot open the file.
    ``status`` (a dict, optional) gets ``expected_frames`` (the header's count, None if
    unknown), ``read`` (frames read or grabbed) and ``note``: "" or, for a file that ends
    before its header's frame count (truncated or damaged), a sentence to print.
    """
    import cv2

    from dsan_tf.data.errors import DataError

    if stride < 1:
        raise ValueError(f"frame stride must be >= 1, got {stride}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise DataError(f"{path}: not a video OpenCV can read")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    expected = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    status = {} if status is None else status
    status.update(expected_frames=expected if expected > 0 else None, read=0, note="")
    index, emitted = 0, 0
    try:
        while max_frames is None or emitted < max_frames:
            if index % stride == 0:
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                emitted += 1
                status["read"] = index + 1
                yield index, fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            elif not capture.grab():
                break
            index += 1
            status["read"] = index
        else:
            return  # stopped by max_frames, not by the end of the file
        if 0 < expected and index < expected:
            status["note"] = (f"{path}: truncated or damaged: its header says {expected} frames, only {index} "
                              "could be decoded")
    finally:
        capture.release()


def as_grey_rgb(image: np.ndarray) -> np.ndarray:
    """RGB uint8 -> its luminance (ITU-R BT.601) repeated in three channels, as FERPlus' faces are.

    Idempotent: a grey image (three equal channels) comes back unchanged.
    """
    grey = np.rint(image[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=-1)


def grey_pixels(pixels: np.ndarray) -> np.ndarray:
    """Float RGB 0..255 [..., 3] -> float32 grey RGB, the values ``as_grey_rgb`` gives for uint8 pixels."""
    grey = np.rint(np.asarray(pixels, np.float32)[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32))
    return np.repeat(np.clip(grey, 0, 255)[..., None], 3, axis=-1)


def predict_image(predictor: Predictor, aligner, image: np.ndarray, source: str, frame: int | None = None,
                  fps: float | None = None, grayscale: bool | None = None) -> tuple[list[dict], list]:
    """Detect, align and classify every face of one RGB image.

    ``grayscale``: True feeds the model grey faces, False colour ones, None (default) what
    the model records (``predictor.grayscale_input``); detection always sees the colour
    image. Returns (rows, faces): one row per face, largest first (or one "no face" row),
    and the AlignedFace objects in the same order.
    """
    from dsan_tf.face_record import FaceRecord, integer_box

    grayscale = predictor.uses_grey(grayscale)
    faces = aligner.align(image)
    base = {"frame": frame, "time_s": round(frame / fps, 3) if frame is not None and fps else None}
    if not faces:
        return [FaceRecord(source, None, None, None).to_record(
            **base, face=None, detection_confidence=None, probability=None, note=NO_FACE)], []
    probabilities = predictor.predict([as_grey_rgb(f.image) if grayscale else f.image for f in faces],
                                      grayscale=grayscale)
    rows = []
    for i, (face, p) in enumerate(zip(faces, probabilities)):
        record = FaceRecord.classified(source, integer_box(face.box, image.shape), p, predictor.class_names, digits=6)
        rows.append(record.to_record(**base, face=i, detection_confidence=round(float(face.confidence), 4),
                                     probability=record.probabilities[record.label], note=""))
    return rows, faces


def csv_fields(class_names: Sequence[str]) -> list[str]:
    from dsan_tf.face_record import BOX_COLUMNS, probability_column

    return (["source", "frame", "time_s", "face", *BOX_COLUMNS, "detection_confidence",
             "label", "probability"] + [probability_column(n) for n in class_names] + ["note"])


def csv_row(row: dict, class_names: Sequence[str]) -> dict:
    """A prediction row flattened for CSV: box as four columns, one ``p_<class>`` column per class."""
    from dsan_tf.face_record import csv_values

    flat = {k: row.get(k) for k in ("frame", "time_s", "face", "detection_confidence", "probability", "note")}
    flat.update(csv_values(row, class_names))
    return {k: ("" if v is None else v) for k, v in flat.items()}


def annotate(image: np.ndarray, rows: Sequence[dict]) -> np.ndarray:
    """A copy of an RGB image with each face's box and "label probability" drawn on it."""
    import cv2

    out = np.ascontiguousarray(np.asarray(image, np.uint8).copy())
    scale = max(out.shape[:2]) / 640.0
    thickness = max(1, int(round(2 * scale)))
    font_scale = max(0.4, 0.6 * scale)
    for row in rows:
        if row.get("box") is None:
            text = row.get("note") or NO_FACE
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
            cv2.rectangle(out, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), -1)
            cv2.putText(out, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 80, 80), thickness,
                        cv2.LINE_AA)
            continue
        x, y, w, h = (int(round(v)) for v in row["box"])
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 255, 0), thickness)
        text = f"{row['label']} {row['probability']:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = y - th - base - 4 if y - th - base - 4 >= 0 else y + h + 2
        cv2.rectangle(out, (x, top), (x + tw + 4, top + th + base + 4), (0, 255, 0), -1)
        cv2.putText(out, text, (x + 2, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)
    return out


def save_rgb(path, image: np.ndarray) -> Path:
    """Write an RGB uint8 image (format from the suffix) atomically."""
    import cv2

    from dsan_tf.io_utils import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(tmp, cv2.cvtColor(np.asarray(image, np.uint8), cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: could not write the image")
    return path
