"""How the class centres step: each rule against a NumPy reference, a rare class, mixed precision, diagnostics."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

from dsan_tf.model import build_dsan, default_centre_sgd
from dsan_tf.runner import with_centre_sgd_defaults
from dsan_tf.training import fit_resumable

K, SIZE, LAMBDA1, LAMBDA2, ALPHA, LR, BETA = 4, 32, 0.3, 0.2, 0.4, 0.7, 0.05


def toy_batch(labels, seed=0):
    x = np.random.default_rng(seed).normal(size=(len(labels), SIZE, SIZE, 3)).astype("float32")
    return x, np.asarray(labels, "int32")


def toy_model(centre_update, stop_attention_gradient=True, dtype="float32", momentum=0.0, centre_weight_decay=0.0):
    """A tiny DSAN whose steps run eagerly: one step costs seconds, where tracing the step costs ~15 s."""
    keras.utils.set_random_seed(5)
    model = build_dsan(
        K, SIZE, alpha=ALPHA, lambda1=LAMBDA1, lambda2=LAMBDA2, centre_update=centre_update,
        centre_separation_weight=BETA, stop_attention_gradient=stop_attention_gradient, class_names=list("abcd"), dtype=dtype,
    )
    # Adam at lr 0: the network stands still, so the centre step is all that changes.
    model.compile(optimizer=keras.optimizers.Adam(0.0), centre_optimizer=keras.optimizers.SGD(LR, momentum=momentum),
                  weight_decay=0.0, centre_weight_decay=centre_weight_decay, run_eagerly=True)
    return model


def ccs_gradient(c):
    """d/dc_i of sum_{i != j} (cos(c_i, c_j) + 1), by hand."""
    norms = np.linalg.norm(c, axis=1, keepdims=True)
    u = c / norms
    grad = np.zeros_like(c)
    for i in range(len(c)):
        others = u[np.arange(len(c)) != i].sum(axis=0)
        # Each unordered pair appears twice in the ordered sum.
        grad[i] = 2 * (others - u[i] * (u[i] @ others)) / norms[i, 0]
    return grad


def reference_gradient(rule, a, h, c, y):
    """NumPy centre gradient of each rule (a' = a in value; the rule's weighting of it)."""
    x = a * h
    pull = np.zeros_like(c)
    for i, k in enumerate(y):
        pull[k] += a[i] * (c[k] - x[i])
    counts = np.bincount(y, minlength=len(c)).astype("float64")[:, None]
    if rule == "centre-loss":
        return (pull + counts * BETA * ccs_gradient(c)) / (1 + counts)
    if rule == "class-normalised":
        return LAMBDA1 * pull / (1 + counts) + LAMBDA2 * ccs_gradient(c)
    if rule == "present-classes":
        return (LAMBDA1 * pull + counts * LAMBDA2 * ccs_gradient(c)) / (1 + counts)
    # The total loss L = alpha (L_FR_CE + lambda1 mean_i L_FR_C,i + lambda2 L_CCS) + ...
    return ALPHA * (LAMBDA1 * pull / len(y) + LAMBDA2 * ccs_gradient(c))


@pytest.mark.parametrize("stop_attention_gradient", [True, False])
@pytest.mark.parametrize("rule", ["centre-loss", "class-normalised", "present-classes", "loss-gradient"])
def test_one_centre_step_matches_numpy(rule, stop_attention_gradient):
    model = toy_model(rule, stop_attention_gradient)
    x, y = toy_batch([0, 0, 1, 2, 2, 2])  # class 3 absent: only L_CCS moves its centre
    outputs = model(x, training=True)
    a, h = outputs["attention"].numpy().astype("float64"), outputs["gfe_hidden"].numpy().astype("float64")
    c = model.class_centres.numpy().astype("float64")
    model.train_on_batch(x, y)
    expected = c - LR * reference_gradient(rule, a, h, c, y)
    np.testing.assert_allclose(model.class_centres.numpy(), expected, rtol=1e-4, atol=1e-5)
    if rule in ("centre-loss", "present-classes"):
        np.testing.assert_array_equal(model.class_centres.numpy()[3], c[3].astype("float32"))  # absent: stays


def test_centre_weight_decay_is_added_to_the_centre_gradient():
    """L2 decay on the centres, PyTorch-style: g_k + wd * c_k (the decay is written here, not read from the model)."""
    decay = 0.1
    model = toy_model("centre-loss", centre_weight_decay=decay)
    x, y = toy_batch([0, 0, 1, 2, 2, 2])
    outputs = model(x, training=True)
    a, h = outputs["attention"].numpy().astype("float64"), outputs["gfe_hidden"].numpy().astype("float64")
    c = model.class_centres.numpy().astype("float64")
    model.train_on_batch(x, y)
    expected = c - LR * (reference_gradient("centre-loss", a, h, c, y) + decay * c)
    np.testing.assert_allclose(model.class_centres.numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rule", ["centre-loss", "class-normalised"])
def test_a_rare_class_centre_does_not_run_away(rule):
    """Class 3 appears in 1 batch of 10; with the rule's default centre SGD its centre stays at feature scale."""
    model = build_dsan(K, SIZE, class_names=list("abcd"), centre_update=rule)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), centre_weight_decay=1e-4)
    rng = np.random.default_rng(1)
    for step in range(30):
        labels = rng.integers(0, 3, 8)
        if step % 10 == 0:
            labels[0] = 3
        model.train_on_batch(*toy_batch(labels, seed=step))
    features = model(toy_batch([3] * 8, seed=99)[0], training=False)["gfe_features"].numpy()
    centre_norms = np.linalg.norm(model.class_centres.numpy(), axis=1)
    assert np.all(np.isfinite(centre_norms))
    assert centre_norms[3] < 3 * max(np.linalg.norm(features, axis=1).mean(), 1.0)


