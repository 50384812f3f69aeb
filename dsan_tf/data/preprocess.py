"""Image preprocessing as pure TensorFlow ops.

The training pipeline and the exported SavedModel signature call the same functions,
so a served model sees exactly the pixels it was trained on. Everything works inside
`tf.function`.

`pil_to_rgb` is the one place where Pillow images (the face tools, TFRecord writing)
become uint8 RGB, with the same pixel values `decode_image` gives for the same file.

Scale: images are uint8 or float32 in 0..255; `IMAGENET_MEAN`/`IMAGENET_STD` are the
torchvision ImageNet statistics on that 0..255 scale (0.485/0.456/0.406 and
0.229/0.224/0.225 times 255), matching the MS-Celeb-1M ResNet-18 weights' training.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

IMAGENET_MEAN = (123.675, 116.28, 103.53)  # RGB, 0..255 scale
IMAGENET_STD = (58.395, 57.12, 57.375)  # RGB, 0..255 scale


def decode_image(image_bytes) -> tf.Tensor:
    """PNG/JPEG/BMP/GIF (first frame) bytes -> uint8 [H, W, 3]; grayscale becomes RGB."""
    image = tf.io.decode_image(image_bytes, channels=3, dtype=tf.uint8,
                               expand_animations=False)
    image.set_shape([None, None, 3])
    return image


# Pillow modes holding more than 8 bits per pixel (16-bit PNG/TIFF grey, 32-bit int or
# float TIFF). Pillow's own convert("RGB") clips their values at 255: a 16-bit photo
# comes out all white.
_WIDE_GREY_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def pil_to_rgb(image) -> np.ndarray:
    """A Pillow image of any mode -> uint8 RGB [H, W, 3], the pixels `decode_image` gives for the same file.

    16-bit grey keeps its high byte (TensorFlow's uint16 -> uint8 conversion). Mode "I"
    (32-bit integers) is read as 16-bit when a value exceeds 255, else as 8-bit; mode "F"
    (floats) as 0..1 when no value exceeds 1, else like "I". Alpha is dropped (not blended),
    as `tf.io.decode_image(channels=3)` does; palette, CMYK, 1-bit and the rest go through
    Pillow's conversion.
    """
    if image.mode in _WIDE_GREY_MODES:
        grey = _wide_grey_to_uint8(np.asarray(image), image.mode)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # Pillow warns when a palette with transparency goes straight to RGB
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _wide_grey_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    values = np.nan_to_num(values.astype(np.float64), nan=0.0)
    peak = float(values.max()) if values.size else 0.0
    if mode == "F" and peak <= 1.0:
        values = np.rint(values * 255.0)
    elif mode.startswith("I;16") or peak > 255.0:
        values = np.floor(values / 256.0)  # the high byte, as tf.image.convert_image_dtype
    else:
        values = np.rint(values)
    return np.clip(values, 0, 255).astype(np.uint8)


def resize_image(image, image_size: int) -> tf.Tensor:
    """[H, W, 3] or [N, H, W, 3] -> float32 [.., S, S, 3] in 0..255 (bilinear, antialias).

    Faces are squashed to a square, not padded: the datasets' crops are square already
    (FERPlus, RAF-DB aligned) or nearly so (AffectNet boxes).
    """
    image = tf.cast(image, tf.float32)
    return tf.image.resize(image, (image_size, image_size), method="bilinear",
                           antialias=True)


def normalize_imagenet(image) -> tf.Tensor:
    """0..255 RGB -> ImageNet-normalised float32 ((x - mean) / std per channel)."""
    image = tf.cast(image, tf.float32)
    return (image - tf.constant(IMAGENET_MEAN)) / tf.constant(IMAGENET_STD)


def to_uint8(image) -> tf.Tensor:
    """float 0..255 -> uint8, rounded and clipped (the pipeline caches uint8)."""
    return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)


def crop_to_box(image, box) -> tf.Tensor:
    """Crop [H, W, 3] to ``box`` = int32 (x, y, w, h) clipped to the image; a box with
    w <= 0 or h <= 0 (the "no box" value -1) keeps the whole image."""
    box = tf.cast(box, tf.int32)
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    x0 = tf.clip_by_value(box[0], 0, width)
    y0 = tf.clip_by_value(box[1], 0, height)
    x1 = tf.clip_by_value(box[0] + box[2], 0, width)
    y1 = tf.clip_by_value(box[1] + box[3], 0, height)
    usable = (box[2] > 0) & (box[3] > 0) & (x1 > x0) & (y1 > y0)
    x0 = tf.where(usable, x0, 0)
    y0 = tf.where(usable, y0, 0)
    x1 = tf.where(usable, x1, width)
    y1 = tf.where(usable, y1, height)
    return image[y0:y1, x0:x1, :]


def preprocess_for_model(image, image_size: int) -> tf.Tensor:
    """uint8 or float 0..255 image [H, W, 3] or batch [N, H, W, 3] -> model input, by the training
    pipeline's steps: resize, round to uint8 (what the pipeline caches), ImageNet-normalise. The rounding
    matters when the model's size differs from the data's (FERPlus' 48 px faces for a 96 px model)."""
    return normalize_imagenet(to_uint8(resize_image(image, image_size)))
