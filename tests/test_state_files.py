"""Every state file a command reads back goes through the one checked reader (issue 31).

Each is damaged in turn (truncated, wrong type, garbage bytes, missing key) and the command that reads it
must answer one line naming the file and what is wrong: not "internal error", not a traceback. A walk over
the source (AST) keeps new reads of state files inside dsan_tf/state_files.py.
"""

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from script_loader import command, refused

from dsan_tf.state_files import StateFileError, check_schema, read_csv_state, read_json_state

ROOT = Path(__file__).resolve().parents[1]


# Damage applied to a JSON state file: (name, bytes of the damaged file, what the line must say).
def json_damage(good: dict, key: str):
    text = json.dumps(good)
    broken = dict(good)
    broken[key] = [1, 2] if not isinstance(good[key], list) else "text"
    missing = {k: v for k, v in good.items() if k != key}
    return [
        ("truncated", text[: len(text) * 2 // 3].encode(), "not valid JSON (truncated?)"),
        ("empty", b"", "is empty (truncated?)"),
        ("garbage", b"\x00\x9f\x92\x96 garbage \xff", "not UTF-8"),
        ("not an object", b"[1, 2, 3]", "expected an object, found an array"),
        ("wrong type", json.dumps(broken).encode(), f"at {key}, found"),
        ("missing key", json.dumps(missing).encode(), f"missing key {key}"),
        ("NaN", text.replace("{", '{"x": NaN, ', 1).encode(), "holds NaN, not a finite number"),
    ]


DAMAGE_IDS = ["truncated", "empty", "garbage", "not an object", "wrong type", "missing key", "NaN"]


# ------------------------------------------------------------------ the reader itself
def test_the_reader_names_the_file_what_it_is_and_what_is_wrong(tmp_path):
    path = tmp_path / "state.json"
    schema = {"settings": {"epochs": int, "rate": float, "name?": str}, "rows": [{"accuracy": (float, None)}]}
    good = {"settings": {"epochs": 3, "rate": 0.5}, "rows": [{"accuracy": 0.5}, {"accuracy": None}]}
    path.write_text(json.dumps(good))
    assert read_json_state(path, schema, what="a test state") == good
    for value, says in [({"settings": {"epochs": 3.5, "rate": 0.5}, "rows": []}, "expected an integer at settings.epochs"),
                        ({"settings": {"epochs": True, "rate": 0.5}, "rows": []}, "at settings.epochs, found true/false"),
                        ({"settings": {"epochs": 3, "rate": 1e999}, "rows": []}, "holds Infinity"),
                        ({"settings": {"epochs": 3, "rate": 0.5}, "rows": [{"accuracy": "x"}]},
                         "expected a finite number or null at rows[0].accuracy, found a string")]:
        path.write_text(json.dumps(value).replace("Infinity", "Infinity"))
        with pytest.raises(StateFileError, match=r"^" + str(path).replace(".", r"\.") + r" \(a test state\): ") as raised:
            read_json_state(path, schema, what="a test state")
        assert says in str(raised.value), raised.value
    with pytest.raises(StateFileError, match="not found"):
        read_json_state(tmp_path / "none.json", dict)
    with pytest.raises(StateFileError, match="is a folder"):
        read_json_state(tmp_path, dict)
    assert check_schema({"a": 1}, {"a": int, "b?": str}) is None


def test_the_csv_reader_names_the_row_and_column(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,1.5\n1,abc\n")
    with pytest.raises(StateFileError, match=r"row 3, column loss: 'abc' is not a number"):
        read_csv_state(path, ("epoch",), numeric=True)
    path.write_text("epoch,loss\n0,1.5\nnan,1.0\n")
    with pytest.raises(StateFileError, match=r"row 3, column epoch: .* not a finite number"):
        read_csv_state(path, ("epoch",), finite=("epoch",))
    path.write_text("loss\n1.5\n")
    with pytest.raises(StateFileError, match=r"missing column\(s\) epoch"):
        read_csv_state(path, ("epoch",))
    path.write_text("epoch,loss\n0,1.5\n1,0.5\n")
    assert read_csv_state(path, ("epoch",), finite=("epoch", "loss"), numeric=True)["loss"].tolist() == [1.5, 0.5]


# ------------------------------------------------------------------ each state file, damaged, through its command
def a_run(folder, accuracy=0.7):
    """A finished, evaluated run folder as dsan train leaves it (what compare, table4 and ablate read)."""
    folder.mkdir(parents=True)
    metrics = {"dataset": "ferplus", "split": "valid", "count": 10, "accuracy": accuracy, "mean_class_accuracy": 0.5,
               "per_class_accuracy": {"neutral": 0.7, "happiness": 0.3},
               "subsets": {"occlusion": {"accuracy": 0.6, "count": 5}}}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "config.json").write_text(json.dumps({"settings": {"variant": "dsan", "image_size": 48}, "versions": {}}))
    (folder / "history.csv").write_text("epoch,accuracy,loss\n0,0.5,1.2\n1,0.6,1.0\n")
    return folder


@pytest.mark.parametrize("damage", range(7), ids=DAMAGE_IDS)
def test_compare_names_a_damaged_metrics_json(tmp_path, damage):
    run = a_run(tmp_path / "run")
    good = json.loads((run / "metrics.json").read_text())
    _, data, says = json_damage(good, "accuracy")[damage]
    (run / "metrics.json").write_bytes(data)
    line = refused(command("compare"), [run], r"run/metrics\.json \(a run's metrics\): ")
    assert says in line, line


@pytest.mark.parametrize("damage", range(7), ids=DAMAGE_IDS)
def test_compare_names_a_damaged_config_json(tmp_path, damage):
    run = a_run(tmp_path / "run")
    _, data, says = json_damage({"settings": {"variant": "dsan"}, "versions": {}}, "settings")[damage]
    (run / "config.json").write_bytes(data)
    line = refused(command("compare"), [run], r"run/config\.json \(a run's configuration\): ")
    assert says in line, line


@pytest.mark.parametrize("data, says", [
    (b"epoch,accuracy,loss\n0,0.5,1.2\n1,0.6", None),  # a row cut short: pandas fills NaN, still a readable row
    (b"\x00\xff\xfe\x00", "not UTF-8"),
    (b"", "is empty"),
    (b"accuracy,loss\n0.5,1.2\n", "missing column(s) epoch"),
    (b"epoch,accuracy\n0,high\n", "row 2, column accuracy: 'high' is not a number"),
    (b"epoch,accuracy\nx,0.5\n", "row 2, column epoch: 'x' is not a number"),
])
def test_compare_names_a_damaged_history_csv(tmp_path, capsys, data, says):
    run = a_run(tmp_path / "run")
    (run / "history.csv").write_bytes(data)
    if says is None:
        assert command("compare")([run]) == 0
        return
    line = refused(command("compare"), [run], r"run/history\.csv \(a run's training history\): ")
    assert says in line, line


@pytest.mark.parametrize("damage", range(7), ids=DAMAGE_IDS)
def test_table4_names_the_run_whose_metrics_are_damaged(tmp_path, damage):
    good_run = a_run(tmp_path / "good")
    run = a_run(tmp_path / "bad")
    good = json.loads((run / "metrics.json").read_text())
    _, data, says = json_damage(good, "dataset")[damage]
    (run / "metrics.json").write_bytes(data)
    line = refused(command("table4"), [good_run, run], r"bad/metrics\.json \(the metrics of run .*bad\): ")
    assert says in line and "good" not in line.split(":")[1], line


def test_table4_names_the_subset_that_lacks_what_it_needs(tmp_path):
    run = a_run(tmp_path / "run")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["subsets"]["pose30"] = {"accuracy": 0.5}
    (run / "metrics.json").write_text(json.dumps(metrics))
    refused(command("table4"), [run], r"run/metrics\.json .*missing key subsets\.pose30\.count")
    metrics["subsets"]["pose30"] = {"accuracy": 55.0, "count": 3}
    (run / "metrics.json").write_text(json.dumps(metrics))
    refused(command("table4"), [run], r"subsets\.pose30\.accuracy is 55\.0, not an accuracy in \[0, 1\]")


# ------------------------------------------------------------------ resume: config.json and the checkpoints' record
@pytest.mark.parametrize("damage", range(7), ids=DAMAGE_IDS)
def test_resume_names_a_damaged_config_json(tmp_path, damage):
    from dsan_tf import runner
    from dsan_tf.outputs import write_marker

    out = tmp_path / "run"
    out.mkdir()
    write_marker(out, "run", "train")
    _, data, says = json_damage({"settings": {"epochs": 2}, "versions": {}}, "settings")[damage]
    (out / "config.json").write_bytes(data)
    with pytest.raises(StateFileError, match=r"run/config\.json \(a run's configuration\): ") as raised:
        runner.start_or_resume(out, {"resume": True, "epochs": 2})
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_a_damaged_running_metrics_record_is_named_and_costs_only_the_row(tmp_path, caplog):
    from test_resume_safety import tiny_model, trained

    from dsan_tf.training import RUNNING_METRICS, TrainingState

    trained(tmp_path / "run")  # ckpt-3 after the epoch's last step, ckpt-4 at the epoch's end
    for path in (tmp_path / "run" / "checkpoints").glob("ckpt-4.*"):
        path.unlink()  # killed during validation: the newest checkpoint is the one after the last step
    (tmp_path / "run" / "checkpoints" / RUNNING_METRICS).write_bytes(b'{"ckpt-3": [[1.0, 2')
    state = TrainingState(tiny_model(), tmp_path / "run" / "checkpoints")
    assert state.restore_latest() == (0, 3)
    assert RUNNING_METRICS in caplog.text and "not valid JSON" in caplog.text


# ------------------------------------------------------------------ align's ledger and settings
LEDGER_HEAD = "path,status,faces,message\n"


@pytest.mark.parametrize("ledger, says", [
    (LEDGER_HEAD + "a.png,ok,1,\nb.png,no_fa", "line 3 has 2 field(s), expected 4 (truncated?)"),
    (LEDGER_HEAD + "a.png,done,1,\n", "line 2: status 'done' is not one of"),
    ("name,outcome\na.png,ok\n", "header is 'name,outcome'"),
    ("", "is empty"),
    (LEDGER_HEAD + "a.png\x00,ok,1,\n", "NUL bytes"),
])
def test_align_names_a_damaged_ledger(tmp_path, ledger, says):
    from dsan_tf.data import align

    (tmp_path / "in").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / align._LEDGER).write_text(ledger)
    aligner = align.FaceAligner(output_size=32, detector=object())
    with pytest.raises(StateFileError, match=r"\.align-ledger\.csv \(align's ledger of finished files\): ") as raised:
        align.align_folder(tmp_path / "in", out, aligner=aligner, progress=False)
    assert says in str(raised.value), raised.value


@pytest.mark.parametrize("data, says", [(b'{"size": 3', "not valid JSON"), (b"[1]", "expected an object"),
                                        (b"\xff\xfe", "not UTF-8")])
def test_align_names_damaged_settings(tmp_path, data, says):
    from dsan_tf.data import align

    (tmp_path / "in").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / align._SETTINGS).write_bytes(data)
    aligner = align.FaceAligner(output_size=32, detector=object())
    with pytest.raises(StateFileError, match=r"\.align-settings\.json \(the settings this output folder was aligned"):
        align.align_folder(tmp_path / "in", out, aligner=aligner, progress=False)


