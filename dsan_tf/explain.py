"""Class activation maps for DSAN through tf-keras-vis: Grad-CAM, Grad-CAM++, Score-CAM, LayerCAM.

The feature map is chosen from what the model's input size makes of the trunk
(:func:`default_layer`): the deepest ResNet block whose map is at least 6x6 (``layer2_1_out``
at 48 px, ``layer3_1_out`` at 96 px, ``layer4_1_out`` from 161 px up). The trunk's last block,
the map DSAN max-pools, is 2x2 at 48 px: a 2x2 (or 1x1) map cannot say where on a face the
evidence lies, and is refused (:func:`check_layer`). tf-keras-vis computes the map at the
feature map's resolution; it is brought to the face's size here with cell-centred bilinear
resizing (OpenCV), so that each cell's value lands on the middle of the pixels it covers
(tf-keras-vis' own zoom pins the outer cells to the image's edges: on a 2x2 map the maximum
then always lies in a corner). The maps are for one of three scores:

- ``stream="fused"``: the fused probability p_c = alpha softmax(z1)_c + (1-alpha) softmax(z2)_c,
  the model's actual output;
- ``stream="gfe"`` / ``"mff"``: the logit z_c of one stream (GFE-AN, MFF-AN).

Score-CAM weighs masked inputs by a *probability* (tf-keras-vis applies a softmax to
the model output): for the fused stream it is given log p, so that the softmax gives p
back exactly; for a stream it is that stream's softmax.

``target="predicted"`` explains, for every image, the class the model predicts (the
argmax of the fused probabilities) — also when a single stream's score is mapped, so
that the maps of the three streams of one image are about the same class.

tf-keras-vis gets a plain functional sub-model ``image -> score output`` (no custom
train step, nothing to clone) and looks the feature map up in it by name.

Beside each map, DSAN's own attention for the face: the four LFA gates b_f of MFF-AN
(``lfa_weights``) and the share of GFE-AN's sparse attention weights that are exactly 0
(``attention_zero``, the paper's P(a=0) per face).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from dsan_tf.errors import UserError
from dsan_tf.io_utils import atomic_path

METHODS = ("gradcam", "gradcam++", "scorecam", "layercam")
STREAMS = ("fused", "gfe", "mff")
# The layer whose output is each stream's score.
STREAM_LAYERS = {"fused": "fusion", "gfe": "gfe_classifier", "mff": "mff_classifier"}
PREDICTED = "predicted"
# A map must be at least this many cells on each side to say where on the face (2x2: a quadrant).
MIN_MAP_SIDE = 3
# The default map: the deepest trunk block with at least this many cells on each side.
DEFAULT_MAP_SIDE = 6
# Concentration of a map: the share of its mass in its top CONCENTRATION_TOP fraction of pixels.
CONCENTRATION_TOP = 0.10
_BLOCK = re.compile(r"layer(\d+)_(\d+)_out")


class ExplainError(UserError, ValueError):
    """A bad request to the explanation API (unknown stream, method or class, wrong input)."""


@dataclasses.dataclass
class Explanation:
    """Heatmaps of one batch and the predictions they explain."""

    heatmaps: np.ndarray  # float32 (N, H, W) in 0..1, at the model's input size
    probabilities: np.ndarray  # float32 (N, K), fused
    predicted: np.ndarray  # int (N,), argmax of the fused probabilities
    targets: np.ndarray  # int (N,), the class each heatmap explains
    method: str
    stream: str
    layer: str
    maps: np.ndarray | None = None  # float32 (N, h, w) in 0..1: the maps at the feature map's resolution
    lfa_weights: np.ndarray | None = None  # float32 (N, F): MFF-AN's gates b_f (None without MFF-AN)
    attention_zero: np.ndarray | None = None  # float32 (N,): share of a == 0 (None without sparse attention)


# ---------------------------------------------------------------------- checks


def check_dsan(model, what="model"):
    """Raise ExplainError unless ``model`` is a dsan_tf DSAN."""
    from dsan_tf.model import DSAN

    if not isinstance(model, DSAN):
        raise ExplainError(f"{what} is a {type(model).__name__}, not a dsan_tf DSAN model")
    return model


def class_names_of(model) -> list[str]:
    """The model's class names, or ``class_0..class_{K-1}`` when it stores none."""
    names = model.class_names
    k = int(model.settings["num_classes"])
    return [str(n) for n in names] if names else [f"class_{i}" for i in range(k)]


