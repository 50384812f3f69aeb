"""dsan_tf: DSAN (Dual Stream Attention Network, Tang, Li, Jin 2024) in TensorFlow/Keras 3."""

import os

# TensorFlow enables its oneDNN kernels by default only on CPUs with AVX-512/AMX. On AVX2-only
# CPUs, such as this project's 2-core machines, they make float32 ResNet-18 training about 3x
# faster (experiments/bench.py, side by side). Takes effect only if TensorFlow is not yet
# imported; set TF_ENABLE_ONEDNN_OPTS=0 to opt out.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
