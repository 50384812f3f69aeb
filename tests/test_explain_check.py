"""The sanity benchmark of the explanations (dsan_tf.explain_check, `dsan explain --check`; issue 32).

Fails when every map peaks in a corner, when the randomised-weight maps equal the trained ones,
and (on the shipped model and real FERPlus validation faces, skipped when those are absent) when
the maps stop pointing at the mouth of happy faces.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script

from dsan_tf.data.classes import FERPLUS_CLASSES
from dsan_tf.demo import DEMO_PHOTO
from dsan_tf.explain import ExplainError

ROOT = Path(__file__).resolve().parents[1]
FERPLUS = ROOT.parent / "shared" / "datasets" / "ferplus"
SIZE = 48


@pytest.fixture(scope="module")
def ferplus_model():
    """An untrained FERPlus-shaped DSAN (8 classes, 48 px): what the benchmark's logic needs, fast."""
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(1)
    return build_dsan(8, SIZE, "dsan", class_names=list(FERPLUS_CLASSES), dtype="float32")


# ------------------------------------------------------------------ regions and correlations


def test_regions_corners_and_chance():
    from dsan_tf.explain_check import EYES, MOUTH, in_corner, in_region, region_area

    rows = np.array([0.55, 0.99, 0.54, 0.70, 0.30, 0.10, 0.90, 0.10, 0.50])
    cols = np.array([0.20, 0.80, 0.50, 0.19, 0.50, 0.10, 0.95, 0.50, 0.85])
    assert in_region(rows, cols, MOUTH).tolist() == [True, True, False, False, False, False, False, False, False]
    assert in_region(rows, cols, EYES).tolist() == [False, False, False, False, True, False, False, False, True]
    assert in_corner(rows, cols).tolist() == [False, False, False, False, False, True, True, False, False]
    assert region_area(["mouth"]) == pytest.approx(0.45 * 0.60)
    assert region_area(["mouth", "eyes"]) == pytest.approx(0.27 + 0.30 * 0.80)


def test_spearman_against_the_rank_formula():
    from dsan_tf.explain_check import spearman

    rng = np.random.default_rng(0)
    a = rng.permutation(36).reshape(1, 6, 6).astype(float)  # no ties: 1 - 6 sum(d^2) / (n (n^2 - 1))
    b = rng.permutation(36).reshape(1, 6, 6).astype(float)
    d = (a - b).ravel()
    expected = 1 - 6 * (d ** 2).sum() / (36 * (36 ** 2 - 1))
    flat = np.zeros((1, 6, 6))
    rho = spearman(np.concatenate([a, a, a, a]), np.concatenate([b, a, -a, flat]))
    assert rho[0] == pytest.approx(expected) and rho[1] == pytest.approx(1.0) and rho[2] == pytest.approx(-1.0)
    assert np.isnan(rho[3])  # a flat map has no ranking


# ------------------------------------------------------------------ randomisation


def test_randomised_copies_change_the_weights_they_should_and_the_maps(ferplus_model):
    from dsan_tf.explain import class_maps, default_layer
    from dsan_tf.explain_check import randomised_copy, spearman
    from dsan_tf.inference import model_inputs

    top = randomised_copy(ferplus_model, "top", seed=3)
    every = randomised_copy(ferplus_model, "all", seed=3)
    for layer in ferplus_model.layers:
        if not layer.weights:
            continue
        # Kernels only: an untrained BatchNorm (1, 0, 0, 1) is the same before and after re-initialising.
        kernel = [i for i, w in enumerate(layer.weights) if "kernel" in w.path]
        mine, top_w, every_w = (m.get_layer(layer.name).get_weights() for m in (ferplus_model, top, every))
        below_top = layer.name.startswith(("conv1", "bn1", "layer1", "layer2", "layer3"))
        for i in kernel:  # "top": the last stage and the heads re-initialised, nothing below; "all": everything
            assert np.array_equal(mine[i], top_w[i]) == below_top, layer.name
            assert not np.array_equal(mine[i], every_w[i]), layer.name

    rng = np.random.default_rng(2)
    _, x = model_inputs([rng.integers(0, 256, (50 + i, 44, 3), dtype=np.uint8) for i in range(6)], SIZE)
    targets = np.array([0, 1, 2, 1, 5, 7])
    layer = default_layer(ferplus_model)
    trained = class_maps(ferplus_model, x, targets, layer=layer)
    again = class_maps(ferplus_model, x, targets, layer=layer)
    assert np.nanmean(spearman(trained, again)) == pytest.approx(1.0)  # the measure sees equal maps as equal
    for copy in (top, every):
        rho = spearman(trained, class_maps(copy, x, targets, layer=layer))
        assert np.nanmean(rho) < 0.9, rho


