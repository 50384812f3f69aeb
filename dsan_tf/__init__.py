"""dsan_tf: DSAN (Dual Stream Attention Network, Tang, Li, Jin 2024) in TensorFlow/Keras 3."""

import os

# TensorFlow enables its oneDNN kernels by default only on CPUs with AVX-512/AMX. On AVX2-only
# CPUs, such as this project's 2-core machines, they make float32 ResNet-18 training about 3x
# faster (experiments/bench.py, side by side). Takes effect only if TensorFlow is not yet
# imported; set TF_ENABLE_ONEDNN_OPTS=0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

# The Python API, loaded on first use so that `import dsan_tf` stays light (no TensorFlow):
#   dsan_tf.predict("photo.jpg") -> [{"box": [x, y, w, h], "label": ..., "probabilities": {...}}, ...]
_LAZY = {
    "predict": "dsan_tf.api",
    "predict_faces": "dsan_tf.api",
    "FaceExpressionRecognizer": "dsan_tf.api",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'dsan_tf' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
