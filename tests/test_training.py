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

# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def test_resume_may_change_the_time_budget_and_nothing_of_the_configuration():
    """resume-time-budget-counts-as-configuration: --time-budget-minutes (like --checkpoint-every) is how
    long to run, not what is trained: a resume with another budget is the same run."""
    from dsan_tf.runner import configuration_differences

    before = {"epochs": 3, "batch_size": 8, "time_budget_minutes": 5, "checkpoint_every": 10, "resume": False}
    after = {**before, "time_budget_minutes": 60, "checkpoint_every": 2, "resume": True}
    assert configuration_differences(before, after) == ""
    assert configuration_differences(before, {**after, "epochs": 4}) == "epochs: was 3, now 4"


def test_a_legacy_checkpoint_after_the_epochs_last_step_counts_as_trained():
    """resume-trained-epoch-needs-one-more-step: a checkpoint from before the epoch_trained record that has
    skipped all 4 batches of its epoch (4 of 4) follows the epoch's last step; 3 of 4 does not."""
    import types

    import tensorflow as tf

    from dsan_tf.training import _epoch_already_trained

    state = types.SimpleNamespace(epoch_trained=False)
    data = lambda epoch, context=None: tf.data.Dataset.range(4)  # noqa: E731 - 4 batches an epoch
    assert _epoch_already_trained(state, data, 0, 4, False, None)
    assert not _epoch_already_trained(state, data, 0, 3, False, None)
    assert _epoch_already_trained(state, data, 0, 4, True, 4) and not _epoch_already_trained(state, data, 0, 3, True, 4)
    assert _epoch_already_trained(types.SimpleNamespace(epoch_trained=True), data, 0, 1, False, None)


def test_the_step_checkpoint_sees_the_epochs_last_step():
    """resume-epoch-finished-one-step-late: a 3-batch epoch ends on batch index 2 (the third step); a resumed
    epoch that skipped 1 batch (a 2-batch fit) ends on index 1. The checkpoint saved there is marked as
    following the epoch's last step, so a resume validates it and trains nothing."""
    import types

    from dsan_tf.training import StepCheckpoint

    saves = []
    state = types.SimpleNamespace(save=lambda epoch, step, running=None, epoch_trained=False:
                                  saves.append((epoch, step, epoch_trained)))
    model = types.SimpleNamespace(metrics_variables=[])
    for first_step, steps in ((0, 3), (1, 2)):
        saves.clear()
        callback = StepCheckpoint(state, epoch=4, first_step=first_step, every=1)
        callback.set_model(model)
        callback.set_params({"steps": steps})
        finished = []
        for batch in range(steps):
            callback.on_train_batch_end(batch)
            finished.append(callback.epoch_finished)
        assert finished == [False] * (steps - 1) + [True]
        assert saves == [(4, first_step + i + 1, i == steps - 1) for i in range(steps)]


def test_cosine_with_warmup_reaches_zero_at_the_runs_last_step():
    """cosine-decay-ignores-warmup: 5 epochs of 10 steps, 1 warm-up epoch: the cosine runs over the 40 steps
    after the warm-up, 1e-3 * (1 + cos(pi * (s - 10) / 40)) / 2: 5e-4 at step 30, 0 at step 50."""
    import math

    cos = learning_rate_schedule(OptimiserSettings(schedule="cosine", warmup_epochs=1), steps_per_epoch=10, epochs=5)
    for step in (20, 30, 45, 50):
        assert float(cos(step)) == pytest.approx(1e-3 * (1 + math.cos(math.pi * (step - 10) / 40)) / 2, abs=1e-9)
    assert float(cos(50)) == pytest.approx(0.0, abs=1e-9)


# round 2 blind mutants (issue 34)

