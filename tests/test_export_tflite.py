"""export/export_tflite.py: float32 and dynamic-range TFLite models with the SavedModel's pixel input."""

import json
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script
import tensorflow as tf



@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR
    from dsan_tf.model import build_dsan

    if not (Path(SAMPLE_FERPLUS_DIR) / "FER2013Valid" / "label.csv").is_file():
        pytest.skip("embedded FERPlus sample (dsan_tf/sample_data/ferplus) is absent")
    tmp = tmp_path_factory.mktemp("tflite")
    model = build_dsan(8, 32, class_names=list(FERPLUS_CLASSES))
    model.compile()
    model.run_eagerly = True  # two steps: cheaper eager than tracing the step (not saved with the model)
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(8, 32, 32, 3)).astype("float32"), rng.integers(0, 8, 8),
              batch_size=4, epochs=1, verbose=0)
    weights = tmp / "model.keras"
    model.save(weights)
    out = tmp / "tflite"
    status = load_script("export_tflite", "export").main(
        ["--weights", str(weights), "--output", str(out), "--data-dir", str(SAMPLE_FERPLUS_DIR)])
    return {"status": status, "out": out, "model": model,
            "report": json.loads((out / "report.json").read_text())}


def test_files_and_report(converted):
    out, report = converted["out"], converted["report"]
    assert (out / "labels.txt").read_text().splitlines()[0] == "neutral"
    assert report["images"] == 96  # the sample's validation images under the majority protocol
    assert report["input"] == [None, 32, 32, 3]
    f32, q = report["models"]["float32"], report["models"]["dynamic_range"]
    assert f32["bytes"] == (out / "dsan_float32.tflite").stat().st_size
    assert q["bytes"] < 0.35 * f32["bytes"]  # int8 weights: about a quarter
    assert f32["top1_agreement"] >= 0.999 and f32["passed"]
    assert f32["max_abs_probability_diff"] < 1e-4
    for r in (f32, q):
        assert 0.0 <= r["accuracy"] <= 1.0
    # The exit status says whether both met their thresholds.
    assert converted["status"] == (0 if q["passed"] else 1)


def test_tflite_matches_the_pixel_signature(converted):
    from dsan_tf import export

    from dsan_tf.litert import signature_runner

    runner = signature_runner(model_path=converted["out"] / "dsan_float32.tflite")  # LiteRT, as an app runs it
    module = export.build_serving_module(converted["model"])
    pixels = np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    got = runner(pixels=pixels)
    want = module.predict_pixels(tf.constant(pixels))
    for key in ("probabilities", "gfe_probabilities", "mff_probabilities"):
        np.testing.assert_allclose(got[key], want[key].numpy(), atol=1e-5)
    np.testing.assert_array_equal(got["class_id"], want["class_id"].numpy())


