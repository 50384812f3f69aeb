"""A Predictor on TFLite (XNNPACK on CPU): the live path's faster classifier.

The flatbuffer is ``dsan_tf.export.convert_tflite``'s (what ``dsan export tflite`` writes as
``dsan_float32.tflite``): float32 pixels [N, S, S, 3], RGB 0..255, greyed and normalised in the
graph. Given the same pixels as the Keras model (resized to S, rounded to integers, as
``KerasPredictor`` does) its probabilities match to ~1e-6 (checked on the benchmark's faces and
by ``dsan export tflite``'s agreement check on FERPlus).
"""

from __future__ import annotations

import warnings

import numpy as np

from dsan_tf.inference import ModelLoadError, Predictor


def tflite_bytes(predictor) -> bytes:
    """Convert a KerasPredictor's model in memory (takes seconds: once per process)."""
    from dsan_tf.export import convert_tflite

    model = getattr(predictor, "model", None)
    if model is None:
        raise ModelLoadError(f"{predictor.source}: only a Keras model can be converted to TFLite here; give "
                             "a .tflite file from dsan export tflite")
    return convert_tflite(model)


class TFLitePredictor(Predictor):
    """``like``'s class names, input size and grey setting; the numbers from the TFLite ``content``."""

    def __init__(self, content: bytes, like: Predictor, *, num_threads: int = 2, source: str | None = None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # the TensorFlow copy of the same interpreter
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                interpreter = Interpreter(model_content=bytes(content), num_threads=num_threads)
            except (ValueError, RuntimeError) as err:
                raise ModelLoadError(f"{source or 'TFLite model'}: not a TFLite model ({err})") from err
        self._runner = interpreter.get_signature_runner()
        self.class_names = list(like.class_names)
        self.image_size = like.image_size
        self.grayscale_input = like.grayscale_input
        self.source = source or f"{like.source} (TFLite)"
        detail = self._runner.get_input_details()
        shape = next(iter(detail.values()))["shape"] if detail else None
        if shape is None or len(shape) != 4 or (
                self.image_size and any(side not in (-1, self.image_size) for side in shape[1:3])):  # height and width
            raise ModelLoadError(f"{self.source}: takes input of shape {shape}, not [N, {self.image_size}, "
                                 f"{self.image_size}, 3] faces of the model {like.source}")
        # A free side (-1) takes the model's faces; np.zeros of a negative side would raise instead.
        sides = [self.image_size if side == -1 else int(side) for side in shape[1:3]]
        probe = self._run(np.zeros((1, *sides, 3), np.float32))
        if probe.shape[-1] != len(self.class_names):
            raise ModelLoadError(f"{self.source}: gives {probe.shape[-1]} classes, the model "
                                 f"{like.source} has {len(self.class_names)}")

    def _run(self, pixels):
        return np.asarray(self._runner(pixels=pixels)["probabilities"], np.float32)

    def _predict_pixels(self, pixels):
        pixels = np.asarray(pixels, np.float32)
        if pixels.shape[1:3] != (self.image_size, self.image_size):  # as KerasPredictor: resize, then round
            from dsan_tf.data.preprocess import resize_image

            pixels = np.asarray(resize_image(pixels, self.image_size), np.float32)
        return self._run(np.clip(np.round(pixels), 0, 255))
