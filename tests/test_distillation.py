"""Offline distillation (dsan_tf/distillation.py, dsan teacher-labels, dsan train --teacher-labels; issue 33):
the softening, the mixing by face name and the checked reader against values written out by hand, the command
against an independent NumPy computation of its teachers' flip-averaged mean."""

import numpy as np
import pandas as pd
import pytest

from dsan_tf.data.errors import DataError
from dsan_tf.distillation import read_teacher_labels, soften, with_teacher_targets
from dsan_tf.state_files import StateFileError


def test_softening_is_p_to_the_one_over_t_renormalised():
    p = np.array([[0.8, 0.2], [0.5, 0.5]], dtype=np.float32)
    # T = 2: sqrt(0.8) = 0.8944, sqrt(0.2) = 0.4472, over their sum 1.3416: 2/3 and 1/3
    np.testing.assert_allclose(soften(p, 2.0), [[2 / 3, 1 / 3], [0.5, 0.5]], atol=1e-6)
    # T = 0.5: 0.64 and 0.04 over 0.68
    np.testing.assert_allclose(soften(p, 0.5), [[0.64 / 0.68, 0.04 / 0.68], [0.5, 0.5]], atol=1e-6)
    np.testing.assert_allclose(soften(p, 1.0), p, atol=1e-6)
    # a class at probability 0 stays (almost) 0 at a high temperature and nothing is NaN
    hard = soften(np.array([[1.0, 0.0, 0.0]]), 4.0)
    assert np.isfinite(hard).all() and hard[0, 0] > 0.99 and hard.sum() == pytest.approx(1.0, abs=1e-6)


def _table(names, labels, k=3):
    return pd.DataFrame({"split": "train", "name": names, "path": [f"/x/{n}" for n in names], "label": labels,
                         "target": [np.eye(k, dtype=np.float32)[c] for c in labels], "box": None})


TEACHER = {"name": np.array(["c.png", "a.png", "b.png"]),
           "probabilities": np.array([[0.2, 0.2, 0.6], [0.6, 0.3, 0.1], [0.0, 0.5, 0.5]], dtype=np.float32),
           "class_names": np.array(["x", "y", "z"])}


def test_targets_are_mixed_by_face_name_and_the_label_is_kept():
    table = _table(["b.png", "a.png"], [1, 0])
    mixed = with_teacher_targets(table, TEACHER, 0.25, ("x", "y", "z"), "t.npz")
    # b.png: 0.75 * [0, 1, 0] + 0.25 * [0, 0.5, 0.5]; a.png: 0.75 * [1, 0, 0] + 0.25 * [0.6, 0.3, 0.1]
    np.testing.assert_allclose(np.stack(mixed["target"]), [[0, 0.875, 0.125], [0.9, 0.075, 0.025]], atol=1e-6)
    assert mixed["label"].tolist() == [1, 0]
    np.testing.assert_array_equal(np.stack(table["target"]), [[0, 1, 0], [1, 0, 0]])  # the input is not changed


@pytest.mark.parametrize("names, classes, says", [
    (["a.png", "d.png", "e.png"], ("x", "y", "z"), "no teacher row for 2 of the 3 training faces (the first: 'd.png')"),
    (["a.png", "a.png"], ("x", "y", "z"), "names 'a.png' twice"),
    (["a.png"], ("x", "z", "y"), "classes ['x', 'y', 'z'] differ from the dataset's ['x', 'z', 'y']"),
])
def test_mixing_refuses_faces_without_a_teacher_row_duplicates_and_other_classes(names, classes, says):
    with pytest.raises(DataError) as error:
        with_teacher_targets(_table(names, [0] * len(names)), TEACHER, 0.5, classes, "--teacher-labels t.npz")
    assert str(error.value).startswith("--teacher-labels t.npz: ") and says in str(error.value), error.value