def test_litert_runs_the_export_without_its_xnnpack_notice(converted, tmp_path):
    """A process's first LiteRT invocation prints "INFO: Created TensorFlow Lite XNNPACK delegate" on file
    descriptor 2 (once per process: hence fresh interpreters); dsan_tf.litert's runner keeps it off."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from ai_edge_litert.interpreter import Interpreter\n"
        "from dsan_tf.litert import signature_runner\n"
        "pixels = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype('float32')\n"
        "if sys.argv[2] == 'raw':\n"
        "    run = Interpreter(model_path=sys.argv[1]).get_signature_runner('serving_default')\n"
        "else:\n"
        "    run = signature_runner(model_path=sys.argv[1])\n"
        "np.save(sys.argv[3], run(pixels=pixels)['probabilities'])\n"
    )
    model = str(converted["out"] / "dsan_dynamic_range.tflite")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    answers = {}
    for way in ("raw", "dsan_tf"):
        answers[way] = subprocess.run([sys.executable, "-c", code, model, way, str(tmp_path / f"{way}.npy")],
                                      capture_output=True, text=True, env=env, timeout=120)
        assert answers[way].returncode == 0, answers[way].stderr
    assert "XNNPACK" in answers["raw"].stderr  # what the runner hides is really printed
    assert answers["dsan_tf"].stderr == ""
    np.testing.assert_array_equal(np.load(tmp_path / "raw.npy"), np.load(tmp_path / "dsan_tf.npy"))


def test_without_litert_export_tflite_names_the_extra_before_any_work(tmp_path, monkeypatch, capsys):
    import sys

    from dsan_tf.cli import run_command

    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # as if dsan_tf[tflite] were not installed
    status = run_command("export tflite", ["--weights", "ferplus", "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status != 0 and len(err.splitlines()) == 1, err
    assert "dsan_tf[tflite]" in err and "ai_edge_litert" in err
    assert not (tmp_path / "out").exists()


def test_nothing_runs_tflite_with_the_deprecated_interpreter():
    """tf.lite.Interpreter is deprecated (TensorFlow 2.20) in favour of LiteRT: no code or test uses it."""
    root = Path(__file__).resolve().parents[1]
    users = [str(p.relative_to(root)) for folder in ("dsan_tf", "tests", "export", "experiments")
             for p in (root / folder).rglob("*.py")
             if p != Path(__file__).resolve() and "lite.Interpreter(" in p.read_text(encoding="utf-8")]
    assert users == []


# ---------------------------------------------------------------------- lines its own tests never ran (issue 34)
# dsan_tf/cli/export_tflite.py: the comparison loop and --saved-model's refusals, with stand-ins (no conversion).


def test_evaluate_compares_every_batch_with_the_reference_and_keeps_the_largest_difference(tmp_path):
    """Five PNGs of brightness 0, 60, 120, 180, 240 in batches of 2 (so three batches); the reference answers
    [1 - m, m] (m the mean brightness / 255), one runner the same +0.05 on the image of 120 (its largest
    difference, and its top-1 for that image), the other the reverse: every top-1 flipped."""
    import pandas as pd
    from PIL import Image

    from dsan_tf.cli.export_tflite import evaluate

    levels = [0, 60, 120, 180, 240]
    paths = []
    for level in levels:
        paths.append(tmp_path / f"{level}.png")
        Image.fromarray(np.full((8, 8, 3), level, np.uint8)).save(paths[-1])
    calls = []

    def reference(image_bytes):
        calls.append(int(image_bytes.shape[0]))
        means = tf.stack([tf.reduce_mean(tf.cast(tf.io.decode_png(b), tf.float32)) for b in image_bytes]) / 255
        return {"probabilities": tf.stack([1 - means, means], axis=1)}

    def close(pixels):
        assert pixels.shape[1:] == (4, 4, 3)  # resized to the model's input size
        m = pixels.reshape(len(pixels), -1).mean(axis=1) / 255
        bump = np.where(np.isclose(m, 120 / 255, atol=1e-3), 0.05, 0.0)
        return {"probabilities": np.stack([1 - m - bump, m + bump], axis=1)}

    def reverse(pixels):
        m = pixels.reshape(len(pixels), -1).mean(axis=1) / 255
        return {"probabilities": np.stack([m, 1 - m], axis=1)}

    table = pd.DataFrame({"path": [str(p) for p in paths]})
    ids, max_diff = evaluate(reference, {"close": close, "reverse": reverse}, table, 4, batch_size=2,
                             progress=False)
    assert calls == [2, 2, 1]
    assert ids["reference"].tolist() == [0, 0, 0, 1, 1]  # 120/255 < 0.5 < 180/255
    assert ids["close"].tolist() == [0, 0, 1, 1, 1]  # 120: 0.47 + 0.05 = 0.52 > 0.48, class 1
    assert ids["reverse"].tolist() == [1, 1, 1, 0, 0]
    assert max_diff["close"] == pytest.approx(0.05, abs=1e-4)
    assert max_diff["reverse"] == pytest.approx(1.0, abs=1e-4)  # the image of 0: [1, 0] against [0, 1]


def test_a_saved_model_to_compare_with_must_exist_load_and_have_serving_default(tmp_path):
    """load_reference: a missing folder, a saved_model.pb TensorFlow cannot read, and a SavedModel without
    serving_default are CommandErrors naming --saved-model and the folder; a serving base folder resolves
    to its highest version."""
    from test_predict import _stub_savedmodel

    from dsan_tf.cli.export_tflite import CommandError, load_reference

    with pytest.raises(CommandError, match=rf"^--saved-model {tmp_path / 'gone'}: no such SavedModel directory"):
        load_reference(tmp_path / "gone")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"not a protobuf")
    with pytest.raises(CommandError, match=rf"^--saved-model {broken}: could not load the SavedModel \("):
        load_reference(broken)
    pixels_only = _stub_savedmodel(tmp_path / "pixels_only" / "1")
    with pytest.raises(CommandError, match=rf"^--saved-model {pixels_only}: has no serving_default signature "
                                           r"\(found: predict_pixels\)$"):
        load_reference(tmp_path / "pixels_only")
    _stub_savedmodel(tmp_path / "served" / "2", "bytes")
    _stub_savedmodel(tmp_path / "served" / "10", "bytes")
    directory, signature = load_reference(tmp_path / "served")
    assert directory == tmp_path / "served" / "10"
    png = tf.io.encode_png(np.full((2, 2, 3), 51, np.uint8))
    np.testing.assert_allclose(signature(image_bytes=tf.stack([png]))["probabilities"].numpy(), [[0.8, 0.2]],
                               atol=1e-6)


def test_the_default_data_dir_is_the_shared_ferplus_folder_else_the_embedded_sample(tmp_path, monkeypatch):
    from dsan_tf.cli import export_tflite
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    monkeypatch.setattr(export_tflite, "ROOT", tmp_path / "repo")
    assert export_tflite.default_data_dir() == Path(SAMPLE_FERPLUS_DIR)
    shared = tmp_path / "shared" / "datasets" / "ferplus"
    (shared / "FER2013Valid").mkdir(parents=True)
    assert export_tflite.default_data_dir() == shared


def _check_with_stand_ins(tmp_path, monkeypatch, names, disagreeing, limit, **build):
    """`dsan export tflite --saved-model --limit LIMIT` on a DSAN of ``names``, with conversion and LiteRT replaced
    by stand-ins: the reference SavedModel answers class 0 for every image; of the converted models (7 bytes of
    b"f" for float32, 3 of b"q" for dynamic range) the one whose content is ``disagreeing`` answers class 1, the
    other class 0. Returns (exit status, output folder, SavedModel folder)."""
    from dsan_tf import export
    from dsan_tf.cli import export_tflite
    from dsan_tf.data import SAMPLE_FERPLUS_DIR
    from dsan_tf.model import build_dsan

    weights = tmp_path / "model.keras"
    build_dsan(len(names), 32, class_names=list(names), **build).save(weights)

    class Reference(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def answer(self, image_bytes):
            return {"probabilities": tf.tile([[0.9, 0.1]], [tf.shape(image_bytes)[0], 1])}

    reference = Reference()
    reference.weight = tf.Variable([1.0, 2.0])  # so the SavedModel has variables to size
    saved = tmp_path / "served" / "1"
    tf.saved_model.save(reference, str(saved), signatures={"serving_default": reference.answer})
    monkeypatch.setattr(export, "convert_tflite", lambda model, quantize=False: b"q" * 3 if quantize else b"f" * 7)

    def runner(model_content):
        answer = [0.1, 0.9] if model_content == disagreeing else [0.9, 0.1]
        return lambda pixels: {"probabilities": np.tile(np.array([answer], np.float32), (len(pixels), 1))}

    monkeypatch.setattr(export_tflite, "signature_runner", runner)
    out = tmp_path / "tflite"
    status = export_tflite.main(["--weights", str(weights), "--output", str(out), "--data-dir", str(SAMPLE_FERPLUS_DIR),
                                 "--saved-model", str(saved), "--limit", str(limit), "--no-progress"])
    return status, out, saved


def test_a_limited_check_against_a_saved_model_reports_each_model_and_exits_1_below_a_threshold(tmp_path, capsys,
                                                                                            monkeypatch):
    """The command with --saved-model and --limit 5, conversion and LiteRT replaced by stand-ins (the float32
    one answers what the reference answers, class 0; the quantised one class 1): five images, agreement 1 and
    0, exit 1 (the quantised model is below its 98 %), the SavedModel's variables' size printed, and the model's
    own class names (not FERPlus') warned about and written to labels.txt."""

    from dsan_tf.data import SAMPLE_FERPLUS_DIR, load_dataset

    names = [f"c{i}" for i in range(8)]
    status, out, saved = _check_with_stand_ins(tmp_path, monkeypatch, names, disagreeing=b"qqq", limit=5)
    captured = capsys.readouterr()
    assert status == 1, captured.err
    report = json.loads((out / "report.json").read_text())
    labels = load_dataset("ferplus", SAMPLE_FERPLUS_DIR).split("valid")["label"].to_numpy()[:5]
    assert report["images"] == 5 and report["reference"] == str(saved)
    assert report["reference_accuracy"] == pytest.approx(float((labels == 0).mean()))
    variables = sum(f.stat().st_size for f in (saved / "variables").iterdir())
    assert report["saved_model_variables_bytes"] == variables > 0
    f32, q = report["models"]["float32"], report["models"]["dynamic_range"]
    assert (f32["top1_agreement"], f32["passed"], f32["bytes"]) == (1.0, True, 7)
    assert (q["top1_agreement"], q["passed"], q["bytes"]) == (0.0, False, 3)
    assert q["accuracy"] == pytest.approx(float((labels == 1).mean()))
    assert q["max_abs_probability_diff"] == pytest.approx(0.8, abs=1e-6)
    assert (out / "labels.txt").read_text().splitlines() == names
    assert f"model classes {names} differ from FERPlus'" in captured.err
    assert f"SavedModel variables: {variables / 1e6:.2f} MB" in captured.out
    assert "(BELOW >= 98.0%)" in captured.out and "(ok >= 99.9%)" in captured.out


# ---- round 4 blind mutants (issue 34)


def test_load_interpreter_takes_exactly_one_source(tmp_path):
    from dsan_tf.litert import load_interpreter

    for both_or_none in ({"model_content": b"flatbuffer", "model_path": tmp_path / "m.tflite"}, {}):
        with pytest.raises(ValueError, match="give exactly one of model_content and model_path"):
            load_interpreter(**both_or_none)


def _stand_in_litert(monkeypatch, side):
    """LiteRT's Interpreter replaced by a stand-in whose one signature takes [1, side, side, 3] pixels and answers
    0.5 for each of two classes (no flatbuffer is read); returns the list of pixel arrays it is called with."""
    import ai_edge_litert.interpreter

    seen = []

    class Runner:
        def get_input_details(self):
            return {"pixels": {"shape": np.array([1, side, side, 3])}}

        def __call__(self, pixels):
            seen.append(np.array(pixels))
            return {"probabilities": np.full((len(pixels), 2), 0.5, np.float32)}

    class Interpreter:
        def __init__(self, model_content, num_threads):
            pass

        def get_signature_runner(self):
            return Runner()

    monkeypatch.setattr(ai_edge_litert.interpreter, "Interpreter", Interpreter)
    return seen


def test_the_tflite_predictor_of_a_grey_model_greys_colour_faces(monkeypatch):
    """The TFLite predictor takes its grey setting from the Keras predictor it stands in for: a pure red
    face (255, 0, 0) reaches the runner as BT.601 grey, 0.299 * 255 = 76.245 in every channel."""
    from dsan_tf.inference import Predictor
    from dsan_tf.tflite_predictor import TFLitePredictor

    seen = _stand_in_litert(monkeypatch, side=8)

    class Grey(Predictor):
        class_names, image_size, source, grayscale_input = ["a", "b"], 8, "grey.keras", True

    lite = TFLitePredictor(b"unused", Grey())
    assert lite.grayscale_input is True and lite.image_size == 8 and lite.class_names == ["a", "b"]
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    lite.predict([red])
    np.testing.assert_allclose(seen[-1], np.full((1, 8, 8, 3), np.round(0.299 * 255)), atol=1.0)


# ---- round 6 blind mutants (issue 34)


def test_a_float32_model_below_its_threshold_fails_the_command_even_when_the_quantised_one_passes(tmp_path, capsys,
                                                                                                 monkeypatch):
    """r6-export_tflite-status-from-last-model: the exit status is 1 when ANY model is below its threshold. The
    reverse of the check above: the float32 stand-in answers class 1 where the reference answers class 0
    (agreement 0 < 99.9 %), the quantised one class 0 (agreement 1): exit 1, float32 reported as failed."""
    from dsan_tf.data import FERPLUS_CLASSES

    status, out, _ = _check_with_stand_ins(tmp_path, monkeypatch, FERPLUS_CLASSES, disagreeing=b"fffffff", limit=3)
    assert status == 1, capsys.readouterr().err
    models = json.loads((out / "report.json").read_text())["models"]
    assert (models["float32"]["passed"], models["dynamic_range"]["passed"]) == (False, True)


# ---- round 7 blind mutants (issue 34)


@pytest.mark.parametrize("side, accepted", [(8, True), (16, False), (-1, True)])
def test_the_tflite_predictor_refuses_a_flatbuffer_of_another_input_size(monkeypatch, side, accepted):
    """A model of 8 px faces takes a flatbuffer whose input is [N, 8, 8, 3]; one of 16 px faces (another
    export) is refused, naming the shape, before any face is classified. A free side (-1) is taken, and the
    first call (the classes' probe) is made with the model's 8 px faces, not a negative shape."""
    from dsan_tf.inference import ModelLoadError, Predictor
    from dsan_tf.tflite_predictor import TFLitePredictor

    seen = _stand_in_litert(monkeypatch, side)

    class Colour(Predictor):
        class_names, image_size, source, grayscale_input = ["a", "b"], 8, "colour.keras", False

    if accepted:
        assert TFLitePredictor(b"unused", Colour()).image_size == 8
        assert [pixels.shape for pixels in seen] == [(1, 8, 8, 3)]
    else:
        with pytest.raises(ModelLoadError, match=r"takes input of shape \[ *1 +16 +16 +3\]"):
            TFLitePredictor(b"unused", Colour())


# ---- round 8 blind mutants (issue 34)


def test_the_tflite_predictor_resizes_a_crop_of_the_models_height_and_another_width(monkeypatch):
    """r8-tflite-predictor-non-square-not-resized: an 8 px model gets an 8 x 12 face (its height right, its
    width not) resized to 8 x 8 before the interpreter sees it, as any other size."""
    from dsan_tf.inference import Predictor
    from dsan_tf.tflite_predictor import TFLitePredictor

    seen = _stand_in_litert(monkeypatch, side=8)

    class Colour(Predictor):
        class_names, image_size, source, grayscale_input = ["a", "b"], 8, "colour.keras", False

    TFLitePredictor(b"unused", Colour()).predict([np.full((8, 12, 3), 100, np.uint8)])
    assert seen[-1].shape == (1, 8, 8, 3)
    np.testing.assert_allclose(seen[-1], 100.0)  # a flat face stays flat when resized


def test_an_agreement_exactly_at_its_threshold_passes(tmp_path, capsys, monkeypatch):
    """r8-export-tflite-threshold-strict: the command fails a model only BELOW its threshold. With both
    thresholds set to 1.0 and both stand-ins answering what the reference answers (agreement 1.0 = threshold),
    both pass and the exit status is 0."""
    from dsan_tf.cli import export_tflite
    from dsan_tf.data import FERPLUS_CLASSES

    monkeypatch.setattr(export_tflite, "THRESHOLDS", {"float32": 1.0, "dynamic_range": 1.0})
    status, out, _ = _check_with_stand_ins(tmp_path, monkeypatch, FERPLUS_CLASSES, disagreeing=None, limit=3)
    assert status == 0, capsys.readouterr().err
    models = json.loads((out / "report.json").read_text())["models"]
    assert [(m["top1_agreement"], m["threshold"], m["passed"]) for m in models.values()] == [(1.0, 1.0, True)] * 2


# ---- round 9 blind mutants (issue 34)


def test_the_tflite_predictor_is_named_by_the_source_it_is_given(monkeypatch):
    """r9-tflite-source-not-passed: TFLitePredictor(..., source="faces.tflite") is named faces.tflite, in its
    refusals too (the file the user gave, not the Keras model it stands in for); without a source it is
    "<the model's source> (TFLite)"."""
    from dsan_tf.inference import ModelLoadError, Predictor
    from dsan_tf.tflite_predictor import TFLitePredictor

    class Colour(Predictor):
        class_names, image_size, source, grayscale_input = ["a", "b"], 8, "colour.keras", False

    _stand_in_litert(monkeypatch, side=8)
    assert TFLitePredictor(b"unused", Colour(), source="faces.tflite").source == "faces.tflite"
    assert TFLitePredictor(b"unused", Colour()).source == "colour.keras (TFLite)"
    _stand_in_litert(monkeypatch, side=16)
    with pytest.raises(ModelLoadError, match=r"^faces\.tflite: takes input of shape"):
        TFLitePredictor(b"unused", Colour(), source="faces.tflite")


# ---- issue 34: line-by-line sweep (dsan_tf/tflite_predictor.py)


def _recording_litert(monkeypatch, shape, classes=2):
    """LiteRT's Interpreter replaced by a stand-in whose signature takes ``shape`` (None: no inputs at all)
    and answers 1/classes for each of ``classes`` classes; returns {"num_threads": [...], "pixels": [...]}."""
    import ai_edge_litert.interpreter

    seen = {"num_threads": [], "pixels": []}

    class Runner:
        def get_input_details(self):
            return {} if shape is None else {"pixels": {"shape": np.array(shape)}}

        def __call__(self, pixels):
            seen["pixels"].append(np.array(pixels))
            return {"probabilities": np.full((len(pixels), classes), 1 / classes, np.float32)}

    class Interpreter:
        def __init__(self, model_content, num_threads):
            seen["num_threads"].append(num_threads)

        def get_signature_runner(self):
            return Runner()

    monkeypatch.setattr(ai_edge_litert.interpreter, "Interpreter", Interpreter)
    return seen


def _like(names=("a", "b"), size=8):
    from dsan_tf.inference import Predictor

    class Colour(Predictor):
        class_names, image_size, source, grayscale_input = list(names), size, "colour.keras", False

    return Colour()


def test_the_tflite_predictor_gives_its_thread_count_to_the_interpreter(monkeypatch):
    from dsan_tf.tflite_predictor import TFLitePredictor

    seen = _recording_litert(monkeypatch, [1, 8, 8, 3])
    TFLitePredictor(b"unused", _like())
    TFLitePredictor(b"unused", _like(), num_threads=3)
    assert seen["num_threads"] == [2, 3]


@pytest.mark.parametrize("shape", [None, [1, 8, 8], [1, 8, 8, 3, 1]])
def test_the_tflite_predictor_refuses_a_flatbuffer_without_a_four_dimensional_input(monkeypatch, shape):
    """No input, or an input of 3 or 5 dimensions: refused naming the source and the shape, not a crash."""
    from dsan_tf.inference import ModelLoadError
    from dsan_tf.tflite_predictor import TFLitePredictor

    _recording_litert(monkeypatch, shape)
    with pytest.raises(ModelLoadError, match=r"^faces\.tflite: takes input of shape .*not \[N, 8, 8, 3\] faces of "
                                             r"the model colour\.keras"):
        TFLitePredictor(b"unused", _like(), source="faces.tflite")


def test_the_tflite_predictor_refuses_a_flatbuffer_of_another_class_count(monkeypatch):
    """A flatbuffer answering 2 classes for a model of 3 names is refused naming both counts."""
    from dsan_tf.inference import ModelLoadError
    from dsan_tf.tflite_predictor import TFLitePredictor

    _recording_litert(monkeypatch, [1, 8, 8, 3], classes=2)
    with pytest.raises(ModelLoadError, match=r"^colour\.keras \(TFLite\): gives 2 classes, the model colour\.keras "
                                             r"has 3$"):
        TFLitePredictor(b"unused", _like(("a", "b", "c")))
    _recording_litert(monkeypatch, [1, 8, 8, 3], classes=3)
    assert TFLitePredictor(b"unused", _like(("a", "b", "c"))).class_names == ["a", "b", "c"]


def test_bytes_that_are_not_a_flatbuffer_are_a_model_load_error_naming_the_source():
    """The real interpreter on garbage: ModelLoadError "<source>: not a TFLite model", or "TFLite model: ..."
    without a source."""
    pytest.importorskip("ai_edge_litert")
    from dsan_tf.inference import ModelLoadError
    from dsan_tf.tflite_predictor import TFLitePredictor

    with pytest.raises(ModelLoadError, match=r"^junk\.tflite: not a TFLite model \("):
        TFLitePredictor(b"not a flatbuffer at all", _like(), source="junk.tflite")
    with pytest.raises(ModelLoadError, match=r"^TFLite model: not a TFLite model \("):
        TFLitePredictor(b"not a flatbuffer at all", _like())


def test_the_tflite_predictor_rounds_float_pixels_of_the_models_size(monkeypatch):
    """predict_pixels with float pixels at the model's size: 100.4 reaches the interpreter as 100 and 100.6 as
    101 (the training pipeline's integers), unresized."""
    from dsan_tf.tflite_predictor import TFLitePredictor

    seen = _recording_litert(monkeypatch, [1, 8, 8, 3])
    lite = TFLitePredictor(b"unused", _like())
    pixels = np.full((2, 8, 8, 3), 100.4, np.float32)
    pixels[1] = 100.6
    lite.predict_pixels(pixels)
    assert seen["pixels"][-1].shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(seen["pixels"][-1][:, 0, 0, 0], [100.0, 101.0])


def test_tflite_bytes_converts_a_keras_predictors_model_and_refuses_one_without(monkeypatch):
    """tflite_bytes: the model of a Keras predictor converted in float32 (quantize left False); a predictor
    with no Keras model (a SavedModel's, a TFLite one) is a ModelLoadError naming it."""
    from types import SimpleNamespace

    from dsan_tf import export
    from dsan_tf.inference import ModelLoadError
    from dsan_tf.tflite_predictor import tflite_bytes

    calls = []
    monkeypatch.setattr(export, "convert_tflite", lambda model, quantize=False: calls.append((model, quantize)) or b"fb")
    model = object()
    assert tflite_bytes(SimpleNamespace(model=model, source="m.keras")) == b"fb"
    assert calls == [(model, False)]
    with pytest.raises(ModelLoadError, match=r"^served/1: only a Keras model can be converted to TFLite here"):
        tflite_bytes(SimpleNamespace(source="served/1"))


# ---- issue 34: line-by-line sweep (dsan_tf/cli/export_tflite.py)


def test_the_report_names_its_inputs_and_the_in_memory_reference(converted):
    """Without --saved-model the reference is the serving signature built from --weights: the report says so
    and has no SavedModel size; weights, data folder and the model's grey setting (colour here) are recorded."""
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    report = converted["report"]
    assert report["reference"] == "serving_default built in memory from --weights"
    assert report["saved_model_variables_bytes"] is None
    assert report["data_dir"] == str(SAMPLE_FERPLUS_DIR) and report["weights"].endswith("model.keras")
    assert report["grayscale_input"] is False


def test_the_report_of_a_grey_model_says_it_takes_grey_faces(tmp_path, capsys, monkeypatch):
    from dsan_tf.data import FERPLUS_CLASSES

    status, out, _ = _check_with_stand_ins(tmp_path, monkeypatch, FERPLUS_CLASSES, disagreeing=None, limit=2,
                                           grayscale_input=True)
    assert status == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["grayscale_input"] is True and report["weights"] == str(tmp_path / "model.keras")
    assert [(m["file"], m["threshold"]) for m in report["models"].values()] == [
        ("dsan_float32.tflite", 0.999), ("dsan_dynamic_range.tflite", 0.98)]


@pytest.mark.parametrize("value, accepted", [("0", False), ("1", True)])
def test_the_tflite_limit_is_a_positive_count(tmp_path, capsys, value, accepted):
    from dsan_tf.cli import parse_command_args

    argv = ["--weights", "ferplus", "--output", str(tmp_path / "out"), "--limit", value]
    if accepted:
        assert parse_command_args("export tflite", argv)[1].limit == 1
    else:
        with pytest.raises(SystemExit) as stop:
            parse_command_args("export tflite", argv)
        assert stop.value.code == 2 and "--limit" in capsys.readouterr().err


def test_the_tflite_predictor_refuses_a_flatbuffer_of_the_models_height_and_another_width(monkeypatch):
    # Fixed 2026-12-08: only the height (shape[1]) was checked; such a flatbuffer failed at the first face.
    from dsan_tf.inference import ModelLoadError
    from dsan_tf.tflite_predictor import TFLitePredictor

    _recording_litert(monkeypatch, [1, 8, 16, 3])
    with pytest.raises(ModelLoadError, match=r"takes input of shape"):
        TFLitePredictor(b"unused", _like())
