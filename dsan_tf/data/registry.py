"""`load_dataset(name, data_dir, ...)`: one entry point for every dataset reader.

Runners and commands name a dataset by string; this maps the name to its reader so
no caller needs to know any dataset's file layout.
"""

from __future__ import annotations

from functools import partial

from dsan_tf.data.affectnet import read_affectnet
from dsan_tf.data.errors import DataError
from dsan_tf.data.ferplus import LABEL_MODES, read_ferplus
from dsan_tf.data.folder import read_folder
from dsan_tf.data.rafdb import read_rafdb
from dsan_tf.data.table import LabelledImages

__all__ = ["DATASETS", "LabelledImages", "load_dataset"]

DATASETS = {
    "ferplus": read_ferplus,
    "rafdb": read_rafdb,
    "affectnet7": partial(read_affectnet, num_classes=7),
    "affectnet8": partial(read_affectnet, num_classes=8),
    "folder": read_folder,
}


def load_dataset(name: str, data_dir=None, label_mode: str = "majority",
                 **kwargs) -> LabelledImages:
    """Read dataset ``name`` from ``data_dir``.

    ``label_mode`` ("majority" | "probability") applies to FERPlus; the other datasets
    have one label per image and accept only "majority". ``data_dir=None`` is allowed
    for FERPlus only and reads the embedded sample (dsan_tf/sample_data/ferplus).
    Other keyword arguments go to the reader (check_images, skip_missing, aligned,
    class_names, split, image_dir).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {LABEL_MODES}, got {label_mode!r}")
    if name == "ferplus":
        if data_dir is None:
            from dsan_tf.data import SAMPLE_FERPLUS_DIR

            data = read_ferplus(SAMPLE_FERPLUS_DIR, label_mode, **kwargs)
            data.report.insert(0, f"no data_dir given: using the embedded FERPlus sample "
                                  f"{SAMPLE_FERPLUS_DIR}")
            return data
        return read_ferplus(data_dir, label_mode, **kwargs)
    if label_mode != "majority":
        raise ValueError(f"label_mode {label_mode!r} is defined for FERPlus only; "
                         f"{name} has one label per image")
    if data_dir is None:
        raise DataError(f"{name}: data_dir is required (only FERPlus has an embedded sample)")
    return DATASETS[name](data_dir, **kwargs)