def _write(path, **arrays):
    full = {"name": np.array(["a", "b"]), "probabilities": np.array([[0.5, 0.5], [1.0, 0.0]], dtype=np.float32),
            "class_names": np.array(["x", "y"]), "teachers": np.array(["m.keras"])}
    full.update(arrays)
    np.savez(path, **{k: v for k, v in full.items() if v is not None})
    return path


def test_the_reader_accepts_a_good_file(tmp_path):
    arrays = read_teacher_labels(_write(tmp_path / "t.npz"))
    assert arrays["name"].tolist() == ["a", "b"] and arrays["class_names"].tolist() == ["x", "y"]


@pytest.mark.parametrize("arrays, says", [
    ({"probabilities": np.array([[0.5, 0.4], [1.0, 0.0]], dtype=np.float32)}, "row 0 ('a') sums to 0.9000, expected 1"),
    ({"probabilities": np.array([[0.5, 0.5], [1.5, -0.5]], dtype=np.float32)}, "row 1 has a negative probability"),
    ({"probabilities": np.array([[np.nan, 0.5], [1.0, 0.0]], dtype=np.float32)}, "NaN or infinite"),
    ({"name": np.array(["a", "b", "c"])}, "3 names but 2 rows of probabilities"),
    ({"name": np.array(["a", "a"])}, "the name 'a' appears more than once (row 1)"),
    ({"class_names": np.array(["x", "y", "z"])}, "2 probability columns but 3 class names"),
    ({"teachers": None}, "holds no array 'teachers'"),
])
def test_the_reader_refuses_a_damaged_or_edited_file_naming_it(tmp_path, arrays, says):
    path = _write(tmp_path / "t.npz", **arrays)
    with pytest.raises(StateFileError) as error:
        read_teacher_labels(path)
    assert str(error.value).startswith(f"{path} (teacher labels): ") and says in str(error.value), error.value
    assert "dsan teacher-labels" in str(error.value)


