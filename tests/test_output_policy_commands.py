"""Issue 24, phase 2: the output policy (dsan_tf.outputs) and the argument checks, in the commands.

Grouped by policy, so a new command gets a test by being listed:

- ``REFUSES_USER_FILES``: (command, argv builder) pairs whose output would replace or write
  into a user's file; each must be one ``error:`` line and leave every file as it was;
- ``BAD_ARGUMENTS``: impossible flag values, each one line naming the flag, before any work.

The models are tiny (32 px, untrained); nothing trains.
"""

import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest
from script_loader import ROOT, command, refuse_walking_into, refused

from dsan_tf.cli import run_command

SAMPLE = ROOT / "dsan_tf" / "sample_data" / "ferplus"


# ---------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    from dsan_tf.model import build_dsan

    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_dsan(3, 32, "dsan", class_names=["a", "b", "c"], dtype="float32").save(path)
    return path


@pytest.fixture(scope="module")
def ferplus_run(tmp_path_factory):
    """A "finished run" of an untrained 8-class FERPlus model at 32 px (for dsan ship)."""
    from dsan_tf.data.classes import FERPLUS_CLASSES
    from dsan_tf.model import build_dsan

    run = tmp_path_factory.mktemp("run")
    build_dsan(8, 32, class_names=list(FERPLUS_CLASSES), grayscale_input=True).save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"settings": {"dataset": "ferplus", "seed": 0}}))
    (run / "metrics.json").write_text(json.dumps({"training": {"epochs_completed": 1}}))
    return run


def photo(path, size=40, seed=0):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def user_file(path, text="the user's own file\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def snapshot(paths):
    return {Path(p): Path(p).read_bytes() for p in paths}


def assert_unchanged(before):
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} was changed"


# ---------------------------------------------------------------------- "refuses to replace a user's file"
# Each builder gets (tmp_path, model_file) and returns (command, argv, files that must not change,
# regex the error line must match).


def bench_serving_json_is_the_model(tmp, model):
    # case 1: --json R/model.keras replaced the model by a JSON report
    copy = tmp / "model.keras"
    copy.write_bytes(model.read_bytes())
    return "bench-serving", ["--weights", copy, "--batch-sizes", 1, "--repeats", 1, "--warmup", 0,
                             "--json", copy], [copy], r"--json .*input"


def bench_serving_json_exists(tmp, model):
    report = user_file(tmp / "report.json")
    return "bench-serving", ["--weights", model, "--batch-sizes", 1, "--repeats", 1, "--warmup", 0,
                             "--json", report], [report], r"--json .*exists.*--overwrite"


def predict_annotated_copy_over_another_photo(tmp, model):
    # case 2: predict d/ivan.png --annotate d, where d/ivan.jpg is another photo
    png, jpg = photo(tmp / "d" / "ivan.png"), photo(tmp / "d" / "ivan.jpg", seed=1)
    return "predict", ["--weights", model, png, "--annotate", tmp / "d", "--no-progress"], [png, jpg], \
        r"--annotate .*(ivan|did not make)"


def predict_annotated_copy_over_a_user_file(tmp, model):
    # case 3: predict photos --annotate out, where out/ivan.jpg is the user's
    photos = tmp / "photos"
    photo(photos / "ivan.png")
    mine = photo(tmp / "out" / "ivan.jpg", seed=2)
    return "predict", ["--weights", model, photos, "--annotate", tmp / "out", "--no-progress"], [mine], \
        r"--annotate .*did not make.*--overwrite"


def predict_output_exists(tmp, model):
    rows = user_file(tmp / "rows.jsonl")
    return "predict", ["--weights", model, photo(tmp / "p.png"), "--output", rows, "--no-progress"], [rows], \
        r"--output .*exists.*--overwrite"


