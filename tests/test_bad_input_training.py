"""Training and run.py against careless use (issue 13): Ctrl-C, two runs in one directory, failures
before the first checkpoint, eval-only over a training run, corrupt images, bad flags and lists.

Every user-caused failure must be one line (``error: ...``), a non-zero exit, no traceback, and
must leave nothing that a rerun or ``--resume`` trips over.
"""

import fcntl
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
import script_loader
import tensorflow as tf
from test_data_ferplus import RAW_ROWS, make_folders, write_raw_pair
from test_data_readers import make_affectnet, make_rafdb
from test_run import FAST, run_cli  # noqa: F401  (run_cli is a fixture)
from test_training import EPOCHS, STEPS, fresh_model, train_data

from dsan_tf import runner, training
from dsan_tf.data import SAMPLE_FERPLUS_DIR, load_dataset
from dsan_tf.data.errors import DataError
from dsan_tf.training import fit_resumable

BOM = b"\xef\xbb\xbf"


def train_args(out, *extra):
    return ["--dataset", "ferplus", "--output", str(out), *FAST, *extra]


def refused(run_cli, argv, match):
    """dsan train's one-line error for ``argv``; checks it is a single ``error: ...`` line."""
    return script_loader.refused(run_cli.main, argv, match)


class Stop(BaseException):  # not an Exception: the command line's error boundary lets it through
    """Ends a run at fit_resumable, once the runner has decided and checked everything."""


@pytest.fixture
def fit_calls(monkeypatch):
    """Replaces training by a recorder that stops the run: tests of what happens before training."""
    calls = []

    def fake_fit(*args, **kwargs):
        calls.append(kwargs)
        raise Stop()

    monkeypatch.setattr(runner, "fit_resumable", fake_fit)
    return calls


# ------------------------------------------------------------------ 3. Ctrl-C, then --resume

@pytest.fixture(autouse=True)
def python_handles_sigint():
    """Python's own SIGINT handler (KeyboardInterrupt) during each test, restored after it: pytest
    started with SIGINT ignored (a background job of a script, nohup) would otherwise never see
    the real SIGINTs these tests send."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def sigint_after_optimizer_steps(model, at_step, signals=1):
    """Send real SIGINTs right after the optimisers applied step ``at_step`` (counted over the whole
    run), before Keras' callbacks count it: where a Ctrl-C lands when the step takes the time."""
    model.make_train_function()  # fit() keeps an existing train_function
    step_function = model.train_function
    done = 0

    def train_function(iterator):
        nonlocal done
        logs = step_function(iterator)
        done += 1
        if done == at_step:
            for _ in range(signals):
                os.kill(os.getpid(), signal.SIGINT)
        return logs

    model.train_function = train_function


def assert_same_weights(model, reference):
    for weight, expected in zip(model.weights, reference.weights):
        np.testing.assert_allclose(weight.numpy(), expected.numpy(), atol=1e-5, err_msg=weight.path)


def test_ctrl_c_checkpoints_the_step_the_weights_hold(tmp_path, uninterrupted_run):
    # The uninterrupted run of the same model and data (conftest.py; shared with test_training,
    # which trains it with checkpoint_every=1: checkpoints do not change the weights).
    reference = uninterrupted_run

    model = fresh_model()
    sigint_after_optimizer_steps(model, STEPS + 2)  # after the 2nd step of the 2nd epoch was applied
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt) as stop:
        fit_resumable(model, train_data, EPOCHS, tmp_path / "run", checkpoint_every=0, verbose=0)
    assert stop.value.position == (1, 2) and stop.value.saved_now
    assert signal.getsignal(signal.SIGINT) is handler  # Ctrl-C is itself again
    # The resume restores every weight and both optimisers from the checkpoint; reusing the model
    # only saves tracing its step again (test_training's kill test resumes into a new model).
    summary = fit_resumable(model, train_data, EPOCHS, tmp_path / "run", resume=True, checkpoint_every=0, verbose=0)
    assert summary["resumed_from"] == {"epoch": 1, "step": 2}
    assert int(model.optimizer.iterations) == int(model.centre_optimizer.iterations) == EPOCHS * STEPS
    assert_same_weights(model, reference)