def test_mixed_float16_centre_step_is_unscaled():
    """The class-normalised step is computed from the features in float32: no loss scale (2**15) reaches it."""
    model = toy_model("class-normalised", dtype="mixed_float16")
    x, y = toy_batch([0, 1, 1, 2])
    outputs = model(x, training=True)
    a, h = outputs["attention"].numpy().astype("float64"), outputs["gfe_hidden"].numpy().astype("float64")
    c = model.class_centres.numpy().astype("float64")
    model.train_on_batch(x, y)
    expected = c - LR * reference_gradient("class-normalised", a, h, c, y)
    # a*h is multiplied in float16 inside the model: relative rounding of about 1e-3.
    np.testing.assert_allclose(model.class_centres.numpy(), expected, rtol=2e-2, atol=1e-3)


@pytest.mark.parametrize("overflow", [False, True], ids=["finite", "network-overflow"])
def test_mixed_float16_loss_gradient_centre_step_matches_numpy(overflow):
    """The loss-gradient rule takes the centres' gradient from the SCALED loss: it must be divided by the
    scale that scaled it. On an overflow step (forced with a scale of 2**30: the float16 network gradients
    overflow, the float32 centre gradient does not) the LossScaleOptimizer skips the network step and halves
    its scale; the centres still step, by their own exact gradient (model._unscale_or_zero). Before the fix the
    halved scale was read after the network step: the centres moved twice the reference."""
    model = toy_model("loss-gradient", dtype="mixed_float16")
    # 2**4: this toy's float16 conv1 gradient (~200 at scale 1) overflows from about 2**9.
    scale = 2.0**30 if overflow else 2.0**4
    model.optimizer.dynamic_scale.assign(scale)
    x, y = toy_batch([0, 1, 1, 2])
    outputs = model(x, training=True)
    a, h = outputs["attention"].numpy().astype("float64"), outputs["gfe_hidden"].numpy().astype("float64")
    c = model.class_centres.numpy().astype("float64")
    model.train_on_batch(x, y)
    # The precondition: the network step overflowed (scale halved) or did not (scale kept).
    assert float(model.optimizer.dynamic_scale.numpy()) == (scale / 2 if overflow else scale)
    step = model.class_centres.numpy() - c
    expected = -LR * reference_gradient("loss-gradient", a, h, c, y)
    np.testing.assert_allclose(step, expected, rtol=1e-3, atol=1e-6)