def compare_output_is_a_users_figure(tmp, model):
    run = tmp / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"accuracy": 0.5, "mean_class_accuracy": 0.5,
                                                  "per_class_accuracy": {"a": 0.5}}))
    figure = user_file(tmp / "mine" / "figure.png")
    return "compare", [run, "--output", figure], [figure], r"--output .*exists.*--overwrite"


def train_eval_only_into_a_user_folder(tmp, model):
    # case 4: run.py --eval-only --weights M --output u, u holding the user's metrics.json
    mine = [user_file(tmp / "u" / "metrics.json", "{}"), user_file(tmp / "u" / "confusion_matrix.png")]
    return "train", ["--dataset", "ferplus", "--image-size", 32, "--epochs", 1, "--verbose", 0, "--eval-only",
                     "--weights", model, "--output", tmp / "u"], mine, r"--output .*did not make"


def tflite_into_a_user_folder(tmp, model):
    # case 10: export tflite --output dir holding the user's labels.txt and report.json
    mine = [user_file(tmp / "dir" / "labels.txt"), user_file(tmp / "dir" / "report.json", "{}")]
    return "export tflite", ["--weights", model, "--output", tmp / "dir", "--limit", 2, "--no-progress"], mine, \
        r"--output .*did not make.*--overwrite"


def ship_over_a_user_file(tmp, model):
    # case 8 (rule): NAME.json that is not a shipped-model record this command wrote is kept
    mine = user_file(tmp / "ship" / "toy.json", '{"my": "notes"}')
    run = tmp / "run"
    run.mkdir()
    for name in ("model.keras", "config.json", "metrics.json"):
        (run / name).write_text("{}")
    (run / "config.json").write_text(json.dumps({"settings": {"dataset": "ferplus"}}))
    return "ship", ["--run", run, "--name", "toy", "--data-dir", SAMPLE, "--output", tmp / "ship"], [mine], \
        r"--output .*toy.json.*exists.*--overwrite"


def folder_of_user_files(name, *extra):
    def build(tmp, model):
        mine = user_file(tmp / "out" / "notes.txt")
        images = tmp / "images"
        photo(images / "a.png")
        argv = {"align": ["--input", images, "--output", tmp / "out", "--no-progress"],
                "tfrecords": ["--dataset", "ferplus", "--data-dir", SAMPLE, "--output", tmp / "out"],
                "analyze": ["--weights", model, "--output", tmp / "out"],
                "explain": ["--weights", model, "--images", images / "a.png", "--faces", "--method", "gradcam",
                            "--output", tmp / "out"]}[name]
        return name, [*argv, *extra], [mine], r"--output .*did not make"
    return build


def align_report_over_a_user_file(tmp, model):
    # issue 31, case 5: align --report FILE replaced an existing file
    images = tmp / "images"
    photo(images / "a.png")
    mine = user_file(tmp / "mine" / "report.csv")
    return "align", ["--input", images, "--output", tmp / "out", "--report", mine, "--no-progress"], [mine], \
        r"--report .*exists.*--overwrite"


def ablate_into_a_folder_with_an_ablation_json(tmp, model):
    # issue 31, case 6: ablate took over a folder because it held ablation.json
    mine = user_file(tmp / "grid" / "ablation.json", '{"mine": 1}')
    return "ablate", ["--grid", "variant", "--dataset", "ferplus", "--output", tmp / "grid"], [mine], \
        r"--output .*did not make"


def analyze_into_a_folder_with_a_summary(tmp, model):
    # issue 31, case 10: analyze took over a folder because it held summary.json / summary.txt
    mine = [user_file(tmp / "out" / "summary.json", '{"mine": 1}'), user_file(tmp / "out" / "summary.txt")]
    return "analyze", ["--weights", model, "--output", tmp / "out"], mine, r"--output .*did not make"


def export_savedmodel_over_a_users_version(tmp, model):
    mine = user_file(tmp / "models" / "dsan" / "1" / "saved_model.pb", "the user's version")
    return "export savedmodel", ["--weights", model, "--output", tmp / "models" / "dsan", "--version", 1], [mine], \
        r"already exists.*--overwrite"


