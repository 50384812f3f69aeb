"""Paths no other test walks (issue 34): a damaged .dsan-output marker, a write-through target that is a
regular file, DSAN_DEBUG / DSAN_VERBOSE spelled other ways, a retry after a detector failure, a time budget
spent on an epoch's last step, encoded bytes of every type given to ``predict_faces``."""

import os

import numpy as np
import pytest

from dsan_tf import cli, outputs
from dsan_tf.outputs import MARKER, OutputError, OutputPolicy

# ---------------------------------------------------------------------- a damaged marker


@pytest.mark.parametrize("content", [b"", b"not json\n", b"[1, 2]\n", b'{"command": "dsan x"}\n', b"\xff\xfe\x00garbage",
                                     b'{"kind": "alignment"}\nnot json either\n'],
                         ids=["empty", "not-json", "not-an-object", "no-kind", "binary", "bad-manifest"])
def test_a_damaged_marker_makes_the_folder_someone_elses(tmp_path, content):
    """An unreadable marker counts as a marker of unknown kind: the folder is refused, never reused or
    overwritten as if it were the command's own."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / MARKER).write_bytes(content)
    (folder / "mine.png").write_bytes(b"user data")
    assert outputs.read_marker(folder) == ("?", "?", set())
    for overwrite in (False, True):
        with OutputPolicy("dsan align", overwrite=overwrite) as policy:
            with pytest.raises(OutputError, match="holds an output with an unreadable marker"):
                policy.claim_folder(folder, "alignment")
    assert (folder / "mine.png").read_bytes() == b"user data"


# ---------------------------------------------------------------------- write-through targets


def test_a_regular_file_is_never_written_through(tmp_path):
    """Only devices, pipes and /dev, /proc paths are appended to; a regular file (or a folder) is replaced
    atomically, and refused when it exists without --overwrite."""
    regular = tmp_path / "result.csv"
    regular.write_text("old\n")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert not outputs.is_write_through(regular)
    assert not outputs.is_write_through(tmp_path)
    assert not outputs.is_write_through(tmp_path / "not-yet")
    assert outputs.is_write_through(fifo)
    assert outputs.is_write_through("/dev/null") and outputs.is_write_through("/dev/stdout")
    with OutputPolicy("dsan predict") as policy:
        with pytest.raises(OutputError, match="exists; pass --overwrite"):
            policy.claim_file(regular)
    with OutputPolicy("dsan predict", overwrite=True) as policy:
        with policy.publish(regular) as tmp:
            with open(tmp, "w") as fh:
                fh.write("new\n")
    assert regular.read_text() == "new\n"  # replaced, not appended to


# ---------------------------------------------------------------------- environment flags


@pytest.mark.parametrize("value, on", [("1", True), ("true", True), ("TRUE", True), ("yes", True), (" Yes ", True),
                                       ("on", True), ("0", False), ("no", False), ("No", False), ("false", False),
                                       ("", False), ("  ", False), (None, False)])
def test_dsan_debug_spelled_every_way(monkeypatch, capsys, value, on):
    from dsan_tf.cli import table4

    def run(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(table4, "run", run)
    if value is None:
        monkeypatch.delenv("DSAN_DEBUG", raising=False)
    else:
        monkeypatch.setenv("DSAN_DEBUG", value)
    if on:
        with pytest.raises(RuntimeError, match="boom"):
            cli.main(["table4", "."])
    else:
        assert cli.main(["table4", "."]) == 1
        assert "internal error (RuntimeError: boom)" in capsys.readouterr().err


@pytest.mark.parametrize("value, on", [("1", True), ("true", True), ("yes", True), ("0", False), ("no", False),
                                       ("", False), ("False", False)])
def test_dsan_verbose_spelled_every_way(monkeypatch, value, on):
    """Quiet mode (TensorFlow's log lines silenced) is installed unless DSAN_VERBOSE says yes."""
    from dsan_tf import quiet
    from dsan_tf.cli import table4

    installed = []
    monkeypatch.setattr(quiet, "install", lambda *a, **k: installed.append(True))
    monkeypatch.setattr(table4, "run", lambda args: None)
    monkeypatch.setenv("DSAN_VERBOSE", value)
    assert cli.main(["table4", "."]) == 0
    assert installed == ([] if on else [True])
    installed.clear()
    assert cli.main(["--verbose", "table4", "."]) == 0
    assert installed == []


# ---------------------------------------------------------------------- a retry after a detector failure


class FlakyDetector:
    """Raises on the photos named in ``fail`` (a detector failure), finds one face elsewhere."""

    def __init__(self, fail):
        self.fail, self.calls = set(fail), []

    def detect_faces(self, image, **kwargs):
        marker = int(image[0, 0, 0])
        self.calls.append(marker)
        if marker in self.fail:
            raise RuntimeError("detector failed")
        h, w = image.shape[:2]
        marks = np.array([[0.35, 0.45], [0.65, 0.45], [0.5, 0.6], [0.38, 0.78], [0.62, 0.78]]) * [w, h]
        return np.array([[0, 0.2 * w, 0.2 * h, 0.8 * w, 0.9 * h, 0.99, *marks[:, 0], *marks[:, 1]]])


def test_align_retries_the_photos_whose_detection_failed(tmp_path):
    from PIL import Image

    from dsan_tf.data.align import FaceAligner, align_folder

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in (1, 2, 3):  # pixel (0, 0) tells the detector which photo it is; 60 x 90, not square
        image = np.full((60, 90, 3), 100, np.uint8)
        image[0, 0] = i * 10
        Image.fromarray(image).save(photos / f"p{i}.png")
    out = tmp_path / "aligned"
    first = FlakyDetector(fail={20})
    summary = align_folder(photos, out, FaceAligner(output_size=32, min_face_size=10, detector=first), progress=False)
    assert (summary.ok, summary.error) == (2, 1)
    assert not (out / "p2.png").exists()
    assert "p2.png" in (out / "align-report.csv").read_text()
    second = FlakyDetector(fail=set())
    summary = align_folder(photos, out, FaceAligner(output_size=32, min_face_size=10, detector=second), progress=False)
    assert second.calls == [20]  # only the failed photo is looked at again
    assert (summary.ok, summary.error, summary.skipped) == (3, 0, 2)
    assert (out / "p2.png").exists()
    assert "p2.png" not in (out / "align-report.csv").read_text()


# ---------------------------------------------------------------------- a time budget spent on an epoch's last step


def test_a_time_budget_spent_on_an_epochs_last_step_saves_a_finished_epoch(tmp_path, monkeypatch):
    """The budget runs out exactly on the last step of epoch 1: the epoch counts as finished (not as a
    partial epoch at its last step), and a resume continues with epoch 2 from its first step."""
    import types

    from dsan_tf import training
    from test_training import EPOCHS, STEPS, fresh_model, train_data

    clock = {"calls": 0}

    def monotonic():  # call 1: the deadline, 2: the start; then one call per step from the budget
        clock["calls"] += 1
        return 1000.0 + (100.0 if clock["calls"] - 2 >= STEPS else 0.0)

    monkeypatch.setattr(training, "time", types.SimpleNamespace(monotonic=monotonic))
    model = fresh_model()
    summary = training.fit_resumable(model, train_data, EPOCHS, tmp_path, time_budget_s=50.0, verbose=0)
    assert summary["stopped_by_time_budget"] and summary["epochs_completed"] == 1
    assert int(model.optimizer.iterations) == STEPS
    monkeypatch.undo()
    resumed = fresh_model()
    summary = training.fit_resumable(resumed, train_data, EPOCHS, tmp_path, resume=True, verbose=0)
    assert summary["resumed_from"] == {"epoch": 1, "step": 0}
    assert int(resumed.optimizer.iterations) == EPOCHS * STEPS and summary["epochs_completed"] == EPOCHS


# ---------------------------------------------------------------------- encoded bytes of every type


def test_predict_faces_takes_encoded_bytes_of_every_type_as_one_image():
    """bytes, bytearray and memoryview of one encoded PNG are one face (as to_rgb_image takes them), not a
    sequence of crops."""
    import keras

    from dsan_tf.api import FaceExpressionRecognizer, encode_png
    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    model = build_dsan(3, 32, "dsan", class_names=("a", "b", "c"), dtype="float32")
    recognizer = FaceExpressionRecognizer(model)
    crop = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    png = encode_png(crop)
    want = recognizer.predict_faces(crop)
    assert len(want) == 1
    for given in (png, bytearray(png), memoryview(png)):
        got = recognizer.predict_faces(given)
        assert len(got) == 1 and got[0]["label"] == want[0]["label"], type(given)
        np.testing.assert_allclose(list(got[0]["probabilities"].values()), list(want[0]["probabilities"].values()),
                                   atol=1e-6)
