"""Facial expressions from Python in three lines.

    import dsan_tf
    faces = dsan_tf.predict("photo.jpg")   # a path, PIL image or H x W x 3 uint8 RGB array
    # [{"source": "photo.jpg", "box": [x, y, w, h], "label": "neutral",
    #   "probabilities": {"neutral": 0.87, ...}, "detection_confidence": 0.997}, ...]

The face fields (source, box, label, probabilities) are :mod:`dsan_tf.face_record`'s, the
same as ``dsan predict``'s and ``dsan client --json``'s.

:class:`FaceExpressionRecognizer` loads the model and the MTCNN face detector once, for
many photos or video frames; ``predict_faces`` classifies faces that are already cropped.
Every entry point aligns faces at the model's input size and greys them when the model
was trained on grey faces (its recorded ``grayscale_input``), exactly as
``experiments/predict.py`` (``dsan predict``) does, so the same photo gives the same answer.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from dsan_tf.data.errors import DataError
from dsan_tf.face_record import FaceRecord, integer_box

DEFAULT_MODEL = "ferplus"
SETTINGS_FILE = "dsan_settings.json"  # dsan_tf.export.SETTINGS_FILE (that module imports TensorFlow)

EXPECTED_IMAGE = ("a file path (str or Path), encoded image bytes, a PIL image, or a uint8 numpy array "
                  "(H x W x 3 RGB or H x W grey)")


# ---------------------------------------------------------------------- inputs


def to_rgb_image(image, what: str | None = None) -> np.ndarray:
    """uint8 RGB [H, W, 3] of a path, encoded bytes, PIL image or uint8 array; DataError otherwise.

    Paths and PIL images get their EXIF orientation applied (as ``dsan predict`` does);
    arrays are taken as RGB (H x W x 4: alpha dropped; H x W or H x W x 1: grey).
    """
    from dsan_tf.data.align import read_rgb

    if isinstance(image, (str, os.PathLike)):
        return read_rgb(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return read_rgb(what or "<image bytes>", data=bytes(image))
    if _is_pil_image(image):
        from PIL import ImageOps

        from dsan_tf.data.preprocess import pil_to_rgb

        return pil_to_rgb(ImageOps.exif_transpose(image))
    name = what or "image"
    if not isinstance(image, np.ndarray):
        raise DataError(f"{name}: got a {type(image).__module__}.{type(image).__name__}; expected {EXPECTED_IMAGE}")
    if image.dtype != np.uint8:
        hint = (" (scale 0..1 floats with (x * 255).round().astype(np.uint8))"
                if np.issubdtype(image.dtype, np.floating) else "")
        raise DataError(f"{name}: got a {image.dtype} array of shape {image.shape}; expected {EXPECTED_IMAGE}{hint}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or 0 in image.shape[:2]:
        raise DataError(f"{name}: got a uint8 array of shape {image.shape}; expected {EXPECTED_IMAGE}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def _is_pil_image(image) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return False
    return isinstance(image, Image.Image)


face_box = integer_box  # [x, y, w, h] integers of a detector's float box, clipped to the image


def source_of(image) -> str | None:
    """The ``source`` field of a face of ``image``: its path as given, None for bytes, arrays and PIL images."""
    return str(image) if isinstance(image, (str, os.PathLike)) else None


# ---------------------------------------------------------------------- photos into model-ready crops (no model)


def face_crops(image, image_size: int, grayscale: bool, *, aligner=None, **aligner_options) -> list:
    """The faces of a photo as a model takes them, largest first ([] without a face): AlignedFace objects
    (box, landmarks, detection confidence) whose ``image`` is the aligned ``image_size`` crop, grey when
    ``grayscale``. Needs no model (e.g. for a client of a served model: see :func:`input_settings`).

    ``aligner``: a FaceAligner to reuse; else one is built with ``aligner_options``
    (min_confidence, min_face_size, largest_only, detector).
    """
    import dataclasses

    from dsan_tf.data.align import FaceAligner
    from dsan_tf.inference import as_grey_rgb

    check_options(**{k: v for k, v in aligner_options.items()
                     if k in ("min_confidence", "min_face_size", "max_detection_side")}, image_size=image_size)
    if aligner is None:
        aligner = FaceAligner(output_size=int(image_size), **aligner_options)
    elif aligner.output_size != int(image_size):
        raise ValueError(f"the aligner crops {aligner.output_size} px faces, not {image_size} px")
    faces = aligner.align(to_rgb_image(image))
    return [dataclasses.replace(f, image=as_grey_rgb(f.image)) for f in faces] if grayscale else faces


def encode_png(crop: np.ndarray) -> bytes:
    """PNG bytes of a uint8 RGB crop (lossless: what a served model's ``image_bytes`` input takes)."""
    import io as _io

    from PIL import Image

    buffer = _io.BytesIO()
    Image.fromarray(np.ascontiguousarray(crop, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def input_settings(model) -> dict:
    """``{"image_size", "grayscale_input"}`` a model records, without loading it: a SavedModel directory
    (or its TF Serving base folder), its ``assets/dsan_settings.json``, or a shipped model's name.
    ModelLoadError when nothing records them."""
    from dsan_tf import pretrained
    from dsan_tf.inference import ModelLoadError, resolve_savedmodel_dir
    from dsan_tf.state_files import StateFileError, read_json_state

    if isinstance(model, str) and pretrained.is_shipped_name(model):
        config = pretrained.metadata(model)["config"]
    else:
        path = Path(model)
        if path.is_dir():
            path = resolve_savedmodel_dir(path) / "assets" / SETTINGS_FILE
        try:
            config = read_json_state(path, {"image_size?": int, "grayscale_input?": bool},
                                     what="an export's model settings",
                                     hint=f"give the SavedModel directory or its assets/{SETTINGS_FILE}")
        except StateFileError as err:
            raise ModelLoadError(str(err)) from None
    if not isinstance(config, dict) or not config.get("image_size"):
        raise ModelLoadError(f"{model}: records no image_size; export the model again")
    return {"image_size": int(config["image_size"]), "grayscale_input": bool(config.get("grayscale_input", False))}


# ---------------------------------------------------------------------- the recognizer


class FaceExpressionRecognizer:
    """Detect, align and classify the faces of photos and video frames with a DSAN.

    Args:
        model: a shipped model's name (default ``"ferplus"``), a ``.keras`` file, a SavedModel
            directory (or its TF Serving base folder), a DSAN Keras model or a
            :class:`dsan_tf.inference.Predictor`.
        grayscale: None (default) follows the model's ``grayscale_input``; True/False force
            grey/colour faces.
        min_confidence, min_face_size, largest_only, max_detection_side: MTCNN settings, as
            ``dsan predict``'s flags of the same names.
        align_size: side of the aligned crops (default: the model's input size; 112 when
            unknown, a SavedModel that records no settings).
        detector: an object with mtcnn's ``detect_faces`` (default: ``mtcnn.MTCNN()``, built on
            first use).
        batch_size: faces per classifier call.

    The model loads here; the detector on the first photo.
    """

    def __init__(self, model=DEFAULT_MODEL, *, grayscale: bool | None = None, min_confidence: float = 0.9,
                 min_face_size: int = 20, largest_only: bool = False, align_size: int | None = None,
                 max_detection_side: int | None = None, detector=None, batch_size: int = 32):
        from dsan_tf.data.align import MAX_DETECTION_SIDE, FaceAligner

        check_options(min_confidence=min_confidence, min_face_size=min_face_size, align_size=align_size,
                      max_detection_side=max_detection_side, batch_size=batch_size)
        self.predictor = load_model(model)
        self.grayscale = self.predictor.uses_grey(grayscale)
        self.batch_size = int(batch_size)
        self.aligner = FaceAligner(output_size=align_size or self.predictor.image_size or 112,
                                   min_confidence=min_confidence, min_face_size=min_face_size,
                                   largest_only=largest_only, detector=detector,
                                   max_detection_side=max_detection_side or MAX_DETECTION_SIDE)

    @property
    def class_names(self) -> list[str]:
        return list(self.predictor.class_names)

    @property
    def image_size(self) -> int:
        """Side of the aligned face crops given to the model."""
        return self.aligner.output_size

    def __repr__(self) -> str:
        return (f"FaceExpressionRecognizer(model={self.predictor.source!r}, image_size={self.image_size}, "
                f"grayscale={self.grayscale}, classes={self.class_names})")

    # -- the two stages (timed separately by dsan_tf.realtime)

    def detect(self, image) -> list:
        """The faces of a photo, largest first: AlignedFace objects (box, landmarks, detection
        confidence, colour crop at ``image_size``). [] when there is none."""
        return self.aligner.align(to_rgb_image(image))

    def classify(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """(N, K) probabilities for N face crops (greyed per ``grayscale``), ``batch_size`` per call."""
        return self.predictor.predict(list(crops), batch_size=self.batch_size, grayscale=self.grayscale)

    def face_crops(self, image) -> list:
        """The aligned faces of a photo as the model takes them: AlignedFace objects whose ``image``
        is the ``image_size`` crop, grey for a grey-trained model (e.g. to send to a served model)."""
        return face_crops(image, self.image_size, self.grayscale, aligner=self.aligner)

    # -- predictions

    def predict(self, image) -> list[dict]:
        """One dict per face of a photo, largest first ([] when it has no face):
        ``{"source", "box": [x, y, w, h], "label", "probabilities": {class: p}, "detection_confidence"}``."""
        return self.predict_batch([image])[0]

    __call__ = predict

    def predict_batch(self, images: Sequence) -> list[list[dict]]:
        """``predict`` for many photos or frames: each detected on its own, every face classified together."""
        images = list(images)
        sources = [source_of(im) for im in images]
        images = [to_rgb_image(im, f"image {i}" if len(images) > 1 else None) for i, im in enumerate(images)]
        faces = [self.aligner.align(im) for im in images]
        probabilities = self.classify([f.image for found in faces for f in found])
        out, start = [], 0
        for image, source, found in zip(images, sources, faces):
            out.append([self._face_dict(f, p, image.shape, source)
                        for f, p in zip(found, probabilities[start:start + len(found)])])
            start += len(found)
        return out

    def predict_faces(self, crops: Sequence) -> list[dict]:
        """``{"source", "box": None, "label", "probabilities"}`` for each already-cropped face (no
        detection, no alignment): resized to the model's input and greyed as the model expects.
        Crops: paths, PIL images or uint8 arrays."""
        if isinstance(crops, (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray)) or _is_pil_image(crops):
            if not (isinstance(crops, np.ndarray) and crops.ndim == 4):
                crops = [crops]
        crops = list(crops)
        sources = [source_of(c) for c in crops]
        crops = [to_rgb_image(c, f"face {i}") for i, c in enumerate(crops)]
        return [FaceRecord.classified(source, None, p, self.class_names).to_record()
                for source, p in zip(sources, self.classify(crops))]

    def rows(self, faces: Sequence, probabilities: np.ndarray, shape, source: str | None = None) -> list[dict]:
        """Face dicts for AlignedFace objects of an image of ``shape`` and their probabilities."""
        return [self._face_dict(f, p, shape, source) for f, p in zip(faces, probabilities)]

    def _face_dict(self, face, p, shape, source=None) -> dict:
        record = FaceRecord.classified(source, face_box(face.box, shape), p, self.class_names)
        return record.to_record(detection_confidence=round(float(face.confidence), 4))


def check_options(*, min_confidence=0.9, min_face_size=20, align_size=None, max_detection_side=None,
                  batch_size=32, image_size=None) -> None:
    """ArgumentError (a UserError and ValueError) naming the first argument out of its range: the same ranges
    as ``dsan predict``'s flags; an impossible value must not come back as an empty answer."""
    from dsan_tf.data.align import _PNET_WINDOW
    from dsan_tf.state_files import ArgumentError, require_in_range

    require_in_range(min_confidence, "min_confidence", 0, 1)
    for name, value, low in (("min_face_size", min_face_size, 1), ("align_size", align_size, 8),
                             ("image_size", image_size, 8), ("max_detection_side", max_detection_side, _PNET_WINDOW),
                             ("batch_size", batch_size, 1)):
        if value is None and name in ("align_size", "image_size", "max_detection_side"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ArgumentError(f"{name} must be an integer, got {value!r}")
        require_in_range(value, name, low)


def load_model(model=DEFAULT_MODEL):
    """A :class:`dsan_tf.inference.Predictor` for a model name, .keras file, SavedModel folder,
    DSAN Keras model or Predictor (returned as is)."""
    from dsan_tf.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()  # a first photo without TensorFlow's ten start-up lines
    from dsan_tf.inference import KerasPredictor, ModelLoadError, Predictor, _is_savedmodel_tree, load_predictor

    if isinstance(model, Predictor):
        return model
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if path.is_dir() and _is_savedmodel_tree(path):
            return load_predictor(savedmodel=path)
        return load_predictor(weights=model)
    if hasattr(model, "settings") and hasattr(model, "class_names"):  # a Keras model: TensorFlow is loaded
        from dsan_tf.model import DSAN

        if isinstance(model, DSAN):
            return KerasPredictor(model)
    raise ModelLoadError(f"model: got a {type(model).__name__}; expected a shipped model's name, a .keras file, "
                         "a SavedModel directory, a DSAN Keras model or a dsan_tf Predictor")


# ---------------------------------------------------------------------- module-level shortcuts

_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


def recognizer(model=DEFAULT_MODEL, **options) -> FaceExpressionRecognizer:
    """A FaceExpressionRecognizer shared by calls with the same model name/path and options."""
    if not isinstance(model, (str, os.PathLike)):
        return FaceExpressionRecognizer(model, **options)
    key = (str(model), tuple(sorted(options.items())))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = FaceExpressionRecognizer(model, **options)
        return _CACHE[key]


def predict(image, model=DEFAULT_MODEL, **options) -> list[dict]:
    """Expressions of every face in a photo (path, bytes, PIL image or uint8 RGB array), largest first.

    ``[{"source": ..., "box": [x, y, w, h], "label": ..., "probabilities": {class: p}, "detection_confidence": ...}]``,
    ``[]`` for a photo without a face. ``options`` go to :class:`FaceExpressionRecognizer`;
    the model and detector are loaded once per (model, options) and reused.
    """
    return recognizer(model, **options).predict(image)


def predict_faces(crops, model=DEFAULT_MODEL, **options) -> list[dict]:
    """``{"source", "box": None, "label", "probabilities"}`` for each already-cropped face; see
    ``FaceExpressionRecognizer.predict_faces``."""
    return recognizer(model, **options).predict_faces(crops)


def clear_cache() -> None:
    """Forget the recognizers ``predict`` keeps (frees their models)."""
    with _CACHE_LOCK:
        _CACHE.clear()
