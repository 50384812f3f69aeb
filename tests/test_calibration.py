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