def test_the_benchmark_sees_maps_that_peak_in_a_corner_for_every_face(ferplus_model, monkeypatch):
    """Feed run_check maps hot in a corner (then on the mouth) for every face: the rates must say so."""
    import dsan_tf.explain_check as check

    rng = np.random.default_rng(6)
    faces = [rng.integers(0, 256, (48, 48, 3), dtype=np.uint8) for _ in range(10)]
    predicted = ferplus_model.predict_on_batch(check_inputs(faces))["probabilities"].argmax(axis=1)
    # The untrained model predicts what it likes: the class it predicts most plays "happiness" here.
    common = int(np.bincount(predicted).argmax())
    monkeypatch.setitem(check.EXPECTED_PARTS, FERPLUS_CLASSES[common], ("mouth",))
    labels = predicted.copy()
    first = int(np.flatnonzero(predicted == common)[0])
    labels[first] = (common + 1) % 8  # labelled otherwise than predicted: not counted
    hot_corner = np.zeros((6, 6))
    hot_corner[5, 0] = 1.0
    hot_mouth = np.zeros((6, 6))
    hot_mouth[4, 3] = 1.0

    def fake(model, inputs, targets, *args):
        return np.repeat(pattern[None], len(inputs), axis=0)

    monkeypatch.setattr(check, "_maps", fake)
    monkeypatch.setattr(check, "randomised_copy", lambda model, scope, seed: model)  # equal maps: rho = 1
    pattern = hot_corner
    result = check.run_check(ferplus_model, faces, labels, FERPLUS_CLASSES)
    assert result["corner"]["rate"] == 1.0 and result["corner"]["faces"] == 10
    pointing = result["pointing"][FERPLUS_CLASSES[common]]
    assert pointing["faces"] == int((predicted == common).sum()) - 1 and pointing["chance"] == pytest.approx(0.27)
    assert pointing["faces"] == 0 or pointing["rate"] == 0.0
    assert result["randomisation"]["all"]["mean_spearman"] == pytest.approx(1.0)
    targets = check.check_targets(result)
    assert not targets["peaks in a corner <= 10 %"][0]
    assert not targets["mean Spearman, all weights randomised <= 0.3"][0]
    pattern = hot_mouth
    result = check.run_check(ferplus_model, faces, labels, FERPLUS_CLASSES)
    assert result["corner"]["rate"] == 0.0
    assert result["pointing"][FERPLUS_CLASSES[common]]["rate"] in (None, 1.0)
    json.dumps(result, allow_nan=False)  # no NaN leaves as an answer


def check_inputs(faces):
    from dsan_tf.inference import as_grey_rgb, model_inputs

    return model_inputs([as_grey_rgb(f) for f in faces], SIZE)[1]


# ------------------------------------------------------------------ the command


