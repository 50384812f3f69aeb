"""dsan_tf.evaluation on hand-made outputs: stream and per-class figures from known predictions."""

import numpy as np
import pytest

from dsan_tf.evaluation import evaluate_outputs

CLASSES = ["a", "b", "c"]


def one_hot(indices, k=3):
    return np.eye(k, dtype=np.float32)[indices]


def test_per_stream_per_class_accuracy():
    labels = np.array([0, 0, 1, 1, 2])
    outputs = {
        "targets": one_hot(labels),
        "probabilities": one_hot([0, 0, 1, 0, 2]),  # fused: misses one "b"
        "gfe_logits": one_hot([0, 1, 1, 1, 0]),  # GFE-AN: misses one "a" and the "c"
        "mff_logits": one_hot([0, 0, 0, 0, 2]),  # MFF-AN: never predicts "b"
    }
    metrics = evaluate_outputs(outputs, CLASSES)
    assert metrics["accuracy"] == pytest.approx(0.8)
    assert metrics["stream_accuracy"] == pytest.approx({"fused": 0.8, "gfe": 0.6, "mff": 0.6})
    per_stream = metrics["stream_per_class_accuracy"]
    assert per_stream["fused"] == metrics["per_class_accuracy"] == pytest.approx({"a": 1.0, "b": 0.5, "c": 1.0})
    assert per_stream["gfe"] == pytest.approx({"a": 0.5, "b": 1.0, "c": 0.0})
    assert per_stream["mff"] == pytest.approx({"a": 1.0, "b": 0.0, "c": 1.0})


def test_a_class_absent_from_the_split_is_null_not_zero():
    labels = np.array([0, 1])
    outputs = {"targets": one_hot(labels), "probabilities": one_hot([0, 1]), "gfe_logits": one_hot([0, 0])}
    metrics = evaluate_outputs(outputs, CLASSES)
    assert metrics["stream_per_class_accuracy"]["gfe"] == {"a": 1.0, "b": 0.0, "c": None}
    assert metrics["mean_class_accuracy"] == pytest.approx(1.0)


# ---- round 4 blind mutants (issue 34)


def test_subset_figures_count_and_score_only_their_own_rows():
    # Row by row (label, fused prediction): (0,0) hit, (1,1) hit, (2,0) miss, (0,1) miss, (1,1) hit.
    labels = np.array([0, 1, 2, 0, 1])
    outputs = {"targets": one_hot(labels), "probabilities": one_hot([0, 1, 0, 1, 1])}
    subsets = {"occlusion": [True, True, True, False, False],  # rows 0-2: 2 hits of 3
               "pose": [False, False, False, True, True],  # rows 3-4: 1 hit of 2
               "empty": [False] * 5}
    metrics = evaluate_outputs(outputs, CLASSES, subsets=subsets)
    assert metrics["subsets"]["occlusion"] == {"count": 3, "accuracy": pytest.approx(2 / 3)}
    assert metrics["subsets"]["pose"] == {"count": 2, "accuracy": pytest.approx(0.5)}
    assert metrics["subsets"]["empty"] == {"count": 0, "accuracy": None}