def test_the_command_writes_the_softened_flip_averaged_mean_of_its_teachers(tmp_path, capsys):
    """Two teachers (different weights, different input sizes) on the embedded sample's faces; the
    file against collect_outputs of each model on the faces and on tf.reverse'd (mirrored) faces, averaged
    by hand, then p ** (1 / 2) renormalised."""
    import tensorflow as tf

    from dsan_tf import cli
    from dsan_tf.data import SAMPLE_FERPLUS_DIR
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.evaluation import collect_outputs
    from dsan_tf.model import DSAN

    data = load_dataset("ferplus", SAMPLE_FERPLUS_DIR, label_mode="probability")  # the command's default
    train = data.split("valid")  # the smaller split: --split is the command's to choose
    teachers = []
    for index, size in enumerate((32, 40)):
        tf.keras.utils.set_random_seed(index)
        model = DSAN(num_classes=data.num_classes, image_size=size, class_names=list(data.class_names))
        model.save(tmp_path / f"t{index}.keras")
        teachers.append((model, size))
    out = tmp_path / "teacher.npz"
    argv = ["teacher-labels", "--weights", str(tmp_path / "t0.keras"), str(tmp_path / "t1.keras"), "--data-dir",
            str(SAMPLE_FERPLUS_DIR), "--split", "valid", "--temperature", "2", "--output", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "teacher 1" in printed and "teacher 2" in printed and f"wrote {out}: {len(train)} faces of valid" in printed

    def probabilities(model, size, mirrored):
        faces = make_dataset(train, data.num_classes, size, 16, training=False)
        if mirrored:
            faces = faces.map(lambda images, *rest: (tf.reverse(images, axis=[2]), *rest))
        return collect_outputs(model, faces, keys=("probabilities",))["probabilities"].astype(np.float64)

    mean = np.mean([(probabilities(m, s, False) + probabilities(m, s, True)) / 2 for m, s in teachers], axis=0)
    expected = np.sqrt(mean) / np.sqrt(mean).sum(axis=1, keepdims=True)
    stored = read_teacher_labels(out)
    assert stored["name"].tolist() == train["name"].astype(str).tolist()
    assert stored["class_names"].tolist() == list(data.class_names)
    assert stored["teachers"].tolist() == [str(tmp_path / "t0.keras"), str(tmp_path / "t1.keras")]
    np.testing.assert_allclose(stored["probabilities"], expected, atol=2e-5)
    # a rerun without --overwrite refuses to replace the file, naming the flag, before any model loads
    assert cli.main(argv) == 2
    assert "--output" in capsys.readouterr().err


def test_the_command_refuses_a_teacher_of_other_classes_and_writes_nothing(tmp_path, capsys):
    from dsan_tf import cli
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR
    from dsan_tf.model import DSAN

    other = DSAN(num_classes=len(FERPLUS_CLASSES), image_size=32, class_names=[f"x{c}" for c in FERPLUS_CLASSES])
    other.save(tmp_path / "other.keras")
    out = tmp_path / "teacher.npz"
    code = cli.main(["teacher-labels", "--weights", str(tmp_path / "other.keras"), "--data-dir",
                     str(SAMPLE_FERPLUS_DIR), "--output", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "classes ['xneutral'" in err and "differ from the dataset's ['neutral'" in err, err
    assert not out.exists()


def _teacher_file_for_the_sample(path, weight_of_first_class=1.0):
    """A teacher-labels file for the embedded sample's training faces: every face all class 0 (or a mix)."""
    from dsan_tf.data.registry import load_dataset

    data = load_dataset("ferplus", label_mode="probability")
    names = data.split("train")["name"].astype(str).to_numpy(dtype=str)
    k = data.num_classes
    row = np.full(k, (1 - weight_of_first_class) / (k - 1), dtype=np.float32)
    row[0] = weight_of_first_class
    np.savez(path, name=names, probabilities=np.tile(row, (len(names), 1)), class_names=np.array(data.class_names),
             teachers=np.array(["by hand"]))
    return data


def test_training_sees_the_mixed_targets_records_the_file_and_refuses_a_changed_one_on_resume(tmp_path, monkeypatch):
    """dsan train --teacher-labels up to its training (no model built): the table of the first epoch's dataset
    holds (1 - 0.25) * the sample's soft targets + 0.25 * [1, 0, ...]; config.json records the file and its
    sha256; a --resume after the file changed is refused, naming it."""
    import hashlib
    import json

    from dsan_tf import runner
    from dsan_tf.cli.run import build_settings, parse_args
    from dsan_tf.data.registry import load_dataset

    teacher = tmp_path / "teacher.npz"
    data = _teacher_file_for_the_sample(teacher)
    monkeypatch.setattr(runner, "check_decodable", lambda *args, **kwargs: None)
    monkeypatch.setattr(runner, "build_model", lambda *args, **kwargs: object())
    tables = []

    class Stop(Exception):
        pass

    def fake_fit(model, train_data, *args, **kwargs):
        monkeypatch.setattr(runner, "make_dataset", lambda table, *a, **kw: tables.append(table))
        train_data(0)
        raise Stop

    monkeypatch.setattr(runner, "fit_resumable", fake_fit)
    run = tmp_path / "run"
    argv = ["--dataset", "ferplus", "--image-size", "32", "--epochs", "1", "--verbose", "0", "--label-mode",
            "probability", "--teacher-labels", str(teacher), "--teacher-weight", "0.25", "--output", str(run)]
    with pytest.raises(Stop):
        runner.train_and_evaluate(build_settings(parse_args(argv)))
    own = load_dataset("ferplus", label_mode="probability").split("train")
    first_class = np.eye(data.num_classes, dtype=np.float32)[0]
    expected = 0.75 * np.stack(own["target"]) + 0.25 * first_class
    np.testing.assert_allclose(np.stack(tables[0]["target"]), expected, atol=1e-6)
    assert tables[0]["label"].tolist() == own["label"].tolist()
    settings = json.loads((run / "config.json").read_text())["settings"]
    assert settings["teacher_labels"] == str(teacher) and settings["teacher_weight"] == 0.25
    assert settings["teacher_labels_sha256"] == hashlib.sha256(teacher.read_bytes()).hexdigest()

    _teacher_file_for_the_sample(teacher, weight_of_first_class=0.5)  # the file changes between the runs
    with pytest.raises(runner.RunError, match="teacher_labels_sha256: was"):
        runner.train_and_evaluate(build_settings(parse_args(argv + ["--resume"])))


@pytest.mark.parametrize("flags, says", [
    (["--teacher-weight", "0.5"], "--teacher-weight goes with --teacher-labels FILE"),
    (["--teacher-labels", "{teacher}", "--teacher-weight", "0"], "--teacher-weight"),
    (["--teacher-labels", "{teacher}", "--teacher-weight", "1.5"], "--teacher-weight"),
    (["--teacher-labels", "{missing}"], "--teacher-labels"),
    (["--teacher-labels", "{teacher}", "--eval-only", "--weights", "ferplus"], "--eval-only trains nothing"),
])
def test_train_refuses_teacher_flags_out_of_range_or_alone(tmp_path, capsys, flags, says):
    from dsan_tf import cli

    teacher = tmp_path / "teacher.npz"
    teacher.write_bytes(b"")
    flags = [f.format(teacher=teacher, missing=tmp_path / "missing.npz") for f in flags]
    with pytest.raises(SystemExit) as stop:  # refused by the parser, before anything is read
        cli.main(["train", "--dataset", "ferplus", *flags, "--output", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "dsan train: error:" in err and says in err, err
    assert not (tmp_path / "run").exists()


def test_training_refuses_teacher_labels_missing_a_face_and_leaves_nothing(tmp_path, capsys):
    """Teacher labels written for the validation faces: dsan train stops before any work with one line
    naming the file and the first training face it lacks; no run folder is left."""
    from dsan_tf import cli
    from dsan_tf.data.registry import load_dataset

    data = load_dataset("ferplus", label_mode="probability")
    valid = data.split("valid")
    teacher = tmp_path / "teacher.npz"
    np.savez(teacher, name=valid["name"].astype(str).to_numpy(dtype=str),
             probabilities=np.stack(valid["target"]).astype(np.float32), class_names=np.array(data.class_names),
             teachers=np.array(["by hand"]))
    first_face = data.split("train")["name"].iloc[0]
    code = cli.main(["train", "--dataset", "ferplus", "--image-size", "32", "--epochs", "1", "--verbose", "0",
                     "--teacher-labels", str(teacher), "--output", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and f"--teacher-labels {teacher}: no teacher row for" in err and repr(first_face) in err, err
    assert len([line for line in err.splitlines() if "error:" in line]) == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()


# ---- round 7 blind mutants (issue 34)
@pytest.mark.parametrize("temperature, refused", [("0", True), ("-1", True), ("100.5", True), ("nan", True),
                                                  ("0.01", False), ("100", False)])
def test_teacher_labels_temperature_must_be_above_0_and_at_most_100(tmp_path, capsys, temperature, refused):
    """r7-teacher-labels-temperature-zero-accepted: --temperature T divides log p (softmax(log p / T)), so T = 0
    is refused by the parser, before any model loads: "a finite number in (0, 100]" (the help's range)."""
    from dsan_tf.cli import teacher_labels

    parser = teacher_labels.build_parser()
    argv = ["--weights", "ferplus", "--data-dir", str(tmp_path), "--output", str(tmp_path / "t.npz"),
            "--temperature", temperature]
    if not refused:
        assert parser.parse_args(argv).temperature == float(temperature)
        return
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument --temperature: expected a finite number in (0, 100]" in err, err