def available_streams(model) -> tuple[str, ...]:
    """Streams whose score exists in this model (``fused`` always; ``gfe``/``mff`` per variant)."""
    present = {layer.name for layer in model.layers}
    return tuple(s for s in STREAMS if STREAM_LAYERS[s] in present)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ExplainError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return method


def check_stream(model, stream: str) -> str:
    if stream not in STREAMS:
        raise ExplainError(f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
    available = available_streams(model)
    if stream not in available:
        raise ExplainError(
            f"stream {stream!r} does not exist in this model (variant "
            f"{model.settings['variant']!r}); available: {', '.join(available)}")
    return stream


def resolve_target(model, target) -> int | None:
    """``"predicted"``/None -> None; a class name (any case) or index -> that index."""
    if target is None or (isinstance(target, str) and target.strip().lower() == PREDICTED):
        return None
    names = class_names_of(model)
    k = len(names)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if 0 <= int(target) < k:
            return int(target)
    elif isinstance(target, str):
        text = target.strip()
        if text in names:
            return names.index(text)
        folded = [n.lower() for n in names]
        if text.lower() in folded:
            return folded.index(text.lower())
        if text.isdigit() and int(text) < k:
            return int(text)
    raise ExplainError(
        f"class {target!r} is not one of the model's classes: {', '.join(names)} "
        f"(or an index 0..{k - 1}, or '{PREDICTED}')")


def check_images(model, images) -> np.ndarray:
    """Model inputs as float32 (N, S, S, 3); a single image gets a batch axis."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[None]
    size = int(model.settings["image_size"])
    if images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise ExplainError(
            f"images have shape {images.shape}; this model takes (N, {size}, {size}, 3) "
            "ImageNet-normalised RGB (dsan_tf.data.preprocess.preprocess_for_model)")
    if len(images) == 0:
        raise ExplainError("no images given")
    return images


# ---------------------------------------------------------------------- which feature map


def map_size(model, layer: str) -> tuple[int, int]:
    """(rows, columns) of a layer's feature map; ExplainError for a missing or non-spatial layer."""
    if not any(lyr.name == layer for lyr in model.layers):
        raise ExplainError(f"layer {layer!r} is not in this model")
    shape = tuple(model.get_layer(layer).output.shape)
    if len(shape) != 4:
        raise ExplainError(f"layer {layer!r} outputs shape {shape}; a CAM needs a (N, h, w, C) feature map "
                           f"such as {default_layer(model)!r}")
    return int(shape[1]), int(shape[2])


def trunk_blocks(model) -> list[tuple[str, int, int]]:
    """(name, rows, columns) of every ResNet block output (``layer1_0_out`` ... ``layer4_1_out``), in order."""
    names = [lyr.name for lyr in model.layers if _BLOCK.fullmatch(lyr.name)]
    names.sort(key=lambda n: tuple(int(v) for v in _BLOCK.fullmatch(n).groups()))
    return [(n, *map_size(model, n)) for n in names]


def default_layer(model, min_side: int = DEFAULT_MAP_SIDE) -> str:
    """The deepest trunk block whose map has at least ``min_side`` cells on each side (the shallowest
    block when none has: the largest map there is)."""
    blocks = trunk_blocks(model)
    if not blocks:
        raise ExplainError("this model has no ResNet trunk blocks (layerS_B_out) to map")
    fitting = [name for name, h, w in blocks if min(h, w) >= min_side]
    return fitting[-1] if fitting else blocks[0][0]


def check_layer(model, layer: str) -> tuple[int, int]:
    """The (rows, columns) of ``layer``'s map; ExplainError when it has fewer than MIN_MAP_SIDE cells a side."""
    h, w = map_size(model, layer)
    if min(h, w) < MIN_MAP_SIDE:
        best = default_layer(model)
        bh, bw = map_size(model, best)
        raise ExplainError(
            f"layer {layer!r} is a {h}x{w} map for this model's {model.settings['image_size']} px faces: too coarse "
            f"to show where on the face (at least {MIN_MAP_SIDE}x{MIN_MAP_SIDE}); the default for this model is "
            f"{best!r} ({bh}x{bw})")
    return h, w


def resolve_layer(model, layer: str | None) -> str:
    """``layer``, or the model's default when None; checked by :func:`check_layer`."""
    layer = default_layer(model) if layer is None else layer
    check_layer(model, layer)
    return layer


# ---------------------------------------------------------------------- maps


def explanation_model(model, stream: str = "fused", method: str = "gradcam", layer: str | None = None):
    """A plain functional ``keras.Model``: image -> the score output of ``stream``.

    The layer ``layer`` stays inside it, so tf-keras-vis can look it up by name. A
    mixed-precision DSAN is copied to float32 first.
    """
    import keras

    from dsan_tf.model import as_float32

    check_dsan(model)
    check_stream(model, stream)
    check_method(method)
    if model.settings.get("dtype", "float32") != "float32":
        model = as_float32(model)
    map_size(model, default_layer(model) if layer is None else layer)
    output = model.get_layer(STREAM_LAYERS[stream]).output
    if stream == "fused" and method == "scorecam":
        output = keras.ops.log(keras.ops.maximum(output, 1e-12))  # softmax(log p) = p
    sub = keras.Model(model.inputs, output, name=f"explain_{stream}")
    # Score-CAM calls predict() on every masked batch: keep Keras' progress bar quiet.
    sub.predict = functools.partial(sub.predict, verbose=0)
    return sub


def _visualizer(method, sub):
    if method == "gradcam":
        from tf_keras_vis.gradcam import Gradcam as cls
    elif method == "gradcam++":
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus as cls
    elif method == "scorecam":
        from tf_keras_vis.scorecam import Scorecam as cls
    else:
        from tf_keras_vis.layercam import Layercam as cls
    return cls(sub, clone=False)


def explain(model, images, method: str = "gradcam", target="predicted", stream: str = "fused", *,
            layer: str | None = None, max_n: int | None = None, batch_size: int = 32) -> Explanation:
    """Heatmaps and predictions for a batch of model inputs.

    Args:
        model: a DSAN.
        images: float32 (N, S, S, 3) model inputs (ImageNet-normalised).
        method: one of ``METHODS``.
        target: ``"predicted"`` (the fused prediction of each image), a class name or index.
        stream: ``"fused"`` (score = fused probability), ``"gfe"`` or ``"mff"`` (score = logit).
        layer: the convolutional feature map to map; None (default) chooses it from the model's
            input size (:func:`default_layer`). A map under 3x3 is refused (:func:`check_layer`).
        max_n: Score-CAM only: use the ``max_n`` feature channels of highest variance
            (Faster Score-CAM); None uses all of them.
        batch_size: Score-CAM only: batch size of its masked-input predictions.
    """
    from dsan_tf.model import as_float32

    check_dsan(model)
    check_method(method)
    check_stream(model, stream)
    fixed = resolve_target(model, target)
    images = check_images(model, images)
    if model.settings.get("dtype", "float32") != "float32":
        model = as_float32(model)
    layer = resolve_layer(model, layer)
    outputs = model.predict_on_batch(images)
    probabilities = np.asarray(outputs["probabilities"], dtype=np.float32)
    predicted = probabilities.argmax(axis=1)
    targets = predicted.copy() if fixed is None else np.full(len(images), fixed)
    maps = class_maps(model, images, targets, method, stream, layer, max_n=max_n, batch_size=batch_size)
    lfa = np.asarray(outputs["lfa_weights"], np.float32) if "lfa_weights" in outputs else None
    zero = (np.asarray(outputs["attention"]) == 0).mean(axis=1).astype(np.float32) if "attention" in outputs else None
    return Explanation(upsample(maps, images.shape[1:3]), probabilities, predicted, targets, method, stream, layer,
                       maps, lfa, zero)


def class_maps(model, images, targets, method: str = "gradcam", stream: str = "fused", layer: str | None = None, *,
               max_n: int | None = None, batch_size: int = 32) -> np.ndarray:
    """float32 (N, h, w) maps in 0..1 at the feature map's resolution, each for its own class ``targets[i]``.

    No check of ``layer``'s size (the sanity benchmark maps any layer); :func:`explain` checks it.
    """
    import tensorflow as tf

    layer = default_layer(model) if layer is None else layer
    sub = explanation_model(model, stream, method, layer)
    one_hot = tf.one_hot(np.asarray(targets, np.int64), int(model.settings["num_classes"]), dtype=tf.float32)

    def score(output):
        return tf.reduce_sum(tf.cast(output, tf.float32) * one_hot, axis=-1)

    kwargs = dict(penultimate_layer=layer, seek_penultimate_conv_layer=False, expand_cam=False, normalize_cam=True)
    if method == "scorecam":
        kwargs.update(max_N=max_n, batch_size=batch_size)
    with warnings.catch_warnings():
        # tf-keras-vis passes inputs as a list to a single-input model: harmless warning.
        warnings.filterwarnings("ignore", message=".*structure of `inputs`.*")
        cam = _visualizer(method, sub)(score, np.asarray(images, np.float32), **kwargs)
    h, w = map_size(model, layer)
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32).reshape(len(images), h, w))
    return np.clip(cam, 0.0, 1.0)


