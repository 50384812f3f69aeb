"""The trunk's FusedBatchNormalization computes what Keras' BatchNormalization computes (issue 16).

Same input, same weights, training=True: the fused kernel and Keras' unfused ops must give the
same output, the same moving statistics and the same gradients, up to float rounding, in float32
and in mixed bfloat16 (where the fused layer feeds bfloat16 activations to the kernel as they are).
Several replicas are covered by tests/test_distribute.py (1 vs 2 replicas, whole DSAN).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dsan_tf.resnet import FusedBatchNormalization


def _run(fused, dtype, x):
    layer = FusedBatchNormalization(momentum=0.9, epsilon=1e-5, dtype=dtype)
    layer.fused = fused
    layer.build(x.shape)
    rng = np.random.default_rng(1)
    layer.gamma.assign(rng.uniform(0.5, 1.5, x.shape[-1]).astype("float32"))
    layer.beta.assign(rng.normal(size=x.shape[-1]).astype("float32"))
    inputs = tf.cast(x, layer.compute_dtype)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = layer(inputs, training=True)
        # A loss that weights every output differently, so every gradient path matters.
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.linspace(-1.0, 1.0, x.shape[-1]) ** 2 * tf.cast(x, tf.float32))
    grads = tape.gradient(loss, [inputs, layer.gamma, layer.beta])
    return {
        "output": tf.cast(y, tf.float32).numpy(),
        "output_dtype": y.dtype,
        "moving_mean": layer.moving_mean.numpy(),
        "moving_variance": layer.moving_variance.numpy(),
        "d_input": tf.cast(grads[0], tf.float32).numpy(),
        "d_gamma": grads[1].numpy(),
        "d_beta": grads[2].numpy(),
    }


@pytest.mark.parametrize("dtype, rtol, atol", [("float32", 1e-4, 1e-4), ("mixed_bfloat16", 2e-2, 5e-2)])
def test_fused_training_step_equals_keras_batchnorm(dtype, rtol, atol):
    # Activations with a mean far from zero against their spread: where one-pass variance formulas lose digits.
    x = tf.constant(np.random.default_rng(0).normal(3.0, 0.5, (8, 5, 5, 16)).astype("float32"))
    fused, unfused = _run(True, dtype, x), _run(False, dtype, x)
    assert fused["output_dtype"] == unfused["output_dtype"] == keras.DTypePolicy(dtype).compute_dtype
    for key in ("output", "moving_mean", "moving_variance", "d_input", "d_gamma", "d_beta"):
        np.testing.assert_allclose(fused[key], unfused[key], rtol=rtol, atol=atol, err_msg=key)
    # The statistics are computed in float32 in both precisions: tight whatever the activations' dtype.
    np.testing.assert_allclose(fused["moving_variance"], unfused["moving_variance"], rtol=1e-4)


def test_the_fused_kernel_is_what_runs_in_training_only():
    layer = FusedBatchNormalization()
    x = tf.zeros((2, 3, 3, 4))
    assert layer._use_fused(x, training=True, mask=None)
    assert not layer._use_fused(x, training=False, mask=None)
    layer.fused = False
    assert not layer._use_fused(x, training=True, mask=None)