def export_savedmodel_config_dir_is_a_users_file(tmp, model):
    mine = user_file(tmp / "models.config.d")
    return "export savedmodel", ["--weights", model, "--output", tmp / "models" / "dsan", "--version", 1,
                                 "--config-dir", mine], [mine], r"--config-dir .*is a file"


def calibrate_into_a_user_folder(tmp, model):
    mine = user_file(tmp / "out" / "calibration.json", '{"mine": 1}')
    return "calibrate", ["--weights", model, "--data-dir", SAMPLE, "--output", tmp / "out"], [mine], \
        r"--output .*did not make"


def calibrate_save_over_a_users_model(tmp, model):
    mine = user_file(tmp / "mine" / "model.keras", "the user's model")
    return "calibrate", ["--weights", model, "--data-dir", SAMPLE, "--apply", 0.5, "--save", mine], [mine], \
        r"--save .*exists.*--overwrite"


def simulate_centres_csv_over_a_users_model(tmp, model):
    # issue 31, case 3: --csv FILE replaced a 136 MB .keras model with a 583-byte CSV
    mine = user_file(tmp / "mine" / "model.keras", "the user's model")
    return "simulate-centres", ["--weights", model, "--data-dir", SAMPLE, "--csv", mine], [mine], \
        r"--csv .*exists.*--overwrite"


def teacher_labels_over_a_users_npz(tmp, model):
    # a user's features.npz (dsan analyze's, or their own) named as the teachers' output
    mine = user_file(tmp / "mine" / "features.npz", "the user's arrays")
    return "teacher-labels", ["--weights", model, "--data-dir", SAMPLE, "--output", mine], [mine], \
        r"--output .*exists.*--overwrite"


def make_sample_into_a_user_folder(tmp, model):
    # issue 31, case 1: make-sample --out DIR deleted what DIR held
    mine = user_file(tmp / "out" / "notes.txt")
    return "make-sample", ["--source", SAMPLE, "--out", tmp / "out"], [mine], r"--out .*did not make.*--overwrite"


# (command, output flag, case) -> builder. Every flag of a registered command that names an output
# (OUTPUT_FLAG below) must have at least one case here: a new command is covered by being registered.
REFUSES_USER_FILES = {
    ("bench-serving", "--json", "on the model"): bench_serving_json_is_the_model,
    ("bench-serving", "--json", "exists"): bench_serving_json_exists,
    ("predict", "--annotate", "over another photo"): predict_annotated_copy_over_another_photo,
    ("predict", "--annotate", "over a user file"): predict_annotated_copy_over_a_user_file,
    ("predict", "--output", "exists"): predict_output_exists,
    ("compare", "--output", "over a user's figure"): compare_output_is_a_users_figure,
    ("train", "--output", "--eval-only into a user folder"): train_eval_only_into_a_user_folder,
    ("export tflite", "--output", "into a user folder"): tflite_into_a_user_folder,
    ("ship", "--output", "over a user's NAME.json"): ship_over_a_user_file,
    ("align", "--output", "into a user folder"): folder_of_user_files("align"),
    ("align", "--report", "over a user file"): align_report_over_a_user_file,
    ("tfrecords", "--output", "into a user folder"): folder_of_user_files("tfrecords"),
    ("analyze", "--output", "into a user folder"): folder_of_user_files("analyze"),
    ("analyze", "--output", "a folder with summary.json"): analyze_into_a_folder_with_a_summary,
    ("explain", "--output", "into a user folder"): folder_of_user_files("explain"),
    ("ablate", "--output", "a folder with ablation.json"): ablate_into_a_folder_with_an_ablation_json,
    ("export savedmodel", "--output", "over a user's version"): export_savedmodel_over_a_users_version,
    ("export savedmodel", "--config-dir", "a user's file"): export_savedmodel_config_dir_is_a_users_file,
    ("calibrate", "--output", "into a user folder"): calibrate_into_a_user_folder,
    ("calibrate", "--save", "over a user's model"): calibrate_save_over_a_users_model,
    ("simulate-centres", "--csv", "over a user's model"): simulate_centres_csv_over_a_users_model,
    ("make-sample", "--out", "into a user folder"): make_sample_into_a_user_folder,
    ("teacher-labels", "--output", "over a user's .npz"): teacher_labels_over_a_users_npz,
}

