"""Resumable training: an interrupted run resumed from its checkpoint ends where an uninterrupted one does."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dsan_tf.model import build_dsan
from dsan_tf.training import OptimiserSettings, compile_for_training, fit_resumable, learning_rate_schedule

K, SIZE, N, BATCH, EPOCHS = 3, 32, 12, 4, 2
STEPS = N // BATCH


class Crash(Exception):
    """Stands in for a killed process: nothing is saved on the way out."""


class CrashAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            raise Crash()


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, SIZE, SIZE, 3)).astype("float32")
    y = np.eye(K, dtype="float32")[rng.integers(0, K, N)]
    return x, y


def train_data(epoch):
    x, y = data()
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(N, seed=epoch).batch(BATCH)


def fresh_model():
    keras.utils.set_random_seed(3)
    model = build_dsan(K, SIZE, dtype="float32")
    model = compile_for_training(model, OptimiserSettings(schedule="exponential"), STEPS, EPOCHS)
    # Eager steps: these runs are a few steps long, and tracing the step costs more than running them.
    model.run_eagerly = True
    return model


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, uninterrupted_run):
    reference = uninterrupted_run  # fit_resumable(fresh_model(), ..., checkpoint_every=1), shared (conftest.py)

    crashed = fresh_model()
    with pytest.raises(Crash):
        # Dies at the 2nd step of the 2nd epoch; the last checkpoint is after its 1st step.
        fit_resumable(crashed, train_data, EPOCHS, tmp_path / "b", checkpoint_every=1, verbose=0,
                      extra_callbacks=[CrashAt(STEPS + 2)])
    resumed = fresh_model()
    summary = fit_resumable(resumed, train_data, EPOCHS, tmp_path / "b", resume=True, checkpoint_every=1, verbose=0)
    assert summary["resumed_from"] == {"epoch": 1, "step": 2}
    assert int(resumed.optimizer.iterations) == int(reference.optimizer.iterations) == EPOCHS * STEPS
    assert int(resumed.centre_optimizer.iterations) == EPOCHS * STEPS
    for a, b in zip(reference.weights, resumed.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, err_msg=a.path)


def test_resume_without_a_checkpoint_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit_resumable(fresh_model(), train_data, 1, tmp_path, resume=True, verbose=0)


def test_time_budget_stops_training_and_records_it(tmp_path):
    summary = fit_resumable(fresh_model(), train_data, EPOCHS, tmp_path, time_budget_s=1e-9, verbose=0)
    assert summary["stopped_by_time_budget"] and summary["epochs_completed"] == 0


def test_schedules():
    exp = learning_rate_schedule(OptimiserSettings(learning_rate=1e-3, decay_rate=0.6), steps_per_epoch=10, epochs=5)
    assert float(exp(9)) == pytest.approx(1e-3) and float(exp(10)) == pytest.approx(6e-4)
    cos = learning_rate_schedule(OptimiserSettings(schedule="cosine", warmup_epochs=1), steps_per_epoch=10, epochs=5)
    assert float(cos(0)) == pytest.approx(0.0) and float(cos(10)) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="unknown schedule"):
        learning_rate_schedule(OptimiserSettings(schedule="step"), 10, 5)


def test_keras_progress_line_counts_the_runs_epochs(tmp_path, capsys):
    """--verbose 2: each epoch is its own fit, yet the header says "Epoch 2/3", not Keras' "Epoch 2/2"."""
    fit_resumable(fresh_model(), train_data, 3, tmp_path, verbose=2)
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("Epoch ")] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
