import os

# Quieter TensorFlow logs in test output; deterministic ops for the equality tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The same TensorFlow kernels as the command-line tools (dsan_tf turns on oneDNN before
# TensorFlow loads; subprocesses inherit the setting).
import dsan_tf  # noqa: E402,F401
