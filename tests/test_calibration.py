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


# ---------------------------------------------------------------------- lines its own tests never ran (issue 34)


def test_priors_refuse_labels_outside_the_classes_and_soft_targets_of_another_width():
    """A label 3 of 3 classes makes bincount 4 long; soft targets of 4 columns for 3 classes: both refused
    (not silently cut or padded); one class without examples is named by its count 0."""
    with pytest.raises(ValueError, match=r"3 classes.*counts \[1.0, 1.0, 0.0, 1.0\]"):
        class_priors(np.array([0, 1, 3]), 3)
    with pytest.raises(ValueError, match="3 classes"):
        class_priors(np.full((2, 4), 0.25), 3)
    # integer labels: counts 1, 2, 1 of 4 -> 0.25, 0.5, 0.25 (classes by index, not by first appearance)
    np.testing.assert_allclose(class_priors([2, 1, 0, 1], 3), [0.25, 0.5, 0.25])


def test_prior_scale_refuses_a_negative_or_infinite_tau_and_a_huge_tau_stays_finite():
    """tau < 0 or inf refused (0 is the model as trained, allowed); tau 2 on priors 0.5/0.25/0.25:
    (0.5/0.25)^-2 = 0.25 for the common class, 1 for the two rare ones; tau 2000: 2^-2000 underflows to 0,
    not NaN (the computation in logs)."""
    priors = [0.5, 0.25, 0.25]
    for tau in (-0.1, -1e-9, float("inf")):
        with pytest.raises(ValueError, match="finite number >= 0"):
            prior_scale(priors, tau)
    np.testing.assert_allclose(prior_scale(priors, 2.0), [0.25, 1.0, 1.0])
    np.testing.assert_allclose(prior_scale(priors, 0.5), [2 ** -0.5, 1.0, 1.0])
    assert prior_scale(priors, 2000.0) == [0.0, 1.0, 1.0]


def test_adjust_refuses_a_face_left_with_every_class_at_zero_and_renormalises_each_face():
    """Face 0 keeps only class 1 (its class 0 mass is scaled to 0): [0, 1, 0]; face 1 has all its mass on
    class 0, scaled to 0: 0/0 would be NaN, so NotANumberError; each face's row is normalised on its own."""
    from dsan_tf.state_files import NotANumberError

    np.testing.assert_allclose(adjust([[0.5, 0.5, 0.0]], [0.0, 1.0, 1.0]), [[0.0, 1.0, 0.0]])
    # [0.2, 0.3, 0.5] * [1, 2, 1] = [0.2, 0.6, 0.5] / 1.3; [0.6, 0.2, 0.2] * [1, 2, 1] = [0.6, 0.4, 0.2] / 1.2
    np.testing.assert_allclose(adjust([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]], [1.0, 2.0, 1.0]),
                               [[0.2 / 1.3, 0.6 / 1.3, 0.5 / 1.3], [0.5, 1 / 3, 1 / 6]])
    with pytest.raises(NotANumberError, match="every class at probability 0"):
        adjust([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], [0.0, 1.0, 1.0])


def test_with_prior_correction_drops_an_earlier_flip_average_unless_asked_again(small_dsan):
    """A copy made with flip_average=False from a flip-averaging model does not average (the setting is
    removed, not inherited); the copy is float32 and has the same weights."""
    flipped = with_prior_correction(small_dsan, [1.0, 2.0, 1.0, 1.0], flip_average=True)
    assert flipped.settings["flip_average"] is True
    plain = with_prior_correction(flipped, None)
    assert not plain.settings.get("flip_average") and plain.settings.get("class_scale") is None
    assert plain.settings["dtype"] == "float32"
    for a, b in zip(plain.get_weights(), small_dsan.get_weights()):
        np.testing.assert_array_equal(a, b)


# dsan_tf/cli/calibrate.py (its tests by name live here)


@pytest.mark.parametrize("flags, says", [
    (["--apply", "0.5"], "--apply TAU and --save FILE go together"),
    (["--save", "x.keras"], "--apply TAU and --save FILE go together"),
    (["--flip-average"], "--flip-average goes with --apply TAU --save FILE"),
    (["--taus", "0,10.5"], "10.5"),
    (["--apply", "-0.1", "--save", "x.keras"], "-0.1"),
])
def test_calibrate_flags_that_do_not_go_together_or_out_of_range_exit_2(tmp_path, capsys, flags, says):
    """Refused by the parser before any model loads."""
    from dsan_tf import cli

    with pytest.raises(SystemExit) as stop:
        cli.main(["calibrate", "--weights", "ferplus", "--data-dir", str(tmp_path), *flags])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "dsan calibrate: error:" in err and says in err, err