# ------------------------------------------------------------------ tfrecords' plan, manifests and shard records
def tiny_split(tmp_path):
    from PIL import Image

    from dsan_tf.data.table import make_table, one_hot

    paths = []
    for i in range(4):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(np.full((12, 9), 40 * i, np.uint8), mode="L").save(path)
        paths.append(str(path))
    return make_table("train", [p.rsplit("/", 1)[1] for p in paths], paths, one_hot([0, 1, 0, 1], 2))


@pytest.mark.parametrize("damage", range(7), ids=DAMAGE_IDS)
def test_tfrecords_names_a_damaged_manifest(tmp_path, damage):
    from dsan_tf.data import tfrecords

    table = tiny_split(tmp_path)
    manifest = tfrecords.write_tfrecords(table, ["a", "b"], tmp_path / "out", num_shards=2, progress=False)
    path = tmp_path / "out" / tfrecords.manifest_name("train")
    _, data, says = json_damage(manifest, "shards")[damage]
    path.write_bytes(data)
    for read in (lambda: tfrecords.read_manifest(tmp_path / "out"),
                 lambda: tfrecords.write_tfrecords(table, ["a", "b"], tmp_path / "out", num_shards=2, progress=False)):
        with pytest.raises(StateFileError, match=r"train\.manifest\.json \(the manifest of a TFRecord split\): ") as r:
            read()
        assert says in str(r.value), r.value