def test_check_command_on_the_embedded_sample(ferplus_model, tmp_path, capsys):
    model_file = tmp_path / "m.keras"
    ferplus_model.save(model_file)
    out = tmp_path / "out"
    explain_cli = load_script("explain")
    code = explain_cli.main(["--check", "--weights", str(model_file), "--per-class", "2", "--output", str(out),
                             "--no-progress"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "embedded in dsan_tf" in printed.err
    result = json.loads((out / "check.json").read_text())
    assert result["layer"] == "layer2_1_out" and result["map_size"] == [6, 6] and result["default_layer"]
    assert result["split"] == "valid" and 0 < result["faces"] <= 16
    assert set(result["randomisation"]) == {"top", "all"} and set(result["pointing"]) == {"happiness", "surprise"}
    assert "peak in a corner" in printed.out and "targets:" in printed.out

    with pytest.raises(SystemExit):
        explain_cli.parse_args(["--check", "--per-class", "0"])
    assert "--per-class: expected an integer in [1, 100000], got '0'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        explain_cli.parse_args(["--check", str(DEMO_PHOTO)])
    assert "--check reads labelled faces from --data-dir" in capsys.readouterr().err


def test_check_refuses_a_model_of_other_classes(tmp_path, capsys):
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    model_file = tmp_path / "three.keras"
    build_dsan(3, SIZE, "dsan", class_names=["anger", "joy", "calm"], dtype="float32").save(model_file)
    code = load_script("explain").main(["--check", "--weights", str(model_file), "--per-class", "1",
                                        "--output", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and len([line for line in err.splitlines() if "error" in line]) == 1
    assert "are not the model's (anger, joy, calm)" in err and not (tmp_path / "out" / "check.json").exists()


def test_run_check_refuses_unknown_randomisation(ferplus_model):
    from dsan_tf.explain_check import randomised_copy

    with pytest.raises(ExplainError, match="unknown randomisation 'half'"):
        randomised_copy(ferplus_model, "half")


# ------------------------------------------------------------------ the shipped model on real faces


@pytest.mark.skipif(not (FERPLUS / "FER2013Valid" / "label.csv").is_file(),
                    reason=f"FERPlus validation faces not found at {FERPLUS}")
def test_the_shipped_model_points_at_the_mouth_of_happy_faces_not_at_corners():
    """16 happy and 8 other FERPlus validation faces through the shipped model with the default map: most happy
    faces called happy peak on the mouth (the full benchmark: 88 % with the 96 px model), few peaks lie in a
    corner (2 %), and randomising every weight changes the maps. The old default (the 2x2 map of the 48 px
    model, edge-aligned) gave 0 % and 100 %."""
    from dsan_tf import pretrained
    from dsan_tf.data.ferplus import read_ferplus_folders
    from dsan_tf.explain_check import load_faces, run_check

    model = pretrained.load("ferplus")
    data = read_ferplus_folders(FERPLUS)
    faces, labels, _ = load_faces(data, "valid", per_class=16, seed=1)
    keep = np.flatnonzero(labels == 1).tolist() + np.flatnonzero(labels != 1)[::12].tolist()
    result = run_check(model, [faces[i] for i in keep], labels[keep], data.class_names)
    assert result["layer"] == "layer3_1_out"  # the deepest map of at least 6x6 at the shipped model's 96 px
    happy = result["pointing"]["happiness"]
    assert happy["faces"] >= 10 and happy["rate"] >= 0.5, result
    assert result["corner"]["rate"] <= 0.25, result
    assert result["randomisation"]["all"]["mean_spearman"] <= 0.5, result


# ------------------------------------------------------------------ round 4 blind mutants (issue 34)


def test_pointing_counts_only_faces_labelled_and_called_the_class(ferplus_model, monkeypatch):
    """10 faces, predictions and labels set by hand (happiness is class 1): faces 0-3 called happy, 0, 1, 4
    and 5 labelled happy. Maps are hot on the mouth for a face mapped for happiness, in a corner otherwise.
    Pointing for happiness counts faces 0 and 1 only (labelled AND called happy): 2 faces, both on the
    mouth; faces 4 and 5 (happy, called neutral: their maps are neutral's) stay out. Surprise has none."""
    import dsan_tf.explain_check as check

    predicted = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    labels = np.array([1, 1, 0, 0, 1, 1, 0, 0, 0, 0])
    hot_mouth, hot_corner = np.zeros((6, 6)), np.zeros((6, 6))
    hot_mouth[4, 3] = 1.0
    hot_corner[0, 0] = 1.0

    def fake_maps(model, inputs, targets, *args):
        return np.stack([hot_mouth if t == 1 else hot_corner for t in targets])

    monkeypatch.setattr(check, "_maps", fake_maps)
    monkeypatch.setattr(check, "randomised_copy", lambda model, scope, seed: model)
    monkeypatch.setattr(ferplus_model, "predict_on_batch",
                        lambda inputs: {"probabilities": np.eye(8, dtype=np.float32)[predicted[:len(inputs)]]})
    faces = [np.full((48, 48, 3), 100 + i, np.uint8) for i in range(10)]
    result = check.run_check(ferplus_model, faces, labels, FERPLUS_CLASSES)
    assert result["pointing"]["happiness"] == {"region": "mouth", "faces": 2, "rate": 1.0, "chance": 0.27}
    assert result["pointing"]["surprise"] == {"region": "mouth or eyes", "faces": 0, "rate": None, "chance": 0.51}
    assert result["accuracy"] == 0.6  # faces 0, 1, 6-9 called as labelled
    assert result["corner"] == {"rate": 0.6, "faces": 10, "chance": 0.16}  # the 6 faces mapped for neutral


# ---- round 6 blind mutants (issue 34)


def test_the_spearman_target_is_judged_on_all_weights_randomised():
    """r6-explain_check-target-from-top-randomisation: issue 32's target is 'mean Spearman, all weights
    randomised <= 0.3'. A result with the top stage's randomisation barely changing the maps (0.9) and all
    weights' changing them (0.1) meets it (0.10 printed); swapped, it does not (0.90)."""
    from dsan_tf.explain_check import check_targets

    def result(top, every):
        entry = {"faces": 4, "flat_maps": 0, "median_spearman": None}
        return {"pointing": {}, "corner": {"rate": 0.0, "faces": 4, "chance": 0.16},
                "randomisation": {"top": {**entry, "mean_spearman": top}, "all": {**entry, "mean_spearman": every}}}

    target = "mean Spearman, all weights randomised <= 0.3"
    assert check_targets(result(top=0.9, every=0.1))[target] == (True, "0.10")
    assert check_targets(result(top=0.1, every=0.9))[target] == (False, "0.90")
