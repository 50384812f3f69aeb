"""Training state and run folders under damage (issue 24): what --resume finds, keeps and refuses.

- a damaged latest checkpoint: --resume falls back to the newest that restores and names it;
- a missing ``checkpoints/checkpoint`` state file: the ckpt-N on disk are found, none deleted;
- a killed or failed checkpoint write: its ``ckpt-N_temp`` is removed at the next start;
- a full disk: one line saying how much space a checkpoint needs;
- Ctrl-C and --resume: the interrupted epoch's history row covers the whole epoch;
- run folders (cases 4-7): the folder's marker decides what --resume and --eval-only may touch.
"""

import hashlib
import json
import signal

import numpy as np
import pytest
import tensorflow as tf
from test_bad_input_training import sigint_after_optimizer_steps, tiny_data
from test_bad_input_training import tiny_model as traced_tiny_model

from dsan_tf import runner, training
from dsan_tf.outputs import MARKER
from dsan_tf.training import CheckpointError, TrainingState, fit_resumable


@pytest.fixture(autouse=True)
def python_handles_sigint():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def tiny_model():
    """test_bad_input_training's two-layer model, run eagerly: a few steps cost less than tracing them."""
    model = traced_tiny_model()
    model.run_eagerly = True
    return model


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != runner.LOCK_FILE}


def trained(folder, epochs=1):
    """A tiny run with a checkpoint after each of its 3 steps per epoch (ckpt-1 .. ckpt-3 for one epoch,
    the manager keeping the last two)."""
    model = tiny_model()
    fit_resumable(model, tiny_data, epochs, folder, checkpoint_every=1, verbose=0)
    return model


def ckpt_files(folder):
    return sorted(p.name for p in (folder / "checkpoints").iterdir() if p.name.startswith("ckpt-"))


# ------------------------------------------------------------------ damaged and missing checkpoints
@pytest.mark.parametrize("damage", ["truncated data", "empty index"])
def test_resume_falls_back_to_the_newest_checkpoint_that_restores(tmp_path, damage, caplog):
    trained(tmp_path)  # 3 steps + the epoch's end: ckpt-3 (step 3), ckpt-4 (epoch 1 done)
    newest = max(training.checkpoint_numbers(tmp_path / "checkpoints"))
    prefix = tmp_path / "checkpoints" / f"ckpt-{newest}"
    if damage == "truncated data":
        (data,) = prefix.parent.glob(f"{prefix.name}.data-*")
        data.write_bytes(data.read_bytes()[:40])
    else:
        prefix.with_suffix(".index").write_bytes(b"")
    before = set(ckpt_files(tmp_path))
    state = TrainingState(tiny_model(), tmp_path / "checkpoints")
    with caplog.at_level("WARNING"):
        position = state.restore_latest()
    assert position == (0, 3)  # the step checkpoint before the damaged epoch-end one
    assert f"ckpt-{newest}" in caplog.text and "damaged" in caplog.text
    assert set(ckpt_files(tmp_path)) == before  # the damaged one is kept, for the user to look at
    state.save(1, 0)  # numbered after the damaged one: nothing is written over it
    assert f"ckpt-{newest + 1}.index" in ckpt_files(tmp_path)


def test_no_checkpoint_restoring_is_one_line(tmp_path):
    trained(tmp_path)
    for index in (tmp_path / "checkpoints").glob("*.index"):
        index.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"no checkpoint in .* restores \(ckpt-4: .*; ckpt-3: .*\); they are kept"):
        TrainingState(tiny_model(), tmp_path / "checkpoints").restore_latest()


def test_a_missing_checkpoint_state_file_loses_nothing(tmp_path):
    """--resume said 'starting it over' and deleted the intact ckpt-3 / ckpt-4."""
    out = tmp_path / "run"
    out.mkdir()
    settings = {"resume": False, "dataset": "ferplus", "epochs": 2}
    with runner.locked_run_directory(out):
        assert runner.start_or_resume(out, settings) is False
    (out / MARKER).write_text(json.dumps({"kind": "run", "command": "train"}) + "\n")
    (out / "config.json").write_text(json.dumps({"settings": settings}))
    trained(out)
    (out / "checkpoints" / "checkpoint").unlink()
    kept = ckpt_files(out)
    with runner.locked_run_directory(out):
        assert runner.start_or_resume(out, {**settings, "resume": True}) is True
    summary = fit_resumable(tiny_model(), tiny_data, 2, out, resume=True, checkpoint_every=0, verbose=0)
    assert summary["resumed_from"] == {"epoch": 1, "step": 0}
    assert set(kept) <= set(ckpt_files(out))


