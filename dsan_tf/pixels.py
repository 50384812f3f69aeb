"""What a pixel may be, for every entry point that takes pixels rather than image files.

One definition: float RGB values, **finite, in [0, 255]** (``PIXEL_MIN``..``PIXEL_MAX``).
Anything else is an error with the reason, never an answer: a value of 1e30 makes every
probability NaN (reported as class 0), and -1e9 or 1000 give a confident-looking class.
Nothing is clipped: clipping would answer for an image the caller never sent.

- :func:`check_pixels` (NumPy): ValueError naming the images and the offending values;
  for the library's predictors and any Python wrapper (e.g. around a TFLite interpreter).
- :func:`assert_pixels` (TensorFlow graph): ``InvalidArgumentError`` with the same reason;
  inside the SavedModel's ``predict_pixels`` signature, so TF Serving answers HTTP 400 /
  gRPC ``INVALID_ARGUMENT`` with the message.
"""

from __future__ import annotations

import numpy as np

PIXEL_MIN = 0.0
PIXEL_MAX = 255.0
PIXEL_RANGE = f"finite RGB values in [{PIXEL_MIN:g}, {PIXEL_MAX:g}]"
NOT_FINITE = f"pixels must be {PIXEL_RANGE}; found NaN or Inf"
OUT_OF_RANGE = f"pixels must be {PIXEL_RANGE}; found values outside that range"


def check_pixels(pixels) -> np.ndarray:
    """``pixels`` as float32 if every value is finite and in [0, 255]; ValueError otherwise."""
    pixels = np.asarray(pixels, np.float32)
    flat = pixels.reshape(len(pixels), -1) if pixels.ndim >= 2 else pixels.reshape(1, -1)
    finite = np.isfinite(flat).all(axis=1)
    if not finite.all():
        images = ", ".join(str(i) for i in np.flatnonzero(~finite)[:10])
        raise ValueError(f"{NOT_FINITE} (image(s) {images})")
    inside = ((flat >= PIXEL_MIN) & (flat <= PIXEL_MAX)).all(axis=1)
    if not inside.all():
        images = ", ".join(str(i) for i in np.flatnonzero(~inside)[:10])
        raise ValueError(f"{OUT_OF_RANGE} (image(s) {images}: min {float(flat.min()):g}, "
                         f"max {float(flat.max()):g})")
    return pixels


def assert_pixels(pixels):
    """``pixels`` (a float tensor) after graph checks that raise InvalidArgumentError with the
    reason when a value is NaN, infinite, or outside [0, 255]."""
    import tensorflow as tf

    pixels = tf.debugging.assert_all_finite(pixels, NOT_FINITE)
    checks = [
        tf.debugging.assert_greater_equal(pixels, tf.constant(PIXEL_MIN, pixels.dtype), message=OUT_OF_RANGE,
                                          summarize=3),
        tf.debugging.assert_less_equal(pixels, tf.constant(PIXEL_MAX, pixels.dtype), message=OUT_OF_RANGE,
                                       summarize=3),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(pixels)
