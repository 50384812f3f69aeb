"""Quiet start-up: TensorFlow, absl and CUDA lines off a CPU user's terminal, in one place.

:func:`install` runs before any command module imports TensorFlow (``dsan --verbose`` or
``DSAN_VERBOSE=1`` skip it). It

- sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless the environment sets it (TensorFlow's C++ INFO,
  WARNING and ERROR lines: "Could not find cuda drivers", "cpu_feature_guard ... AVX2 FMA",
  "failed call to cuInit", "cache_dataset_ops.cc: The calling iterator did not fully read
  the dataset being cached", ...);
- sets ``OPENCV_LOG_LEVEL=ERROR`` unless the environment sets it (OpenCV's ``[ WARN:0@...]``
  lines while it probes video back-ends and cameras);
- hides the Python-level warnings that only repeat what the user cannot change (Keras'
  "`shuffle=True` was passed, but will be ignored") and TensorFlow's/absl's Python log
  records below ERROR;
- wraps the first ``import tensorflow`` so that the lines its shared libraries print to
  file descriptor 2 before logging is set up ("WARNING: All log messages before
  absl::InitializeLog() ...", "Could not find cuda drivers") are captured; known start-up
  lines are dropped and anything else is written back to stderr, so a real import
  failure (or an unexpected message) is still seen.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
import warnings

# Lines TensorFlow (and its CUDA stubs) print while it loads on a machine without a GPU.
STARTUP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|cudart_stub\.cc|cuda_(?:platform|executor|diagnostics)\.cc"
    r"|cpu_feature_guard\.cc|To enable the following instructions|rebuild TensorFlow with the appropriate compiler"
    r"|oneDNN custom operations are on|Unable to register cu(?:DNN|FFT|BLAS) factory|TF-TRT Warning"
    r"|computation placer already registered|failed call to cuInit|absl::InitializeLog"
)

_installed = False


def install() -> None:
    """Silence TensorFlow's start-up and log noise for the rest of the process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # "[ WARN:0@...] global cap_*.cpp ..." (read when cv2 loads)
    warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed.*")
    warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated.*")
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


def import_tensorflow_quietly() -> None:
    """For the Python API: import TensorFlow once with the start-up lines it prints to fd 2 dropped.

    Unlike :func:`install`, no log level or warning filter changes: a library user's own
    TensorFlow logging stays theirs. Nothing happens when TensorFlow is imported already (its
    lines are out) or ``DSAN_VERBOSE`` is set; anything that is not known start-up noise is
    written back, and a failed import shows everything it printed.
    """
    if "tensorflow" in sys.modules or os.environ.get("DSAN_VERBOSE"):
        return
    with captured_stderr_fd() as captured:
        try:
            import tensorflow as tf

            # Initialises the platforms now, inside the capture: "failed call to cuInit" comes from here.
            tf.config.list_physical_devices()
        except BaseException:
            captured.keep_all = True
            raise


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` with the other finders, then loads it with fd 2 captured (once)."""

    def find_spec(self, fullname, _path=None, _target=None):  # the import system passes all three by position
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once; also keeps find_spec below from recursing
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with captured_stderr_fd() as captured:
            try:
                self.loader.exec_module(module)
            except BaseException:
                captured.keep_all = True  # a failed import: show everything it printed
                raise
        _after_import()

    def __getattr__(self, name):  # is_package, get_code, get_resource_reader, ...
        return getattr(self.loader, name)


def _after_import():
    """TensorFlow's own Python logger and absl: errors only."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    absl_logging = sys.modules.get("absl.logging")
    if absl_logging is not None:
        try:
            absl_logging.set_verbosity(absl_logging.ERROR)
        except Exception:  # noqa: BLE001 - only a log level
            pass


class captured_stderr_fd:
    """Redirect file descriptor 2 (and Python's sys.stderr) to a temporary file; on exit write
    back every line that is not known noise (``noise``: TensorFlow's start-up lines by default;
    all lines if ``keep_all``)."""

    def __init__(self, noise: re.Pattern = STARTUP_NOISE):
        self.keep_all = False
        self.noise = noise

    def __enter__(self):
        self.file = None
        try:
            sys.stderr.flush()
            self.saved = os.dup(2)
        except (OSError, AttributeError, ValueError):  # no real fd 2 (e.g. some embedded interpreters)
            self.saved = None
            return self
        self.file = tempfile.TemporaryFile(mode="w+b")
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, *exc):
        if self.saved is None:
            return False
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.file.seek(0)
        text = self.file.read().decode("utf-8", "replace")
        self.file.close()
        kept = [line for line in text.splitlines() if self.keep_all or (line.strip() and not self.noise.search(line))]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")
            sys.stderr.flush()
        return False