def gradcam_heatmaps(model, images, method: str = "gradcam", target="predicted", stream: str = "fused",
                     **kwargs) -> np.ndarray:
    """Heatmaps (N, H, W) in 0..1 at the model's input size; see :func:`explain`."""
    return explain(model, images, method, target, stream, **kwargs).heatmaps


def upsample(maps, size) -> np.ndarray:
    """(N, h, w) maps -> (N, H, W), bilinear with cell-centred alignment (cv2.resize), each rescaled to 0..1.

    Cell j of an h-cell map covers input rows j*H/h .. (j+1)*H/h; its value lands on their middle.
    A flat map stays flat (all 0).
    """
    import cv2

    height, width = int(size[0]), int(size[1])
    out = np.zeros((len(maps), height, width), np.float32)
    for i, m in enumerate(np.asarray(maps, np.float32)):
        big = cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR)
        low, high = float(big.min()), float(big.max())
        if high - low > 1e-6:
            out[i] = (big - low) / (high - low)
    return np.clip(out, 0.0, 1.0)


def map_summary(heatmap, cells=None, top: float = CONCENTRATION_TOP) -> dict:
    """Where a map peaks and how concentrated it is, as fractions of the face.

    ``peak_row``, ``peak_col``: the centre of the maximum, as a fraction of the face's height and
    width (0 top/left, 1 bottom/right). With ``cells`` (the map at the feature map's resolution,
    which ``heatmap`` upsamples) it is the centre of the hottest cell: the upsampled map is flat
    from a border cell's centre out to the face's edge, and the first maximum pixel of that plateau
    would be the edge. Tied maxima give the mean of their centres. ``concentration``: the share of
    ``heatmap``'s mass in its top ``top`` fraction of pixels (``top`` for a uniform map, 1.0 for a
    single spot). All None for a flat map (nothing highlighted).
    """
    heatmap = np.asarray(heatmap, np.float64)
    source = heatmap if cells is None else np.asarray(cells, np.float64)
    total = float(heatmap.sum())
    if heatmap_peak(heatmap) is None or heatmap_peak(source) is None or not total > 0:
        return {"peak_row": None, "peak_col": None, "concentration": None}
    rows, cols = np.nonzero(source >= source.max() - 1e-6 * max(1.0, abs(float(source.max()))))
    h, w = source.shape
    values = np.sort(heatmap.ravel())[::-1]
    count = max(1, int(round(top * values.size)))
    return {"peak_row": float((rows.mean() + 0.5) / h), "peak_col": float((cols.mean() + 0.5) / w),
            "concentration": float(values[:count].sum() / total)}


