"""Resume is exact wherever the interruption falls (issue 31), including a kill during the validation
that follows an epoch's last checkpoint: the resumed run must neither replay the epoch empty (a NaN
history row) nor end with other weights than the uninterrupted run."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from test_bad_input_training import tiny_data
from test_resume_safety import tiny_model

from dsan_tf.training import fit_resumable

EPOCHS = 3


class Killed(Exception):
    """Stands in for kill -9: nothing is saved on the way out."""


class KillDuringValidation(keras.callbacks.Callback):
    """Dies in the middle of the validation of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_test_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 1:
            raise Killed()


def validation():
    rng = np.random.default_rng(7)  # not the training data: the val_ columns must differ from the training ones
    x = rng.normal(size=(10, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 10)]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(4)


def run(folder, **kwargs):
    model = tiny_model()
    fit_resumable(model, tiny_data, EPOCHS, folder, validation_data=validation(), verbose=0, **kwargs)
    return model


@pytest.mark.parametrize("every", [1, 3])  # 3 steps an epoch: both place a checkpoint on the epoch's last step
def test_a_kill_during_validation_after_the_epochs_last_checkpoint_resumes_exactly(tmp_path, every):
    reference = run(tmp_path / "reference", checkpoint_every=every)
    with pytest.raises(Killed):
        run(tmp_path / "run", checkpoint_every=every, extra_callbacks=[KillDuringValidation(1)])
    resumed = run(tmp_path / "run", checkpoint_every=every, resume=True)

    assert int(resumed.optimizer.iterations) == int(reference.optimizer.iterations) == EPOCHS * 3
    for a, b in zip(reference.weights, resumed.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-6, err_msg=a.path)
    expected = pd.read_csv(tmp_path / "reference" / "history.csv")
    got = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(got["epoch"]) == [0, 1, 2]
    assert got.notna().all().all(), got
    pd.testing.assert_frame_equal(got, expected, rtol=1e-5)


def test_the_dsan_killed_during_validation_resumes_to_the_uninterrupted_weights(tmp_path, uninterrupted_run):
    """The DSAN of test_training (its own train_step, two optimisers, centre tracking): the issue saw final
    weights off by up to 0.19 after such a resume. Validation changes no weight, so the shared
    uninterrupted run (without validation) is the reference."""
    import test_training as tt

    rng = np.random.default_rng(11)
    x = rng.normal(size=(6, tt.SIZE, tt.SIZE, 3)).astype("float32")
    y = np.eye(tt.K, dtype="float32")[rng.integers(0, tt.K, 6)]
    val = tf.data.Dataset.from_tensor_slices((x, y)).batch(3)
    with pytest.raises(Killed):
        fit_resumable(tt.fresh_model(), tt.train_data, tt.EPOCHS, tmp_path, checkpoint_every=1, verbose=0,
                      validation_data=val, extra_callbacks=[KillDuringValidation(0)])
    resumed = tt.fresh_model()
    summary = fit_resumable(resumed, tt.train_data, tt.EPOCHS, tmp_path, checkpoint_every=1, verbose=0,
                            validation_data=val, resume=True)
    assert summary["resumed_from"] == {"epoch": 0, "step": tt.STEPS}
    assert int(resumed.optimizer.iterations) == tt.EPOCHS * tt.STEPS
    for a, b in zip(uninterrupted_run.weights, resumed.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5, err_msg=a.path)
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["epoch"]) == [0, 1] and history.notna().all().all(), history


# ---- round 10 blind mutants (issue 34)
def test_a_run_recorded_before_ema_and_teacher_labels_resumes_with_todays_defaults():
    """r10-runner-teacher-weight-old-default: a config.json written before ema_decay, teacher_labels and
    teacher_weight existed was made without an average and without a teacher, which today's defaults
    (0.0, None and the preset's 0.5, written here) say too: no difference, the resume goes on. A run
    that did record another weight still differs."""
    from dsan_tf.runner import configuration_differences

    old = {"dataset": "ferplus", "epochs": 3, "learning_rate": 1e-4}
    today = {**old, "ema_decay": 0.0, "teacher_labels": None, "teacher_weight": 0.5}
    assert configuration_differences(old, today) == ""
    assert configuration_differences({**old, "teacher_weight": 0.3}, today) == "teacher_weight: was 0.3, now 0.5"