# A flag names an output when it takes a value and is called like one.
OUTPUT_FLAG = re.compile(r"--(output|out|csv|report|json|annotate|save|config-dir|features)|--.+-(output|csv|json|report)")
# Output-like flags that are not a place a command writes a user could lose, with the reason.
NOT_AN_OUTPUT = {
    ("simulate-centres", "--features"): "an existing file is read, never written; a missing one is created "
                                        "through the policy (claim_file, then publish)",
}


def registered_output_flags():
    """{(command, flag)} of every registered command whose parser has an output flag taking a value."""
    from dsan_tf.cli import COMMANDS, build_parser

    found = set()
    for name in COMMANDS:
        _, parser = build_parser(name)
        for action in parser._actions:
            if action.nargs == 0:  # store_true: --json meaning "print JSON"
                continue
            found |= {(name, flag) for flag in action.option_strings if OUTPUT_FLAG.fullmatch(flag)}
    return found


def test_every_output_flag_of_every_registered_command_has_a_probe():
    probed = {(name, flag) for name, flag, _ in REFUSES_USER_FILES}
    missing = registered_output_flags() - probed - set(NOT_AN_OUTPUT)
    assert not missing, (f"output flags without a probe in REFUSES_USER_FILES: {sorted(missing)}; add a case "
                         "whose output is a user's file, which the command must refuse and leave as it was")
    assert probed <= registered_output_flags(), "a probe for a flag no command has"


def test_a_newly_registered_command_that_writes_needs_a_probe(monkeypatch):
    import argparse
    import sys
    import types

    from dsan_tf import cli

    module = types.ModuleType("dsan_tf_fake_writer")

    def build_parser(prog):
        parser = argparse.ArgumentParser(prog=prog)
        parser.add_argument("--summary-json", help="where to write (default none)")
        parser.add_argument("--json", action="store_true", help="print JSON (default off)")
        return parser

    module.build_parser = build_parser
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(cli.COMMANDS, "fake-writer", cli.Command(module.__name__, "writes a summary"))
    with pytest.raises(AssertionError, match=r"\('fake-writer', '--summary-json'\)"):
        test_every_output_flag_of_every_registered_command_has_a_probe()


@pytest.mark.parametrize("case", sorted(REFUSES_USER_FILES), ids=" ".join)
def test_refuses_to_replace_a_users_file(case, tmp_path, model_file):
    name, argv, protected, match = REFUSES_USER_FILES[case](tmp_path, model_file)
    assert name == case[0] and case[1] in map(str, argv)
    before = snapshot(protected)
    listing = sorted(os.listdir(protected[0].parent))
    refused(command(name), [str(a) for a in argv], match)
    assert_unchanged(before)
    assert sorted(os.listdir(protected[0].parent)) == listing  # nothing added (no lock file left, no copy)
    assert not [p for p in tmp_path.rglob("*.lock")], "a lock file was left"


# ---------------------------------------------------------------------- impossible arguments: one line


