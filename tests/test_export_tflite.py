"""export/export_tflite.py: float32 and dynamic-range TFLite models with the SavedModel's pixel input."""

import json
import warnings
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

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner = tf.lite.Interpreter(
            model_path=str(converted["out"] / "dsan_float32.tflite")).get_signature_runner("serving_default")
    module = export.build_serving_module(converted["model"])
    pixels = np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    got = runner(pixels=pixels)
    want = module.predict_pixels(tf.constant(pixels))
    for key in ("probabilities", "gfe_probabilities", "mff_probabilities"):
        np.testing.assert_allclose(got[key], want[key].numpy(), atol=1e-5)
    np.testing.assert_array_equal(got["class_id"], want["class_id"].numpy())
