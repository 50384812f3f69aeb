"""Knowledge distillation from finished runs (issue 33): teachers' probabilities as training targets.

Offline distillation, in two steps:

1. ``dsan teacher-labels`` scores the training faces once with one or more trained models: each
   face and its mirror image (averaged, as ``--flip-average`` does), then the mean over the
   teachers, softened by a temperature T: ``p ** (1 / T)`` renormalised, which is
   ``softmax(log p / T)``, Hinton et al.'s softened softmax applied to the probabilities the
   models give. The result is an ``.npz`` of the faces' names and their teacher probabilities.
2. ``dsan train --teacher-labels FILE --teacher-weight w`` trains on the mixed targets
   ``(1 - w) * the dataset's target + w * the teacher's``. Every DSAN loss that takes targets (the
   cross-entropy of both streams; DSAN's soft-label path) takes them as they are; the class centres
   follow the argmax of the mixed target, as with FERPlus' vote distributions.

Why offline: on two CPU cores a teacher's forward pass in every training step would cost about a third
of the step again, every epoch; the teachers' answers on the un-augmented faces are computed once and the
student still sees its augmented faces (offline distillation, as in the label-refinery line of work).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsan_tf.data.errors import DataError
from dsan_tf.pretrained import sha256
from dsan_tf.state_files import StateFileError, read_npz_state

ARRAYS = {"name": (1, "U"), "probabilities": (2, "f"), "class_names": (1, "U"), "teachers": (1, "U")}
ROW_SUM_TOLERANCE = 1e-3  # float32 probabilities summed over 7-8 classes


def soften(probabilities, temperature):
    """Rows of ``probabilities`` softened by ``temperature``: p ** (1/T), renormalised (T = 1: unchanged)."""
    p = np.asarray(probabilities, dtype=np.float64)
    logs = np.log(np.clip(p, 1e-12, None)) / float(temperature)
    logs -= logs.max(axis=1, keepdims=True)  # exp of the largest is 1: no overflow
    softened = np.exp(logs)
    return (softened / softened.sum(axis=1, keepdims=True)).astype(np.float32)


def teacher_fingerprint(path) -> str:
    """The sha256 of a teacher-labels file (a run records it: --resume refuses a file changed since)."""
    try:
        return sha256(path)
    except OSError as error:
        raise StateFileError(f"{path} (teacher labels): cannot be read ({error.strerror or error})") from None


def read_teacher_labels(path) -> dict:
    """The arrays of a ``dsan teacher-labels`` file, checked: one row per unique name, rows of
    non-negative probabilities summing to 1, one column per class name (StateFileError otherwise)."""
    what = "teacher labels"
    hint = "write it with dsan teacher-labels"
    arrays = read_npz_state(path, ARRAYS, what=what, hint=hint)
    names, probabilities, classes = arrays["name"], arrays["probabilities"], arrays["class_names"]

    def fail(problem):
        raise StateFileError(f"{path} ({what}): {problem}; {hint}")  # the form of state_files' own refusals

    if len(names) != len(probabilities):
        fail(f"{len(names)} names but {len(probabilities)} rows of probabilities")
    if probabilities.shape[1] != len(classes):
        fail(f"{probabilities.shape[1]} probability columns but {len(classes)} class names")
    listed = names.tolist()  # str, not np.str_, in the messages
    if len(set(listed)) != len(listed):
        duplicate = int(pd.Series(listed).duplicated().idxmax())
        fail(f"the name {listed[duplicate]!r} appears more than once (row {duplicate})")
    if (probabilities < 0).any():
        fail(f"row {int(np.argwhere(probabilities < 0)[0, 0])} has a negative probability")
    sums = probabilities.sum(axis=1)
    off = np.abs(sums - 1) > ROW_SUM_TOLERANCE
    if off.any():
        row = int(np.argmax(off))
        fail(f"row {row} ({listed[row]!r}) sums to {sums[row]:.4f}, expected 1")
    return arrays


def with_teacher_targets(table: pd.DataFrame, teacher: dict, weight: float, class_names, source) -> pd.DataFrame:
    """``table`` (one split of a LabelledImages) with ``target`` mixed as (1 - weight) * target + weight * teacher,
    matched by the ``name`` column. ``label`` (the dataset's own class, which oversampling and class weights
    use) is kept. DataError when the classes differ or a face has no teacher row."""
    teacher_classes = [str(name) for name in teacher["class_names"]]
    if teacher_classes != [str(name) for name in class_names]:
        raise DataError(f"{source}: classes {teacher_classes} differ from the dataset's {list(class_names)}")
    names = table["name"].astype(str)
    if names.duplicated().any():
        raise DataError(f"{source}: the training split names {names[names.duplicated()].iloc[0]!r} twice; "
                        "teacher labels are matched by name")
    rows = pd.Series(np.arange(len(teacher["name"])), index=teacher["name"])
    found = names.map(rows)
    if found.isna().any():
        missing = names[found.isna()]
        raise DataError(f"{source}: no teacher row for {len(missing)} of the {len(names)} training faces "
                        f"(the first: {missing.iloc[0]!r}); were they written for this dataset's training split (FERPlus: "
                        "with the student's --label-mode)?")
    teacher_targets = teacher["probabilities"][found.to_numpy(dtype=np.int64)]
    mixed = table.copy()
    mixed["target"] = [(1.0 - weight) * np.asarray(t, dtype=np.float32) + weight * p
                       for t, p in zip(table["target"], teacher_targets)]
    return mixed
