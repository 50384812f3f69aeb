"""EMA of the weights (dsan train --ema-decay, dsan_tf/ema.py): the average after each step is the plain
recurrence over the weights the steps left, through fit and the multi-worker loop alike; it survives the
per-epoch fits and an interrupted-and-resumed run; model.keras holds it, model-last.keras the last step."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from script_loader import command

import test_training as tt
from dsan_tf.ema import UpdateAverage, WeightAverage
from dsan_tf.training import fit_resumable

DECAY = 0.3  # below the warm-up's (1+n)/(10+n) for n < 4, above it after: both sides of the min are used


class Recurrence(keras.callbacks.Callback):
    """The EMA computed independently, in float64 NumPy, from the weights recorded after each step."""

    def __init__(self, model, decay):
        super().__init__()
        self.decay, self.n = decay, 0
        self.variables = [w for w in model.weights if "float" in str(w.dtype)]
        self.shadows = [np.asarray(w.numpy(), np.float64) for w in self.variables]

    def on_train_batch_end(self, batch, logs=None):
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        self.shadows = [d * s + (1 - d) * np.asarray(w.numpy(), np.float64) for s, w in zip(self.shadows, self.variables)]
        self.n += 1


def dsan_with_average(decay=DECAY):
    model = tt.fresh_model()
    return model, WeightAverage(model, decay)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """test_training's DSAN (32 px, 3 steps an epoch, 2 epochs) with an EMA, checkpointed every step."""
    model, average = dsan_with_average()
    recurrence = Recurrence(model, DECAY)
    fit_resumable(model, tt.train_data, tt.EPOCHS, tmp_path_factory.mktemp("ema"), checkpoint_every=1, verbose=0,
                  extra_callbacks=[recurrence], ema=average)
    return model, average, recurrence


def test_the_average_after_every_step_is_the_recurrence_over_the_recorded_weights(uninterrupted):
    model, average, recurrence = uninterrupted
    assert int(average.updates) == recurrence.n == tt.EPOCHS * tt.STEPS
    paths = [w.path for w in recurrence.variables]
    # trainable weights, BatchNorm's moving statistics and the class centres are all averaged
    assert any("moving_mean" in p for p in paths) and any("moving_variance" in p for p in paths)
    assert any("class_centres" in p for p in paths) and len(average.shadows) == len(paths)
    moved = 0.0
    for shadow, expected, weight in zip(average.shadows, recurrence.shadows, recurrence.variables):
        np.testing.assert_allclose(shadow.numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=weight.path)
        moved = max(moved, float(np.max(np.abs(expected - weight.numpy()))))
    assert moved > 1e-3, "the average equals the last weights: the comparison would be vacuous"


class Crash(Exception):
    """Stands in for a killed process: nothing is saved on the way out."""


def test_a_resumed_run_ends_with_the_average_of_the_uninterrupted_run(tmp_path, uninterrupted):
    _, reference, _ = uninterrupted
    model, average = dsan_with_average()
    with pytest.raises(tt.Crash):  # dies after the 2nd step of the 2nd epoch, its checkpoint written
        fit_resumable(model, tt.train_data, tt.EPOCHS, tmp_path, checkpoint_every=1, verbose=0,
                      extra_callbacks=[tt.CrashAt(tt.STEPS + 2)], ema=average)
    model, average = dsan_with_average()  # a new process: shadows of fresh weights until the restore
    summary = fit_resumable(model, tt.train_data, tt.EPOCHS, tmp_path, resume=True, checkpoint_every=1, verbose=0,
                            ema=average)
    assert summary["resumed_from"] == {"epoch": 1, "step": 2}
    assert int(average.updates) == int(reference.updates) == tt.EPOCHS * tt.STEPS
    for got, expected in zip(average.shadows, reference.shadows):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5, err_msg=expected.name)


