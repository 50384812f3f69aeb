"""Image preprocessing as pure TensorFlow ops.

The training pipeline and the exported SavedModel signature call the same functions,
so a served model sees exactly the pixels it was trained on. Everything works inside
`tf.function`.

Scale: images are uint8 or float32 in 0..255; `IMAGENET_MEAN`/`IMAGENET_STD` are the
torchvision ImageNet statistics on that 0..255 scale (0.485/0.456/0.406 and
0.229/0.224/0.225 times 255), matching the MS-Celeb-1M ResNet-18 weights' training.
"""

from __future__ import annotations

import tensorflow as tf

IMAGENET_MEAN = (123.675, 116.28, 103.53)  # RGB, 0..255 scale
IMAGENET_STD = (58.395, 57.12, 57.375)  # RGB, 0..255 scale


def decode_image(image_bytes) -> tf.Tensor:
    """PNG/JPEG/BMP/GIF (first frame) bytes -> uint8 [H, W, 3]; grayscale becomes RGB."""
    image = tf.io.decode_image(image_bytes, channels=3, dtype=tf.uint8,
                               expand_animations=False)
    image.set_shape([None, None, 3])
    return image


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
    """uint8 or float 0..255 image [H, W, 3] or batch [N, H, W, 3] -> model input."""
    return normalize_imagenet(resize_image(image, image_size))