@pytest.mark.parametrize("damage", [0, 2, 3, 5], ids=["truncated", "garbage", "not an object", "missing key"])
def test_tfrecords_names_a_damaged_plan(tmp_path, damage):
    from dsan_tf.data import tfrecords

    table = tiny_split(tmp_path)
    manifest = tfrecords.write_tfrecords(table, ["a", "b"], tmp_path / "out", num_shards=2, progress=False)
    plan = tmp_path / "out" / tfrecords._plan_name("train")
    _, data, says = json_damage({"fingerprint": manifest["fingerprint"], "count": 4}, "fingerprint")[damage]
    plan.write_bytes(data)
    with pytest.raises(StateFileError, match=r"\(the plan of an unfinished TFRecord write\): ") as raised:
        tfrecords.write_tfrecords(table, ["a", "b"], tmp_path / "out", num_shards=2, progress=False)
    assert says in str(raised.value)


def test_a_damaged_shard_record_rewrites_the_shard(tmp_path, caplog):
    from dsan_tf.data import tfrecords

    table = tiny_split(tmp_path)
    first = tfrecords.write_tfrecords(table, ["a", "b"], tmp_path / "out", num_shards=2, progress=False)
    (tmp_path / "out" / tfrecords.manifest_name("train")).unlink()  # an interrupted write: the records decide
    shard = first["shards"][0]["file"]
    (tmp_path / "out" / tfrecords._done_name(shard)).write_bytes(b'{"count": 2, "by')
    again = tfrecords.write_tfrecords(table, ["a", "b"], tmp_path / "out", num_shards=2, progress=False)
    assert again["shards"] == first["shards"]
    assert "finished shard's record" in caplog.text and "not valid JSON" in caplog.text


