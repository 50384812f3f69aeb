"""Issue 31's ways to lose a user's data, one test each (make-sample, ship, simulate-centres --csv,
export savedmodel's config files, align --report, ablate / tfrecords / analyze over a user's file),
and the locks: none left behind, two runs into one new output refused."""

import json
import os
from pathlib import Path

import pytest
from script_loader import ROOT, command, refused


SAMPLE = ROOT / "dsan_tf" / "sample_data" / "ferplus"


def tree(folder):
    """{relative path: bytes} of every file under ``folder`` (hidden ones too)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def no_locks(*folders):
    return [str(p) for folder in folders for p in Path(folder).rglob("*.lock")]


# ---------------------------------------------------------------------- 1. make-sample

def sample_args(source, out, *extra):
    return ["--source", source, "--out", out, "--train-per-class", 2, "--valid-per-class", 1, "--dropped", 1, *extra]


@pytest.fixture
def source(tmp_path):
    """A copy of the embedded sample as the "full data" (the package's own is never a source here)."""
    import shutil

    copy = tmp_path / "full"
    shutil.copytree(SAMPLE, copy)
    return copy


def test_make_sample_never_deletes_its_source(source, tmp_path):
    before = tree(source)
    refused(command("make-sample"), sample_args(source, source, "--overwrite"), r"--out .*(input|holds the input)")
    refused(command("make-sample"), sample_args(source, tmp_path, "--overwrite"), r"--out .*holds the input")
    assert tree(source) == before
    assert no_locks(tmp_path) == []


def test_make_sample_keeps_a_users_folder_and_a_good_sample_after_a_failure(source, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    refused(command("make-sample"), sample_args(source, mine), r"--out .*did not make.*--overwrite")
    assert tree(mine) == {"notes.txt": b"mine"}
    out = tmp_path / "sample"
    assert command("make-sample")(sample_args(source, out)) == 0
    images = sorted(p.name for p in (out / "FER2013Train").iterdir())
    assert len(images) == 8 * 2 + 1 + 1  # 2 per class, 1 dropped row, label.csv
    good = tree(out)
    # a failing rerun (more rows per class than the source has) leaves the good sample as it was
    refused(command("make-sample"), sample_args(source, out, "--train-per-class", 9999), r"class \d has only")
    assert tree(out) == good
    # a rerun into its own sample replaces it whole (another seed: other images)
    assert command("make-sample")(sample_args(source, out, "--seed", 5)) == 0
    assert tree(out) != good and len(list((out / "FER2013Train").iterdir())) == len(images)
    assert no_locks(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["full", "mine", "sample"]


def test_make_sample_needs_both_flags_and_never_writes_into_the_package(source, tmp_path):
    refused(command("make-sample"), ["--source", source], r"--out")
    refused(command("make-sample"), ["--out", tmp_path / "s"], r"--source")
    inside = ROOT / "dsan_tf" / "sample_data" / "made-by-a-test"
    refused(command("make-sample"), sample_args(source, inside), r"--out .*inside the installed package")
    assert not inside.exists()


# ---------------------------------------------------------------------- 2. ship

@pytest.fixture
def fake_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes(b"not read: _ship is replaced")
    (run / "config.json").write_text(json.dumps({"settings": {"dataset": "ferplus"}}))
    (run / "metrics.json").write_text("{}")
    return run


def fake_ship(weights):
    """A _ship that stages ``weights`` as toy.weights.npz and returns its record (no model, no scoring)."""
    import hashlib

    def _ship(args, config, metrics, model_path, staging):
        (staging / "toy.weights.npz").write_bytes(weights)
        return {"name": "toy", "weights_file": "toy.weights.npz", "config": {},
                "sha256": hashlib.sha256(weights).hexdigest()}
    return _ship


def ship_args(run, out, *extra):
    return ["--run", run, "--name", "toy", "--data-dir", SAMPLE, "--output", out, "--no-progress", *extra]


def test_ship_needs_an_output_outside_the_package(fake_run, monkeypatch):
    import dsan_tf.cli.ship_model as ship

    monkeypatch.setattr(ship, "_ship", fake_ship(b"weights"))
    refused(command("ship"), ["--run", fake_run, "--data-dir", SAMPLE], r"--output")
    for inside in (ROOT / "dsan_tf" / "pretrained_models", ROOT / "dsan_tf" / "made-by-a-test"):
        refused(command("ship"), ship_args(fake_run, inside), r"--output .*inside the installed package")
    assert not (ROOT / "dsan_tf" / "made-by-a-test").exists()


def test_ship_replaces_the_pair_in_one_step_and_keeps_the_folders_other_files(fake_run, tmp_path, monkeypatch):
    import dsan_tf.cli.ship_model as ship

    out = tmp_path / "shipped"
    monkeypatch.setattr(ship, "_ship", fake_ship(b"first"))
    assert command("ship")(ship_args(fake_run, out)) == 0
    (out / "other.json").write_text("another model's record")
    first = tree(out)
    # killed after the new weights were staged, before the record: the old pair stays, whole
    monkeypatch.setattr(ship, "_ship", fake_ship(b"second"))
    monkeypatch.setattr("dsan_tf.io_utils.write_json", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert command("ship")(ship_args(fake_run, out)) == 130
    assert tree(out) == first
    monkeypatch.undo()
    monkeypatch.setattr(ship, "_ship", fake_ship(b"second"))
    assert command("ship")(ship_args(fake_run, out)) == 0
    now = tree(out)
    assert now["toy.weights.npz"] == b"second" and now["other.json"] == b"another model's record"
    assert json.loads(now["toy.json"])["sha256"] != json.loads(first["toy.json"])["sha256"]
    assert sorted(os.listdir(tmp_path)) == ["run", "shipped"]  # no temporary, no lock left


# ---------------------------------------------------------------------- 3. simulate-centres --csv

def test_simulate_centres_csv_refuses_a_file_it_did_not_make(tmp_path):
    import numpy as np

    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), [5, 7, 9])
    features = np.abs(rng.normal(size=(len(labels), 6)))
    stored = tmp_path / "features.npz"
    np.savez(stored, features=features, attention=np.full_like(features, 0.3), labels=labels,
             class_names=np.array(list("abc")))
    model = tmp_path / "model.keras"
    model.write_bytes(b"a 136 MB model, in spirit")
    argv = ["--features", stored, "--epochs", 1, "--rule", "centre-loss:0.05:0.9"]
    refused(command("simulate-centres"), [*argv, "--csv", model], r"--csv .*model.keras: exists.*--overwrite")
    assert model.read_bytes() == b"a 136 MB model, in spirit"
    refused(command("simulate-centres"), [*argv, "--csv", stored], r"--csv .*input")
    assert command("simulate-centres")([*argv, "--csv", model, "--overwrite"]) == 0
    assert model.read_text().startswith("rule,class_name,cosine")
    assert no_locks(tmp_path) == []


# ---------------------------------------------------------------------- 4. export savedmodel's config files

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from dsan_tf.model import build_dsan

    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_dsan(3, 32, "dsan", class_names=["a", "b", "c"], dtype="float32").save(path)
    return path


def served_versions(path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2 as msc

    config = text_format.Parse(Path(path).read_text(), msc.ModelServerConfig())
    return {c.name: list(c.model_version_policy.specific.versions) for c in config.model_config_list.config}


def test_export_never_rewrites_a_users_server_config(tiny_model, tmp_path, capsys):
    models = tmp_path / "models"
    (models / "dsan").mkdir(parents=True)
    users = {"models.config": "# my server, my comments\nmodel_config_list { config { name: \"dsan\" "
                              "base_path: \"/srv/mine\" model_platform: \"tensorflow\" } }\n",
             "batching_parameters.txt": "# hand-tuned\nmax_batch_size { value: 7 }\n"}
    for name, text in users.items():
        (models / name).write_text(text)
    export = command("export savedmodel")
    for version in (4, 5):
        assert export(["--weights", tiny_model, "--output", models / "dsan", "--version", version]) == 0
        for name, text in users.items():
            assert (models / name).read_text() == text  # kept, byte for byte
        assert "kept" in capsys.readouterr().err
    assert served_versions(models / "models.config.dsan") == {"dsan": [4, 5]}  # merged into the file it made
    assert "num_batch_threads" in (models / "batching_parameters.txt.dsan").read_text()
    assert sorted(os.listdir(models)) == ["batching_parameters.txt", "batching_parameters.txt.dsan", "dsan",
                                          "models.config", "models.config.dsan"]  # no lock, no temporary left


# ---------------------------------------------------------------------- 5. align --report

def photo(path, size=(40, 56), seed=0):
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return path


class NoFaceDetector:
    """MTCNN's interface, finding no face: align's bookkeeping in milliseconds."""

    def detect_faces(self, image):
        return []


def test_align_report_refuses_a_users_file_and_overwrite_replaces_it(tmp_path, monkeypatch):
    import dsan_tf.data.align as align_module

    real = align_module.FaceAligner
    monkeypatch.setattr(align_module, "FaceAligner", lambda *a, **k: real(*a, **k, detector=NoFaceDetector()))
    photo(tmp_path / "photos" / "a.png")
    mine = tmp_path / "notes.csv"
    mine.write_text("my notes\n")
    argv = ["--input", tmp_path / "photos", "--output", tmp_path / "out", "--no-progress"]
    align = command("align")
    refused(align, [*argv, "--report", mine], r"--report .*notes.csv: exists.*--overwrite")
    assert mine.read_text() == "my notes\n" and not (tmp_path / "out").exists()
    assert align([*argv, "--report", mine, "--overwrite"]) == 0
    assert mine.read_text().startswith("path,status,faces,message")
    for _ in range(2):  # its own default report is replaced on a rerun
        assert align(argv) == 0
    assert (tmp_path / "out" / "align-report.csv").is_file()
    assert no_locks(tmp_path) == []


# ---------------------------------------------------------------------- 6-10. a file with the name they write

def finished_point(directory, accuracy):
    """A finished point as dsan train leaves it (metrics.json and the config.json of its variant)."""
    from test_ablate import write_point

    variant = "baseline" if directory.name.startswith("baseline") else "dsan"
    write_point(directory, accuracy, accuracy, ["--variant", variant])


def test_ablate_does_not_take_over_a_folder_holding_an_ablation_json(tmp_path, capsys):
    ablate = command("ablate")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "ablation.json").write_text('{"my": "table"}')
    refused(ablate, ["--grid", "variant", "--dataset", "ferplus", "--output", mine], r"--output .*did not make")
    assert tree(mine) == {"ablation.json": b'{"my": "table"}'}
    # a grid folder of finished points (from before markers): accepted, and its table rewritten on a rerun
    grid = tmp_path / "grid"
    finished_point(grid / "baseline-seed0", 0.8)
    finished_point(grid / "DSAN-seed0", 0.7)
    for _ in range(2):
        assert ablate(["--grid", "variant", "--dataset", "ferplus", "--output", grid]) == 0
    assert json.loads((grid / "ablation.json").read_text())["rows"][0]["accuracy"] == [pytest.approx(80.0)]
    assert no_locks(tmp_path) == []
    capsys.readouterr()


def test_tfrecords_does_not_take_over_a_folder_of_someone_elses_shards(tmp_path):
    mine = tmp_path / "shards"
    mine.mkdir()
    for name in ("train-00000-of-00001.tfrecord", "train-00000-of-00001.tfrecord.bak"):
        (mine / name).write_bytes(b"the user's records")
    before = tree(mine)
    refused(command("tfrecords"), ["--dataset", "ferplus", "--data-dir", SAMPLE, "--output", mine, "--no-progress"],
            r"--output .*did not make.*--overwrite")
    assert tree(mine) == before


def test_tfrecords_clears_only_the_names_it_writes(tmp_path):
    from dsan_tf.data.tfrecords import _clear_split

    for name in ("train-00000-of-00002.tfrecord", "train-00000-of-00002.tfrecord.done.json", "train.plan.json",
                 "train-00000-of-00002.tfrecord.bak", "train-notes.tfrecord", "valid-00000-of-00001.tfrecord"):
        (tmp_path / name).write_text("x")
    _clear_split(tmp_path, "train")
    assert sorted(os.listdir(tmp_path)) == ["train-00000-of-00002.tfrecord.bak", "train-notes.tfrecord",
                                            "valid-00000-of-00001.tfrecord"]


# ---------------------------------------------------------------------- two runs into one new output

def second_run(name, tmp, model):
    new = tmp / "new"
    return new, {
        "tfrecords": ["--dataset", "ferplus", "--data-dir", SAMPLE, "--output", new, "--no-progress"],
        "export tflite": ["--weights", model, "--output", new, "--limit", 2, "--no-progress"],
        "ship": ["--run", tmp / "run", "--data-dir", SAMPLE, "--output", new, "--no-progress"],
        "train": ["--dataset", "ferplus", "--data-dir", SAMPLE, "--image-size", 32, "--epochs", 1, "--verbose", 0,
                  "--output", new],
        "make-sample": ["--source", SAMPLE, "--out", new],
        "align": ["--input", tmp / "run", "--output", new, "--no-progress"],
    }[name]


@pytest.mark.parametrize("name", ["tfrecords", "export tflite", "ship", "train", "make-sample", "align"])
def test_a_second_run_into_the_same_new_output_is_refused_before_it_exists(name, tmp_path, tiny_model):
    from dsan_tf.outputs import lock_output

    run = tmp_path / "run"
    run.mkdir()
    for file in ("model.keras", "config.json", "metrics.json"):
        (run / file).write_text(json.dumps({"settings": {"dataset": "ferplus"}}))
    new, argv = second_run(name, tmp_path, tiny_model)
    lock, _ = lock_output(new, "the first run")  # the first run holds its lock; its folder does not exist yet
    try:
        refused(command(name), argv, r"in use by another")
        assert not new.exists()
    finally:
        lock.release()
    assert no_locks(tmp_path) == []


def test_analyze_does_not_take_over_a_folder_holding_a_summary(tmp_path, tiny_model):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.json").write_text('{"my": "summary"}')
    (mine / "summary.txt").write_text("my notes")
    before = tree(mine)
    for extra in ([], ["--perplexity", "3"]):
        refused(command("analyze"), ["--weights", tiny_model, "--output", mine, "--max-images", 20, *extra],
                r"--output .*did not make.*--overwrite")
    assert tree(mine) == before and no_locks(tmp_path) == []


def test_an_accepted_folder_of_an_earlier_version_keeps_its_files_as_the_commands_own(tmp_path):
    from dsan_tf.outputs import MARKER, OutputPolicy, read_marker

    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text("{}")
    with OutputPolicy(command="analyze") as policy:
        policy.claim_and_mark(old, kind="analysis", accept=lambda folder: True)
        policy.claim_file(old / "summary.json")  # listed: replaceable without --overwrite
    assert read_marker(old)[2] == {"summary.json"} and (old / MARKER).is_file()


# ---------------------------------------------------------------------- the README's predict, run twice

def test_predict_twice_into_one_csv_says_to_add_overwrite_and_overwrite_works(tiny_model, tmp_path):
    photos = tmp_path / "photos"
    photo(photos / "a.png")
    faces = tmp_path / "faces.csv"
    argv = ["--weights", tiny_model, photos, "--format", "csv", "--output", faces, "--no-progress"]
    predict = command("predict")
    assert predict(argv) == 0
    first = faces.read_bytes()
    refused(predict, argv, r"--output .*faces.csv: exists; pass --overwrite to replace it")
    assert faces.read_bytes() == first
    assert predict([*argv, "--overwrite"]) == 0
    assert faces.read_text().splitlines()[0] == first.decode().splitlines()[0]
    assert sorted(os.listdir(tmp_path)) == ["faces.csv", "photos"]  # no .lock, no temporary


def test_no_lock_file_remains_after_a_policy_closes_however_it_ends(tmp_path):
    from dsan_tf.outputs import OutputPolicy, lock_path

    old = tmp_path / "old"
    old.mkdir()
    (old / ".lock").write_text("123\n")  # left inside the folder by an earlier version
    for ending in (None, RuntimeError, KeyboardInterrupt):
        try:
            with OutputPolicy(command="test") as policy:
                policy.claim_folder(tmp_path / "new" / "deep", kind="k")
                policy.claim_file(tmp_path / "file.csv")
                policy.claim_folder(old, kind="k", accept=lambda folder: True)
                assert lock_path(tmp_path / "new" / "deep").is_file()
                if ending is not None:
                    raise ending()
        except (RuntimeError, KeyboardInterrupt):
            pass
        assert sorted(os.listdir(tmp_path)) == ["old"]  # no lock, no folder made only for a lock
        assert os.listdir(old) == []