# ------------------------------------------------------------------ temporaries and full disks
def test_a_killed_checkpoint_write_is_cleaned_at_the_next_start(tmp_path):
    trained(tmp_path)
    leftovers = [tmp_path / "checkpoints" / "ckpt-5_temp", tmp_path / "checkpoints" / "checkpoint.tmp0123abcd"]
    leftovers[0].mkdir()
    (leftovers[0] / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 4096)
    leftovers[1].write_text("half a state file")
    fit_resumable(tiny_model(), tiny_data, 2, tmp_path, resume=True, checkpoint_every=0, verbose=0)
    assert not any(path.exists() for path in leftovers)


def test_a_full_disk_is_one_line_saying_how_much_space_a_checkpoint_needs(tmp_path, monkeypatch):
    def full(self, *args, **kwargs):
        (tmp_path / "checkpoints" / "ckpt-1_temp").mkdir(parents=True)
        raise tf.errors.ResourceExhaustedError(None, None, "tmp; No space left on device")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", full)
    with pytest.raises(CheckpointError) as caught:
        fit_resumable(tiny_model(), tiny_data, 1, tmp_path, checkpoint_every=1, verbose=0)
    message = str(caught.value)
    assert "\n" not in message and "no space left on the device; a checkpoint needs about" in message
    assert " MB (" in message and "MB free" in message
    assert not (tmp_path / "checkpoints" / "ckpt-1_temp").exists()


# ------------------------------------------------------------------ the interrupted epoch's history row
def history(folder):
    lines = (folder / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    return [{key: float(value) for key, value in zip(header, line.split(",")) if value != "NA"} for line in lines[1:]]


def test_the_interrupted_epochs_history_row_covers_the_whole_epoch(tmp_path):
    reference = tiny_model()
    fit_resumable(reference, tiny_data, 2, tmp_path / "reference", checkpoint_every=0, verbose=0)
    model = tiny_model()
    sigint_after_optimizer_steps(model, 5)  # the 2nd step of the 2nd epoch
    with pytest.raises(KeyboardInterrupt):
        fit_resumable(model, tiny_data, 2, tmp_path / "run", checkpoint_every=0, verbose=0)
    fit_resumable(tiny_model(), tiny_data, 2, tmp_path / "run", resume=True, checkpoint_every=0, verbose=0)
    expected, got = history(tmp_path / "reference"), history(tmp_path / "run")
    assert [row["epoch"] for row in got] == [0, 1]
    np.testing.assert_allclose(got[1]["loss"], expected[1]["loss"], rtol=1e-5)


# ------------------------------------------------------------------ run folders: the marker decides
EVAL = {"dataset": "ferplus", "eval_only": True, "batch_size": 64, "subset": None}


def someone_elses(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(f"{name} of someone else\n")
    return digest(folder)


def test_eval_only_refuses_a_folder_of_user_files(tmp_path):
    """Case 4: metrics.json and confusion_matrix.png of the user's were overwritten."""
    out = tmp_path / "u"
    before = someone_elses(out, ["metrics.json", "confusion_matrix.png"])
    with pytest.raises(runner.RunError, match=r"--output .*u: holds files --eval-only did not make "
                                              r"\(confusion_matrix.png, metrics.json\)"):
        runner.evaluate_only({**EVAL, "output": str(out), "weights": str(tmp_path / "missing.keras")})
    assert digest(out) == before


@pytest.mark.parametrize("case", ["someone else's config", "an evaluation", "a legacy evaluation"])
def test_resume_refuses_a_folder_that_is_not_a_training_run(tmp_path, case):
    """Cases 5 and 6: --resume 'started over' and replaced config.json, history.csv or an evaluation."""
    out = tmp_path / "p"
    settings = {"resume": True, "dataset": "ferplus", "epochs": 1}
    if case == "someone else's config":
        before = someone_elses(out, ["config.json", "history.csv"])
        match = "holds files a training run .* did not make .*config.json, history.csv"
    else:
        out.mkdir()
        (out / "config.json").write_text(json.dumps({"settings": {**settings, "eval_only": True}}))
        (out / "metrics.json").write_text("{}")
        if case == "an evaluation":
            (out / MARKER).write_text(json.dumps({"kind": "evaluation", "command": "train --eval-only"}) + "\n")
        before = digest(out)
        match = r"holds an evaluation \(--eval-only\), not a training run; nothing to resume"
    with runner.locked_run_directory(out), pytest.raises(runner.RunError, match=match):
        runner.start_or_resume(out, settings)
    assert digest(out) == before


def test_resume_checks_the_configuration_even_without_a_checkpoint(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"kind": "run", "command": "train"}) + "\n")
    (out / "config.json").write_text(json.dumps({"settings": {"dataset": "ferplus", "epochs": 3}}))
    with runner.locked_run_directory(out), pytest.raises(runner.RunError, match="another configuration"):
        runner.start_or_resume(out, {"resume": True, "dataset": "rafdb", "epochs": 3})
    assert (out / "config.json").exists()