BAD_ARGUMENTS = [
    ("bench-serving", ["--batch-sizes", "0"], r"--batch-sizes"),
    ("bench-serving", ["--repeats", "0"], r"--repeats"),
    ("bench-serving", ["--warmup", "-1"], r"--warmup"),
    ("bench-serving", ["--image-size", "31"], r"--image-size"),
    ("bench-serving", ["--num-classes", "0"], r"--num-classes"),
    ("client", ["--rest", "http://localhost:8501", "--timeout", "inf", "--faces", "x.png"], r"--timeout"),
    ("client", ["--rest", "http://localhost:8501", "--timeout", "nan", "--faces", "x.png"], r"--timeout"),
    ("client", ["--rest", "http://localhost:8501", "--timeout", "1e30", "--faces", "x.png"], r"--timeout"),
    ("client", ["--grpc", "localhost:8500", "--version", str(2**63), "--faces", "x.png"], r"--version"),
    ("client", ["--rest", "http://localhost:99999", "--faces", "x.png"], r"--rest .*port 99999 .*range"),
    ("client", ["--grpc", "localhost:99999", "--faces", "x.png"], r"--grpc .*port 99999 .*range"),
    ("analyze", ["--weights", "ferplus", "--output", "o", "--perplexity", "nan"], r"--perplexity"),
    ("analyze", ["--weights", "ferplus", "--output", "o", "--perplexity", "inf"], r"--perplexity"),
    ("ablate", ["--grid", "alpha", "--epochs", "0", "--dataset", "ferplus"], r"--epochs: .*'0'"),
    ("ship", ["--run", ".", "--output", "o", "--data-dir", ".", "--name", "../escaped"], r"--name: .*'\.\./escaped'"),
    ("ship", ["--run", ".", "--output", "o", "--data-dir", ".", "--name", ""], r"--name: .*''"),
    ("ship", ["--run", ".", "--output", "o", "--data-dir", "no-such-folder"], r"--data-dir: no-such-folder: no such folder"),
]


