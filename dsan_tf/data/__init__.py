"""Data readers (one table per dataset) and the tf.data input pipeline.

Readers need only pandas/numpy and import no TensorFlow, so commands such as
`experiments/data_summary.py` start fast; import `dsan_tf.data.pipeline` or
`dsan_tf.data.preprocess` for the TensorFlow side.
"""

from pathlib import Path

from dsan_tf.data.classes import (AFFECTNET7_CLASSES, AFFECTNET8_CLASSES, FERPLUS_CLASSES,
                                  RAFDB_CLASSES)
from dsan_tf.data.errors import DataError
from dsan_tf.data.table import LabelledImages

# Real FERPlus subset shipped in the package (see its README.md).
SAMPLE_FERPLUS_DIR = Path(__file__).resolve().parent.parent / "sample_data" / "ferplus"

from dsan_tf.data.registry import DATASETS, load_dataset  # noqa: E402
from dsan_tf.data.subsets import load_subset_list, match_subset  # noqa: E402

__all__ = [
    "AFFECTNET7_CLASSES", "AFFECTNET8_CLASSES", "DATASETS", "DataError", "FERPLUS_CLASSES",
    "LabelledImages", "RAFDB_CLASSES", "SAMPLE_FERPLUS_DIR", "load_dataset",
    "load_subset_list", "match_subset",
]
