"""FusedAdam (issue 16) makes Keras' Adam update with one fused kernel: same numbers, same state.

Under a MirroredStrategy it is covered by tests/test_distribute.py, whose workers train with it.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dsan_tf.optimizers import FusedAdam

SHAPES = [(3, 3, 4, 8), (8,), (100,)]


def _train(optimizer_class, steps=5, **kwargs):
    rng = np.random.default_rng(0)
    initial = [rng.normal(size=s).astype("float32") for s in SHAPES]
    variables = [keras.Variable(w) for w in initial]
    gradients = [[tf.constant(rng.normal(size=s).astype("float32")) for s in SHAPES] for _ in range(steps)]
    optimizer = optimizer_class(keras.optimizers.schedules.CosineDecay(0.01, 10), **kwargs)

    @tf.function
    def step(grads):
        optimizer.apply(grads, variables)

    for grads in gradients:
        step(grads)
    return variables, optimizer, initial


@pytest.mark.parametrize("kwargs", [{}, {"epsilon": 1e-3, "beta_1": 0.8}, {"amsgrad": True}])
def test_fused_adam_updates_like_keras_adam(kwargs):
    keras_vars, keras_opt, initial = _train(keras.optimizers.Adam, **kwargs)
    fused_vars, fused_opt, _ = _train(FusedAdam, **kwargs)
    assert int(fused_opt.iterations) == int(keras_opt.iterations) == 5
    for a, b, w in zip(keras_vars, fused_vars, initial):
        assert np.abs(b.numpy() - w).min() > 1e-5  # every weight moved
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6, atol=1e-6)
    for a, b in zip(keras_opt.variables, fused_opt.variables):  # iterations, learning rate, m, v (and v_hat)
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-7, err_msg=a.path)


def test_the_fused_kernel_is_in_the_traced_step():
    variables = [keras.Variable(np.ones(4, "float32"))]
    optimizer = FusedAdam(0.1)
    step = tf.function(lambda g: optimizer.apply(g, variables))
    graph = step.get_concrete_function([tf.TensorSpec((4,), tf.float32)]).graph
    assert "ResourceApplyAdam" in {op.type for op in graph.get_operations()}


def test_a_keras_adam_checkpoint_restores_into_fused_adam(tmp_path):
    keras_vars, keras_opt, _ = _train(keras.optimizers.Adam)
    path = tf.train.Checkpoint(optimizer=keras_opt, variables=keras_vars).save(str(tmp_path / "ckpt"))
    fused_vars, fused_opt, _ = _train(FusedAdam, steps=1)
    tf.train.Checkpoint(optimizer=fused_opt, variables=fused_vars).restore(path).assert_existing_objects_matched()
    assert int(fused_opt.iterations) == 5
    for a, b in zip(keras_opt.variables, fused_opt.variables):
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))


def test_fused_adam_survives_serialisation():
    optimizer = FusedAdam(0.5, beta_2=0.99)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(again) is FusedAdam and again.get_config() == optimizer.get_config()