# ------------------------------------------------------------------ the decoded-image cache
def test_a_damaged_image_cache_is_named_and_rebuilt(tmp_path, caplog):
    import tensorflow as tf

    from dsan_tf.data.pipeline import check_decodable, make_dataset

    table = tiny_split(tmp_path)
    prefix = str(tmp_path / "cache" / "train-16px")
    (tmp_path / "cache").mkdir()
    check_decodable(table, 16, prefix)
    expected = [x.numpy() for x, _ in make_dataset(table, 2, 16, 4, training=False, cache=prefix)]
    data = next((tmp_path / "cache").glob("train-16px*.data*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    check_decodable(table, 16, prefix)
    assert "train-16px is damaged" in caplog.text
    got = [x.numpy() for x, _ in make_dataset(table, 2, 16, 4, training=False, cache=prefix)]
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(expected))
    assert tf.is_tensor(tf.constant(0))


# ------------------------------------------------------------------ no read of a state file outside the reader
# Reads that are not of a state file, and why. A new json.load/pd.read_csv/np.load/... elsewhere fails.
ALLOWED = {
    ("dsan_tf/state_files.py", "*"): "the checked reader itself",
    ("dsan_tf/data/ferplus.py", "*"): "dataset label files (inputs, named row by row by the data readers)",
    ("dsan_tf/data/affectnet.py", "*"): "dataset label files (inputs)",
    ("dsan_tf/data/subsets.py", "*"): "the user's subset lists (inputs, checked line by line)",
    ("dsan_tf/cli/make_sample.py", "*"): "a dataset's label file (input)",
    ("dsan_tf/distribute.py", "loads"): "the TF_CONFIG environment variable, not a file",
    ("dsan_tf/outputs.py", "loads"): "markers: an unreadable marker counts as someone else's folder (read_marker)",
    ("dsan_tf/pretrained.py", "*"): "the weights and record shipped inside the package (verified by checksum)",
    ("dsan_tf/cli/ship_model.py", "loads"): "a shipped pair's record: unreadable means not ours (is_shipped_pair), "
                                            "or the record ship has just written",
    ("dsan_tf/cli/client.py", "loads"): "a server's error body, shown as text when it is not JSON (_error_text)",
    ("dsan_tf/export.py", "*"): "the user's models.config, parsed by protobuf's text_format and reported by export",
}
READERS = {"load", "loads", "read_csv", "read_json", "load_npz", "fromfile", "read_table", "genfromtxt", "loadtxt",
           "reader", "DictReader"}
MODULES = {"json", "pd", "pandas", "np", "numpy", "csv"}


def reads_outside_the_reader():
    found = []
    for path in sorted((ROOT / "dsan_tf").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if (rel, "*") in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in READERS \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in MODULES \
                    and (rel, node.func.attr) not in ALLOWED:
                found.append(f"{rel}:{node.lineno} {node.func.value.id}.{node.func.attr}")
    return found


def test_state_files_are_read_only_through_the_checked_reader():
    assert reads_outside_the_reader() == []


def test_the_source_walk_finds_a_new_read(tmp_path, monkeypatch):
    """The walk must be able to fail: a json.loads added to a command is found."""
    global ROOT
    fake = tmp_path / "repo"
    (fake / "dsan_tf" / "cli").mkdir(parents=True)
    (fake / "dsan_tf" / "cli" / "table4.py").write_text("import json\nvalue = json.loads(open('m').read())\n")
    (fake / "dsan_tf" / "plots.py").write_text("import pandas as pd\nlog = pd.read_csv('history.csv')\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", fake)
    assert reads_outside_the_reader() == ["dsan_tf/cli/table4.py:2 json.loads", "dsan_tf/plots.py:2 pd.read_csv"]


# ------------------------------------------------------------------ an export's recorded model settings
@pytest.mark.parametrize("data, says", [(b'{"image_size": 11', "not valid JSON (truncated?)"),
                                        (b'{"image_size": "48"}', "expected an integer at image_size"),
                                        (b"\x89PNG\r\n", "not UTF-8"), (b"[48]", "expected an object")])
def test_a_damaged_settings_record_of_an_export_is_named(tmp_path, data, says):
    from dsan_tf.api import input_settings
    from dsan_tf.inference import ModelLoadError

    path = tmp_path / "dsan_settings.json"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError, match=r"dsan_settings\.json \(an export's model settings\): ") as raised:
        input_settings(path)
    assert says in str(raised.value)


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def test_open_bounds_refuse_the_bound_itself():
    """state-open-upper-bound-accepts-the-bound: (0, 1) refuses 0 and 1, [0, 1] takes them."""
    from dsan_tf.state_files import ArgumentError, require_in_range

    assert require_in_range(1.0, "p", 0, 1) == 1.0 and require_in_range(0.0, "p", 0, 1) == 0.0
    assert require_in_range(0.999, "p", 0, 1, low_open=True, high_open=True) == 0.999
    for value, match in ((1.0, r"p must be in \(0, 1\), got 1\.0"), (0.0, r"p must be in \(0, 1\), got 0\.0")):
        with pytest.raises(ArgumentError, match=match):
            require_in_range(value, "p", 0, 1, low_open=True, high_open=True)


def test_an_npz_state_file_with_nan_or_inf_is_refused_naming_the_array(tmp_path):
    """state-npz-nan-accepted: read_npz_state's float arrays must be finite (integer arrays are not checked)."""
    from dsan_tf.state_files import StateFileError, read_npz_state

    path = tmp_path / "features.npz"
    schema = {"features": (2, "f"), "labels": (1, "iu")}
    np.savez(path, features=np.ones((3, 2)), labels=np.arange(3))
    assert read_npz_state(path, schema)["labels"].tolist() == [0, 1, 2]
    for bad in (np.nan, np.inf):
        features = np.ones((3, 2))
        features[2, 1] = bad
        np.savez(path, features=features, labels=np.arange(3))
        with pytest.raises(StateFileError, match=r"features\.npz.*array 'features' holds NaN or infinite"):
            read_npz_state(path, schema)


# round 2 blind mutants (issue 34)
def test_an_npz_array_of_the_right_kind_but_the_wrong_rank_is_refused(tmp_path):
    """r2-state-npz-shape-or-kind: rank and kind are both required (1-D float features are not features)."""
    from dsan_tf.state_files import read_npz_state

    path = tmp_path / "features.npz"
    np.savez(path, features=np.arange(6, dtype=np.float32), labels=np.array([0, 1, 2]))
    with pytest.raises(StateFileError, match=r"array 'features' is 1-D float32, expected 2-D of kind 'f'"):
        read_npz_state(path, {"features": (2, "f"), "labels": (1, "iu")}, what="features")
    np.savez(path, features=np.ones((3, 2), np.float32), labels=np.array([0.0, 1.0, 2.0]))
    with pytest.raises(StateFileError, match=r"array 'labels' is 1-D float64, expected 1-D of kind 'iu'"):
        read_npz_state(path, {"features": (2, "f"), "labels": (1, "iu")}, what="features")


# ---- lines its own tests never ran (issue 34)


def _says(call, *args, **kwargs) -> str:
    with pytest.raises(StateFileError) as refused:
        call(*args, **kwargs)
    return str(refused.value)


def test_a_state_file_that_cannot_be_read_is_named_with_what_and_hint(tmp_path):
    """read_text_state's three refusals: not found, a folder, any other OSError (here a path through a file:
    'Not a directory'), each '<path> (<what>): <problem>; <hint>'."""
    from dsan_tf.state_files import read_text_state

    afile = tmp_path / "a.json"
    afile.write_text("{}")
    assert _says(read_text_state, tmp_path / "none.json", "a run's metrics", "rerun it") == \
        f"{tmp_path / 'none.json'} (a run's metrics): not found; rerun it"
    assert _says(read_text_state, tmp_path, "a plan") == f"{tmp_path} (a plan): is a folder, not a file"
    assert _says(read_text_state, afile / "x.json") == f"{afile / 'x.json'}: cannot be read (Not a directory)"
    assert read_text_state(afile) == "{}"


def test_schema_messages_name_every_option_and_the_key_path():
    """_schema_name of an object or array option, a non-finite number under float/Number, and the schema
    ``object`` (anything, even null) still requiring its key."""
    from dsan_tf.state_files import Number

    assert check_schema([1], ({"a": int}, None)) == "expected an object or null, found an array"
    assert check_schema(5, ([int], str)) == "expected an array or a string, found an integer"
    assert check_schema({"a": {"b": 1}}, {"a": {"b": ([str], None)}}) == \
        "expected an array or null at a.b, found an integer"
    assert check_schema(float("inf"), float) == "expected a finite number, found inf"
    assert check_schema({"x": [1.0, float("nan")]}, {"x": [Number]}) == "expected a finite number at x[1], found nan"
    assert check_schema({"a": None}, {"a": object}) is None and check_schema({"a": [1, "x"]}, {"a": object}) is None
    assert check_schema({}, {"a": object}) == "missing key a"
    assert check_schema(True, int) == "expected an integer, found true/false"
    assert check_schema(3, int) is None and check_schema(3, float) is None


def test_an_unparseable_csv_state_file_is_one_line(tmp_path):
    """read_csv_state: pandas' parser error (a row with too many fields) and a ValueError of its options
    become 'not a readable CSV table (<first line of the reason>)'."""
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,1.5\n1,1.2,9,9\n")
    assert _says(read_csv_state, path, ("epoch",), what="a history") == (
        f"{path} (a history): not a readable CSV table (Error tokenizing data. C error: Expected 2 fields in "
        "line 3, saw 4)")
    path.write_text("epoch,loss\n0,1.5\n")
    says = _says(read_csv_state, path, usecols=["accuracy"])
    assert says.startswith(f"{path}: not a readable CSV table (") and "accuracy" in says
    assert read_csv_state(path, ("epoch", "loss"))["loss"].tolist() == [1.5]


def test_require_finite_skips_what_is_not_numeric_and_names_the_first_bad_number():
    """_first_non_finite: a value numpy cannot read as numbers (an object, a set) is not a number, so it is
    passed over and the search goes on to the next item; an array names its index."""
    from dsan_tf.state_files import NotANumberError, require_finite

    values = {"model": object(), "tags": {1, 2}, "p": [0.5, float("nan")]}
    with pytest.raises(NotANumberError) as refused:
        require_finite(values, "answer")
    assert str(refused.value) == "answer: values include nan at p[1], not a finite number"
    fine = {"model": object(), "name": "x", "p": [0.5, 1.0], "flag": True, "none": None}
    assert require_finite(fine, "answer") is fine
    with pytest.raises(NotANumberError) as refused:
        require_finite(np.array([[1.0, 2.0], [3.0, -np.inf]]), "out.csv", what="probabilities", hint="retrain")
    assert str(refused.value) == "out.csv: probabilities include -inf at [1, 1], not a finite number; retrain"


def test_csv_rows_state_refusals_and_blank_lines(tmp_path):
    """read_csv_rows_state: an unreadable path, bytes that are not UTF-8 (unless surrogateescape), a field
    past csv's limit; a blank line is skipped but still counted in the line numbers."""
    from dsan_tf.state_files import read_csv_rows_state

    ledger = tmp_path / "ledger.csv"
    assert _says(read_csv_rows_state, tmp_path, ["a", "b"], what="a ledger") == \
        f"{tmp_path} (a ledger): cannot be read (Is a directory)"
    ledger.write_bytes(b"a,b\r\nok\xff,1\r\n")
    assert _says(read_csv_rows_state, ledger, ["a", "b"]) == \
        f"{ledger}: not UTF-8 text (damaged? byte 7 is 0xff)"
    assert read_csv_rows_state(ledger, ["a", "b"], errors="surrogateescape") == [{"a": "ok\udcff", "b": "1"}]
    ledger.write_text("a,b\n1,2\n\n3,4\n5\n")
    assert _says(read_csv_rows_state, ledger, ["a", "b"]) == \
        f"{ledger}: line 5 has 1 field(s), expected 2 (truncated?)"
    ledger.write_text("a,b\n1,2\n\n3,4\n")
    assert read_csv_rows_state(ledger, ["a", "b"]) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    ledger.write_text("a,b\n" + "x" * 200_000 + ",1\n")
    says = _says(read_csv_rows_state, ledger, ["a", "b"], hint="delete it")
    assert says.startswith(f"{ledger}: not a readable CSV table (field larger than field limit") and \
        says.endswith("; delete it")


def test_a_missing_npz_state_file_is_not_found(tmp_path):
    """read_npz_state: a missing archive is 'not found', not 'not a readable .npz archive'."""
    from dsan_tf.state_files import read_npz_state

    path = tmp_path / "features.npz"
    assert _says(read_npz_state, path, {"features": (2, "f")}, what="features") == \
        f"{path} (features): not found"


def test_require_in_range_names_one_sided_bounds_and_refuses_what_is_not_a_number():
    """require_in_range: a missing bound is -inf / inf in the message and checks nothing on its side; a bool,
    a string, NaN or infinity is 'must be a finite number'; numpy numbers are numbers."""
    from dsan_tf.state_files import ArgumentError, require_in_range

    assert require_in_range(1e12, "batch", 1) == 1e12 and require_in_range(-5, "shift", high=0) == -5
    assert require_in_range(np.float32(0.5), "tau", 0, 1) == np.float32(0.5)
    for value, low, high, says in ((0, 1, None, "batch must be in [1, inf], got 0"),
                                   (2, None, 1, "batch must be in [-inf, 1], got 2"),
                                   (0.5, 0.5, None, None)):
        if says is None:
            assert require_in_range(value, "batch", low, high) == value
            continue
        with pytest.raises(ArgumentError) as refused:
            require_in_range(value, "batch", low, high)
        assert str(refused.value) == says
    with pytest.raises(ArgumentError) as refused:
        require_in_range(1, "tau", 1, None, low_open=True)
    assert str(refused.value) == "tau must be in (1, inf], got 1"
    for bad in (True, "0.5", float("nan"), float("inf"), None):
        with pytest.raises(ArgumentError) as refused:
            require_in_range(bad, "tau", 0, 1)
        assert str(refused.value) == f"tau must be a finite number, got {bad!r}"


def test_a_run_config_is_read_with_its_schema_and_named(tmp_path):
    """read_run_config: settings must be an object, evaluation_split a string or null (optional)."""
    from dsan_tf.state_files import read_run_config

    (tmp_path / "config.json").write_text('{"settings": {"lr": 0.01}, "evaluation_split": null}')
    assert read_run_config(tmp_path) == {"settings": {"lr": 0.01}, "evaluation_split": None}
    (tmp_path / "config.json").write_text('{"settings": {}, "evaluation_split": 3}')
    assert _says(read_run_config, tmp_path, hint="retrain") == (
        f"{tmp_path / 'config.json'} (a run's configuration): expected a string or null at evaluation_split, "
        "found an integer; retrain")


# ---- round 5 blind mutants (issue 34)
def test_a_csv_state_row_with_more_fields_than_its_header_is_refused(tmp_path):
    """r5-state-csv-row-extra-fields-accepted: two rows run together by a damaged write ("b.png,ok,c.png" under
    a 2-field header) are named by their line (3) and count (3 fields), not read with the extra one dropped."""
    from dsan_tf.state_files import read_csv_rows_state

    path = tmp_path / "ledger.csv"
    path.write_text("path,status\na.png,ok\nb.png,ok,c.png\n")
    with pytest.raises(StateFileError, match=r"ledger\.csv \(a ledger\): line 3 has 3 field\(s\), expected 2"):
        read_csv_rows_state(path, ["path", "status"], what="a ledger")
    path.write_text("path,status\na.png,ok\n")
    assert read_csv_rows_state(path, ["path", "status"], what="a ledger") == [{"path": "a.png", "status": "ok"}]


# ---- round 7 blind mutants (issue 34)
def test_a_csv_state_field_outside_its_allowed_values_is_refused_even_when_empty(tmp_path):
    """r7-state-csv-rows-empty-value-allowed: read_csv_rows_state(allowed=...) takes only the listed values; an
    empty status (a row cut by a kill) is refused by its line like any other value, the listed ones pass."""
    from dsan_tf.state_files import read_csv_rows_state

    path = tmp_path / "ledger.csv"
    allowed = {"status": {"ok", "failed"}}
    path.write_text("path,status\na.png,ok\nb.png,\n")
    assert _says(read_csv_rows_state, path, ["path", "status"], what="a ledger", allowed=allowed) == \
        f"{path} (a ledger): line 3: status '' is not one of failed, ok"
    path.write_text("path,status\na.png,ok\nb.png,done\n")
    assert _says(read_csv_rows_state, path, ["path", "status"], allowed=allowed) == \
        f"{path}: line 3: status 'done' is not one of failed, ok"
    path.write_text("path,status\na.png,ok\nb.png,failed\n")
    assert read_csv_rows_state(path, ["path", "status"], allowed=allowed) == \
        [{"path": "a.png", "status": "ok"}, {"path": "b.png", "status": "failed"}]


# ---- round 8 blind mutants (issue 34)
def test_a_csv_state_header_with_its_fields_in_another_order_is_refused(tmp_path):
    """r8-state-csv-header-order-ignored: a ledger whose header holds the right fields in another order
    ("status,path" where "path,status" is expected) is refused by its header, not read with each value under
    the other field's name (the row "ok,a.png" would give path 'ok', status 'a.png')."""
    from dsan_tf.state_files import read_csv_rows_state

    path = tmp_path / "ledger.csv"
    path.write_text("status,path\nok,a.png\n")
    assert _says(read_csv_rows_state, path, ["path", "status"], what="a ledger") == \
        f"{path} (a ledger): header is 'status,path', expected 'path,status'"
    path.write_text("path,status\na.png,ok\n")
    assert read_csv_rows_state(path, ["path", "status"], what="a ledger") == [{"path": "a.png", "status": "ok"}]