def test_history_records_centre_diagnostics_per_class(tmp_path):
    model = toy_model("class-normalised", momentum=0.9)
    model.optimizer.learning_rate.assign(1e-3)
    x, y = toy_batch([0, 1, 2, 3] * 3)

    def train_data(epoch, input_context=None):
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(4)

    fit_resumable(model, train_data, 2, tmp_path, validation_data=tf.data.Dataset.from_tensor_slices((x, y)).batch(4),
                  verbose=0)
    rows = list(csv.DictReader(open(tmp_path / "history.csv")))
    assert len(rows) == 2
    for key in ("a", "b", "c", "d"):
        cosine, ratio = float(rows[-1][f"centre_cos_{key}"]), float(rows[-1][f"centre_norm_ratio_{key}"])
        assert -1.0 <= cosine <= 1.0 and ratio > 0
    # Read before validation resets the metric (else NaN); validation adds no centre columns.
    assert not np.isnan(float(rows[-1]["centre_cos_a"]))
    assert not any(key.startswith("val_centre") for key in rows[-1])
    assert float(rows[-1]["centre_cos_min"]) == pytest.approx(min(float(rows[-1][f"centre_cos_{k}"]) for k in "abcd"))


def test_diagnostics_match_numpy():
    model = toy_model("class-normalised")
    tracking = model.centre_tracking
    rng = np.random.default_rng(0)
    features = rng.normal(size=(6, 128)).astype("float32")
    labels = np.array([0, 0, 1, 1, 1, 2])
    attention = rng.uniform(0.05, 1.0, size=features.shape).astype("float32")
    tracking.update_state(features, labels, attention)
    values = tracking.per_class()
    centres = model.class_centres.numpy()
    for k, key in enumerate("abc"):
        members = features[labels == k]
        mean = members.mean(axis=0)
        cosine = centres[k] @ mean / np.linalg.norm(centres[k]) / np.linalg.norm(mean)
        ratio = np.linalg.norm(centres[k]) / np.linalg.norm(members, axis=1).mean()
        assert values[f"centre_cos_{key}"] == pytest.approx(cosine, rel=1e-4)
        assert values[f"centre_norm_ratio_{key}"] == pytest.approx(ratio, rel=1e-4)
        # The attention-weighted mean, per dimension: where L_FR_C's pull on the centre settles.
        target = (attention[labels == k] * members).sum(axis=0) / attention[labels == k].sum(axis=0)
        target_cosine = centres[k] @ target / np.linalg.norm(centres[k]) / np.linalg.norm(target)
        assert values[f"centre_target_cos_{key}"] == pytest.approx(target_cosine, rel=1e-4)
    assert np.isnan(values["centre_cos_d"])  # no example of class d


def test_unknown_centre_update_is_refused():
    with pytest.raises(ValueError, match="centre update"):
        build_dsan(K, SIZE, centre_update="dacl-raw")


def test_default_centre_sgd_suits_the_rule():
    """The weight-free centre-loss step gets 0.05/0.9 (0.9/0.9 diverges); the others keep the paper's 0.9/0.9."""
    assert default_centre_sgd("centre-loss") == (0.05, 0.9)
    assert default_centre_sgd("loss-gradient") == (0.9, 0.9)
    model = build_dsan(K, SIZE, class_names=list("abcd"))
    model.compile(optimizer="adam")
    assert model.centre_optimizer.learning_rate.numpy() == pytest.approx(0.05)
    assert model.centre_optimizer.momentum == pytest.approx(0.9)
    filled = with_centre_sgd_defaults({"centre_update": "loss-gradient", "centre_learning_rate": None,
                                       "centre_momentum": 0.5})
    assert (filled["centre_learning_rate"], filled["centre_momentum"]) == (0.9, 0.5)  # a given value stays
