"""experiments/simulate_centres.py: its rules are the model's, and it tells a tracking rule from a collapsing one."""

import numpy as np
import pytest

from script_loader import load_script
from test_centre_update import toy_batch, toy_model

sim = load_script("simulate_centres")


@pytest.mark.parametrize("update", ["centre-loss", "class-normalised", "present-classes", "loss-gradient"])
def test_simulated_step_is_the_models_step(update):
    """One step of the simulator equals one DSAN.train_step on the same features (network frozen)."""
    model = toy_model(update)
    x, y = toy_batch([0, 0, 1, 2, 2, 2])
    outputs = model(x, training=True)
    a, h = outputs["attention"].numpy().astype("float64"), outputs["gfe_hidden"].numpy().astype("float64")
    c = model.class_centres.numpy().astype("float64")
    model.train_on_batch(x, y)
    s = model.settings
    rule = sim.Rule(update, model.centre_optimizer.learning_rate.numpy(), 0.0, beta=s["centre_separation_weight"])
    grad = sim.centre_gradient(rule, c, a * h, a, y, s["lambda1"], s["lambda2"], s["alpha"])
    np.testing.assert_allclose(model.class_centres.numpy(), c - rule.learning_rate * grad, rtol=1e-4, atol=1e-5)


def clustered_features(seed=0, n=8000):
    """Non-negative features a*h1 of 4 classes sharing one orthant; class 3 is 1 % of the data."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(4, size=n, p=[0.45, 0.34, 0.2, 0.01])
    means = np.abs(rng.normal(size=(4, 16))) * 2 + 1.0
    hidden = np.maximum(means[labels] + rng.normal(size=(n, 16)), 0.0)
    attention = rng.uniform(0.2, 0.4, size=hidden.shape)
    return hidden * attention, attention, labels


@pytest.mark.parametrize("old_rule", ["loss-gradient", "class-normalised"])
def test_the_old_rules_lose_the_rare_centre_and_the_centre_loss_step_keeps_it(old_rule):
    features, attention, labels = clustered_features()
    old = sim.simulate(sim.Rule(old_rule, 0.9, 0.9), features, attention, labels, epochs=3)
    new = sim.simulate(sim.Rule("centre-loss", 0.05, 0.9, beta=0.002), features, attention, labels, epochs=3)
    assert old[-1][0][3] < 0.0  # the rare class's centre points away from its features
    new_cos, new_target_cos, new_ratio = new[-1]
    assert new_cos.min() > 0.9 and new_target_cos.min() > 0.9
    assert np.all((new_ratio > 1 / 3) & (new_ratio < 3))


def test_divergence_is_reported_not_hidden():
    features, attention, labels = clustered_features()
    rule = sim.Rule("centre-loss", 10.0, 0.9)
    history = sim.simulate(rule, features, attention, labels, epochs=3)
    assert history[-1] is None
    assert "diverged" in sim.report(rule, history, list("abcd"))


def test_command_reads_stored_features_and_writes_a_csv(tmp_path, capsys):
    features, attention, labels = clustered_features()
    stored = tmp_path / "features.npz"
    np.savez(stored, features=features, attention=attention, labels=labels, class_names=np.array(list("abcd")))
    out = tmp_path / "table.csv"
    sim.main(["--features", str(stored), "--epochs", "1", "--rule", "centre-loss:0.05:0.9:0.002",
              "--rule", "loss-gradient:0.9:0.9", "--csv", str(out)])
    text = capsys.readouterr().out
    assert "centre-loss beta 0.002 (SGD 0.05/0.9)" in text and "loss-gradient (SGD 0.9/0.9)" in text
    rows = out.read_text().splitlines()
    assert rows[0] == "rule,class_name,cosine,target_cosine,norm_ratio" and len(rows) == 1 + 2 * 4


def test_a_malformed_rule_is_one_clear_error(capsys):
    with pytest.raises(SystemExit):
        sim.main(["--features", "x.npz", "--rule", "centre-loss:fast"])
    assert "expected update:learning_rate:momentum[:beta]" in capsys.readouterr().err


def test_weight_decay_option_reaches_the_simulation(tmp_path, capsys):
    """--weight-decay is applied: a strong decay shrinks the centres below their features' norm."""
    features, attention, labels = clustered_features()
    stored = tmp_path / "features.npz"
    np.savez(stored, features=features, attention=attention, labels=labels, class_names=np.array(list("abcd")))
    ratios = {}
    for decay in ("0", "1"):
        out = tmp_path / f"decay{decay}.csv"
        sim.main(["--features", str(stored), "--epochs", "1", "--rule", "centre-loss:0.05:0.9:0.002",
                  "--weight-decay", decay, "--csv", str(out)])
        assert f"centre weight decay {decay}" in capsys.readouterr().out
        ratios[decay] = np.loadtxt(out, delimiter=",", skiprows=1, usecols=4)
    assert np.all(ratios["1"] < 0.8 * ratios["0"])