def tiny_model():
    """A two-layer model: fit_resumable's stop paths do not depend on the DSAN, and it traces in a second."""
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    model.compile(keras.optimizers.Adam(0.05), keras.losses.CategoricalCrossentropy(from_logits=True))
    return model


def tiny_data(epoch, nan_targets=False):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 12)]
    if nan_targets:  # (NaN inputs are not enough: oneDNN's ReLU turns NaN into 0)
        y[:] = np.nan
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(12, seed=epoch).batch(4)


def test_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(tmp_path):
    reference = tiny_model()
    fit_resumable(reference, tiny_data, 2, tmp_path / "reference", checkpoint_every=0, verbose=0)
    model = tiny_model()
    sigint_after_optimizer_steps(model, 5, signals=2)
    with pytest.raises(KeyboardInterrupt) as stop:
        fit_resumable(model, tiny_data, 2, tmp_path / "run", checkpoint_every=1, verbose=0)
    # The interrupted step was applied but not counted: the step before it is where to resume.
    assert stop.value.position == (1, 1) and not stop.value.saved_now
    resumed = tiny_model()
    summary = fit_resumable(resumed, tiny_data, 2, tmp_path / "run", resume=True, checkpoint_every=1, verbose=0)
    assert summary["resumed_from"] == {"epoch": 1, "step": 1}
    assert_same_weights(resumed, reference)


def test_ctrl_c_on_an_epochs_last_step_lets_the_epoch_end(tmp_path):
    model = tiny_model()
    sigint_after_optimizer_steps(model, 3)  # the last of the first epoch's 3 steps
    with pytest.raises(KeyboardInterrupt) as stop:
        fit_resumable(model, tiny_data, 2, tmp_path, checkpoint_every=0, verbose=0)
    # Saved as a finished epoch (not "all 3 steps done", which a resume would replay as an empty epoch).
    assert stop.value.position == (1, 0)
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 2  # header + the epoch's row