# ---------------------------------------------------------------------- figures


def heatmap_peak(heatmap) -> tuple[int, int] | None:
    """(row, column) of the heatmap's maximum, or None for a flat map (nothing highlighted)."""
    heatmap = np.asarray(heatmap)
    if not np.isfinite(heatmap).all() or heatmap.max() - heatmap.min() < 1e-6:
        return None
    return tuple(int(v) for v in np.unravel_index(np.argmax(heatmap), heatmap.shape))


def overlay(image, heatmap, alpha: float = 0.45, colormap: str = "jet") -> np.ndarray:
    """Blend a 0..1 heatmap (any size, resized bilinearly) over a uint8 RGB image."""
    import matplotlib
    from PIL import Image

    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3].astype(np.float32)
    heatmap = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
    if heatmap.shape != image.shape[:2]:
        heatmap = np.asarray(Image.fromarray(heatmap, mode="F").resize(
            (image.shape[1], image.shape[0]), Image.BILINEAR))
    colours = matplotlib.colormaps[colormap](np.clip(heatmap, 0.0, 1.0))[..., :3] * 255.0
    return np.clip((1.0 - alpha) * image + alpha * colours, 0, 255).astype(np.uint8)


def save_grid(path, images: Sequence[np.ndarray], heatmaps: Sequence[np.ndarray], titles: Sequence[str],
              captions: Sequence[str] | None = None, columns: int = 4, alpha: float = 0.45,
              suptitle: str | None = None) -> Path:
    """One PNG: for every image, the image and its heatmap overlay side by side.

    ``titles`` go above each pair (e.g. the predicted label and probability),
    ``captions`` (optional) under the image (e.g. the file name).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    n = len(images)
    if n == 0 or len(heatmaps) != n or len(titles) != n:
        raise ValueError(f"save_grid: {n} images, {len(heatmaps)} heatmaps, {len(titles)} titles")
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    if suptitle:  # wrapped to the figure's width (about 14 characters of 10 pt text per inch)
        import textwrap

        suptitle = "\n".join(textwrap.fill(line, int(4.2 * columns * 14)) for line in suptitle.splitlines())
    fig = Figure(figsize=(4.2 * columns, 2.5 * rows + (0.2 + 0.2 * suptitle.count("\n") + 0.2 if suptitle else 0.0)))
    for i in range(n):
        r, c = divmod(i, columns)
        ax_image = fig.add_subplot(rows, 2 * columns, r * 2 * columns + 2 * c + 1)
        ax_map = fig.add_subplot(rows, 2 * columns, r * 2 * columns + 2 * c + 2)
        ax_image.imshow(np.asarray(images[i]))
        ax_map.imshow(overlay(images[i], heatmaps[i], alpha=alpha))
        for ax in (ax_image, ax_map):
            ax.set_xticks([])
            ax.set_yticks([])
        ax_image.set_title(titles[i], fontsize=8, loc="left")
        if captions is not None:
            ax_image.set_xlabel(_shorten(captions[i], 34), fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return Path(path)


def _shorten(text: str, width: int) -> str:
    text = str(text)
    return text if len(text) <= width else "…" + text[-(width - 1):]


# ---------------------------------------------------------------------- whole photos


@dataclasses.dataclass
class FaceExplanation:
    """The heatmap of one face and the prediction it explains."""

    image: np.ndarray  # uint8 (S, S, 3): the face as the model saw it (aligned, resized, greyed)
    heatmap: np.ndarray  # float32 (S, S) in 0..1
    label: str  # the predicted class
    probability: float
    probabilities: dict  # class name -> fused probability
    target: str  # the class the heatmap explains
    target_probability: float
    box: list | None = None  # [x, y, w, h] in the photo (None for a given crop)
    detection_confidence: float | None = None
    matrix: np.ndarray | None = None  # (2, 3) photo pixels -> crop pixels (None for a given crop)
    layer: str = ""  # the feature map the heatmap was computed on
    map: np.ndarray | None = None  # float32 (h, w) in 0..1: the map at that feature map's resolution
    peak_row: float | None = None  # where the heatmap peaks, as a fraction of the face (map_summary)
    peak_col: float | None = None
    concentration: float | None = None  # share of the heatmap's mass in its top 10 % pixels
    lfa_weights: list | None = None  # MFF-AN's F gates b_f for this face (None without MFF-AN)
    attention_zero: float | None = None  # share of GFE-AN's sparse attention weights that are 0


@dataclasses.dataclass
class PhotoExplanation:
    """Every face of one photo, largest first; ``note`` is ``"no face"`` (and ``faces`` empty) without one."""

    faces: list
    note: str = ""


def _as_dsan(model):
    if isinstance(model, (str, Path)):
        from dsan_tf.inference import load_dsan

        return load_dsan(model)
    return check_dsan(model)


def explain_crops(model, crops, method: str = "gradcam", target="predicted", stream: str = "fused", *,
                  grayscale: bool | None = None, layer: str | None = None, max_n: int | None = None,
                  batch_size: int = 32) -> list[FaceExplanation]:
    """Heatmaps of face crops (uint8 RGB, any size), prepared as the model expects: resized to its input
    and greyed when it was trained on grey faces (``grayscale`` None; True/False force it).

    ``model``: a DSAN, a ``.keras`` file or a shipped model's name; the rest as :func:`explain`.
    """
    from dsan_tf.inference import _as_rgb, as_grey_rgb, model_inputs

    model = _as_dsan(model)
    crops = [_as_rgb(c) for c in crops]
    if not crops:
        raise ExplainError("no face crops given")
    grey = bool(model.settings.get("grayscale_input", False)) if grayscale is None else bool(grayscale)
    shown, inputs = model_inputs([as_grey_rgb(c) for c in crops] if grey else crops,
                                 int(model.settings["image_size"]))
    result = explain(model, inputs, method, target, stream, layer=layer, max_n=max_n, batch_size=batch_size)
    names = class_names_of(model)
    out = []
    for i in range(len(crops)):
        p, pred, tgt = result.probabilities[i], int(result.predicted[i]), int(result.targets[i])
        out.append(FaceExplanation(
            shown[i], result.heatmaps[i], names[pred], float(p[pred]), {n: float(v) for n, v in zip(names, p)},
            names[tgt], float(p[tgt]), layer=result.layer, map=result.maps[i],
            **map_summary(result.heatmaps[i], result.maps[i]),
            lfa_weights=None if result.lfa_weights is None else [float(b) for b in result.lfa_weights[i]],
            attention_zero=None if result.attention_zero is None else float(result.attention_zero[i])))
    return out


def explain_photo(model, image, method: str = "gradcam", target="predicted", stream: str = "fused", *,
                  aligner=None, grayscale: bool | None = None, layer: str | None = None,
                  max_n: int | None = None, batch_size: int = 32) -> PhotoExplanation:
    """Heatmaps of every face of a whole photo, detected and aligned as ``dsan predict`` does.

    ``image``: a path, PIL image or uint8 RGB array. ``aligner``: a
    :class:`dsan_tf.data.align.FaceAligner` to reuse across photos (default: one aligning at
    the model's input size, with ``dsan predict``'s defaults). A photo without a face gives
    ``PhotoExplanation([], note="no face")``: no prediction and no heatmap.
    """
    from dsan_tf.api import face_box, to_rgb_image
    from dsan_tf.inference import NO_FACE

    model = _as_dsan(model)
    if aligner is None:
        aligner = photo_aligner(model)
    photo = to_rgb_image(image)
    faces = aligner.align(photo)
    if not faces:
        return PhotoExplanation([], NO_FACE)
    explained = explain_crops(model, [f.image for f in faces], method, target, stream, grayscale=grayscale,
                              layer=layer, max_n=max_n, batch_size=batch_size)
    for face, e in zip(faces, explained):
        e.box = face_box(face.box, photo.shape)
        e.detection_confidence = round(float(face.confidence), 4)
        e.matrix = face.matrix * (int(model.settings["image_size"]) / aligner.output_size)
    return PhotoExplanation(explained)


def photo_aligner(model, **options):
    """A FaceAligner for ``explain_photo``: crops at the model's input size; ``options`` as FaceAligner's
    (min_confidence, min_face_size, largest_only, detector)."""
    from dsan_tf.data.align import FaceAligner

    return FaceAligner(output_size=int(check_dsan(model).settings["image_size"]), **options)


def overlay_photo(image, explanation: PhotoExplanation, alpha: float = 0.45, colormap: str = "jet") -> np.ndarray:
    """The photo with each face's heatmap warped back onto the face, its box and "label probability";
    a photo without a face gets the "no face" note and no heatmap."""
    import cv2
    import matplotlib

    from dsan_tf.api import to_rgb_image
    from dsan_tf.inference import annotate

    photo = to_rgb_image(image)
    out = photo.astype(np.float32)
    height, width = photo.shape[:2]
    for face in explanation.faces:
        if face.matrix is None:
            continue
        size = face.heatmap.shape[0]
        back = cv2.invertAffineTransform(np.asarray(face.matrix, np.float64))
        heat = cv2.warpAffine(np.asarray(face.heatmap, np.float32), back, (width, height), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine(np.ones((size, size), np.float32), back, (width, height), flags=cv2.INTER_LINEAR)
        colours = matplotlib.colormaps[colormap](np.clip(heat, 0.0, 1.0))[..., :3] * 255.0
        weight = (alpha * inside)[..., None]
        out = (1.0 - weight) * out + weight * colours
    rows = [{"box": f.box, "label": f.label, "probability": f.probability} for f in explanation.faces
            if f.box is not None] or [{"box": None, "note": explanation.note or "no face"}]
    return annotate(np.clip(out, 0, 255).astype(np.uint8), rows)
