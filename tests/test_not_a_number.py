"""Numbers that are not numbers never leave a command (issue 31): a NaN model, NaN tables, a metric outside
[0, 1] and out-of-range API arguments are errors naming their source, not answers."""

import json

import numpy as np
import pytest
from script_loader import command, refused
from test_bad_input_tools import FixedFaceDetector

from dsan_tf.state_files import NotANumberError, require_finite

CLASSES = ["neutral", "happiness", "surprise"]


# ------------------------------------------------------------------ the helper itself
def test_require_finite_names_the_source_and_where_the_number_is():
    assert require_finite({"a": [1.0, 2.0], "b": None, "c": "text"}, "x") == {"a": [1.0, 2.0], "b": None, "c": "text"}
    with pytest.raises(NotANumberError, match=r"^model m\.keras: its probabilities include nan at \[1, 2\]"):
        require_finite(np.array([[0.2, 0.3, 0.5], [0.1, 0.2, np.nan]]), "model m.keras", "its probabilities")
    with pytest.raises(NotANumberError, match=r"rows\[1\]\.accuracy"):
        require_finite({"rows": [{"accuracy": 0.5}, {"accuracy": float("inf")}]}, "calibrate")


# ------------------------------------------------------------------ a model with NaN weights
@pytest.fixture(scope="module")
def nan_model():
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(1)
    model = build_dsan(len(CLASSES), 32, "dsan", class_names=CLASSES, dtype="float32")
    kernel = next(w for w in model.weights if w.path.endswith("kernel"))  # the first convolution: everything after is NaN
    value = kernel.numpy()
    value[0, 0, 0, 0] = np.nan
    kernel.assign(value)
    return model


def test_a_model_with_nan_weights_is_an_error_naming_it_not_neutral(nan_model):
    from dsan_tf.api import FaceExpressionRecognizer

    recognizer = FaceExpressionRecognizer(nan_model, detector=FixedFaceDetector())
    photo = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)  # not square
    with pytest.raises(NotANumberError, match=r"^model <in memory>: its probabilities include nan"):
        recognizer.predict(photo)
    with pytest.raises(NotANumberError, match="model <in memory>"):
        recognizer.predictor.predict_pixels(np.full((2, 40, 32, 3), 100.0, np.float32))


# ------------------------------------------------------------------ the Python API's arguments
@pytest.mark.parametrize("option, value", [
    ("min_confidence", 2), ("min_confidence", -0.1), ("min_confidence", float("nan")), ("min_face_size", 0),
    ("min_face_size", 2.5), ("align_size", 4), ("max_detection_side", 3), ("batch_size", 0), ("batch_size", True),
])
def test_an_out_of_range_api_argument_is_named_not_an_empty_answer(option, value):
    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.errors import UserError

    # The model is never loaded: the argument is refused first (a model name that does not exist proves it).
    with pytest.raises(ValueError, match=rf"^{option} must be") as raised:
        FaceExpressionRecognizer("no-such-model.keras", detector=FixedFaceDetector(), **{option: value})
    assert isinstance(raised.value, UserError)


@pytest.mark.parametrize("options, named", [({"image_size": 0}, "image_size"), ({"image_size": 32, "min_confidence": 1.5},
                                                                              "min_confidence")])
def test_face_crops_refuses_out_of_range_arguments(options, named):
    from dsan_tf.api import face_crops

    photo = np.zeros((60, 80, 3), np.uint8)
    image_size = options.pop("image_size")
    with pytest.raises(ValueError, match=rf"^{named} must be"):
        face_crops(photo, image_size, False, detector=FixedFaceDetector(), **options)


# ------------------------------------------------------------------ compare: 700.00 %
@pytest.mark.parametrize("key, value", [("accuracy", 7.0), ("mean_class_accuracy", -0.5),
                                        ("per_class_accuracy", {"neutral": 70.0})])
def test_compare_refuses_a_metric_outside_zero_one(tmp_path, key, value):
    run = tmp_path / "run"
    run.mkdir()
    metrics = {"split": "valid", "count": 10, "accuracy": 0.7, "mean_class_accuracy": 0.5,
               "per_class_accuracy": {"neutral": 0.7}, key: value}
    (run / "metrics.json").write_text(json.dumps(metrics))
    line = refused(command("compare"), [run], r"run/metrics\.json \(a run's metrics\): .* not an accuracy in \[0, 1\]")
    assert "%" not in line


# ------------------------------------------------------------------ calibration
def test_a_large_tau_gives_finite_class_factors():
    from dsan_tf.calibration import adjust, prior_scale

    priors = np.array([0.6, 0.39, 0.01])
    # Independent: (π_k / π_min)^(−τ) for τ = 400 is 0 for the two common classes, 1 for the rare one.
    np.testing.assert_allclose(prior_scale(priors, 400), [0.0, 0.0, 1.0], atol=1e-300)
    np.testing.assert_allclose(prior_scale(priors, 1), [0.01 / 0.6, 0.01 / 0.39, 1.0])
    with pytest.raises(NotANumberError, match="every class at probability 0"):
        adjust(np.array([[0.5, 0.5, 0.0]]), prior_scale(priors, 400))


# ------------------------------------------------------------------ simulate-centres
def features_file(path, features=None, labels=None, **arrays):
    rng = np.random.default_rng(3)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1]) if labels is None else labels
    features = rng.uniform(0.1, 1.0, (len(labels), 5)) if features is None else features
    np.savez(path, features=features, attention=np.full(features.shape, 0.3), labels=labels,
             class_names=np.array(CLASSES), **arrays)
    return path


@pytest.mark.parametrize("make, match", [
    (lambda p: features_file(p, labels=np.array([0, 1, 0, 1, 0, 1, 0, 1])), "no training features of class surprise"),
    (lambda p: features_file(p, features=np.full((8, 5), np.nan)), r"features\.npz .*array 'features' holds NaN"),
    (lambda p: p.write_bytes(features_file(p).read_bytes()[:300]), r"features\.npz .*not a readable \.npz"),
    (lambda p: p.write_bytes(b"\x00garbage" * 10), r"features\.npz .*not a readable \.npz"),
    (lambda p: np.savez(p, features=np.ones((8, 5))), r"features\.npz .*holds no array 'attention'"),
])
def test_simulate_centres_refuses_what_would_print_nan(tmp_path, make, match):
    path = tmp_path / "features.npz"
    make(path)
    line = refused(command("simulate-centres"), ["--features", path, "--epochs", "1"], match)
    assert "nan" not in line.lower().replace("holds nan", "")