def test_the_multi_worker_loop_updates_the_average_too(tmp_path, monkeypatch):
    """fit_resumable's distributed_train path (forced here under the default strategy) drives the same update."""
    from test_bad_input_training import tiny_data
    from test_resume_safety import tiny_model

    import dsan_tf.distribute as distribute

    monkeypatch.setattr(distribute, "needs_custom_loop", lambda strategy: True)
    model = tiny_model()
    average = WeightAverage(model, 0.5)
    recurrence = Recurrence(model, 0.5)
    fit_resumable(model, lambda epoch, context=None: tiny_data(epoch).repeat(), 2, tmp_path,
                  strategy=tf.distribute.get_strategy(), steps_per_epoch=3, verbose=0, extra_callbacks=[recurrence],
                  ema=average)
    assert int(average.updates) == recurrence.n == 6
    for shadow, expected in zip(average.shadows, recurrence.shadows):
        np.testing.assert_allclose(shadow.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_a_decay_outside_0_1_makes_no_average():
    model = tt.fresh_model()
    for decay in (0.0, 1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="decay"):
            WeightAverage(model, decay)


# ------------------------------------------------------------------ the flag and the settings

@pytest.mark.parametrize("value", ["1", "-0.1", "nan", "inf", "1.5"])
def test_the_flag_refuses_what_is_no_decay(value, capsys):
    from dsan_tf.cli.run import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--dataset", "ferplus", "--ema-decay", value])
    assert "--ema-decay" in capsys.readouterr().err


def test_the_flag_defaults_to_off_and_is_a_recorded_setting():
    from dsan_tf.cli.run import build_settings, parse_args
    from dsan_tf.runner import RunError, check_settings, configuration_differences

    off = build_settings(parse_args(["--dataset", "ferplus"]))
    assert off["ema_decay"] == 0
    on = build_settings(parse_args(["--dataset", "ferplus", "--ema-decay", "0.999"]))
    assert on["ema_decay"] == 0.999
    assert build_settings(parse_args(["--dataset", "ferplus", "--ema-decay", "0"]))["ema_decay"] == 0
    assert "ema_decay: was 0.999, now 0.99" in configuration_differences(on, {**on, "ema_decay": 0.99})
    assert "ema_decay" in configuration_differences(off, on)
    # a run recorded before the flag existed had no EMA: it resumes without one, not with one
    before = {k: v for k, v in off.items() if k != "ema_decay"}
    assert configuration_differences(before, off) == ""
    assert "ema_decay: was 0.0, now 0.999" in configuration_differences(before, on)
    with pytest.raises(RunError, match="--ema-decay 1.0"):
        check_settings({"ema_decay": 1.0})
    check_settings({"ema_decay": 0.0})


# ------------------------------------------------------------------ dsan train end to end

CLASSES = ("anger", "joy", "calm")


def folder_dataset(root):
    """Non-square noise images, uneven classes: train 5/7/4, test 3/2/4."""
    rng = np.random.default_rng(4)
    for split, counts in (("train", (5, 7, 4)), ("test", (3, 2, 4))):
        for name, count in zip(CLASSES, counts):
            (root / split / name).mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (37, 44, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{i}.png")
    return root


def train(tmp_path, *flags, epochs=2):
    data = folder_dataset(tmp_path / "data")
    out = tmp_path / "run"
    status = command("train")(["--dataset", "folder", "--data-dir", data, "--output", out, "--preset", "smoke",
                               "--image-size", "32", "--epochs", str(epochs), "--batch-size", "6", "--verbose", "0",
                               "--checkpoint-every", "1", *flags])
    assert status == 0
    return data, out


def loaded(path, data):
    """(float weights, accuracy on the test split from its own predictions) of the model in ``path``."""
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.inference import load_dsan

    model = load_dsan(path)
    table = load_dataset("folder", data).split("test")
    probabilities = model.predict(make_dataset(table, 3, 32, 4, training=False), verbose=0)["probabilities"]
    accuracy = float(np.mean(np.argmax(probabilities, axis=-1) == table["label"].to_numpy()))
    return [w.numpy() for w in model.weights if "float" in str(w.dtype)], accuracy


def test_dsan_train_ships_the_average_and_scores_both(tmp_path):
    data, out = train(tmp_path, "--ema-decay", "0.5")
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["ema_decay"] == 0.5
    # model.keras holds the shadows of the last checkpoint (read with TensorFlow's own reader), not the weights
    reader = tf.train.load_checkpoint(str(out / "checkpoints"))
    (averaged, accuracy), (last, last_accuracy) = loaded(out / "model.keras", data), loaded(out / "model-last.keras", data)
    for i, weight in enumerate(averaged):
        np.testing.assert_allclose(weight, reader.get_tensor(f"ema/shadows/{i}/.ATTRIBUTES/VARIABLE_VALUE"),
                                   atol=1e-7)
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(averaged, last)) > 1e-3
    assert int(reader.get_tensor("ema/updates/.ATTRIBUTES/VARIABLE_VALUE")) == 2 * 3  # 16 images, batch 6
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["accuracy"] == pytest.approx(accuracy)
    assert metrics["last_weights_accuracy"] == pytest.approx(last_accuracy)
    assert 0 <= metrics["last_weights_mean_class_accuracy"] <= 1
    assert "EMA" in metrics["training"]["model_selection"]


# Without --ema-decay a run keeps no average: tests/test_run.py::test_smoke_run_writes_every_output checks it on
# its smoke run (no ema/ variables in the checkpoint, no model-last.keras, "last epoch" selection).


# ------------------------------------------------------------------ lines its own tests never ran (issue 34)


def test_the_warm_up_and_the_decay_by_hand_on_a_two_weight_model():
    """A Dense(1) on 1 input (kernel, bias) and decay 0.5: the n-th update (n from 0) uses
    min(0.5, (1 + n) / (10 + n)): 0.1, 2/11, 3/12, ..., 8/17 for n = 0..7, then 0.5 from n = 8 (9/18).
    The weights are set to 1, 2, ..., 10 before the updates; the shadows start at the starting weights
    (kernel 3, bias -1). variables() is the shadows then the update count (what is checkpointed)."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    kernel, bias = model.weights
    kernel.assign([[3.0]])
    bias.assign([-1.0])
    average = WeightAverage(model, 0.5)
    callback = UpdateAverage(average)  # what fit calls after each batch
    expected = [3.0, -1.0]
    for n in range(10):
        value = float(n + 1)
        kernel.assign([[value]])
        bias.assign([value])
        callback.on_train_batch_end(n)
        d = min(0.5, (1 + n) / (10 + n))
        expected = [d * e + (1 - d) * value for e in expected]
    assert [d for d in (min(0.5, (1 + n) / (10 + n)) for n in range(10))][7:] == [8 / 17, 0.5, 0.5]
    shadows = [float(np.ravel(s.numpy())[0]) for s in average.shadows]
    assert shadows == pytest.approx(expected, rel=1e-6) and int(average.updates) == 10
    variables = average.variables()
    assert len(variables) == 3 and variables[-1] is average.updates
    assert [v is s for v, s in zip(variables, average.shadows)] == [True, True]
    average.copy_to_model()
    assert [float(kernel.numpy()[0, 0]), float(bias.numpy()[0])] == pytest.approx(expected, rel=1e-6)