def test_features_of_a_bfloat16_model_are_extracted_as_float32(tmp_path):
    """A mixed_bfloat16 model's features are stored as float32 by the command (they were once
    stored as a void dtype that np.load could not read back as numbers)."""
    import keras

    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR
    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    model_file = tmp_path / "dsan-bf16.keras"
    build_dsan(len(FERPLUS_CLASSES), 32, class_names=list(FERPLUS_CLASSES), dtype="mixed_bfloat16").save(model_file)
    stored = tmp_path / "features.npz"
    sim.main(["--weights", str(model_file), "--data-dir", str(SAMPLE_FERPLUS_DIR), "--features", str(stored),
              "--epochs", "1", "--rule", "centre-loss:0.05:0.9:0.002"])
    with np.load(stored) as back:
        features, attention, labels = back["features"], back["attention"], back["labels"]
        assert features.dtype == attention.dtype == np.float32
        assert features.shape == attention.shape and features.shape[0] == labels.shape[0] > 0
        assert list(back["class_names"]) == list(FERPLUS_CLASSES)
        assert np.isfinite(features).all()


# ---- round 4 blind mutants (issue 34)


def test_stored_labels_past_the_class_names_are_refused(tmp_path, capsys):
    """r4-simulate-centres-label-past-names: 4 class names cover labels 0..3; a stored label 4 means the arrays do
    not fit together: one line naming the file, no replay."""
    features, attention, labels = clustered_features(n=400)
    labels = labels.copy()
    labels[0] = 4
    stored = tmp_path / "features.npz"
    np.savez(stored, features=features, attention=attention, labels=labels, class_names=np.array(list("abcd")))
    code = sim.main(["--features", str(stored), "--epochs", "1", "--rule", "centre-loss:0.05:0.9:0.002"])
    captured = capsys.readouterr()
    assert code == 2 and "do not fit together" in captured.err and str(stored) in captured.err, captured.err
    assert "centre-loss" not in captured.out


# ---- round 6 blind mutants (issue 34)


def test_a_batch_size_dividing_the_features_replays_every_batch():
    """r6-simulate-centres-last-full-batch-dropped: 8 features and batch size 8 make one full batch per epoch,
    which must be replayed. By hand, with attention 1, SGD 1.0 without momentum, no push and no weight decay,
    the centre-loss step moves centre k to (c_k + sum of its 4 features) / (1 + 4): class 0's features are
    (1000, 0, ...), class 1's (0, 1000, 0, ...), so from any N(0, 1) start in 16 dimensions (norm ~4) each
    centre ends within a cosine of (4000 - 4) / (4000 + 4) > 0.99 of its class mean. Unreplayed, the centres
    stay at their random start (cosines near 0)."""
    features = np.zeros((8, 16))
    labels = np.array([0, 1] * 4)
    features[labels == 0, 0] = 1000.0
    features[labels == 1, 1] = 1000.0
    attention = np.ones_like(features)
    rule = sim.Rule("centre-loss", 1.0, 0.0, beta=0.0)
    (cos, target_cos, _), = sim.simulate(rule, features, attention, labels, epochs=1, batch_size=8, weight_decay=0.0)
    assert cos.min() > 0.99 and target_cos.min() > 0.99, cos
