"""Trained DSAN models that ship inside the package: ``dsan_tf.pretrained.load("ferplus")``.

A shipped model is two files in ``dsan_tf/pretrained_models/``:

- ``NAME.json``: the DSAN config, what input it was trained on (``grayscale_input``),
  where it came from (command, commit, machine, accuracy) and the sha256 of the weights;
- ``NAME.weights.npz``: its weights in float16 (half the size of float32), restored to a
  float32 model at load. ``experiments/ship_model.py`` writes both and measures how often
  the float16 copy agrees with the float32 model.

The weights are checked against the recorded sha256 before they are used.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from dsan_tf.errors import UserError

SHIPPED_DIR = Path(__file__).parent / "pretrained_models"
WEIGHTS_SUFFIX = ".weights.npz"


class PretrainedError(UserError):
    """A shipped model that is unknown, missing or damaged; the message says which and what to do."""


def available(directory=None):
    """Names of the models shipped in ``directory`` (default: the package's)."""
    directory = Path(directory or SHIPPED_DIR)
    return sorted(p.stem for p in directory.glob("*.json") if (directory / f"{p.stem}{WEIGHTS_SUFFIX}").is_file())


def is_shipped_name(text, directory=None):
    """True when ``text`` names a shipped model and no file of that name exists here (a file wins;
    a folder does not, since --weights is never a folder: a data folder called ferplus/ is common)."""
    return str(text) in available(directory) and not Path(str(text)).is_file()


def metadata(name, directory=None):
    """The ``NAME.json`` record of a shipped model."""
    directory = Path(directory or SHIPPED_DIR)
    path = directory / f"{name}.json"
    if name not in available(directory):
        have = ", ".join(available(directory)) or "none"
        raise PretrainedError(f"no shipped model named {name!r} (shipped: {have})")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise PretrainedError(f"{path}: unreadable ({err}); reinstall dsan_tf") from err


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(name="ferplus", directory=None):
    """The shipped model ``name`` as a float32 DSAN (not compiled), its weights checked by sha256."""
    directory = Path(directory or SHIPPED_DIR)
    record = metadata(name, directory)
    weights_path = directory / f"{name}{WEIGHTS_SUFFIX}"
    found = sha256(weights_path)
    if found != record["sha256"]:
        raise PretrainedError(
            f"{weights_path}: sha256 {found[:12]}... is not the recorded {record['sha256'][:12]}...: "
            "the file is damaged or was replaced; reinstall dsan_tf")
    from dsan_tf.model import DSAN

    model = DSAN.from_config({**record["config"], "dtype": "float32"})
    with np.load(weights_path) as stored:
        weights = [stored[f"w{i:03d}"].astype(np.float32) for i in range(len(stored.files))]
    model.set_weights(weights)
    return model


def pack(model, name, directory, provenance=None):
    """Write ``NAME.json`` and ``NAME.weights.npz`` for ``model`` into ``directory``; returns the two paths."""
    from dsan_tf.io_utils import atomic_path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights_path = directory / f"{name}{WEIGHTS_SUFFIX}"
    with atomic_path(weights_path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{f"w{i:03d}": w.astype(np.float16) for i, w in enumerate(model.get_weights())})
    record = {
        "name": name,
        "config": {**model.get_config(), "dtype": "float32"},
        "weights_file": weights_path.name,
        "weights_dtype": "float16",
        "sha256": sha256(weights_path),
        "provenance": provenance or {},
    }
    json_path = directory / f"{name}.json"
    with atomic_path(json_path) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=2) + "\n")
    return json_path, weights_path
