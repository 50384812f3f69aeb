"""dsan_tf.analysis and experiments/analyze.py at tiny scale (embedded FERPlus sample, small models)."""

import json

import numpy as np
import pytest
from script_loader import load_script

SIZE = 48


def small_model(num_classes, class_names=None, **kwargs):
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    return build_dsan(num_classes, SIZE, class_names=class_names, dtype="float32", **kwargs)


def test_zero_attention_share_and_lfa_stats_by_hand():
    from dsan_tf.analysis import lfa_weight_stats, zero_attention_share

    attention = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [3.0, 1.0, 1.0, 0.0]])
    labels = np.array([0, 1, 0])
    share = zero_attention_share(attention, labels, 3)
    assert share["per_class"] == [pytest.approx(0.375), pytest.approx(1.0), None]
    assert share["overall"] == pytest.approx((0.5 + 1.0 + 0.25) / 3)
    assert share["counts"] == [2, 1, 0]

    gates = np.array([[0.2, 0.8], [0.4, 0.6], [1.0, 0.0]])
    stats = lfa_weight_stats(gates, labels, 3)
    assert stats["per_class"][0]["mean"] == pytest.approx([0.6, 0.4])
    assert stats["per_class"][0]["std"] == pytest.approx([0.4, 0.4])
    assert stats["per_class"][1]["mean"] == pytest.approx([0.4, 0.6]) and stats["per_class"][2] is None
    assert stats["overall"]["mean"] == pytest.approx([1.6 / 3, 1.4 / 3])


