"""Running TFLite exports with LiteRT (``ai-edge-litert``, the ``dsan_tf[tflite]`` extra), the runtime
that replaces ``tf.lite.Interpreter`` (deprecated in TensorFlow 2.20 and scheduled for deletion). It
runs the files of ``dsan export tflite`` unchanged, without TensorFlow:

    from dsan_tf.litert import signature_runner
    run = signature_runner(model_path="models/tflite/dsan_float32.tflite")
    run(pixels=batch)["probabilities"]      # batch: float32 [N, S, S, 3], RGB 0..255
"""

from __future__ import annotations

import re

EXTRA = "tflite"
PACKAGE = "ai-edge-litert"
# TFLite prints this on stderr at an interpreter's first invocation, whatever the log level.
XNNPACK_NOTICE = re.compile(r"Created TensorFlow Lite XNNPACK delegate")


def load_interpreter(model_content: bytes | None = None, model_path=None, num_threads: int | None = 2):
    """A LiteRT ``Interpreter`` of a .tflite file (``model_path``) or its bytes (``model_content``).

    ModuleNotFoundError (``name="ai_edge_litert"``, the message naming the extra) without LiteRT."""
    if (model_content is None) == (model_path is None):
        raise ValueError("give exactly one of model_content and model_path")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(f"running a TFLite model needs LiteRT ({PACKAGE}): pip install "
                                  f"'dsan_tf[{EXTRA}]'", name=err.name or "ai_edge_litert") from err
    return Interpreter(model_content=model_content, model_path=None if model_path is None else str(model_path),
                       num_threads=num_threads)


def signature_runner(model_content: bytes | None = None, model_path=None, signature: str = "serving_default",
                     num_threads: int | None = 2):
    """The ``signature`` of a TFLite model as a function of named numpy inputs returning a dict of
    numpy outputs; its first call keeps TFLite's XNNPACK notice off stderr."""
    return _QuietFirstCall(load_interpreter(model_content, model_path, num_threads).get_signature_runner(signature))


class _QuietFirstCall:
    def __init__(self, runner):
        self.runner = runner
        self.called = False

    def __call__(self, **inputs):
        if self.called:
            return self.runner(**inputs)
        from dsan_tf.quiet import captured_stderr_fd

        with captured_stderr_fd(noise=XNNPACK_NOTICE):
            outputs = self.runner(**inputs)
        self.called = True
        return outputs

    def __getattr__(self, name):  # get_input_details, get_output_details, ...
        return getattr(self.runner, name)