def test_ctrl_c_in_run_py_is_one_line_saying_how_to_resume(run_cli, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise training.TrainingInterrupted((0, 3), saved_now=True)

    monkeypatch.setattr(runner, "fit_resumable", interrupted)
    out = tmp_path / "run"
    assert run_cli.main(train_args(out)) == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "checkpoint saved at epoch 1, step 3" in lines[0]
    assert f"--output {out}" in lines[0] and lines[0].endswith("--resume") and "dsan train --dataset ferplus" in lines[0]


# ------------------------------------------------------------------ 10. NaN loss

def test_nan_loss_stops_training_before_the_nan_step_is_checkpointed(tmp_path):
    with pytest.raises(training.TrainingDiverged, match="loss became nan in epoch 1.*--learning-rate"):
        fit_resumable(tiny_model(), lambda epoch: tiny_data(epoch, nan_targets=True), 2, tmp_path, checkpoint_every=1, verbose=0)
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")) is None


def test_run_py_reports_a_diverged_run_as_an_error_not_a_result(run_cli, tmp_path, monkeypatch):
    def diverged(*args, **kwargs):
        raise training.TrainingDiverged("the training loss became nan in epoch 1: training stopped")

    monkeypatch.setattr(runner, "fit_resumable", diverged)
    out = tmp_path / "run"
    refused(run_cli, train_args(out), "error: the training loss became nan")
    assert not (out / "metrics.json").exists() and not (out / "model.keras").exists()


# ------------------------------------------------------------------ 4. one run per directory

def test_a_run_directory_in_use_is_refused(run_cli, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with open(runner.lock_file(out), "a") as held:  # another run's lock (flock locks belong to open files)
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        refused(run_cli, train_args(out), f"error: {out} is in use by another run")
    assert list(out.iterdir()) == []


def test_the_lock_of_a_killed_run_does_not_block(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(600)", str(runner.lock_file(out))],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(runner.RunError, match="in use by another run"):
            with runner.locked_run_directory(out):
                pass
    finally:
        holder.kill()  # as kill -9
        holder.wait()
    with runner.locked_run_directory(out):
        assert runner.start_or_resume(out, {"resume": False}) is False  # the lock file alone is "empty"


# ------------------------------------------------------------------ 6. failures before the first checkpoint

def test_resume_before_the_first_checkpoint_starts_over(run_cli, tmp_path, fit_calls, caplog):
    out = tmp_path / "run"
    with pytest.raises(Stop):  # as a run killed in its first steps: config.json, no checkpoint
        run_cli.main(train_args(out))
    assert (out / "config.json").is_file() and not (out / "checkpoints").exists()
    with caplog.at_level(logging.WARNING), pytest.raises(Stop):
        run_cli.main(train_args(out, "--resume"))
    assert fit_calls[-1]["resume"] is False
    assert "has no checkpoint (the run stopped before its first one): starting it over" in caplog.text


@pytest.mark.parametrize("flags, message", [
    # (refused by the flags' validators, dsan_tf.cli.validators, before the run's own checks)
    (["--image-size", "16"], re.escape("argument --image-size: expected an integer in [32, 512], got '16'")),
    # (F and r: by the run's own checks, before any data is read)
    (["--split-num", "3"], re.escape("--split-num 3: expected a divisor of the trunk's 512 channels")),
    (["--split-num", "512", "--reduction", "2"], re.escape("--reduction 2: expected an integer in [1, 1] "
                                                           "(512 channels / --split-num 512)")),
    (["--alpha", "2"], re.escape("argument --alpha: expected a finite number in [0, 1], got '2'")),
    (["--reduction", "0"], re.escape("argument --reduction: expected an integer in [1, 512], got '0'")),
    (["--batch-size", "0"], re.escape("argument --batch-size: expected an integer in [1, 1024], got '0'")),
    (["--epochs", "0"], re.escape("argument --epochs: expected an integer in [1, 100000], got '0'")),
    (["--lr", "nan"], re.escape("argument --learning-rate/--lr: expected a finite number in (0, 10], got 'nan'")),
    (["--centre-momentum", "1"], re.escape("argument --centre-momentum: expected a finite number in [0, 1), got '1'")),
])
def test_bad_flags_are_one_line_errors_and_leave_nothing(run_cli, tmp_path, flags, message):
    out = tmp_path / "run"
    refused(run_cli, train_args(out, *flags), message)
    assert not out.exists()


def test_bad_starting_weights_are_one_line_errors_and_write_no_config(run_cli, tmp_path):
    text = tmp_path / "weights.txt"
    text.write_text("not weights\n")
    out = tmp_path / "run"
    out.mkdir()  # an existing (empty) directory is kept, but nothing is written into it
    refused(run_cli, train_args(out, "--init-from", str(text)), f"error: {text}: ")
    assert list(out.iterdir()) == []  # not even the run's lock file stays behind
    pytest.importorskip("torch")
    refused(run_cli, train_args(out, "--backbone-weights", str(text)), f"error: --backbone-weights {text}: ")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("where, message", [
    ("file", "is a file"),
    ("proc", "cannot"),
    ("inside data", "lies inside the input folder"),
])
def test_odd_output_paths_are_one_line_errors(run_cli, tmp_path, where, message):
    if where == "file":
        out = tmp_path / "a-file"
        out.write_text("keep me\n")
    elif where == "proc":
        out = "/proc/dsan-tf-test/run"
    else:
        (tmp_path / "data").mkdir()
        out = tmp_path / "data" / "run"
    argv = train_args(out) + (["--data-dir", str(tmp_path / "data")] if where == "inside data" else [])
    refused(run_cli, argv, message)
    if where == "file":
        assert (tmp_path / "a-file").read_text() == "keep me\n"
    if where == "inside data":
        assert not out.exists()


# ------------------------------------------------------------------ 7. eval-only over a training run

def test_eval_only_refuses_a_training_run_directory(run_cli, tmp_path):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    config = json.dumps({"settings": {"dataset": "ferplus", "eval_only": False}})
    (out / "config.json").write_text(config)
    (out / "model.keras").write_bytes(b"the trained model")
    refused(run_cli, ["--dataset", "ferplus", "--eval-only", "--weights", str(out / "model.keras"),
                      "--output", str(out)], "holds a training run.*another --output")
    assert (out / "config.json").read_text() == config and not (out / "metrics.json").exists()


# ------------------------------------------------------------------ 9. a corrupt image in the training set

def test_a_corrupt_training_image_is_named_before_training_and_leaves_no_cache(run_cli, tmp_path):
    shutil.copytree(SAMPLE_FERPLUS_DIR, tmp_path / "data")
    bad = sorted((tmp_path / "data" / "FER2013Train").glob("*.png"))[200]
    bad.write_bytes(bad.read_bytes()[:300])  # a good PNG signature, a truncated body
    out = tmp_path / "run"
    refused(run_cli, train_args(out, "--data-dir", str(tmp_path / "data")),
            f"error: {bad}: not a decodable image \\(Invalid PNG data")
    assert not (out / "checkpoints").exists()
    assert not list((out / "cache").glob("*.index"))  # an incomplete cache is never finalised


def test_decode_check_fills_the_cache_once_and_names_the_file(tmp_path):
    from dsan_tf.data.pipeline import check_decodable

    table = load_dataset("ferplus").split("valid")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    broken = table.assign(path=[str(tmp_path / "bad.png") if i == 7 else p for i, p in enumerate(table["path"])])
    with pytest.raises(DataError, match="bad.png: not a decodable image"):
        check_decodable(broken, 32, str(tmp_path / "cache"))
    assert not list(tmp_path.glob("cache*"))
    check_decodable(table, 32, str(tmp_path / "cache"), per_class=8)
    assert len(list(tmp_path.glob("cache.class*.index"))) == len(set(table["label"]))


# ------------------------------------------------------------------ 11. subset lists before training

@pytest.mark.parametrize("listing, message", [
    (None, "subset list not found"),
    ("0/fer9999999.jpg\n", "none of the 1 names"),
    ("not a list line at all\n", "expected one of"),
])
def test_bad_subset_lists_are_refused_before_training(run_cli, tmp_path, fit_calls, listing, message):
    path = tmp_path / "pose.txt"
    if listing is not None:
        path.write_text(listing)
    out = tmp_path / "run"
    refused(run_cli, train_args(out, "--subset", f"pose={path}"), message)
    assert not fit_calls and not (out / "config.json").exists()


# ------------------------------------------------------------------ 13. BOM in label files, devices

def add_bom(path):
    path.write_bytes(BOM + path.read_bytes())


def test_label_files_with_a_byte_order_mark_are_read(tmp_path):
    add_bom(make_folders(tmp_path / "ferplus") / "FER2013Train" / "label.csv")
    assert load_dataset("ferplus", tmp_path / "ferplus").split("train")["name"].iloc[0] == "fer0000000.png"

    (tmp_path / "raw").mkdir()
    write_raw_pair(tmp_path / "raw", RAW_ROWS)
    add_bom(tmp_path / "raw" / "fer2013new.csv")
    add_bom(tmp_path / "raw" / "fer2013.csv")
    assert "fer0000000.png" in set(load_dataset("ferplus", tmp_path / "raw").table["name"])

    make_rafdb(tmp_path / "rafdb", ["train_00001.jpg 5", "test_0001.jpg 7"])
    add_bom(tmp_path / "rafdb" / "EmoLabel" / "list_patition_label.txt")
    assert load_dataset("rafdb", tmp_path / "rafdb").table["name"].iloc[0] == "train_00001.jpg"

    make_affectnet(tmp_path / "affectnet", [0, 1], [2])
    add_bom(tmp_path / "affectnet" / "training.csv")  # with its header line
    add_bom(tmp_path / "affectnet" / "validation.csv")  # without one
    assert load_dataset("affectnet8", tmp_path / "affectnet").split("train")["label"].tolist() == [0, 1]


def test_devices_that_do_not_exist_are_refused(run_cli, tmp_path):
    from dsan_tf.distribute import check_devices

    with pytest.raises(ValueError, match="/gpu:99 is not a device of this machine; it has .*CPU:0"):
        check_devices(["/cpu:0", "/gpu:99"])
    with pytest.raises(ValueError, match="bogus is not a device"):
        check_devices(["bogus"])
    check_devices(["/cpu:0", "CPU:0"])
    refused(run_cli, train_args(tmp_path / "run", "--devices", "/gpu:99"), "error: --devices: /gpu:99 is not a device")
