"""The post-hoc prior correction (dsan_tf.calibration) against a hand-built NumPy fusion."""

import numpy as np
import pytest

from dsan_tf.calibration import adjust, class_priors, prior_scale, with_prior_correction


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def small_dsan():
    from dsan_tf.model import DSAN

    return DSAN(num_classes=4, image_size=32, class_names=["a", "b", "c", "d"], grayscale_input=True)


def test_priors_and_scale_follow_the_formula():
    soft = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    priors = class_priors(soft, 3)
    np.testing.assert_allclose(priors, [2.5 / 4, 0.5 / 4, 1.0 / 4])
    np.testing.assert_allclose(class_priors(np.array([0, 0, 2, 1]), 3), [0.5, 0.25, 0.25])
    # pi^-tau, largest factor 1: the rarest class (0.125) gets the largest factor
    np.testing.assert_allclose(prior_scale(priors, 1.0), [0.125 / 0.625, 1.0, 0.125 / 0.25])
    np.testing.assert_allclose(prior_scale(priors, 0.0), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="needs training examples"):
        class_priors(np.array([0, 0, 1]), 3)
    with pytest.raises(ValueError, match="tau"):
        prior_scale(priors, float("nan"))


def test_corrected_model_rescales_the_fused_probabilities(small_dsan):
    rng = np.random.default_rng(0)
    images = rng.uniform(-2, 2, (3, 32, 32, 3)).astype("float32")
    scale = [1.0, 4.0, 0.5, 2.0]
    corrected = with_prior_correction(small_dsan, scale)
    plain = small_dsan(images, training=False)
    out = corrected(images, training=False)
    # the paper's fusion, by hand from the streams' logits: 0.4 softmax(z1) + 0.6 softmax(z2)
    fused = 0.4 * _softmax(np.asarray(plain["gfe_logits"])) + 0.6 * _softmax(np.asarray(plain["mff_logits"]))
    np.testing.assert_allclose(np.asarray(plain["probabilities"]), fused, atol=1e-6)
    expected = fused * np.array(scale)
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(out["probabilities"]), expected, atol=1e-6)
    np.testing.assert_allclose(adjust(fused, scale), expected, atol=1e-6)
    # the logits (what the losses see) are untouched
    np.testing.assert_allclose(np.asarray(out["gfe_logits"]), np.asarray(plain["gfe_logits"]), atol=1e-6)


def test_correction_survives_save_and_the_shipped_format(small_dsan, tmp_path):
    from dsan_tf import pretrained
    from dsan_tf.model import DSAN

    scale = [1.0, 4.0, 0.5, 2.0]
    corrected = with_prior_correction(small_dsan, scale)
    assert corrected.settings["class_scale"] == scale
    assert "class_scale" not in small_dsan.get_config()  # the paper's fusion keeps its old config
    again = DSAN.from_config(corrected.get_config())
    assert again.get_layer("fusion").class_scale == tuple(scale)
    pretrained.pack(corrected, "tiny", tmp_path)
    loaded = pretrained.load("tiny", tmp_path)
    assert loaded.get_layer("fusion").class_scale == tuple(scale)
    assert with_prior_correction(corrected, None).get_layer("fusion").class_scale is None
    with pytest.raises(ValueError, match="4 factors"):
        with_prior_correction(small_dsan, [1.0, 2.0])
    with pytest.raises(ValueError, match="finite and positive"):
        with_prior_correction(small_dsan, [1.0, 0.0, 1.0, 1.0])


def test_calibrate_command_scores_taus_and_saves_the_corrected_model(tmp_path, capsys):
    """`dsan calibrate` on the embedded sample: a τ table whose τ=0 row is the model's own accuracy,
    both files under the output policy, and --apply writing a model that carries the correction."""
    import json

    from dsan_tf import cli
    from dsan_tf.data import SAMPLE_FERPLUS_DIR
    from dsan_tf.data.pipeline import make_dataset
    from dsan_tf.data.registry import load_dataset
    from dsan_tf.evaluation import collect_outputs
    from dsan_tf.inference import load_dsan
    from dsan_tf.model import DSAN

    data = load_dataset("ferplus", SAMPLE_FERPLUS_DIR, label_mode="majority")
    model = DSAN(num_classes=data.num_classes, image_size=32, class_names=list(data.class_names))
    weights = tmp_path / "m.keras"
    model.save(weights)
    out, saved = tmp_path / "cal", tmp_path / "corrected.keras"
    argv = ["calibrate", "--weights", str(weights), "--data-dir", str(SAMPLE_FERPLUS_DIR), "--taus", "0,1",
            "--output", str(out), "--apply", "1", "--save", str(saved), "--flip-average", "--no-progress"]
    assert cli.main(argv) == 0
    record = json.loads((out / "calibration.json").read_text())
    assert [(row["tau"], row["flip_average"]) for row in record["rows"]] == [(0.0, False), (1.0, False),
                                                                           (0.0, True), (1.0, True)]
    assert (out / "calibration.png").stat().st_size > 0
    valid = make_dataset(data.split("valid"), data.num_classes, 32, 32, training=False)

    def accuracy(m):
        outputs = collect_outputs(m, valid, keys=("probabilities",))
        return float((outputs["probabilities"].argmax(1) == outputs["targets"].argmax(1)).mean())

    assert abs(record["rows"][0]["accuracy"] - accuracy(model)) < 1e-9
    corrected = load_dsan(saved)
    priors = np.array([record["priors"][name] for name in data.class_names])
    np.testing.assert_allclose(corrected.settings["class_scale"], (1 / priors) / (1 / priors).max(), rtol=1e-6)
    # the saved model (tau 1, flip averaging) scores what its row of the table says
    assert corrected.settings["flip_average"] is True
    assert abs(record["rows"][3]["accuracy"] - accuracy(corrected)) < 1e-9
    # a rerun without --overwrite refuses to replace the corrected model, in one line naming the flag
    assert cli.main(argv) == 2
    assert "--save" in capsys.readouterr().err


