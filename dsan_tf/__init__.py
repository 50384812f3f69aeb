"""dsan_tf: DSAN (Dual Stream Attention Network, Tang, Li, Jin 2024) in TensorFlow/Keras 3."""

__version__ = "0.1.0"