def test_calibrate_refuses_a_model_of_other_classes_and_prints_its_table(tmp_path, capsys):
    """A model whose classes are not the data's: exit 2 naming both lists, nothing written. The printed
    table: one line per (flip, tau), "no" rows first, accuracies as in calibration.json; --apply 0 without
    --flip-average says so and saves factors all 1 (tau 0 is the model as trained)."""
    import json

    from dsan_tf import cli
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR
    from dsan_tf.model import DSAN

    other = DSAN(num_classes=len(FERPLUS_CLASSES), image_size=32, class_names=[f"x{i}" for i in FERPLUS_CLASSES])
    weights = tmp_path / "other.keras"
    other.save(weights)
    code = cli.main(["calibrate", "--weights", str(weights), "--data-dir", str(SAMPLE_FERPLUS_DIR),
                     "--output", str(tmp_path / "cal"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "classes ['neutral'" in err and "differ from the model's ['xneutral'" in err, err
    assert not (tmp_path / "cal" / "calibration.json").exists()

    model = DSAN(num_classes=len(FERPLUS_CLASSES), image_size=32, class_names=list(FERPLUS_CLASSES))
    model.save(weights)
    saved = tmp_path / "tau0.keras"
    code = cli.main(["calibrate", "--weights", str(weights), "--data-dir", str(SAMPLE_FERPLUS_DIR), "--taus", "0,0.5",
                     "--output", str(tmp_path / "cal"), "--apply", "0", "--save", str(saved), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    record = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["tau", "flip"])
    table = [line.split() for line in lines[header + 1:header + 5]]
    assert [(row[0], row[1]) for row in table] == [("0.00", "no"), ("0.50", "no"), ("0.00", "yes"), ("0.50", "yes")]
    for row, want in zip(table, record["rows"]):
        assert row[2] == f"{want['accuracy']:.2%}" and row[3] == f"{want['mean_class_accuracy']:.2%}"
        worst = min(want["per_class_accuracy"], key=want["per_class_accuracy"].get)
        assert row[4] == worst
    assert lines[0].startswith(f"{record['count']} images of valid; priors (training split, probability labels): ")
    assert f"wrote {saved}: τ = 0.0, flip averaging off, class factors neutral 1.000" in out
    from dsan_tf.inference import load_dsan

    corrected = load_dsan(saved)
    assert corrected.settings["class_scale"] == [1.0] * len(FERPLUS_CLASSES)
    assert not corrected.settings.get("flip_average")


# ---- round 3 blind mutants (issue 34)


def test_calibrate_scores_the_faces_mirrored_left_to_right(tmp_path, monkeypatch):
    """r3-calibrate-mirror-wrong-axis: the "yes" rows average each face with its LEFT-RIGHT mirror. The images of
    the second scoring pass must be the first pass's, reversed along the width (NumPy, NHWC axis 2); an upside
    down copy (axis 1) or the same images fail. The embedded sample's 32 px faces are not symmetric."""
    from dsan_tf import cli, evaluation
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR
    from dsan_tf.model import DSAN

    weights = tmp_path / "m.keras"
    DSAN(num_classes=len(FERPLUS_CLASSES), image_size=32, class_names=list(FERPLUS_CLASSES)).save(weights)
    seen, real = [], evaluation.collect_outputs

    def recording(model, batches, keys):
        images = []

        def batches_seen():
            for batch in batches:
                images.append(np.asarray(batch[0]))
                yield batch
        out = real(model, batches_seen(), keys)
        seen.append(np.concatenate(images))
        return out

    monkeypatch.setattr(evaluation, "collect_outputs", recording)
    code = cli.main(["calibrate", "--weights", str(weights), "--data-dir", str(SAMPLE_FERPLUS_DIR), "--taus", "0",
                     "--output", str(tmp_path / "cal"), "--no-progress"])
    assert code == 0 and len(seen) == 2
    plain, mirrored = seen
    assert not np.array_equal(plain, plain[:, :, ::-1, :])  # the faces tell left from right
    np.testing.assert_array_equal(mirrored, plain[:, :, ::-1, :])


# ---- round 4 blind mutants (issue 34)


def test_calibrate_priors_come_from_the_training_split(tmp_path, monkeypatch):
    """r4-calibrate-priors-from-scored-split: the priors are the class frequencies of the TRAINING split, whatever
    split is scored: with majority labels, the embedded sample's 288 training faces (not its 96 valid ones)
    reach class_priors. The model is a stand-in; the run stops there."""
    from types import SimpleNamespace

    import dsan_tf.calibration
    import dsan_tf.inference
    import dsan_tf.model
    from dsan_tf.cli import run_command
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR

    class Stop(Exception):
        pass

    seen = []

    def recording(targets, num_classes):
        seen.append((len(targets), num_classes))
        raise Stop

    stub = SimpleNamespace(class_names=list(FERPLUS_CLASSES), settings={"image_size": 32})
    monkeypatch.setattr(dsan_tf.inference, "load_dsan", lambda weights: stub)
    monkeypatch.setattr(dsan_tf.model, "as_float32", lambda model: model)
    monkeypatch.setattr(dsan_tf.calibration, "with_prior_correction", lambda model, scale, **kwargs: model)
    monkeypatch.setattr(dsan_tf.calibration, "class_priors", recording)
    with pytest.raises(Stop):
        run_command("calibrate", ["--weights", "ferplus", "--data-dir", str(SAMPLE_FERPLUS_DIR), "--label-mode",
                                  "majority", "--split", "valid", "--no-progress"], debug=True)
    assert seen == [(288, 8)]


# ---- round 8 blind mutants (issue 34)


def test_calibrate_scores_a_model_that_carries_a_correction_without_it(monkeypatch):
    """r8-calibrate-scores-with-stored-correction: a model saved with a prior correction and flip averaging (a
    shipped one, a --save of calibrate) is scored as trained: the model that reaches the scoring gives the
    probabilities of the uncorrected network (the model before with_prior_correction, computed here) on a face,
    not the corrected ones, and carries neither setting. The scoring itself is a stand-in (no inference)."""
    from dsan_tf import evaluation
    import dsan_tf.inference
    from dsan_tf.cli import run_command
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR
    from dsan_tf.model import DSAN

    plain = DSAN(num_classes=len(FERPLUS_CLASSES), image_size=32, class_names=list(FERPLUS_CLASSES))
    scale = [1000.0] + [1.0] * (len(FERPLUS_CLASSES) - 1)  # every face leans to neutral once corrected
    corrected = with_prior_correction(plain, scale, flip_average=True)
    monkeypatch.setattr(dsan_tf.inference, "load_dsan", lambda weights: corrected)
    scored = []

    def stand_in(model, batches, keys):
        scored.append(model)
        return {"targets": np.eye(8), "probabilities": np.full((8, 8), 1 / 8)}

    monkeypatch.setattr(evaluation, "collect_outputs", stand_in)
    assert run_command("calibrate", ["--weights", "ferplus", "--data-dir", str(SAMPLE_FERPLUS_DIR), "--taus", "0",
                                     "--no-progress"], debug=True) == 0
    face = np.random.default_rng(0).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    want = plain(face, training=False)["probabilities"].numpy()
    assert not np.allclose(corrected(face, training=False)["probabilities"].numpy(), want, atol=1e-3)
    assert len(scored) == 2  # the faces, then their mirror images
    for model in scored:
        assert model.settings.get("class_scale") is None and not model.settings.get("flip_average")
        np.testing.assert_allclose(model(face, training=False)["probabilities"].numpy(), want, atol=1e-5)


# ---- issue 34: line-by-line sweep (dsan_tf/calibration.py)


def test_a_mixed_precision_model_is_corrected_as_a_float32_copy_of_its_weights():
    """with_prior_correction of a mixed_float16 DSAN: the copy computes in float32 (settings, every weight and
    the probabilities), its weights are the model's (cast), and the correction is applied (by hand)."""
    from dsan_tf.model import build_dsan

    mixed = build_dsan(3, 32, dtype="mixed_float16")
    scale = [1.0, 3.0, 0.5]
    clone = with_prior_correction(mixed, scale)
    assert clone.settings["dtype"] == "float32" and clone.settings["class_scale"] == scale
    assert all(w.dtype == np.float32 for w in clone.get_weights())
    for a, b in zip(clone.get_weights(), mixed.get_weights()):
        np.testing.assert_array_equal(a, np.asarray(b, np.float32))
    images = np.random.default_rng(3).uniform(-2, 2, (2, 32, 32, 3)).astype("float32")
    out = clone(images, training=False)
    assert out["probabilities"].dtype == "float32"
    plain = with_prior_correction(mixed, None)(images, training=False)
    fused = 0.4 * _softmax(np.asarray(plain["gfe_logits"], np.float64)) + 0.6 * _softmax(
        np.asarray(plain["mff_logits"], np.float64))
    want = fused * scale / (fused * scale).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(out["probabilities"]), want, atol=1e-5)


def test_soft_targets_with_a_class_never_seen_are_refused():
    """(N, K) soft targets whose column sums to 0: that class has no prior (its factor would be infinite)."""
    with pytest.raises(ValueError, match=r"counts \[1.5, 0.0, 0.5\]"):
        class_priors(np.array([[1.0, 0.0, 0.0], [0.5, 0.0, 0.5]]), 3)


def test_adjust_takes_one_face_as_a_vector():
    """One face's probabilities (a 1-D vector) are rescaled and renormalised on their own axis:
    [0.2, 0.3, 0.5] * [1, 2, 1] = [0.2, 0.6, 0.5] / 1.3."""
    got = adjust([0.2, 0.3, 0.5], [1.0, 2.0, 1.0])
    assert got.shape == (3,)
    np.testing.assert_allclose(got, [0.2 / 1.3, 0.6 / 1.3, 0.5 / 1.3])