def test_flip_average_is_the_mean_over_the_face_and_its_mirror_image(small_dsan):
    """DSAN(flip_average=True): at inference the (corrected) probabilities and the stream logits are the
    means over the face and its mirror image (mirrored here with NumPy); training and the other outputs
    are those of the face as given."""
    rng = np.random.default_rng(1)
    images = rng.uniform(-2, 2, (3, 32, 32, 3)).astype("float32")
    mirrored = images[:, :, ::-1, :].copy()
    scale = [1.0, 4.0, 0.5, 2.0]
    corrected = with_prior_correction(small_dsan, scale)
    flipped = with_prior_correction(small_dsan, scale, flip_average=True)
    a, b = corrected(images, training=False), corrected(mirrored, training=False)
    assert np.abs(np.asarray(a["probabilities"]) - np.asarray(b["probabilities"])).max() > 1e-4  # not symmetric
    out = flipped(images, training=False)
    for key in ("probabilities", "gfe_logits", "mff_logits"):
        np.testing.assert_allclose(np.asarray(out[key]), (np.asarray(a[key]) + np.asarray(b[key])) / 2, atol=1e-6)
    np.testing.assert_allclose(np.asarray(out["attention"]), np.asarray(a["attention"]), atol=1e-6)
    # the mean of two corrected distributions is what `dsan calibrate` scores offline for "flip yes"
    np.testing.assert_allclose(np.asarray(out["probabilities"]),
                               (adjust(np.asarray(small_dsan(images, training=False)["probabilities"]), scale)
                                + adjust(np.asarray(small_dsan(mirrored, training=False)["probabilities"]), scale)) / 2,
                               atol=1e-6)
    # training sees the face as given (BatchNorm in training mode: compare with the plain model's training pass)
    np.testing.assert_allclose(np.asarray(flipped(images, training=True)["gfe_logits"]),
                               np.asarray(corrected(images, training=True)["gfe_logits"]), atol=1e-5)


def test_flip_average_survives_save_shipping_and_every_export(small_dsan, tmp_path):
    import tensorflow as tf

    from dsan_tf import pretrained
    from dsan_tf.export import convert_tflite, export_saved_model
    from dsan_tf.model import DSAN

    flipped = with_prior_correction(small_dsan, None, flip_average=True)
    assert flipped.settings["flip_average"] is True and "flip_average" not in small_dsan.get_config()
    assert DSAN.from_config(flipped.get_config()).settings["flip_average"] is True
    assert "flip_average" not in with_prior_correction(flipped, None).get_config()
    pretrained.pack(flipped, "tiny", tmp_path)
    loaded = pretrained.load("tiny", tmp_path)
    assert loaded.settings["flip_average"] is True

    pixels = np.random.default_rng(2).integers(0, 256, (2, 32, 32, 3)).astype("uint8")
    from dsan_tf.inference import KerasPredictor

    want = KerasPredictor(flipped).predict(list(pixels))
    plain = KerasPredictor(small_dsan).predict(list(pixels))
    assert np.abs(want - plain).max() > 1e-4
    export_saved_model(flipped, tmp_path / "served", 1, warmup_images=[])
    served = tf.saved_model.load(str(tmp_path / "served" / "1")).signatures["predict_pixels"]
    as_float = pixels.astype("float32")
    np.testing.assert_allclose(served(pixels=tf.constant(as_float))["probabilities"].numpy(), want, atol=1e-5)
    from dsan_tf.litert import signature_runner

    runner = signature_runner(model_content=convert_tflite(flipped))
    np.testing.assert_allclose(runner(pixels=as_float[:1])["probabilities"][0], want[0], atol=1e-4)


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def test_flip_averaging_averages_the_baselines_logits_too():
    """flip-average-leaves-logits-unaveraged: the single-classifier baseline's output is "logits"; with
    flip averaging they are the mean over the face and its mirror image (mirrored here with NumPy), as
    the probabilities are."""
    from dsan_tf.calibration import with_prior_correction
    from dsan_tf.model import build_dsan

    model = build_dsan(3, 32, "baseline")
    images = np.random.default_rng(5).uniform(-2, 2, (2, 32, 32, 3)).astype("float32")
    mirrored = images[:, :, ::-1, :].copy()
    a, b = model(images, training=False), model(mirrored, training=False)
    assert np.abs(np.asarray(a["logits"]) - np.asarray(b["logits"])).max() > 1e-4  # orientation matters
    out = with_prior_correction(model, None, flip_average=True)(images, training=False)
    for key in ("logits", "probabilities"):
        np.testing.assert_allclose(np.asarray(out[key]), (np.asarray(a[key]) + np.asarray(b[key])) / 2, atol=1e-5)
