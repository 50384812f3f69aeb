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
