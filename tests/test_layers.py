"""The attention layers' computation against NumPy written here from the paper's equations and the layer's own
weights (a parameter count cannot tell a changed computation)."""

import numpy as np
import pytest

from dsan_tf.layers import SparseAttention

EPSILON = 1e-5  # PyTorch's BatchNorm epsilon (DESIGN.md), written here, not read from the module


def np_batch_norm(x, gamma, beta, mean, variance):
    return gamma * (x - mean) / np.sqrt(variance + EPSILON) + beta


def random_batch_norm_state(layer, rng):
    """Non-trivial BatchNorm weights and moving statistics, so that every term of Eq. 2 shows."""
    for _, bn in layer.blocks:
        width = bn.gamma.shape[0]
        bn.gamma.assign(rng.uniform(0.5, 1.5, width))
        bn.beta.assign(rng.normal(0.0, 0.5, width))
        bn.moving_mean.assign(rng.normal(0.0, 0.5, width))
        bn.moving_variance.assign(rng.uniform(0.5, 2.0, width))


@pytest.mark.parametrize("num_layers", [2, 1])
@pytest.mark.parametrize("training", [False, True])
def test_sparse_attention_is_eq2_with_batchnorm(num_layers, training):
    """a = ReLU(BN(FC_d(BN(FC_{d/r}(h))))) (Eq. 2, BN after each FC: Table 7); one layer: ReLU(BN(FC_d(h)))."""
    rng = np.random.default_rng(0)
    d, r = 12, 3
    layer = SparseAttention(reduction=r, num_layers=num_layers)
    layer.build((None, d))
    random_batch_norm_state(layer, rng)
    h = np.maximum(rng.normal(size=(16, d)), 0).astype("float32")
    x = h.astype("float64")
    moving_means = []
    for fc, bn in layer.blocks:
        x = x @ fc.kernel.numpy() + fc.bias.numpy()
        if training:  # the batch's own statistics (biased variance, as Keras and PyTorch normalise)
            mean, variance = x.mean(axis=0), x.var(axis=0)
            # PyTorch's momentum 0.1 (DESIGN.md): the moving mean moves a tenth of the way.
            moving_means.append(0.9 * bn.moving_mean.numpy() + 0.1 * mean)
        else:
            mean, variance = bn.moving_mean.numpy(), bn.moving_variance.numpy()
        x = np_batch_norm(x, bn.gamma.numpy(), bn.beta.numpy(), mean, variance)
    expected = np.maximum(x, 0.0)
    assert [fc.kernel.shape for fc, _ in layer.blocks] == ([(d, d // r), (d // r, d)] if num_layers == 2 else [(d, d)])
    attention = layer(h, training=training).numpy()
    assert (expected == 0).any() and (expected > 0).any()  # the ReLU is exercised both ways
    np.testing.assert_allclose(attention, expected, rtol=1e-4, atol=1e-5)
    assert attention.min() >= 0.0
    for (_, bn), moving_mean in zip(layer.blocks, moving_means):
        np.testing.assert_allclose(bn.moving_mean.numpy(), moving_mean, rtol=1e-4, atol=1e-5)


# ---- round 3 blind mutants (issue 34)


def test_decision_fusion_with_class_scale_is_the_renormalised_product():
    """r3-layers-class-scale-not-renormalised: the prior correction multiplies the fused probabilities by
    the class factors and renormalises, by hand: streams with logits 0 (uniform [0.5, 0.5]) and ln 3
    ([0.25, 0.75] after softmax) fused with weights 0.4 / 0.6 give [0.35, 0.65]; factors [2, 1] give
    [0.70, 0.65] / 1.35."""
    import math

    from dsan_tf.layers import DecisionFusion

    gfe = np.zeros((1, 2), np.float32)
    mff = np.array([[0.0, math.log(3.0)]], np.float32)
    np.testing.assert_allclose(np.asarray(DecisionFusion()([gfe, mff])), [[0.35, 0.65]], rtol=1e-6)
    scaled = np.asarray(DecisionFusion(class_scale=[2.0, 1.0])([gfe, mff]))
    np.testing.assert_allclose(scaled, [[0.70 / 1.35, 0.65 / 1.35]], rtol=1e-6)
    assert scaled.sum() == pytest.approx(1.0)


# ---- issue 34: the layers' own refusals at their boundaries
@pytest.mark.parametrize("kwargs, message", [
    ({"reduction": 0}, "reduction ratio r must be >= 1, got 0"),
    ({"num_layers": 0}, "num_layers must be 1 or 2, got 0"),
    ({"num_layers": 3}, "num_layers must be 1 or 2, got 3"),
])
def test_sparse_attention_refuses_impossible_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SparseAttention(**kwargs)


def test_sparse_attention_needs_a_hidden_unit_and_takes_exactly_one():
    with pytest.raises(ValueError, match=r"d=4 // r=5 leaves no hidden units"):
        SparseAttention(reduction=5).build((None, 4))
    layer = SparseAttention(reduction=4)
    layer.build((None, 4))  # 4 // 4 = 1 hidden unit: allowed
    assert [fc.units for fc, _ in layer.blocks] == [1, 4]


def test_local_feature_attention_refuses_a_split_that_does_not_divide():
    from dsan_tf.layers import LocalFeatureAttention

    with pytest.raises(ValueError, match=r"split number F=3 must divide the feature size C=8"):
        LocalFeatureAttention(num_splits=3).build((None, 8))
    with pytest.raises(ValueError, match=r"split number F=0 must divide"):
        LocalFeatureAttention(num_splits=0).build((None, 8))
    layer = LocalFeatureAttention(num_splits=8)
    layer.build((None, 8))  # F = C: chunks of one channel
    assert layer.chunk == 1
