import os

# Quieter TensorFlow logs in test output; deterministic ops for the equality tests.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
