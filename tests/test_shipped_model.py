"""Issue 14: a shipped model's name (--weights ferplus) works in every command; predict and explain use it
when --weights is left out; colour faces are greyed for a model trained on grey faces.

The shipped model here is a toy: an untrained FERPlus-shaped DSAN (8 classes, 32 px,
grayscale_input=True) packed into a temporary folder that stands in for
dsan_tf/pretrained_models/. MTCNN is replaced by a detector that finds one face in every
photo, so no test waits for face detection.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script
from test_bad_input_tools import FixedFaceDetector, assert_one_line_error, call, write_photo
from test_predict import model_file, predict  # noqa: F401  (fixtures: an RGB model, 3 classes, 48 px)

from dsan_tf import pretrained
from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR

SIZE = 32

# The shipped FERPlus model's accuracy on the 96 embedded FERPlus validation faces (12 per class, none trained
# on; dsan_tf/sample_data). Measured 0.635 (61/96) for the 48 px model shipped in issue 25 and 0.750 (72/96)
# for the 96 px fine-tune shipped in issue 33 (flip averaging, tau 0.4), 0.771 (74/96) for its EMA continuation
# shipped after it, with
#   python -m pytest -q tests/test_shipped_model.py -k accuracy_floor -s   (prints "shipped accuracy ...")
# The floor sits a few faces (one face = 1.04 points) below the measurement: a real regression fails it.
# When a new model is shipped, measure it with the same command and move both numbers.
SHIPPED_FERPLUS_MEASURED_ACCURACY = 0.771
SHIPPED_FERPLUS_ACCURACY_FLOOR = 0.73


@pytest.fixture(scope="module")
def packed_dir(tmp_path_factory):
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    directory = tmp_path_factory.mktemp("pretrained_models")
    model = build_dsan(len(FERPLUS_CLASSES), SIZE, class_names=list(FERPLUS_CLASSES), grayscale_input=True)
    pretrained.pack(model, "ferplus", directory)
    return directory


@pytest.fixture
def shipped(packed_dir, monkeypatch):
    """The toy model ships, as 'ferplus'."""
    monkeypatch.setattr(pretrained, "SHIPPED_DIR", packed_dir)
    return packed_dir


@pytest.fixture
def nothing_shipped(tmp_path, monkeypatch):
    """An installation without shipped models (today's package)."""
    empty = tmp_path / "pretrained_models"
    empty.mkdir()
    monkeypatch.setattr(pretrained, "SHIPPED_DIR", empty)


@pytest.fixture
def one_face_per_photo(monkeypatch):
    from dsan_tf.data.align import FaceAligner

    monkeypatch.setattr(FaceAligner, "detector", property(lambda self: FixedFaceDetector()))


@pytest.fixture
def faces_seen(monkeypatch):
    """The face crops every predictor is given: the pixels that reach the model."""
    from dsan_tf.inference import Predictor

    seen, original = [], Predictor.predict

    def spy(self, faces, *args, **kwargs):
        seen.extend(np.asarray(f) for f in faces)
        return original(self, faces, *args, **kwargs)

    monkeypatch.setattr(Predictor, "predict", spy)
    return seen


@pytest.fixture
def photo(tmp_path):
    """A colour photo (noise: its three channels differ everywhere)."""
    return write_photo(tmp_path / "photos" / "colour.jpg", size=96)


def is_grey(image):
    return bool((image == image[..., :1]).all())


# ---------------------------------------------------------------------- loading by name


def test_load_dsan_takes_a_shipped_name_and_a_file_of_that_name_wins(shipped, model_file, tmp_path, monkeypatch):
    from dsan_tf.inference import ModelLoadError, load_dsan

    model = load_dsan("ferplus")
    assert model.class_names == list(FERPLUS_CLASSES) and model.settings["grayscale_input"] is True
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ferplus").write_bytes(model_file.read_bytes())
    with pytest.raises(ModelLoadError, match="^ferplus: not loadable"):  # the file is read (Keras wants .keras)
        load_dsan("ferplus")


def test_an_unknown_name_is_a_one_line_error_listing_the_shipped_models(shipped, predict, photo, tmp_path, capsys):
    code, _, err = call(predict.main, ["--weights", "rafdb", photo, "--no-progress"], capsys)
    assert_one_line_error(code, err, "rafdb", "no such model file", "ferplus")
    export = load_script("export_savedmodel", "export")
    code, _, err = call(export.main, ["--weights", "rafdb", "--output", tmp_path / "dsan", "--version", "1"], capsys)
    assert_one_line_error(code, err, "rafdb", "no such model file", "ferplus")
    assert not (tmp_path / "dsan").exists()


@pytest.mark.parametrize("script", ["predict", "explain"])
def test_without_weights_and_nothing_shipped_is_a_one_line_error(script, nothing_shipped, photo, tmp_path, capsys):
    argv = {"predict": [photo], "explain": ["--images", photo, "--method", "gradcam", "--output", tmp_path / "cam"]}
    code, _, err = call(load_script(script).main, [*argv[script], "--no-progress"], capsys)
    assert_one_line_error(code, err, "give --weights MODEL.keras", "no model ships with this installation")
    code, _, err = call(load_script("analyze").main, ["--weights", "ferplus", "--output", tmp_path / "a"], capsys)
    assert_one_line_error(code, err, "ferplus: no such model file", "no model ships with this installation")


def test_outputs_never_replace_the_shipped_files_and_may_bear_the_name(shipped, predict, photo, tmp_path, capsys,
                                                                      monkeypatch, one_face_per_photo):
    code, _, err = call(predict.main, ["--weights", "ferplus", photo, "--output", shipped / "ferplus.json"], capsys)
    assert_one_line_error(code, err, "ferplus.json", "input")
    monkeypatch.chdir(tmp_path)  # a name is not a file here: an output may be called "ferplus"
    code, _, err = call(predict.main, ["--weights", "ferplus", photo, "--output", "ferplus", "--no-progress"], capsys)
    assert code == 0, err
    assert list(json.loads((tmp_path / "ferplus").read_text())["probabilities"]) == list(FERPLUS_CLASSES)


# ---------------------------------------------------------------------- predict: default model and grey faces


def test_predict_without_weights_uses_the_shipped_model_and_greys_colour_faces(shipped, predict, photo, capsys,
                                                                               one_face_per_photo, faces_seen):
    code, out, err = call(predict.main, [photo, "--no-progress"], capsys)
    assert code == 0, err
    assert "no --weights given: using the shipped model 'ferplus'" in err
    assert "trained on grey faces: colour faces are greyed" in err
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert list(row["probabilities"]) == list(FERPLUS_CLASSES)
    (face,) = faces_seen
    assert face.shape == (SIZE, SIZE, 3) and is_grey(face)


def test_no_grayscale_keeps_the_colour_for_the_shipped_model(shipped, predict, photo, capsys, one_face_per_photo,
                                                             faces_seen):
    code, _, err = call(predict.main, ["--weights", "ferplus", photo, "--no-grayscale", "--no-progress"], capsys)
    assert code == 0, err
    assert "using the shipped model" not in err and "greyed" not in err
    (face,) = faces_seen
    assert not is_grey(face)


@pytest.mark.parametrize("flag, grey", [([], False), (["--grayscale"], True)])
def test_an_rgb_model_gets_colour_faces_unless_grayscale_is_asked(flag, grey, predict, model_file, photo, capsys,
                                                                  one_face_per_photo, faces_seen):
    code, _, err = call(predict.main, ["--weights", model_file, photo, *flag, "--no-progress"], capsys)
    assert code == 0, err
    (face,) = faces_seen
    assert is_grey(face) == grey


# ---------------------------------------------------------------------- the other commands


def test_explain_by_name_greys_colour_images(shipped, photo, tmp_path, capsys, monkeypatch):
    import dsan_tf.inference

    seen, original = [], dsan_tf.inference.model_inputs

    def spy(images, size):  # the images explain.py prepares for the model
        seen.extend(images)
        return original(images, size)

    monkeypatch.setattr(dsan_tf.inference, "model_inputs", spy)
    out = tmp_path / "cam"
    code, _, err = call(load_script("explain").main, ["--weights", "ferplus", "--images", photo, "--method",
                                                      "gradcam", "--output", out, "--no-progress", "--faces"], capsys)
    assert code == 0, err
    assert (out / "batch_0000.png").is_file() and (out / "explanations.csv").is_file()
    (image,) = seen
    assert image.shape == (96, 96, 3) and is_grey(image)


def test_analyze_by_name(shipped, tmp_path, capsys):
    out = tmp_path / "analysis"
    code, _, err = call(load_script("analyze").main, [
        "--weights", "ferplus", "--max-images", "16", "--perplexity", "3", "--batch-size", "16", "--output", out],
        capsys)
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["images"] == 16


def test_run_eval_only_by_name(shipped, tmp_path, capsys):
    load_script("run").main(["--dataset", "ferplus", "--eval-only", "--weights", "ferplus", "--output",
                             str(tmp_path / "eval"), "--batch-size", "64"])
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["split"] == "valid" and np.array(metrics["confusion_matrix"]).shape == (8, 8)


def test_export_by_name_records_grey_input_that_predict_follows(shipped, predict, photo, tmp_path, capsys,
                                                                 one_face_per_photo, faces_seen):
    from dsan_tf.export import SETTINGS_FILE

    base = tmp_path / "models" / "dsan"
    export = load_script("export_savedmodel", "export")
    code, out, err = call(export.main, ["--weights", "ferplus", "--output", base, "--version", "1"], capsys)
    assert code == 0, err
    assert "wrote" in out and (tmp_path / "models" / "models.config").is_file()
    settings = json.loads((base / "1" / "assets" / SETTINGS_FILE).read_text())
    assert settings["grayscale_input"] is True and settings["class_names"] == list(FERPLUS_CLASSES)

    code, _, err = call(predict.main, ["--savedmodel", base, photo, "--align-size", str(SIZE), "--no-progress"],
                        capsys)
    assert code == 0, err
    (face,) = faces_seen
    assert is_grey(face)


# ---------------------------------------------------------------------- the real shipped model

def test_the_real_shipped_ferplus_model_keeps_its_measured_accuracy_floor():
    """The committed model (not the toy above) on the embedded validation faces: at most a few points below
    what it measured when shipped (SHIPPED_FERPLUS_MEASURED_ACCURACY)."""
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.evaluation import collect_outputs

    assert SHIPPED_FERPLUS_MEASURED_ACCURACY - 0.05 <= SHIPPED_FERPLUS_ACCURACY_FLOOR < SHIPPED_FERPLUS_MEASURED_ACCURACY
    model = pretrained.load("ferplus")
    data = load_dataset("ferplus", SAMPLE_FERPLUS_DIR, label_mode="majority")
    table = data.split("valid")
    assert len(table) == 96
    dataset = make_dataset(table, data.num_classes, model.settings["image_size"], 32, training=False)
    outputs = collect_outputs(model, dataset, keys=("probabilities",))
    accuracy = float((outputs["probabilities"].argmax(1) == outputs["targets"].argmax(1)).mean())
    print(f"shipped accuracy {accuracy:.4f} ({round(accuracy * len(table))}/{len(table)})")
    assert accuracy >= SHIPPED_FERPLUS_ACCURACY_FLOOR, accuracy


# The shipped model's recipe (MODEL_CARD.md, "Recipe"): the cpu-long preset at 48 px (the model shipped
# before, sha256 73e67f71...), a fine-tune at 96 px from a .keras copy of it (progressive resizing), then 6
# more epochs with an average of the weights (EMA). Each later step beside the settings its run recorded:
# the shipped model's own (dsan ship copies them from its run's config.json), the middle run's committed config.
FINE_TUNE_96 = ("dsan train --dataset ferplus --data-dir ../shared/datasets/ferplus --preset cpu-long --image-size 96 "
                "--epochs 10 --learning-rate 5e-4 --warmup-epochs 0.5 --init-from runs/issue33/shipped48.keras --seed 0")
FINE_TUNE_EMA = ("dsan train --dataset ferplus --data-dir ../shared/datasets/ferplus --preset cpu-long --image-size 96 "
                 "--epochs 6 --learning-rate 2e-4 --warmup-epochs 0.3 --ema-decay 0.999 "
                 "--init-from runs/issue33/dsan96-ft10-s0/model.keras --seed 0")
REPO = Path(__file__).resolve().parents[1]


def recorded_settings(step):
    if step == "ema":
        return pretrained.metadata("ferplus")["provenance"]["settings"]
    config = REPO / "experiments" / "results" / "issue33-dsan96-ft10-s0" / "config.json"
    return json.loads(config.read_text(encoding="utf-8"))["settings"]


@pytest.mark.parametrize("step, command, epochs", [("96", FINE_TUNE_96, 10), ("ema", FINE_TUNE_EMA, 6)])
def test_the_model_card_names_the_commands_the_shipped_model_was_trained_with(step, command, epochs, tmp_path):
    """Each fine-tune command written in MODEL_CARD.md reproduces the settings its run recorded: a recipe
    edited in one place and not the other fails."""
    import shlex

    from dsan_tf.cli.run import build_settings, parse_args
    from dsan_tf.model import default_centre_sgd
    from dsan_tf.runner import ADDED_SETTINGS, NOT_CONFIGURATION

    assert command in (REPO / "MODEL_CARD.md").read_text(encoding="utf-8")
    # settings added since (ema_decay) count with the value the run was made with, as on --resume
    recorded = {**ADDED_SETTINGS, **recorded_settings(step)}
    flags = shlex.split(command)[2:]
    # the data folder and the starting model are where the run read them (relative to its checkout):
    # stand-ins that exist keep the parser's checks, and the recorded text is compared as text
    data_dir, init_from = flags[flags.index("--data-dir") + 1], flags[flags.index("--init-from") + 1]
    assert (recorded["data_dir"], recorded["init_from"]) == (data_dir, init_from)
    (tmp_path / "start.keras").write_bytes(b"")
    flags[flags.index("--data-dir") + 1], flags[flags.index("--init-from") + 1] = str(tmp_path), str(tmp_path / "start.keras")
    command = build_settings(parse_args(flags))
    command["data_dir"], command["init_from"] = data_dir, init_from
    command["centre_learning_rate"], command["centre_momentum"] = default_centre_sgd(
        command["centre_update"], command["centre_learning_rate"], command["centre_momentum"])
    ignored = NOT_CONFIGURATION | {"time_budget_minutes"}
    differ = {k: (recorded.get(k), command.get(k)) for k in set(recorded) | set(command)
              if k not in ignored and recorded.get(k) != command.get(k)}
    assert differ == {}
    assert (recorded["image_size"], recorded["epochs"], recorded["preset"]) == (96, epochs, "cpu-long")


def test_the_docs_quote_the_shipped_model_as_its_files_record_it():
    """README, MODEL_CARD.md and docs/results.md quote the shipped model's accuracy, size and sha256 as its
    ferplus.json and weights file have them: shipping a new model without updating a document fails."""
    meta = pretrained.metadata("ferplus")
    scores = meta["evaluation"]
    accuracy = f"{100 * scores['float16_accuracy']:.2f} %"
    mean_class = f"{100 * scores['float16_mean_class_accuracy']:.2f} %"
    megabytes = f"{(pretrained.SHIPPED_DIR / meta['weights_file']).stat().st_size / 1e6:.1f} MB"
    assert meta["sha256"] == pretrained.sha256(pretrained.SHIPPED_DIR / meta["weights_file"])

    def text(name):
        return (REPO / name).read_text(encoding="utf-8")

    readme_row = next(line for line in text("README.md").splitlines() if line.startswith("| **`ferplus`"))
    assert f"**{accuracy}** (mean class {mean_class})" in readme_row
    card = text("MODEL_CARD.md")
    assert f"sha256 {meta['sha256'][:8]}…) and `ferplus.weights.npz` ({megabytes}, float16" in card
    assert f"| **shipped: the same in float16 weights** | **{accuracy}** | **{mean_class}** |" in card
    results = text("docs/results.md")
    assert f"(`dsan_tf/pretrained_models/ferplus.*`, {megabytes}" in results
    first_shipped_row = next(line for line in results.splitlines() if line.startswith("| shipped float16 weights"))
    assert first_shipped_row.endswith(f"| {accuracy} | {mean_class} |")