def test_analyze_command_on_the_embedded_sample(tmp_path, capsys):
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR

    model_file = tmp_path / "dsan.keras"
    small_model(len(FERPLUS_CLASSES), list(FERPLUS_CLASSES)).save(model_file)
    out = tmp_path / "analysis"
    analyze = load_script("analyze")
    code = analyze.main(["--weights", str(model_file), "--data-dir", str(SAMPLE_FERPLUS_DIR), "--split", "valid",
                         "--max-images", "64", "--batch-size", "32", "--perplexity", "10", "--output", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    for name in ("tsne_gfe.png", "tsne_mff.png", "zero_attention.png", "lfa_weights.png", "summary.txt",
                 "summary.json"):
        assert (out / name).stat().st_size > 0, name
    for name in ("tsne_gfe.png", "zero_attention.png", "lfa_weights.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 64 and sum(summary["class_counts"]) == 64
    assert summary["class_names"] == list(FERPLUS_CLASSES) and summary["notes"] == []
    assert np.load(out / "tsne_gfe.npy").shape == (64, 2) and np.load(out / "tsne_mff.npy").shape == (64, 2)
    share = summary["zero_attention"]
    assert 0.0 <= share["overall"] <= 1.0 and len(share["per_class"]) == 8
    counts = np.array(share["counts"])
    present = [p for p in share["per_class"] if p is not None]
    assert share["overall"] == pytest.approx(np.dot(counts[counts > 0], present) / counts.sum(), abs=1e-6)
    lfa = summary["lfa_weights"]
    assert len(lfa["overall"]["mean"]) == 4 and all(0.0 < m < 1.0 for m in lfa["overall"]["mean"])
    text = (out / "summary.txt").read_text()
    assert "P(a=0): overall" in text and "LFA b_f" in text and "64 images" in text
    assert text in printed.out


def test_variants_without_a_part_say_so(tmp_path):
    import tensorflow as tf

    from dsan_tf.analysis import analyse

    rng = np.random.default_rng(0)
    images = rng.normal(size=(12, SIZE, SIZE, 3)).astype("float32")
    targets = np.eye(3, dtype="float32")[np.arange(12) % 3]
    dataset = tf.data.Dataset.from_tensor_slices((images, targets)).batch(6)
    names = ["a", "b", "c"]

    gfe_only = analyse(small_model(3, variant="gfe"), dataset, names, tmp_path / "gfe", perplexity=3)
    assert set(gfe_only["figures"]) == {"tsne_gfe", "zero_attention"}
    assert any("no mff_features" in n for n in gfe_only["notes"])
    assert any("no LFA weights" in n for n in gfe_only["notes"])
    assert not (tmp_path / "gfe" / "tsne_mff.png").exists()

    no_sa = analyse(small_model(3, use_sa=False, use_lfa=False), dataset, names, tmp_path / "nosa", perplexity=3)
    assert "zero_attention" not in no_sa and not (tmp_path / "nosa" / "zero_attention.png").exists()
    assert any("P(a=0) is not defined" in n and "use_sa=False" in n for n in no_sa["notes"])
    assert any("use_lfa=False" in n for n in no_sa["notes"])
    assert no_sa["lfa_weights"]["overall"]["mean"] == pytest.approx([1.0] * 4)
    assert "P(a=0) is not defined" in (tmp_path / "nosa" / "summary.txt").read_text()


def test_analyze_refuses_a_model_for_other_classes(tmp_path, capsys):
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    model_file = tmp_path / "three.keras"
    small_model(3, ["a", "b", "c"]).save(model_file)
    analyze = load_script("analyze")
    code = analyze.main(["--weights", str(model_file), "--data-dir", str(SAMPLE_FERPLUS_DIR),
                         "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "3 classes but ferplus has 8" in err and "Traceback" not in err

    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("hello")
    code = analyze.main(["--weights", str(not_a_model), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and str(not_a_model) in err and "not a .keras model file" in err


# ---- round 4 blind mutants (issue 34)


def _subset_reaching_the_pipeline(tmp_path, monkeypatch, flags):
    """The names of the images `dsan analyze --weights ferplus --data-dir SAMPLE FLAGS` hands to make_dataset, with
    the model and the pipeline as stand-ins: the subset is caught there, before any model runs."""
    from types import SimpleNamespace

    import dsan_tf.data.pipeline
    import dsan_tf.inference
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR

    analyze = load_script("analyze")
    stub = SimpleNamespace(settings={"num_classes": len(FERPLUS_CLASSES), "image_size": SIZE},
                           class_names=list(FERPLUS_CLASSES))
    monkeypatch.setattr(dsan_tf.inference, "load_dsan", lambda weights: stub)

    class Reached(Exception):
        pass

    def caught(table, *args, **kwargs):
        raise Reached(list(table["name"]))

    monkeypatch.setattr(dsan_tf.data.pipeline, "make_dataset", caught)
    args = analyze.build_parser().parse_args(["--weights", "ferplus", "--data-dir", str(SAMPLE_FERPLUS_DIR), *flags,
                                              "--output", str(tmp_path / "out")])
    with pytest.raises(Reached) as stop:
        analyze._analyse(args, policy=None)
    return stop.value.args[0]


def test_max_images_subset_is_drawn_with_the_seed(tmp_path, monkeypatch):
    """r4-analyze-subset-ignores-seed: --seed is documented as the seed of the --max-images subset. The same seed
    draws the same 10 images of the 96 valid ones, another seed other images (the model and the pipeline are
    stand-ins: the subset is caught where it reaches make_dataset, before any model runs)."""
    def drawn(seed):
        return _subset_reaching_the_pipeline(tmp_path, monkeypatch, ["--max-images", "10", "--seed", str(seed)])

    first, again, other = drawn(0), drawn(0), drawn(1)
    assert len(first) == 10 and first == again
    assert set(first) != set(other)


def test_only_an_analysis_summary_marks_an_earlier_analysis_folder(tmp_path):
    """r4-analyze-damaged-summary-taken-over: an unmarked folder is taken as an earlier analysis only when its
    summary.json holds the summary's keys; a damaged one, or another JSON of that name, is someone else's."""
    analyze = load_script("analyze")
    folder = tmp_path / "mine"
    folder.mkdir()
    assert analyze.written_by_an_earlier_version(folder) is False  # no summary.json at all
    (folder / "summary.json").write_text("{not json")
    assert analyze.written_by_an_earlier_version(folder) is False
    (folder / "summary.json").write_text(json.dumps({"notes": "my own file"}))
    assert analyze.written_by_an_earlier_version(folder) is False
    (folder / "summary.json").write_text(json.dumps({"variant": "dsan", "figures": [], "class_names": ["a"],
                                                     "images": 5}))
    assert analyze.written_by_an_earlier_version(folder) is True


# ---- round 6 blind mutants (issue 34)


def test_tsne_perplexity_is_capped_below_a_third_of_the_images(monkeypatch):
    """r6-analysis-perplexity-not-capped: scikit-learn's t-SNE needs a perplexity below the number of points;
    the asked one is capped at max(2, (N - 1) / 3): 30 -> 10 for 31 images, 2 for 6, kept at 30 for 200."""
    import sklearn.manifold

    from dsan_tf.analysis import tsne_embedding

    given = []

    class Recorder:
        def __init__(self, **kwargs):
            given.append(kwargs["perplexity"])

        def fit_transform(self, features):
            return np.zeros((len(features), 2))

    monkeypatch.setattr(sklearn.manifold, "TSNE", Recorder)
    for n in (31, 6, 200):
        assert tsne_embedding(np.ones((n, 3)), perplexity=30.0).shape == (n, 2)
    assert given == [10.0, 2.0, 30.0]


def test_class_counts_list_every_class_even_the_last_ones_absent(tmp_path):
    """r6-analysis-class-counts-short: summary.json's class_counts has one entry per class; with 3 images of
    class 0 and 2 of class 1 among classes a, b, c it is [3, 2, 0]. A stand-in for the baseline model, which
    gives probabilities only (no stream features: no figure is drawn and no t-SNE runs)."""
    import tensorflow as tf

    from dsan_tf.analysis import analyse

    class StandIn:
        settings = {"variant": "baseline"}
        output = {"probabilities": None}

        def __call__(self, images, training=False):
            return {"probabilities": tf.one_hot(tf.zeros([tf.shape(images)[0]], tf.int32), 3)}

    targets = np.eye(3, dtype="float32")[[0, 1, 0, 1, 0]]
    dataset = tf.data.Dataset.from_tensor_slices((np.zeros((5, 2, 2, 3), "float32"), targets)).batch(2)
    summary = analyse(StandIn(), dataset, ["a", "b", "c"], tmp_path / "out")
    assert summary["class_counts"] == [3, 2, 0]
    assert summary["accuracy"] == pytest.approx(3 / 5)  # always class 0: right for the three class-0 images
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["class_counts"] == [3, 2, 0]
    assert "images per class: a 3, b 2, c 0\n" in (tmp_path / "out" / "summary.txt").read_text()


def test_five_images_are_enough(tmp_path, monkeypatch):
    """r6-analyze-five-images-refused: t-SNE needs at least 5 images and --max-images takes 5, its documented
    least: a subset of exactly 5 goes on to the pipeline (the model and the pipeline are stand-ins, as above:
    the subset is caught where it reaches make_dataset)."""
    assert len(_subset_reaching_the_pipeline(tmp_path, monkeypatch, ["--max-images", "5"])) == 5


# ---- round 8 blind mutants (issue 34)


def test_analyze_refuses_a_model_whose_classes_are_the_datasets_in_another_order(tmp_path, monkeypatch):
    """r8-analyze-class-order-unchecked: a model of 8 classes whose names are FERPlus' in another order (the
    first two swapped) would colour every figure with the wrong names: refused before the pipeline, naming
    both lists. The same names in other letter case are the same classes and reach the pipeline. The model
    and the pipeline are stand-ins, as in _subset_reaching_the_pipeline."""
    from types import SimpleNamespace

    import dsan_tf.data.pipeline
    import dsan_tf.inference
    from dsan_tf.data import FERPLUS_CLASSES, SAMPLE_FERPLUS_DIR
    from dsan_tf.data.errors import DataError

    analyze = load_script("analyze")

    class Reached(Exception):
        pass

    def caught(table, *args, **kwargs):
        raise Reached

    monkeypatch.setattr(dsan_tf.data.pipeline, "make_dataset", caught)
    args = analyze.build_parser().parse_args(["--weights", "ferplus", "--data-dir", str(SAMPLE_FERPLUS_DIR),
                                              "--output", str(tmp_path / "out")])
    swapped = [FERPLUS_CLASSES[1], FERPLUS_CLASSES[0], *FERPLUS_CLASSES[2:]]
    for names, outcome in ((swapped, DataError), ([n.upper() for n in FERPLUS_CLASSES], Reached)):
        stub = SimpleNamespace(settings={"num_classes": 8, "image_size": SIZE}, class_names=names)
        monkeypatch.setattr(dsan_tf.inference, "load_dsan", lambda weights, stub=stub: stub)
        with pytest.raises(outcome) as stop:
            analyze._analyse(args, policy=None)
        if outcome is DataError:
            assert f"was trained for the classes {', '.join(swapped)}, but ferplus has " \
                   f"{', '.join(FERPLUS_CLASSES)}" in str(stop.value)