def what_training_is_given(monkeypatch, argv, epochs=3):
    """dsan train ARGV run up to its training, with fit_resumable replaced (no image read, no model built):
    the time budget and steps per epoch it hands to training, and the seed each of the first ``epochs``
    epochs' datasets is made with (the runner's train_data(epoch))."""
    from dsan_tf import runner
    from dsan_tf.cli.run import build_settings, parse_args

    monkeypatch.setattr(runner, "check_decodable", lambda *args, **kwargs: None)
    monkeypatch.setattr(runner, "build_model", lambda *args, **kwargs: object())
    seen = {}

    class Stop(Exception):
        pass

    def fake_fit(model, train_data, run_epochs, output_dir, *, steps_per_epoch, time_budget_s, **kwargs):
        seeds = []
        monkeypatch.setattr(runner, "make_dataset", lambda *args, **kw: seeds.append(kw["seed"]))
        for epoch in range(epochs):
            train_data(epoch)
        seen.update(budget=time_budget_s, steps=steps_per_epoch, seeds=seeds)
        raise Stop

    monkeypatch.setattr(runner, "fit_resumable", fake_fit)
    with pytest.raises(Stop):
        runner.train_and_evaluate(build_settings(parse_args(argv)))
    return seen


def test_each_epoch_has_its_own_seed_and_the_schedule_counts_the_last_partial_batch(tmp_path, monkeypatch):
    """The runner's train_data(epoch): seed * 1000 + epoch (epochs differ, a resume repeats them); the
    steps per epoch given to training count a last partial batch."""
    from dsan_tf.data.registry import load_dataset

    train_rows = len(load_dataset("ferplus").split("train"))
    assert train_rows % 64  # a partial last batch
    seen = what_training_is_given(monkeypatch, ["--dataset", "ferplus", "--image-size", "32", "--epochs", "3",
                                                "--batch-size", "64", "--seed", "7", "--verbose", "0",
                                                "--output", str(tmp_path / "run")])
    assert (seen["seeds"], seen["steps"]) == ([7000, 7001, 7002], -(-train_rows // 64))


def test_old_runs_compare_as_made_without_an_ema_and_an_ema_decay_of_0_is_allowed():
    from dsan_tf.runner import RunError, check_settings, configuration_differences

    before = {"epochs": 3, "batch_size": 8}  # a config.json written before --ema-decay existed
    assert configuration_differences(before, {**before, "ema_decay": 0.0}) == ""
    assert configuration_differences(before, {**before, "ema_decay": 0.5}) == "ema_decay: was 0.0, now 0.5"
    recorded = {**before, "ema_decay": 0.999}  # a run made with an EMA: its own decay, not the default
    assert configuration_differences(recorded, {**before, "ema_decay": 0.999}) == ""
    check_settings({"ema_decay": 0.0})  # 0: no EMA, the default
    check_settings({"ema_decay": 0.5})
    with pytest.raises(RunError, match="--ema-decay 1"):
        check_settings({"ema_decay": 1})


def test_after_a_mid_epoch_resume_the_checkpoints_count_the_steps_already_done(tmp_path, monkeypatch):
    """Resumed at step 1 of epoch 1 (of STEPS = 3): the two steps left are saved as steps 2 and 3, then the
    epoch's end as (epoch 1 done, step 0); counted from 0 they would be saved as steps 1 and 2, and a second
    resume would replay a seen batch."""
    from dsan_tf.training import TrainingState

    TrainingState(fresh_model(), tmp_path / "run" / "checkpoints").save(0, 1)
    saved = []
    save = TrainingState.save
    monkeypatch.setattr(TrainingState, "save",
                        lambda self, epoch, step, *a, **k: (saved.append((epoch, step)), save(self, epoch, step, *a, **k))[1])
    summary = fit_resumable(fresh_model(), train_data, 1, tmp_path / "run", resume=True, checkpoint_every=1, verbose=0)
    assert summary["resumed_from"] == {"epoch": 0, "step": 1}
    assert saved == [(0, 2), (0, 3), (1, 0)]


# ---- round 5 blind mutants (issue 34)
def test_step_checkpoints_fall_every_nth_step_counted_over_the_epoch():
    """r5-training-step-checkpoint-one-step-early: --checkpoint-every 2 over a 5-batch epoch saves after
    steps 2 and 4 (by hand: the multiples of 2 in 1..5); a resumed epoch that skipped 1 batch (4 batches
    left, steps 2..5) saves after steps 2 and 4 too: the step count, not the batch index, decides."""
    import types

    from dsan_tf.training import StepCheckpoint

    saves = []
    state = types.SimpleNamespace(save=lambda epoch, step, running=None, epoch_trained=False:
                                  saves.append(step))
    for first_step, steps in ((0, 5), (1, 4)):
        saves.clear()
        callback = StepCheckpoint(state, epoch=0, first_step=first_step, every=2)
        callback.set_model(types.SimpleNamespace(metrics_variables=[]))
        callback.set_params({"steps": steps})
        for batch in range(steps):
            callback.on_train_batch_end(batch)
        assert saves == [2, 4]


# ---- issue 34: line-by-line sweep (progress.py)


def test_the_compact_epoch_line_by_hand():
    """epoch_line: epoch counted from 1, loss to 4 places, accuracies as percentages with 2 places, whole seconds;
    '/total' only when the total is known (not None, not 0); missing fields left out."""
    from dsan_tf.progress import epoch_line

    logs = {"loss": 1.23456, "accuracy": 0.45678, "val_accuracy": 0.50123}
    assert epoch_line(2, 8, logs, 122.6) == "epoch 3/8: loss 1.2346, accuracy 45.68%, val accuracy 50.12%, 123 s"
    assert epoch_line(0, None, {}, 0.4) == "epoch 1: 0 s"
    assert epoch_line(0, 0, {"val_accuracy": 1.0}, 3.0) == "epoch 1: val accuracy 100.00%, 3 s"


def test_the_epoch_line_callback_prints_the_runs_epoch_count_and_the_epochs_time(monkeypatch, capsys):
    """EpochLine: run_epochs (the run's total) wins over the one-epoch fit's params['epochs']; the time is end
    minus begin; no stream given: standard output; an epoch ended without a beginning takes 0 s."""
    import io

    from dsan_tf import progress

    clock = [100.0, 107.6, 200.0, 200.2]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock.pop(0) if clock else 500.0)
    out = io.StringIO()
    line = progress.EpochLine(stream=out, progress_bar=False)
    line.set_params({"epochs": 1, "steps": 3})
    line.run_epochs = 10
    line.on_epoch_begin(2)
    line.on_epoch_end(2, {"loss": 0.5})
    line.run_epochs = None
    line.on_epoch_begin(0)
    line.on_epoch_end(0, None)
    assert out.getvalue() == "epoch 3/10: loss 0.5000, 8 s\nepoch 1/1: 0 s\n"
    plain = progress.EpochLine(progress_bar=False)
    plain.on_epoch_end(4, {"accuracy": 0.25})
    assert capsys.readouterr().out == "epoch 5: accuracy 25.00%, 0 s\n"


def test_the_epoch_progress_bar_counts_steps_only_on_a_terminal(monkeypatch):
    """A bar over the epoch's steps on standard error when that is a terminal (progress_bar=None), never when it
    is not or when progress_bar=False; closed and dropped at the epoch's end."""
    import io
    import sys

    from dsan_tf.progress import EpochLine, _is_terminal

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    line = EpochLine(stream=io.StringIO())
    line.set_params({"epochs": 2, "steps": 4})
    line.on_epoch_begin(1)
    for step in range(4):
        line.on_train_batch_end(step)
    bar = line._bar
    assert (bar.total, bar.n, bar.desc) == (4, 4, "epoch 2") and "epoch 2" in terminal.getvalue()
    line.on_epoch_end(1, {})
    assert line._bar is None and bar.disable
    off = EpochLine(stream=io.StringIO(), progress_bar=False)
    off.on_epoch_begin(0)
    assert off._bar is None
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    line.on_epoch_begin(0)
    assert line._bar is None
    closed = io.StringIO()
    closed.close()
    assert _is_terminal(object()) is False and _is_terminal(closed) is False and _is_terminal(Terminal()) is True


def test_verbose_1_is_the_compact_line_alone_and_0_and_2_are_keras_own():
    from dsan_tf.progress import EpochLine, fit_verbosity

    keras_verbose, callbacks = fit_verbosity(1)
    assert keras_verbose == 0 and [type(callback) for callback in callbacks] == [EpochLine]
    assert fit_verbosity(0) == (0, []) and fit_verbosity(2) == (2, [])