def test_a_legacy_run_folder_without_marker_still_resumes(tmp_path):
    """Runs written before the markers existed (config.json + checkpoints) resume as before."""
    out = tmp_path / "old"
    settings = {"dataset": "ferplus", "epochs": 2}
    trained(out)
    (out / "config.json").write_text(json.dumps({"settings": settings}))
    with runner.locked_run_directory(out):
        assert runner.start_or_resume(out, {**settings, "resume": True}) is True
    assert json.loads((out / MARKER).read_text().splitlines()[0])["kind"] == "run"


# ------------------------------------------------------------------ lines its own tests never ran (issue 34)
def marked_run(folder, settings=None, checkpoint=False):
    """A run folder of dsan train's: its marker, config.json (``settings``) and, with ``checkpoint``, a ckpt-3."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(json.dumps({"kind": "run", "command": "train"}) + "\n")
    if settings is not None:
        (folder / "config.json").write_text(json.dumps({"settings": settings}))
    if checkpoint:
        (folder / "checkpoints").mkdir()
        (folder / "checkpoints" / "ckpt-3.index").write_bytes(b"")
    return folder


def test_start_or_resume_decides_by_the_flag_the_marker_and_the_checkpoint(tmp_path, caplog):
    settings = {"dataset": "ferplus", "epochs": 2}
    # Not the chief (a worker of a multi-worker run): resume exactly when asked and a checkpoint is on disk.
    foreign = tmp_path / "foreign"
    someone_elses(foreign, ["notes.txt"])
    assert runner.start_or_resume(foreign, {"resume": True}, chief=False) is False
    assert runner.start_or_resume(marked_run(tmp_path / "w", checkpoint=True), {"resume": True}, chief=False) is True
    assert runner.start_or_resume(tmp_path / "w", {"resume": False}, chief=False) is False
    # Starting: only into an empty folder (its lock and marker do not count).
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / MARKER).write_text(json.dumps({"kind": "run", "command": "train"}) + "\n")
    assert runner.start_or_resume(empty, {**settings, "resume": False}) is False
    with pytest.raises(runner.RunError, match="is not empty; use --resume"):
        runner.start_or_resume(foreign, {**settings, "resume": False})
    finished = marked_run(tmp_path / "finished", settings, checkpoint=True)  # our own run: not started over either
    with pytest.raises(runner.RunError, match="finished is not empty; use --resume"):
        runner.start_or_resume(finished, {**settings, "resume": False})
    # Resuming an empty folder, or a marked run whose config.json is gone: nothing to resume.
    with pytest.raises(runner.RunError, match="empty has no config.json; nothing to resume"):
        runner.start_or_resume(empty, {**settings, "resume": True})
    lost = marked_run(tmp_path / "lost", checkpoint=True)
    with pytest.raises(runner.RunError, match="lost has no config.json; nothing to resume"):
        runner.start_or_resume(lost, {**settings, "resume": True})
    # A marked run with its configuration and no checkpoint yet: started over, its history.csv removed.
    early = marked_run(tmp_path / "early", settings)
    (early / "history.csv").write_text("epoch,loss\n")
    with caplog.at_level("WARNING", logger=runner.log.name):
        assert runner.start_or_resume(early, {**settings, "resume": True}) is False
    assert not (early / "history.csv").exists() and "has no checkpoint" in caplog.text
    assert (early / "config.json").exists()
    done = marked_run(tmp_path / "done", settings, checkpoint=True)
    (done / "history.csv").write_text("epoch,loss\n")
    assert runner.start_or_resume(done, {**settings, "resume": True}) is True and (done / "history.csv").exists()


def test_what_counts_as_a_training_run_eval_only_must_not_overwrite(tmp_path):
    def folder(name, files):
        path = tmp_path / name
        path.mkdir()
        for file, text in files.items():
            (path / file).parent.mkdir(parents=True, exist_ok=True)
            (path / file).write_text(text)
        return path

    config = json.dumps({"settings": {"dataset": "ferplus"}})
    evaluation = json.dumps({"settings": {"dataset": "ferplus", "eval_only": True}})
    # The run marker decides, whatever config.json says.
    assert runner.holds_training_run(marked_run(tmp_path / "marked", {"dataset": "ferplus", "eval_only": True}))
    assert runner.holds_training_run(folder("ckpts", {"checkpoints/x": ""}))
    assert runner.holds_training_run(folder("model", {"model.keras": ""}))
    assert not runner.holds_training_run(folder("plain", {"metrics.json": "{}"}))
    assert not runner.holds_training_run(folder("evaluation", {"config.json": evaluation}))
    assert runner.holds_training_run(folder("config", {"config.json": config}))  # a run without its checkpoint yet
    assert runner.holds_training_run(folder("damaged", {"config.json": "{not json"}))  # unreadable: precious
    # A legacy config.json of a run without checkpoint or model: nothing says it is a run.
    assert runner.folder_kind(tmp_path / "config") is None
    assert runner.folder_kind(tmp_path / "evaluation") == "evaluation"


def test_subset_arguments_and_their_masks(tmp_path, monkeypatch, caplog):
    import pandas as pd

    monkeypatch.setattr(runner, "load_subset_list", lambda path: {"occ.txt": ["a.jpg", "c.jpg", "zz.jpg"],
                                                                  "pose.txt": ["b.jpg"], "none.txt": ["q.jpg"]}[path])
    for bad in ("occlusion", "=occ.txt", "occlusion="):
        with pytest.raises(runner.RunError, match=f"--subset expects NAME=LIST_FILE, got '{bad}'"):
            runner.read_subset_lists([bad])
    with pytest.raises(runner.RunError, match="--subset occlusion is given twice"):
        runner.read_subset_lists(["occlusion=occ.txt", "occlusion=pose.txt"])
    assert runner.read_subset_lists(None) == {}
    lists = runner.read_subset_lists(["occlusion=occ.txt", "pose=pose.txt"])
    assert lists == {"occlusion": ("occ.txt", ["a.jpg", "c.jpg", "zz.jpg"]), "pose": ("pose.txt", ["b.jpg"])}
    table = pd.DataFrame({"name": ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]})
    with caplog.at_level("WARNING", logger=runner.log.name):
        masks = runner.subset_masks(lists, table)
    assert {k: v.tolist() for k, v in masks.items()} == {"occlusion": [True, False, True, False],
                                                         "pose": [False, True, False, False]}
    assert "subset occlusion: 1 of 3 names in occ.txt match no image" in caplog.text
    assert "subset pose" not in caplog.text
    with pytest.raises(runner.RunError, match="--subset none: none of the 1 names in none.txt is in the evaluated"):
        runner.subset_masks({"none": ("none.txt", ["q.jpg"])}, table)


def test_an_incomplete_decoded_image_cache_is_removed_and_a_complete_one_kept(tmp_path):
    cache = tmp_path / "cache"
    prefix = runner.decoded_image_cache(cache, 48)
    assert prefix == str(cache / "train-48px") and cache.is_dir()
    (cache / "train-48px.data-00000-of-00001").write_bytes(b"half")
    (cache / "train-48px_0.lockfile").write_bytes(b"")
    (cache / "train-64px.index").write_bytes(b"")  # another size's cache: not this one's
    runner.decoded_image_cache(cache, 48)
    assert sorted(p.name for p in cache.iterdir()) == ["train-64px.index"]
    (cache / "train-64px.data-00000-of-00001").write_bytes(b"whole")
    assert runner.decoded_image_cache(cache, 64) == str(cache / "train-64px")
    assert sorted(p.name for p in cache.iterdir()) == ["train-64px.data-00000-of-00001", "train-64px.index"]


def test_a_found_result_must_match_the_configuration_asked(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(runner.RunError, match="holds a result but no config.json, so nothing says it is the baseline"):
        runner.run_matches(run, {"dataset": "ferplus"}, "the baseline")
    settings = runner.with_centre_sgd_defaults({"dataset": "ferplus", "epochs": 2})
    (run / "config.json").write_text(json.dumps({"settings": settings}))
    assert runner.run_matches(run, {"dataset": "ferplus", "epochs": 2}, "the baseline") is None
    with pytest.raises(runner.RunError, match=r"its result is not the baseline: .*\(epochs: was 2, now 3\)"):
        runner.run_matches(run, {"dataset": "ferplus", "epochs": 3}, "the baseline")


# training.py's lines its own tests never ran (issue 34)
def test_the_learning_rate_schedules_by_hand():
    """0.1, 4 steps an epoch, 3 epochs. Cosine without warm-up: over 12 steps, 0.05 at step 6, 0 at 12.
    Cosine with 1 warm-up epoch: linear 0 -> 0.1 over 4 steps, then cosine over the other 8: 0.05 at step 8.
    Exponential: x0.5 once per epoch (staircase): 0.1 at step 3, 0.05 at 4, 0.025 at 9. Constant: 0.1."""
    from dsan_tf.training import OptimiserSettings, learning_rate_schedule

    def rates(settings, steps):
        schedule = learning_rate_schedule(settings, 4, 3)
        return [float(schedule(step)) for step in steps]

    assert rates(OptimiserSettings(0.1, "cosine"), [0, 6, 12]) == pytest.approx([0.1, 0.05, 0.0], abs=1e-7)
    assert rates(OptimiserSettings(0.1, "cosine", warmup_epochs=1), [0, 2, 4, 8, 12]) == pytest.approx(
        [0.0, 0.05, 0.1, 0.05, 0.0], abs=1e-7)
    assert rates(OptimiserSettings(0.1, "exponential", decay_rate=0.5), [3, 4, 9]) == pytest.approx([0.1, 0.05, 0.025])
    assert learning_rate_schedule(OptimiserSettings(0.1, "constant"), 4, 3) == 0.1
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        learning_rate_schedule(OptimiserSettings(0.1, "linear"), 4, 3)


def bare_state(directory, **attributes):
    """A TrainingState without a model or checkpoint: only what the method under test reads."""
    state = TrainingState.__new__(TrainingState)
    state.directory = directory
    state.__dict__.update(attributes)
    return state


def test_a_checkpoint_s_size_counts_every_variable_once_ema_and_centres_included():
    """float32 kernel 3 x 4 (48 bytes; listed twice, counted once), the optimizer's float32 (2,) (8), the
    centre optimizer's float16 (5,) (10), the EMA's float32 3 x 4 shadow (48) and int64 count (8): 122."""
    from types import SimpleNamespace

    kernel = tf.Variable(tf.zeros((3, 4)))
    optimizer = SimpleNamespace(variables=[kernel, tf.Variable(tf.zeros(2))])
    model = SimpleNamespace(variables=[kernel], optimizer=optimizer,
                            centre_optimizer=SimpleNamespace(variables=[tf.Variable(tf.zeros(5, tf.float16))]))
    ema = SimpleNamespace(variables=lambda: [tf.Variable(tf.zeros((3, 4))), tf.Variable(0, dtype=tf.int64)])
    assert bare_state(None, model=model, ema=ema).checkpoint_bytes() == 48 + 8 + 10 + 48 + 8
    assert bare_state(None, model=SimpleNamespace(variables=[kernel], optimizer=optimizer), ema=None
                      ).checkpoint_bytes() == 48 + 8


def test_a_failed_checkpoint_write_is_one_line_of_its_first_reason(tmp_path, monkeypatch):
    import errno

    state = bare_state(tmp_path, checkpoint_bytes=lambda: 3.4e6)
    line = state._write_failure(OSError(errno.EACCES, "Permission denied"))
    assert line == f"cannot write a checkpoint in {tmp_path}: Permission denied"
    assert state._write_failure(RuntimeError("first line\nsecond line")) == f"cannot write a checkpoint in {tmp_path}: first line"
    assert state._write_failure(RuntimeError("x" * 400)).endswith(": " + "x" * 300)

    def no_usage(path):
        raise OSError("gone")

    monkeypatch.setattr(training.shutil, "disk_usage", no_usage)
    line = state._write_failure(OSError(errno.ENOSPC, "No space left on device"))
    assert line == (f"cannot write a checkpoint in {tmp_path}: no space left on the device; a checkpoint needs about "
                    "3 MB (free space unknown); free some space, then --resume")


def test_running_metric_records_damaged_unwritable_and_their_two_forms(tmp_path, monkeypatch, caplog):
    import dsan_tf.io_utils

    state = bare_state(tmp_path)
    (tmp_path / training.RUNNING_METRICS).write_text("{not json")
    with caplog.at_level("WARNING", logger=training.log.name):
        assert state._running_records() == {}
    assert "may cover only the steps after the resume" in caplog.text
    (tmp_path / training.RUNNING_METRICS).write_text(json.dumps(
        {"ckpt-1": [1.0, 2.0], "ckpt-2": {"running": [3.0], "epoch_trained": True}, "ckpt-3": "junk"}))
    assert state._recorded_running("ckpt-1") == ([1.0, 2.0], False)
    assert state._recorded_running("ckpt-2") == ([3.0], True)
    assert state._recorded_running("ckpt-3") == (None, False)
    assert state._recorded_running("ckpt-9") == (None, False)

    def refuse(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(dsan_tf.io_utils, "write_json", refuse)
    caplog.clear()
    with caplog.at_level("WARNING", logger=training.log.name):
        state._record_running(tmp_path / "ckpt-4", [np.float32(0.5)])  # no exception: the checkpoint is written
    assert "could not record the epoch's running metrics (read-only file system)" in caplog.text


def test_interruptions_say_where_resume_continues_and_a_second_ctrl_c_stops_at_once():
    from dsan_tf.training import InterruptRequest, TrainingInterrupted

    assert str(TrainingInterrupted(None, False)) == "stopped before the first checkpoint"
    assert str(TrainingInterrupted((1, 5), True)) == "checkpoint saved at epoch 2, step 5"
    assert str(TrainingInterrupted((1, 5), False)) == ("stopped at once; the last checkpoint (epoch 2, step 5) "
                                                       "is kept")
    request = InterruptRequest()
    request._handle(signal.SIGINT, None)
    assert request.requested
    with pytest.raises(KeyboardInterrupt):
        request._handle(signal.SIGINT, None)


def test_a_resumed_epoch_s_running_metrics_are_restored_only_when_they_fit(caplog):
    from types import SimpleNamespace

    from dsan_tf.training import StepCheckpoint

    def callback(running):
        import keras

        variables = [keras.Variable(0.0), keras.Variable(np.zeros(2, np.float32))]  # a Keras model's metric variables
        step = StepCheckpoint(None, 0, 3, 0, running=running)
        step.set_model(SimpleNamespace(metrics_variables=variables))
        return step, variables

    step, variables = callback([1.5, [2.0, 3.0]])
    step.on_epoch_begin(0)
    assert [np.asarray(v).tolist() for v in variables] == [1.5, [2.0, 3.0]] and step.running is None
    # fewer or more values than variables, another shape: the row covers the steps after the resume
    for running in ([1.5], [1.5, [2.0, 3.0], 4.0], [1.5, [2.0, 3.0, 4.0]]):
        step, variables = callback(running)
        caplog.clear()
        with caplog.at_level("WARNING", logger=training.log.name):
            step.on_epoch_begin(0)
        assert "covers only the steps after the resume" in caplog.text and step.running is None
        # all or nothing: no variable keeps a recorded value when another does not fit
        assert np.asarray(variables[0]).tolist() == 0.0 and np.asarray(variables[1]).tolist() == [0.0, 0.0]


def test_a_nan_loss_stops_training_naming_the_epoch():
    from dsan_tf.training import StopOnNaN, TrainingDiverged

    stop = StopOnNaN(epoch=2)
    stop.on_batch_end(0, {"loss": 0.7})  # a number: nothing happens
    with pytest.raises(TrainingDiverged, match=r"the training loss became nan in epoch 3: training stopped"):
        stop.on_batch_end(1, {"loss": float("nan")})


# ---- round 5 blind mutants (issue 34)
def test_a_run_killed_during_its_validation_is_validated_on_resume(tmp_path):
    """r5-training-trained-epoch-not-validated: killed after the epoch's last step, during its validation
    (ckpt-4, the epoch's end, and the history row never written), the resume validates the epoch: its row
    has the val_loss of the run that was not killed, on the same weights."""
    validation = tiny_data(0)
    fit_resumable(tiny_model(), tiny_data, 1, tmp_path / "run", checkpoint_every=1, validation_data=validation,
                  verbose=0)
    expected = history(tmp_path / "run")  # the row of the run that was not killed
    for path in (tmp_path / "run" / "checkpoints").glob("ckpt-4.*"):
        path.unlink()
    (tmp_path / "run" / "history.csv").unlink()
    fit_resumable(tiny_model(), tiny_data, 1, tmp_path / "run", resume=True, checkpoint_every=1,
                  validation_data=validation, verbose=0)
    got = history(tmp_path / "run")
    assert len(got) == 1 and "val_loss" in got[0]
    np.testing.assert_allclose(got[0]["val_loss"], expected[0]["val_loss"], rtol=1e-5)


# ---- round 8 blind mutants (issue 34)
def test_the_python_api_refuses_a_centre_momentum_of_1_naming_the_flag_as_typed():
    """r8-runner-centre-momentum-one-accepted, r8-runner-limit-message-flag-underscores: check_settings (the
    Python API's check, as the flag's validator) takes a momentum in [0, 1): 0 and 0.99 pass, 1 (a velocity
    that never decays) is refused in a line naming --centre-momentum, the flag with dashes as the user types it."""
    runner.check_settings({"centre_momentum": 0.0})
    runner.check_settings({"centre_momentum": 0.99})
    with pytest.raises(runner.RunError) as refused:
        runner.check_settings({"centre_momentum": 1})
    assert str(refused.value) == "--centre-momentum 1: expected a number in [0, 1)"


def test_a_resume_on_a_machine_where_auto_precision_resolves_otherwise_is_accepted(tmp_path):
    """r8-runner-precision-compared-on-resume: the precision 'auto' resolved to (and its reason) may differ
    between the machine that started a run and the one resuming it (the weights are float32 either way):
    not a change of configuration; a changed --mixed-precision flag is."""
    settings = {"epochs": 2, "mixed_precision": "auto", "precision": "mixed_bfloat16",
                "precision_reason": "AVX-512 BF16"}
    (tmp_path / "config.json").write_text(json.dumps({"settings": settings}))
    here = {**settings, "precision": "float32", "precision_reason": "no bfloat16 instructions"}
    runner.check_resume_config(tmp_path, here)  # accepted: nothing raised
    with pytest.raises(runner.RunError, match=r"another configuration \(mixed_precision: was 'auto', now 'float32'\)"):
        runner.check_resume_config(tmp_path, {**here, "mixed_precision": "float32"})
