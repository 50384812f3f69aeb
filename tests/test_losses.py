"""Each DSAN loss term against a NumPy reference written here from the paper's equations."""

import numpy as np
import pytest
import tensorflow as tf

from dsan_tf import losses as L

RNG = np.random.default_rng(0)
N, D, K = 6, 5, 4


def np_cross_entropy(targets, logits):
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -(targets * log_p).sum(axis=1)


def np_fr_centre(a, h, c, y):
    # Eq. 4 without the 1/N: 1/2 sum_j a'_ij (a_ij h_ij - c_{y_i j})^2
    return 0.5 * np.array([np.sum(a[i] * (a[i] * h[i] - c[y[i]]) ** 2) for i in range(len(y))])


def np_ccs(c):
    # Eq. 5: sum over ordered pairs i != j of cos(c_i, c_j) + 1
    total = 0.0
    for i in range(len(c)):
        for j in range(len(c)):
            if i != j:
                total += c[i] @ c[j] / (np.linalg.norm(c[i]) * np.linalg.norm(c[j])) + 1.0
    return total


def test_cross_entropy_matches_numpy_for_hard_and_soft_targets():
    logits = RNG.normal(size=(N, K)).astype("float32")
    hard = np.eye(K, dtype="float32")[RNG.integers(0, K, N)]
    soft = RNG.dirichlet(np.ones(K), N).astype("float32")
    for targets in (hard, soft):
        np.testing.assert_allclose(L.cross_entropy(targets, logits), np_cross_entropy(targets, logits), rtol=1e-5)


def test_recalibrated_centre_loss_matches_eq4():
    a = np.maximum(RNG.normal(size=(N, D)), 0).astype("float32")  # ReLU attention, some zeros
    h = np.abs(RNG.normal(size=(N, D))).astype("float32")
    c = RNG.normal(size=(K, D)).astype("float32")
    y = RNG.integers(0, K, N)
    np.testing.assert_allclose(L.recalibrated_centre_loss(a, h, c, y), np_fr_centre(a, h, c, y), rtol=1e-5)


def test_attention_gradient_flows_only_through_recalibrated_feature_by_default():
    a = tf.constant(np.abs(RNG.normal(size=(N, D))) + 0.1, tf.float32)
    h = tf.constant(np.abs(RNG.normal(size=(N, D))), tf.float32)
    c = tf.constant(RNG.normal(size=(K, D)), tf.float32)
    y = RNG.integers(0, K, N)
    a_np, h_np, c_np = a.numpy(), h.numpy(), c.numpy()
    expected = {
        # d/da of 1/2 a' (a h - c)^2 with a' constant: a' (a h - c) h
        True: a_np * (a_np * h_np - c_np[y]) * h_np,
        # ... and with a' = a: also 1/2 (a h - c)^2
        False: a_np * (a_np * h_np - c_np[y]) * h_np + 0.5 * (a_np * h_np - c_np[y]) ** 2,
    }
    for stop, grad_expected in expected.items():
        with tf.GradientTape() as tape:
            tape.watch(a)
            loss = tf.reduce_sum(L.recalibrated_centre_loss(a, h, c, y, stop_attention_gradient=stop))
        np.testing.assert_allclose(tape.gradient(loss, a), grad_expected, rtol=1e-4)


def test_centre_separation_counts_ordered_pairs():
    c = RNG.normal(size=(K, D)).astype("float32")
    np.testing.assert_allclose(float(L.centre_separation_loss(c)), np_ccs(c), rtol=1e-5)
    # Identical centres: every ordered pair contributes cos = 1, so 2 per pair: K(K-1)*2.
    same = np.ones((K, D), "float32")
    assert float(L.centre_separation_loss(same)) == pytest.approx(K * (K - 1) * 2.0, rel=1e-6)


def test_fr_and_total_loss_combine_as_eqs_6_and_11():
    fr = L.feature_recalibration_loss(1.5, 20.0, 7.0, 0.01, 0.02)
    assert float(fr) == pytest.approx(1.5 + 0.2 + 0.14)
    assert float(L.dsan_loss(fr, 2.0, 0.4)) == pytest.approx(0.4 * 1.84 + 0.6 * 2.0)


def test_with_uniform_attention_fr_c_reduces_to_centre_loss():
    # Eq. 7: a = 1 gives the plain centre loss 1/2 ||h - c_y||^2.
    h = RNG.normal(size=(N, D)).astype("float32")
    c = RNG.normal(size=(K, D)).astype("float32")
    y = RNG.integers(0, K, N)
    plain = 0.5 * ((h - c[y]) ** 2).sum(axis=1)
    np.testing.assert_allclose(L.recalibrated_centre_loss(np.ones_like(h), h, c, y), plain, rtol=1e-5)


# ---- round 5 blind mutants (issue 34)
def test_the_attention_gradient_is_stopped_in_a_prime_by_default():
    """r5-losses-attention-gradient-default-flows: called without stop_attention_gradient, L_FR_C treats a'
    as a constant (the paper's "share the same value"): d/da of 1/2 a' (a h - c)^2 is a' (a h - c) h only.
    By hand for one example, d = 1: a = 2, h = 3, c = 1: a' (a h - c) h = 2 * 5 * 3 = 30 (with the gradient
    through a' too it would be 30 + 1/2 * 5^2 = 42.5)."""
    a = tf.constant([[2.0]])
    with tf.GradientTape() as tape:
        tape.watch(a)
        loss = tf.reduce_sum(L.recalibrated_centre_loss(a, tf.constant([[3.0]]), tf.constant([[1.0]]), [0]))
    assert float(loss) == pytest.approx(0.5 * 2.0 * 25.0)
    assert float(tape.gradient(loss, a)[0, 0]) == pytest.approx(30.0)