@pytest.mark.parametrize("name, argv, match", BAD_ARGUMENTS, ids=[f"{n} {' '.join(a)}" for n, a, _ in BAD_ARGUMENTS])
def test_an_impossible_argument_is_one_line_naming_the_flag(name, argv, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    refused(command(name), argv, match)
    assert os.listdir(tmp_path) == []  # nothing written


def test_bench_serving_names_a_zero_byte_model_as_empty(tmp_path):
    empty = tmp_path / "model.keras"
    empty.touch()
    refused(command("bench-serving"), ["--weights", str(empty), "--repeats", "1"], r"empty file")


@pytest.mark.parametrize("content", ['{"subsets": {"occlusion"', "[1, 2]", "\xff\xfe"])
def test_table4_names_a_damaged_metrics_file(content, tmp_path):
    (tmp_path / "metrics.json").write_bytes(content.encode("latin-1"))
    refused(command("table4"), [str(tmp_path)], r"metrics.json \(the metrics of run .*\): (not valid JSON|expected an object|not UTF-8)")


# ---------------------------------------------------------------------- ship (case 8 and its rule)


def ship(run, out, *extra):
    return ["--run", str(run), "--name", "toy", "--data-dir", str(SAMPLE), "--output", str(out),
            "--no-progress", *map(str, extra)]


def test_ship_refused_agreement_leaves_the_old_pair_and_replaces_a_shipped_pair(ferplus_run, tmp_path, capsys,
                                                                               monkeypatch):
    out = tmp_path / "ship"
    assert run_command("ship", ship(ferplus_run, out, "--min-agreement", "0.5")) == 0
    pair = [out / "toy.json", out / "toy.weights.npz"]
    before = snapshot(pair)
    # case 8: an agreement check that fails writes nothing (the float16 copy made to disagree on every face;
    # --min-agreement itself takes only shares in [0, 1])
    from dsan_tf import evaluation

    real, calls = evaluation.collect_outputs, []

    def disagreeing(model, batches):
        outputs = real(model, batches)
        calls.append(model)
        if len(calls) == 2:
            outputs["probabilities"] = np.roll(outputs["probabilities"], 1, axis=1)
        return outputs

    with monkeypatch.context() as patch:
        patch.setattr(evaluation, "collect_outputs", disagreeing)
        refused(command("ship"), ship(ferplus_run, out, "--min-agreement", "0.5"),
                r"--min-agreement.*nothing was written")
    assert_unchanged(before)
    assert sorted(os.listdir(out)) == [".dsan-output", "toy.json", "toy.weights.npz"]
    # the rule: a shipped pair this command wrote is replaced without --overwrite (how a new model ships)
    (ferplus_run / "config.json").write_text(json.dumps({"settings": {"dataset": "ferplus", "seed": 7}}))
    assert run_command("ship", ship(ferplus_run, out, "--min-agreement", "0.5")) == 0
    assert json.loads((out / "toy.json").read_text())["provenance"]["settings"]["seed"] == 7
    # ... but not once the weights were replaced by something else (sha256 differs): --overwrite needed
    (out / "toy.weights.npz").write_bytes(b"the user's weights")
    before = snapshot(pair)
    refused(command("ship"), ship(ferplus_run, out, "--min-agreement", "0.5"), r"toy.(json|weights.npz).*exists")
    assert_unchanged(before)
    capsys.readouterr()


# ---------------------------------------------------------------------- predict


def test_predict_reports_an_unreadable_subfolder_and_exits_non_zero(model_file, tmp_path, monkeypatch, capsys):
    photos = tmp_path / "photos"
    photo(photos / "a.png")
    (photos / "locked").mkdir()
    photo(photos / "locked" / "b.png")
    refuse_walking_into(monkeypatch, "locked")
    status = run_command("predict", ["--weights", str(model_file), str(photos), "--no-progress"])
    err = capsys.readouterr().err
    assert status not in (0, None)
    assert "locked: folder cannot be read (Permission denied)" in err
    assert "1 unreadable folders" in err


def test_predict_writes_through_a_device_and_refuses_a_second_writer(model_file, tmp_path, capsys):
    from dsan_tf.outputs import OutputPolicy

    # case 11: /dev/null stays the device (written through, not renamed over)
    assert run_command("predict", ["--weights", str(model_file), str(photo(tmp_path / "p.png")),
                                   "--output", "/dev/null", "--no-progress"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    # two writers of one --output: the second is refused before any work
    rows = tmp_path / "rows.jsonl"
    with OutputPolicy(command="predict") as other:
        other.claim_file(rows)
        refused(command("predict"), ["--weights", str(model_file), str(tmp_path / "p.png"), "--output", str(rows),
                                     "--no-progress"], r"--output .*in use by another command")
    assert not rows.exists()
    # an annotated rerun into its own (marked) folder is fine
    for _ in range(2):
        assert run_command("predict", ["--weights", str(model_file), str(tmp_path / "p.png"), "--annotate",
                                       str(tmp_path / "ann"), "--no-progress"]) == 0
    assert (tmp_path / "ann" / "p.jpg").is_file()
    capsys.readouterr()


# ---------------------------------------------------------------------- export savedmodel


def test_export_savedmodel_refuses_a_tiff_warmup_image(model_file, tmp_path):
    from PIL import Image

    tiff = tmp_path / "face.tif"
    Image.fromarray(np.zeros((48, 48, 3), np.uint8)).save(tiff)
    disguised = tmp_path / "face.jpg"
    disguised.write_bytes(tiff.read_bytes())
    for image in (tiff, disguised):
        refused(command("export savedmodel"), ["--weights", str(model_file), "--output", str(tmp_path / "m"),
                                               "--version", "1", "--warmup-images", str(image)],
                r"--warmup-images .*face\.(tif|jpg).*TensorFlow cannot decode")
    assert not (tmp_path / "m" / "1").exists()


def test_export_savedmodel_made_meanwhile_is_one_line(model_file, tmp_path, monkeypatch):
    import dsan_tf.export

    def concurrent(model, base, version, **kwargs):  # another export of this version won the rename
        raise FileExistsError(17, "File exists", str(Path(base) / str(version)))

    monkeypatch.setattr(dsan_tf.export, "export_saved_model", concurrent)
    refused(command("export savedmodel"), ["--weights", str(model_file), "--output", str(tmp_path / "m"),
                                           "--version", "12"], r"--version 12: .*created by another export")
