"""The figures the project's speed and balance claims rest on, checked against hand computations (issue 34):
`dsan bench`'s rates and ratios (median, best, per round, CPU), the real-time report's per-stage and
per-face times and the stage that bounds it, class-balanced weights with a class absent, class priors.

The timed steps are scripted (every step a different duration), so min, max and median differ and a
median taken as a mean, a best taken as the slowest, or a ratio inverted changes the answer. The
expected values are NumPy (or scikit-learn) computations written here, never the code under test.
"""

import argparse
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hypothesis_settings import fast

from dsan_tf import cli
from dsan_tf import benchmark as bench  # the library owns the benchmark logic (dsan bench is its flags)

# TensorFlow raises the recursion limit when first imported inside a Hypothesis test: harmless.
pytestmark = pytest.mark.filterwarnings("ignore:The recursion limit will not be reset")

FAST = fast(25)


# ---------------------------------------------------------------------- dsan bench: scripted step times


def _bench_with_stand_ins(monkeypatch, timed):
    """bench_precision with a stand-in model and runner, the given step clock and no log lines."""
    monkeypatch.setattr(bench, "build", lambda variant, precision, args, adam=None: variant)
    monkeypatch.setattr(bench, "Runner", FakeRunner)
    monkeypatch.setattr(bench, "timed", timed)
    monkeypatch.setattr(bench, "log", lambda message: None)


class FakeRunner:
    """Stands in for bench.Runner: ``train`` and ``infer`` do nothing; ``label`` says whose steps they are."""

    def __init__(self, label, *args):
        self.label = label

    def train(self):
        pass

    def infer(self):
        pass


class ScriptedTimes:
    """bench.timed replaced: each call returns the next scripted round of (wall, cpu) step times of that
    runner and kind, and records the order of the calls (the rounds must alternate)."""

    def __init__(self, script):
        self.script = {key: list(rounds) for key, rounds in script.items()}
        self.calls = []

    def __call__(self, fn, steps):
        key = (fn.__self__.label, fn.__name__)
        self.calls.append(key)
        step_times = self.script[key].pop(0)
        assert len(step_times) == steps
        return list(step_times)


def script_bench(monkeypatch, script, tf_runner=None):
    """bench against PyTorch on scripted step times: no model, no PyTorch; returns the ScriptedTimes."""
    timed = ScriptedTimes(script)
    monkeypatch.setattr(bench, "fixed_batch", lambda image_size, args: (None, None))
    monkeypatch.setattr(bench, "tf_runner", tf_runner or (lambda precision, size, args, x, y, adam=None,
                        keras_batchnorm=False: FakeRunner("tf-keras-bn" if keras_batchnorm else
                                                          "tf-keras-adam" if adam else "tf")))
    monkeypatch.setattr(bench, "TorchRunner", lambda *args: FakeRunner("torch"))
    monkeypatch.setattr(bench, "timed", timed)
    monkeypatch.setattr(bench, "log", lambda message: None)
    return timed


def step_rounds(rounds, steps):
    """rounds x steps (wall, cpu) pairs: distinct positive durations."""
    pair = st.tuples(st.floats(0.01, 10.0), st.floats(0.01, 10.0))
    return st.lists(st.lists(pair, min_size=steps, max_size=steps), min_size=rounds, max_size=rounds)


def expected_entry(batch, rounds):
    wall = np.array([[w for w, _ in rnd] for rnd in rounds])
    cpu = np.array([[c for _, c in rnd] for rnd in rounds])
    return {"per_s": batch / np.median(wall), "best": batch / wall.min(),
            "rounds": batch / np.median(wall, axis=1), "cpu": np.median(cpu)}


@FAST
@given(st.data(), st.integers(2, 3), st.integers(2, 4), st.integers(1, 64))
def test_bench_rates_and_ratios_are_the_hand_computed_ones(monkeypatch_module, data, rounds, steps, batch):
    script = {(variant, kind): data.draw(step_rounds(rounds, steps))
              for variant in bench.MODELS for kind in ("train", "infer")}
    timed = ScriptedTimes(script)
    monkeypatch_module.setattr(bench, "build", lambda variant, precision, args, adam=None: variant)
    monkeypatch_module.setattr(bench, "Runner", FakeRunner)
    monkeypatch_module.setattr(bench, "timed", timed)
    monkeypatch_module.setattr(bench, "log", lambda message: None)
    args = argparse.Namespace(seed=0, batch_size=batch, image_size=8, num_classes=3, no_inference=False, warmup=0,
                              steps=steps, rounds=rounds, round_seconds=1.0)
    result = bench.bench_precision("float32", args)

    # alternating rounds: dsan, baseline, dsan, baseline, ... for each kind
    assert timed.calls == [(v, kind) for kind in ("train", "infer") for _ in range(rounds) for v in bench.MODELS]
    for kind in ("train", "infer"):
        want = {v: expected_entry(batch, script[(v, kind)]) for v in bench.MODELS}
        for variant in bench.MODELS:
            got = result[variant]
            assert got[f"{kind}_images_per_s"] == pytest.approx(want[variant]["per_s"])
            assert got[f"{kind}_images_per_s_best"] == pytest.approx(want[variant]["best"])
            np.testing.assert_allclose(got[f"{kind}_images_per_s_rounds"], want[variant]["rounds"], rtol=1e-9)
            assert got[f"{kind}_step_cpu_seconds_median"] == pytest.approx(want[variant]["cpu"])
        d, b = want["dsan"], want["baseline"]
        assert result[f"{kind}_ratio_dsan_over_baseline"] == pytest.approx(d["per_s"] / b["per_s"])
        assert result[f"{kind}_ratio_best_dsan_over_baseline"] == pytest.approx(d["best"] / b["best"])
        assert result[f"{kind}_ratio_cpu_dsan_over_baseline"] == pytest.approx(b["cpu"] / d["cpu"])
        np.testing.assert_allclose(result[f"{kind}_ratio_rounds"], d["rounds"] / b["rounds"], rtol=1e-9)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_bench_against_torch_ratios_are_the_hand_computed_ones(monkeypatch):
    """tf, tf with Keras' BatchNorm and torch: every pair's ratios from three rounds of three steps each."""
    rng = np.random.default_rng(7)
    labels = ("tf", "tf-keras-bn", "torch")
    script = {(label, "train"): [[(float(w), float(c)) for w, c in rng.uniform(0.05, 3.0, (3, 2))] for _ in range(3)]
              for label in labels}
    timed = script_bench(monkeypatch, script)
    args = argparse.Namespace(seed=0, batch_size=16, num_classes=3, warmup=0, steps=3, rounds=3, round_seconds=1.0,
                              with_keras_batchnorm=True, with_keras_adam=False)
    result = bench.bench_against_torch("float32", 32, args, module=None)
    assert timed.calls == [(label, "train") for _ in range(3) for label in labels]
    want = {label: expected_entry(16, script[(label, "train")]) for label in labels}
    for label in labels:
        assert result[label]["images_per_s"] == pytest.approx(want[label]["per_s"])
        assert result[label]["images_per_s_best"] == pytest.approx(want[label]["best"])
    for a, b in (("tf", "torch"), ("tf-keras-bn", "torch"), ("tf", "tf-keras-bn")):
        key = f"{a}_over_{b}".replace("-", "_")
        assert result[f"ratio_{key}"] == pytest.approx(want[a]["per_s"] / want[b]["per_s"])
        assert result[f"ratio_best_{key}"] == pytest.approx(want[a]["best"] / want[b]["best"])
        assert result[f"ratio_cpu_{key}"] == pytest.approx(want[b]["cpu"] / want[a]["cpu"])
        np.testing.assert_allclose(result[f"ratio_rounds_{key}"], want[a]["rounds"] / want[b]["rounds"], rtol=1e-9)
    np.testing.assert_allclose(result["ratio_rounds"], want["tf"]["rounds"] / want["torch"]["rounds"], rtol=1e-9)


def test_the_bench_headline_is_the_mixed_bfloat16_training_ratio():
    args = argparse.Namespace(image_size=112, batch_size=64, warmup=1, rounds=3, precisions=["float32", "mixed_bfloat16"])
    results = {"float32": {"train_ratio_dsan_over_baseline": 0.91, "infer_ratio_dsan_over_baseline": 0.97},
               "mixed_bfloat16": {"train_ratio_dsan_over_baseline": 0.98, "train_ratio_cpu_dsan_over_baseline": 1.02}}
    summary = bench.summarise(results, args)
    assert summary["headline_precision"] == "mixed_bfloat16"
    assert summary["train_ratio_dsan_over_baseline"] == 0.98
    assert summary["train_ratio_dsan_over_baseline_float32"] == 0.91
    assert summary["infer_ratio_dsan_over_baseline_float32"] == 0.97
    assert summary["train_ratio_cpu_dsan_over_baseline_mixed_bfloat16"] == 1.02
    only_float32 = bench.summarise({"float32": results["float32"]}, argparse.Namespace(**{**vars(args), "precisions": ["float32"]}))
    assert only_float32["headline_precision"] == "float32" and only_float32["train_ratio_dsan_over_baseline"] == 0.91


# ---------------------------------------------------------------------- the real-time report


@FAST
@given(st.integers(0, 500), st.integers(0, 2000), st.floats(0, 50), st.floats(0, 50), st.floats(0, 50),
       st.floats(0.01, 500))
def test_the_stream_summary_is_the_hand_computed_one(frames, faces, read_s, detect_s, classify_s, wall_s):
    from dsan_tf.realtime import StreamReport

    report = StreamReport("clip", frames=frames, faces=faces, read_s=read_s, detect_s=detect_s,
                          classify_s=classify_s, wall_s=wall_s, no_face_frames=min(frames, 3))
    s = report.summary()
    n = max(frames, 1)
    assert s["frames_per_s"] == (round(frames / wall_s, 3) if frames else 0.0)
    assert s["faces_per_s"] == (round(faces / wall_s, 3) if frames else 0.0)
    assert s["read_ms_per_frame"] == round(1000 * read_s / n, 2)
    assert s["detection_ms_per_frame"] == round(1000 * detect_s / n, 2)
    assert s["classification_ms_per_frame"] == round(1000 * classify_s / n, 2)
    assert s["classification_ms_per_face"] == round(1000 * classify_s / max(faces, 1), 2)
    assert s["bound"] == ("" if not frames else "detector" if detect_s >= classify_s else "classifier")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class ScriptedCapture:
    """A 40 x 70 (h x w) BGR video of len(read_s) frames; each read takes its scripted time."""

    def __init__(self, clock, read_s):
        self.clock, self.read_s, self.index = clock, list(read_s), 0

    def isOpened(self):
        return True

    def get(self, prop):
        import cv2

        return {cv2.CAP_PROP_FPS: 25.0, cv2.CAP_PROP_FRAME_COUNT: len(self.read_s)}.get(prop, 0.0)

    def read(self):
        if self.index >= len(self.read_s):
            return False, None
        self.clock.now += self.read_s[self.index]
        self.index += 1
        return True, np.full((40, 70, 3), self.index, np.uint8)

    def release(self):
        pass


class ScriptedRecognizer:
    """Frame i has faces[i] faces; detecting it takes detect_s[i], classifying its faces classify_s[i]."""

    def __init__(self, clock, faces, detect_s, classify_s):
        self.clock, self.faces, self.detect_s, self.classify_s, self.frame = clock, faces, detect_s, classify_s, -1

    def detect(self, image):
        self.frame += 1
        assert image.shape == (40, 70, 3)  # the frame as read: height 40, width 70
        self.clock.now += self.detect_s[self.frame]
        return [argparse.Namespace(image=image) for _ in range(self.faces[self.frame])]

    def classify(self, crops):
        self.clock.now += self.classify_s[self.frame]
        return np.full((len(crops), 2), 0.5)

    def rows(self, found, probabilities, shape):
        return [{"box": [0, 0, 1, 1], "label": "a", "probabilities": {"a": 0.5, "b": 0.5},
                 "detection_confidence": 1.0} for _ in found]


@pytest.mark.parametrize("faces, detect_s, classify_s", [
    ([1, 3, 0, 2], [0.030, 0.050, 0.020, 0.041], [0.010, 0.070, 0.0, 0.033]),   # detector-bound
    ([2, 0, 4], [0.011, 0.019, 0.007], [0.090, 0.0, 0.120]),                     # classifier-bound
])
def test_stream_times_each_stage_of_each_frame(monkeypatch, faces, detect_s, classify_s):
    """Frames with different face counts and stage times: the report's sums, per-frame and per-face times,
    rates and bound against sums written out here."""
    import time

    from dsan_tf import realtime

    clock = Clock()
    monkeypatch.setattr(time, "perf_counter", clock)
    read_s = [0.004 * (i + 1) for i in range(len(faces))]
    report = realtime.StreamReport("clip")
    results = list(realtime.stream(ScriptedCapture(clock, read_s), ScriptedRecognizer(clock, faces, detect_s,
                                                                                         classify_s), report=report))
    assert [len(r.faces) for r in results] == faces
    assert [r.detect_s for r in results] == pytest.approx(detect_s)
    assert [r.classify_s for r in results] == pytest.approx(classify_s)
    assert report.frames == len(faces) and report.faces == sum(faces)
    assert report.no_face_frames == faces.count(0)
    assert report.detect_s == pytest.approx(sum(detect_s)) and report.classify_s == pytest.approx(sum(classify_s))
    assert report.read_s == pytest.approx(sum(read_s))
    wall = sum(read_s) + sum(detect_s) + sum(classify_s)
    assert report.wall_s == pytest.approx(wall)
    s = report.summary()
    assert s["frames_per_s"] == pytest.approx(len(faces) / wall, abs=1e-3)
    assert s["faces_per_s"] == pytest.approx(sum(faces) / wall, abs=1e-3)
    assert s["detection_ms_per_frame"] == pytest.approx(1000 * sum(detect_s) / len(faces), abs=0.01)
    assert s["classification_ms_per_face"] == pytest.approx(1000 * sum(classify_s) / sum(faces), abs=0.01)
    assert s["bound"] == ("detector" if sum(detect_s) >= sum(classify_s) else "classifier")
    assert str(s["bound"]) in report.line()


# ---------------------------------------------------------------------- class weights and priors


@FAST
@given(st.integers(2, 8).flatmap(lambda k: st.tuples(st.just(k), st.lists(st.integers(0, k - 1), min_size=1,
                                                                                max_size=60))))
def test_class_balanced_weights_are_scikit_learns_with_absent_classes_at_zero(case):
    from sklearn.utils.class_weight import compute_class_weight

    from dsan_tf.data.pipeline import class_balanced_weights

    k, labels = case
    labels = np.array(labels)
    present = np.unique(labels)
    want = np.zeros(k)
    want[present] = compute_class_weight("balanced", classes=present, y=labels)
    got = class_balanced_weights(labels, k)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.shape == (k,) and (got[np.setdiff1d(np.arange(k), present)] == 0).all()
    # the weighted count of every present class is the same: n / k_present
    np.testing.assert_allclose(got[labels].sum(), len(labels), rtol=1e-5)


def test_class_weights_with_an_absent_class_written_out():
    from dsan_tf.data.pipeline import class_balanced_weights

    # 6 examples, classes 0 (x3), 1 (x1), 3 (x2), class 2 absent: n / (3 * count)
    np.testing.assert_allclose(class_balanced_weights([0, 3, 0, 1, 3, 0], 4), [6 / 9, 6 / 3, 0.0, 6 / 6], rtol=1e-6)


@FAST
@given(st.lists(st.integers(1, 500), min_size=2, max_size=8), st.floats(0, 3))
def test_class_priors_and_their_correction_by_hand(counts, tau):
    from dsan_tf.calibration import adjust, class_priors, prior_scale

    labels = np.repeat(np.arange(len(counts)), counts)
    priors = class_priors(np.random.default_rng(0).permutation(labels), len(counts))
    want = np.array(counts, float) / sum(counts)
    np.testing.assert_allclose(priors, want, rtol=1e-12)
    np.testing.assert_allclose(class_priors(np.eye(len(counts))[labels], len(counts)), want, rtol=1e-12)
    scale = np.asarray(prior_scale(priors, tau))
    raw = want ** -tau
    np.testing.assert_allclose(scale, raw / raw.max(), rtol=1e-9)
    p = np.random.default_rng(1).dirichlet(np.ones(len(counts)), size=3)
    np.testing.assert_allclose(adjust(p, scale), p * raw / (p * raw).sum(axis=1, keepdims=True), rtol=1e-9)


def test_a_prior_needs_every_class():
    from dsan_tf.calibration import class_priors

    with pytest.raises(ValueError, match="every one of the 3 classes"):
        class_priors([0, 0, 2], 3)


@pytest.mark.parametrize("frames", [3, 0])
def test_bench_realtime_prints_the_reports_figures_and_fails_without_frames(tmp_path, monkeypatch, capsys, frames):
    """`dsan bench-realtime` prints what realtime.benchmark_live measured (a stand-in here, with figures that
    all differ) for each scene, and exits 1 when a scene processed no frame."""
    import json
    import types

    from PIL import Image

    from dsan_tf import api, realtime

    photo = tmp_path / "face.png"
    Image.new("RGB", (90, 60)).save(photo)

    class Recognizer:
        image_size = 48

        def __init__(self, weights):
            self.predictor = types.SimpleNamespace(source="tiny")

        def detect(self, image):
            return ["a face"]

    def scene(name, n, fps):
        return {"scene": name, "frames": n, "faces": 2 * n, "frames_per_s": fps, "detection_ms_per_frame": 81.3,
                "searches": 4, "full_detection_ms_per_frame": 190.55, "classification_ms_per_frame": 52.7,
                "read_ms_per_frame": 3.1, "latency_ms_median": 61.04, "agreement": 0.9875 if n else None,
                "reference_faces": 2 * n, "unmatched": 1, "longest_loss_frames": [0, 2] if n else [],
                "notes": [] if n else ["clip: truncated"]}

    reports = [scene("one face", 3, 7.25), scene("three faces", frames, 12.5)]
    monkeypatch.setattr(api, "FaceExpressionRecognizer", Recognizer)
    monkeypatch.setattr(realtime, "benchmark_live", lambda *a, **k: [dict(r) for r in reports])
    monkeypatch.setattr(realtime, "_cpu_name", lambda: "Some CPU")
    argv = ["bench-realtime", "--photo", str(photo), "--frames", "5", "--size", "160x120", "--classifier", "keras"]
    status = cli.main(argv)
    out, err = capsys.readouterr()
    assert status == (0 if frames else 1)
    lines = out.splitlines()
    assert lines[0] == "model tiny (48 px faces, keras classifier), Some CPU, 160x120, MTCNN search every 10 frames"
    assert lines[1] == ("one face: 3 frames, 6 faces: 7.25 frames/s; per frame: detection 81.3 ms (4 searches; full "
                        "per-frame detection 190.6 ms), classification 52.7 ms, decoding 3.1 ms; median latency 61.0 ms")
    assert lines[2] == ("  labels equal to full per-frame detection on 98.8% of 6 face-frames (1 unmatched); "
                        "longest run of frames a face in view was not found: 2")
    assert lines[4].endswith(f"of {2 * frames} face-frames (1 unmatched); longest run of frames a face in view "
                             f"was not found: {2 if frames else 0}")
    assert ("n/a" in lines[4]) == (not frames)
    assert ("truncated" in err) == (not frames)
    assert cli.main([*argv, "--json"]) == (0 if frames else 1)
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["frames_per_s"] for p in printed] == [7.25, 12.5]
    assert all(p["cpu"] == "Some CPU" and p["classifier"] == "keras" and p["frame_size"] == [160, 120]
               for p in printed)


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def test_without_steps_a_round_is_sized_from_the_slower_models_probe(monkeypatch):
    """bench-auto-steps-from-the-fastest-probe: probes of 2.0 s (dsan) and 0.5 s (baseline) training steps and
    --round-seconds 6 give round(6 / 2.0) = 3 steps, so dsan's round lasts ~6 s (not 10 steps = 20 s); the
    inference probes 0.2 / 0.1 s give round(6 / 0.2) = 30, capped at 10."""
    import argparse

    from dsan_tf import benchmark as bench

    probe = {("dsan", "train"): 2.0, ("baseline", "train"): 0.5, ("dsan", "infer"): 0.2, ("baseline", "infer"): 0.1}
    seen = set()

    def timed(fn, steps):
        key = (fn.__self__.label, fn.__name__)
        if key not in seen:  # the probe step after the warm-up
            seen.add(key)
            assert steps == 1
            return [(probe[key], probe[key])]
        return [(0.1 * (i + 1), 0.1) for i in range(steps)]

    _bench_with_stand_ins(monkeypatch, timed)
    args = argparse.Namespace(seed=0, batch_size=4, image_size=8, num_classes=3, no_inference=False, warmup=0,
                              steps=None, rounds=1, round_seconds=6.0)
    assert bench.bench_precision("float32", args)["steps"] == {"train": 3, "infer": 10}


def test_the_headline_without_mixed_bfloat16_is_the_first_precision_asked():
    """bench-headline-falls-back-to-the-last-precision: --precisions float32,mixed_float16 -> float32's ratio."""
    import argparse

    from dsan_tf import benchmark as bench

    args = argparse.Namespace(image_size=112, batch_size=64, warmup=1, rounds=3,
                              precisions=["float32", "mixed_float16"])
    results = {"float32": {"train_ratio_dsan_over_baseline": 0.91},
               "mixed_float16": {"train_ratio_dsan_over_baseline": 1.07}}
    summary = bench.summarise(results, args)
    assert summary["headline_precision"] == "float32" and summary["train_ratio_dsan_over_baseline"] == 0.91


# round 2 blind mutants (issue 34)

def test_against_torch_without_steps_a_round_is_sized_from_the_slower_frameworks_probe(monkeypatch):
    """Probes of 0.4 s (tf) and 1.5 s (torch) and --round-seconds 6: round(6 / 1.5) = 4 steps per framework
    (the faster probe would give round(6 / 0.4) = 15, capped at 10: torch's round would last 15 s)."""
    probe = {"tf": 0.4, "torch": 1.5}
    seen, steps_asked = set(), []

    def timed(fn, steps):
        label = fn.__self__.label
        if label not in seen:  # the probe step after the warm-up
            seen.add(label)
            assert steps == 1
            return [(probe[label], probe[label])]
        steps_asked.append(steps)
        return [(0.1 * (i + 1), 0.1) for i in range(steps)]

    monkeypatch.setattr(bench, "fixed_batch", lambda image_size, args: (None, None))
    monkeypatch.setattr(bench, "tf_runner", lambda *args, **kwargs: FakeRunner("tf"))
    monkeypatch.setattr(bench, "TorchRunner", lambda *args: FakeRunner("torch"))
    monkeypatch.setattr(bench, "timed", timed)
    monkeypatch.setattr(bench, "log", lambda message: None)
    args = argparse.Namespace(seed=0, batch_size=4, num_classes=3, warmup=0, steps=None, rounds=2, round_seconds=6.0,
                              with_keras_batchnorm=False, with_keras_adam=False)
    assert bench.bench_against_torch("float32", 32, args, module=None)["steps"] == 4
    assert steps_asked == [4, 4, 4, 4]


def test_the_profile_summary_is_per_step_by_hand():
    from collections import Counter

    from dsan_tf.benchmark import part_summary

    times = Counter({("conv_forward", "Conv2D"): 12.0, ("conv_backward", "Conv2DBackpropFilter"): 6.0,
                     ("other", "Relu"): 3.0, ("other", "AddV2"): 9.0})
    out = part_summary(times, steps=3, top=1)
    assert out["op_ms_per_step"] == pytest.approx(10.0)  # (12 + 6 + 3 + 9) / 3
    assert out["parts"]["conv_forward"] == {"ms_per_step": pytest.approx(4.0), "share": pytest.approx(0.4)}
    assert out["parts"]["other"]["ms_per_step"] == pytest.approx(4.0)
    assert out["parts"]["batchnorm"] == {"ms_per_step": 0.0, "share": 0.0}
    assert out["other_top"] == [["AddV2", pytest.approx(3.0)]]


# ---------------------------------------------------------------------- lines its own tests never ran (issue 34)
REAL_RUNNER = bench.Runner  # taken at import: monkeypatch_module replaces bench.Runner for the module's rest


def test_bench_settings_default_to_their_own_image_size_and_the_runner_s_calls():
    assert bench.BenchSettings(image_size=48).image_sizes == (48,)
    assert bench.BenchSettings(image_size=48, image_sizes=(32, 64)).image_sizes == (32, 64)
    calls = []

    class Model:
        def make_train_function(self):
            self.train_function = lambda batches: calls.append(("train", batches)) or {"loss": 0.5}

        def predict_on_batch(self, x):
            calls.append(("predict", x))

    runner = REAL_RUNNER(Model(), "x", "y")
    runner.train()
    runner.infer()
    assert calls == [("train", [("x", "y")]), ("predict", "x")]


def test_run_throughput_benches_each_precision_in_order_and_records_the_load(monkeypatch):
    """Two precisions asked: each benched once, in the order asked; the load average before and after,
    rounded to 2 places; a ValueError of the model's settings becomes one-line SetupError."""
    asked = []
    ratios = {"float32": 0.9, "mixed_bfloat16": 1.1}
    monkeypatch.setattr(bench, "bench_precision", lambda precision, settings: asked.append(precision) or
                        {"train_ratio_dsan_over_baseline": ratios[precision]})
    loads = iter([(1.234, 0.0, 0.0), (5.678, 0.0, 0.0)])
    monkeypatch.setattr(bench.os, "getloadavg", lambda: next(loads))
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 6)
    settings = bench.BenchSettings(image_size=32, precisions=("float32", "mixed_bfloat16"))
    summary = bench.run_throughput(settings)
    assert asked == ["float32", "mixed_bfloat16"]
    assert summary["load_average_1min"] == [1.23, 5.68] and summary["cpu_count"] == 6
    assert summary["train_ratio_dsan_over_baseline"] == 1.1 and summary["train_ratio_dsan_over_baseline_float32"] == 0.9

    def refuse(precision, settings):
        raise ValueError("image_size 30 is not a multiple of 32")

    monkeypatch.setattr(bench, "bench_precision", refuse)
    loads = iter([(1.0, 0.0, 0.0)])
    with pytest.raises(bench.SetupError, match="image_size 30 is not a multiple of 32"):
        bench.run_throughput(settings)


def test_the_torch_reference_is_refused_missing_without_torch_or_without_a_dsan_class(tmp_path, monkeypatch):
    import sys
    import types

    with pytest.raises(bench.SetupError, match=r"PyTorch reference not found at .*nope\.py"):
        bench.load_torch_reference(tmp_path / "nope.py")
    other = tmp_path / "other.py"
    other.write_text("class Model:\n    pass\n")
    good = tmp_path / "good.py"
    good.write_text("class DSAN:\n    pass\n\nVALUE = 7\n")
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))  # no real PyTorch needed here
    with pytest.raises(bench.SetupError, match="has no DSAN class"):
        bench.load_torch_reference(other)
    assert bench.load_torch_reference(str(good)).VALUE == 7
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch fails
    with pytest.raises(bench.SetupError, match="needs PyTorch, which is not installed"):
        bench.load_torch_reference(good)


def test_tf_runner_unfuses_only_the_batchnorm_layers_at_the_size_asked(monkeypatch):
    from dsan_tf.resnet import FusedBatchNormalization

    built = []
    layers = [FusedBatchNormalization(), object(), FusedBatchNormalization()]
    model = argparse.Namespace(layers=layers)
    monkeypatch.setattr(bench, "build", lambda variant, precision, args, adam=None:
                        built.append((variant, precision, args.image_size, args.num_classes, adam)) or model)
    monkeypatch.setattr(bench, "Runner", lambda model, x, y: (model, x.shape, y.dtype.name))
    args = argparse.Namespace(image_size=112, num_classes=3)
    runner = bench.tf_runner("float32", 48, args, np.zeros((2, 48, 48, 3), np.float32), [0, 1], adam="adam")
    assert built == [("dsan", "float32", 48, 3, "adam")] and args.image_size == 112
    assert runner == (model, (2, 48, 48, 3), "int32")
    assert [layer.fused for layer in layers[::2]] == [True, True]  # left fused without the flag
    bench.tf_runner("float32", 48, args, np.zeros((2, 48, 48, 3), np.float32), [0, 1], keras_batchnorm=True)
    assert [layer.fused for layer in layers[::2]] == [False, False]


def test_bench_against_torch_with_keras_adam_times_and_compares_it(monkeypatch):
    """tf, tf with Keras' Adam and torch, two rounds of two steps: each pair's ratio by hand from the
    scripted medians (tf 0.2 s, keras-adam 0.4 s, torch 0.5 s for batch 8)."""
    import keras

    script = {("tf", "train"): [[(0.1, 1.0), (0.3, 1.0)]] * 2,
              ("tf-keras-adam", "train"): [[(0.4, 2.0), (0.4, 2.0)]] * 2,
              ("torch", "train"): [[(0.5, 4.0), (0.5, 4.0)]] * 2}
    adams = []

    def tf_runner(precision, size, args, x, y, adam=None, keras_batchnorm=False):
        adams.append(adam)
        return FakeRunner("tf-keras-adam" if adam else "tf")

    timed = script_bench(monkeypatch, script, tf_runner)
    args = argparse.Namespace(seed=0, batch_size=8, num_classes=3, warmup=0, steps=2, rounds=2, round_seconds=1.0,
                              with_keras_batchnorm=False, with_keras_adam=True)
    result = bench.bench_against_torch("float32", 32, args, module=None)
    assert adams == [None, keras.optimizers.Adam] and result["frameworks"] == ["tf", "tf-keras-adam", "torch"]
    assert timed.calls == [("tf", "train"), ("tf-keras-adam", "train"), ("torch", "train")] * 2
    assert result["tf-keras-adam"]["images_per_s"] == pytest.approx(20.0)  # 8 / 0.4
    assert result["ratio_tf_keras_adam_over_torch"] == pytest.approx(20.0 / 16.0)
    assert result["ratio_tf_over_tf_keras_adam"] == pytest.approx(40.0 / 20.0)
    assert result["ratio_cpu_tf_over_tf_keras_adam"] == pytest.approx(2.0 / 1.0)
    assert result["ratio_best_tf_over_tf_keras_adam"] == pytest.approx(80.0 / 20.0)


def test_run_against_torch_sets_both_frameworks_threads_and_names_each_ratio(monkeypatch, tmp_path):
    """--threads 2 with TensorFlow not yet running: both TF pools and PyTorch's set to 2; every
    precision x image size measured, precision outer; each result's ratio_tf* (not ratio_rounds*) is
    repeated at the top level under <key>_<precision>_<size>."""
    import tensorflow as tf

    torch = pytest.importorskip("torch")
    set_calls = []
    pools = {"intra": 0, "inter": 0}
    monkeypatch.setattr(bench, "load_torch_reference", lambda path: "reference")
    monkeypatch.setattr(torch, "set_num_threads", lambda n: set_calls.append(("torch", n)))
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads",
                        lambda n: (set_calls.append(("intra", n)), pools.update(intra=n)))
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads",
                        lambda n: (set_calls.append(("inter", n)), pools.update(inter=n)))
    monkeypatch.setattr(tf.config.threading, "get_intra_op_parallelism_threads", lambda: pools["intra"])
    monkeypatch.setattr(tf.config.threading, "get_inter_op_parallelism_threads", lambda: pools["inter"])
    measured = []

    def measure(precision, size, args, module):
        measured.append((precision, size, module))
        return {"precision": precision, "image_size": size, "ratio_tf_over_torch": size / 100,
                "ratio_rounds_tf_over_torch": [1.0], "ratio_rounds": [1.0]}

    monkeypatch.setattr(bench, "bench_against_torch", measure)
    args = bench.BenchSettings(image_sizes=(32, 64), precisions=("float32", "mixed_bfloat16"), threads=2,
                               torch_reference=tmp_path / "ref.py")
    summary = bench.run_against_torch(args)
    assert set_calls == [("torch", 2), ("intra", 2), ("inter", 2)]
    assert summary["threads"] == {"tf_intra_op": 2, "tf_inter_op": 2, "torch": 2} and summary["mode"] == "against-torch"
    assert measured == [("float32", 32, "reference"), ("float32", 64, "reference"),
                        ("mixed_bfloat16", 32, "reference"), ("mixed_bfloat16", 64, "reference")]
    assert {k: v for k, v in summary.items() if k.startswith("ratio")} == {
        "ratio_tf_over_torch_float32_32": 0.32, "ratio_tf_over_torch_float32_64": 0.64,
        "ratio_tf_over_torch_mixed_bfloat16_32": 0.32, "ratio_tf_over_torch_mixed_bfloat16_64": 0.64}
    set_calls.clear()
    pools.update(intra=0, inter=0)
    args.threads = None
    assert bench.run_against_torch(args)["threads"] == {"tf_intra_op": "default", "tf_inter_op": "default",
                                                        "torch": 2}
    assert set_calls == []


# ---------------------------------------------------------------------- round 6 blind mutants (issue 34)


def test_profile_table_lists_every_other_op_of_the_framework_with_more(capsys):
    """r6-bench-profile-other-list-cut-to-shorter: --profile's 'largest op types in other' column of TF holds
    three op types and PyTorch's one: all three TF rows are printed (the table's length is the longer list)."""
    from dsan_tf.cli.bench import print_profile

    parts = {part: {"ms_per_step": 1.0, "share": 1 / len(bench.PARTS)} for part in bench.PARTS}
    summary = {
        "batch_size": 2, "warmup": 1, "cpu": {"model": "a CPU", "cpus": 2, "isa": ["avx2"]},
        "threads": {"tf_intra_op": 1, "tf_inter_op": 1, "torch": 1}, "tensorflow": "2.x", "onednn": "1",
        "torch": "2.x", "torch_reference": "torch_dsan.py", "load_average_1min": [0.5, 0.5],
        "results": [{"precision": "float32", "image_size": 32, "steps": 1,
                     "tf": {"parts": parts, "op_ms_per_step": 5.0,
                            "other_top": [["AddV2", 3.0], ["Mul", 2.0], ["Relu", 1.0]]},
                     "torch": {"parts": parts, "op_ms_per_step": 5.0, "other_top": [["aten::add", 4.0]]}}],
    }
    print_profile(summary)
    out = capsys.readouterr().out
    assert all(f"{op} {ms:.1f}" in out for op, ms in (("AddV2", 3.0), ("Mul", 2.0), ("Relu", 1.0))), out
    assert "aten::add 4.0" in out


def test_bench_pipeline_times_the_step_in_what_dsan_train_would_use(monkeypatch):
    """r6-bench-pipeline-precision-default-bfloat16: without --precision the step is timed in the policy 'auto'
    resolves to on this machine, as dsan train does: with no float16 GPU and no native bfloat16 flag (both
    scripted here) that is float32, not the emulated (~11x slower) mixed_bfloat16."""
    import dsan_tf.precision
    from dsan_tf.cli import bench_pipeline

    timed = []
    monkeypatch.setattr(dsan_tf.precision, "cpu_flags", lambda: {"avx2", "fma"})
    monkeypatch.setattr(dsan_tf.precision, "float16_gpus", lambda: [])
    monkeypatch.setattr(bench_pipeline, "_pipeline_throughput", lambda *args, **kwargs: 500.0)
    monkeypatch.setattr(bench_pipeline, "_train_step_throughput",
                        lambda size, batch, steps, precision, *rest: timed.append(precision) or 100.0)
    result = bench_pipeline.measure(bench_pipeline.parse_args(["--json"]))
    assert timed == ["float32"] and result["precision"] == "float32"


# ---- round 7 blind mutants (issue 34)

def test_the_tf_profile_reads_picoseconds_as_milliseconds(monkeypatch):
    """profile_tf on a stand-in trace: one compute-thread event "conv/Conv2D:Conv2D" of 2.5e9 ps = 2.5 ms and
    one "relu/Relu:Relu" of 5e8 ps = 0.5 ms (1 ms = 1e9 ps), one of a non-compute line (not an op's time)."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    plane = space.planes.add(name="/host:CPU")
    plane.event_metadata[1].name = "conv/Conv2D:Conv2D"
    plane.event_metadata[2].name = "relu/Relu:Relu"
    compute = plane.lines.add(name="tf_Compute/1")
    compute.events.add(metadata_id=1, duration_ps=2_500_000_000)
    compute.events.add(metadata_id=2, duration_ps=500_000_000)
    plane.lines.add(name="tf_data_iterator").events.add(metadata_id=1, duration_ps=9_000_000_000)
    logdirs, steps_run = [], []

    def stop():
        trace = Path(logdirs[0]) / "plugins" / "profile" / "run" / "host.xplane.pb"
        trace.parent.mkdir(parents=True)
        trace.write_bytes(space.SerializeToString())

    monkeypatch.setattr(tf.profiler.experimental, "start", logdirs.append)
    monkeypatch.setattr(tf.profiler.experimental, "stop", stop)
    times = bench.profile_tf(lambda: steps_run.append(1), steps=2)
    assert steps_run == [1, 1]
    assert dict(times) == {("conv_forward", "Conv2D"): pytest.approx(2.5), ("other", "Relu"): pytest.approx(0.5)}


# ---- round 8 blind mutants (issue 34)

def test_the_torch_profile_reads_microseconds_as_milliseconds(monkeypatch):
    """r8-bench-torch-profile-microseconds-as-seconds: profile_torch on a stand-in profiler: "aten::conv2d" with
    2500 us of self CPU time is 2.5 ms (1 ms = 1000 us); "aten::add" (500 us = 0.5 ms) called inside
    "Optimizer.step#Adam.step" is the optimiser's, by its caller."""
    torch = pytest.importorskip("torch")
    import torch.profiler  # noqa: F401

    class Event:
        def __init__(self, name, us, parent=None):
            self.name, self.self_cpu_time_total, self.cpu_parent = name, us, parent

    step = Event("Optimizer.step#Adam.step", 0.0)
    events = [Event("aten::conv2d", 2500.0), step, Event("aten::add", 500.0, parent=step)]
    steps_run = []

    class Profile:
        def __init__(self, activities):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def events(self):
            return events

    monkeypatch.setattr(torch.profiler, "profile", Profile)
    times = bench.profile_torch(lambda: steps_run.append(1), steps=2)
    assert steps_run == [1, 1]
    assert dict(times) == {("conv_forward", "aten::conv2d"): pytest.approx(2.5),
                           ("optimizer", "Optimizer.step#Adam.step"): 0.0,
                           ("optimizer", "aten::add"): pytest.approx(0.5)}


# ---- round 9 blind mutants (issue 34)


def test_bench_realtime_frame_size_checks_both_sides():
    """r9-bench-realtime-height-unchecked: --size takes each side from 64 to 4096 px: 640x64 and 64x4096 pass,
    while a height of 63 or 4097 is refused (None) as a width of 63 is: MTCNN would get a sliver of a frame."""
    from dsan_tf.cli.bench_realtime import _size

    assert _size("640x64") == (640, 64) and _size("64x4096") == (64, 4096)
    assert _size("640x63") is None and _size("640x4097") is None and _size("63x480") is None


# ---- issue 34: line-by-line sweep (benchmark)
REAL_TIMED, REAL_BUILD = bench.timed, bench.build  # taken at import, as REAL_RUNNER: monkeypatch_module replaces them


def test_timed_records_each_step_s_wall_and_process_cpu_seconds(monkeypatch):
    """Three steps on scripted clocks: wall 0.5, 1.25, 0.75 s; process CPU 0.25, 2.0, 1.5 s."""
    import types

    wall = iter([10.0, 10.5, 20.0, 21.25, 30.0, 30.75])
    cpu = iter([1.0, 1.25, 5.0, 7.0, 9.0, 10.5])
    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=lambda: next(wall),
                                                             process_time=lambda: next(cpu)))
    calls = []
    got = REAL_TIMED(lambda: calls.append(1), 3)
    assert calls == [1, 1, 1]
    np.testing.assert_allclose(got, [(0.5, 0.25), (1.25, 2.0), (0.75, 1.5)])


def test_build_compiles_the_model_asked_with_training_s_optimisers(monkeypatch):
    """The network's Adam at 1e-3 (FusedAdam unless another is given), the centres' SGD at 0.9 with momentum 0.9."""
    import keras

    import dsan_tf.model
    from dsan_tf.optimizers import FusedAdam

    built = []

    class Model:
        def compile(self, optimizer, centre_optimizer):
            self.optimizer, self.centre_optimizer = optimizer, centre_optimizer

    monkeypatch.setattr(dsan_tf.model, "build_dsan", lambda k, size, variant, dtype: built.append(
        (k, size, variant, dtype)) or Model())
    args = argparse.Namespace(num_classes=5, image_size=48)
    model = REAL_BUILD("baseline", "mixed_bfloat16", args)
    assert built == [(5, 48, "baseline", "mixed_bfloat16")]
    assert isinstance(model.optimizer, FusedAdam) and float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    sgd = model.centre_optimizer
    assert isinstance(sgd, keras.optimizers.SGD) and float(sgd.learning_rate) == pytest.approx(0.9)
    assert sgd.momentum == pytest.approx(0.9)
    other = REAL_BUILD("dsan", "float32", args, adam=keras.optimizers.Adam)
    assert type(other.optimizer) is keras.optimizers.Adam and float(other.optimizer.learning_rate) == pytest.approx(1e-3)


class _BatchRecordingRunner:
    """bench.Runner stand-in: records the batch it is given and each warm-up call."""

    calls: list = []

    def __init__(self, model, x, y):
        self.label = model
        self.calls.append(("batch", model, np.asarray(x), np.asarray(y)))

    def train(self):
        self.calls.append(("train", self.label))

    def infer(self):
        self.calls.append(("infer", self.label))


def test_bench_precision_warms_up_on_the_seeded_batch_and_lists_every_step(monkeypatch):
    """--warmup 0: no untimed training step but one inference step per model (its first call traces); the batch
    is NumPy's default_rng(seed) standard normals of (batch, size, size, 3) in float32, labels in [0, K). Every
    timed step's wall and CPU seconds are listed in the order timed. --no-inference: training only."""
    script = {(v, kind): [[(0.4 + i, 0.3 + i), (0.1 + i, 0.2 + i)], [(0.9 + i, 0.7 + i), (0.5 + i, 0.6 + i)]]
              for i, v in enumerate(bench.MODELS) for kind in ("train", "infer")}
    calls = []
    monkeypatch.setattr(_BatchRecordingRunner, "calls", calls)
    monkeypatch.setattr(bench, "build", lambda variant, precision, args, adam=None: variant)
    monkeypatch.setattr(bench, "Runner", _BatchRecordingRunner)
    monkeypatch.setattr(bench, "timed", ScriptedTimes(script))
    monkeypatch.setattr(bench, "log", lambda message: None)
    args = argparse.Namespace(seed=5, batch_size=6, image_size=16, num_classes=4, no_inference=False, warmup=0,
                              steps=2, rounds=2, round_seconds=1.0)
    result = bench.bench_precision("float32", args)
    assert [c[:2] for c in calls] == [("batch", "dsan"), ("infer", "dsan"), ("batch", "baseline"), ("infer", "baseline")]
    x, y = calls[0][2], calls[0][3]
    np.testing.assert_array_equal(x, np.random.default_rng(5).standard_normal((6, 16, 16, 3), dtype=np.float32))
    assert x.dtype == np.float32 and y.shape == (6,) and y.dtype == np.int32 and 0 <= y.min() and y.max() < 4
    assert result["dsan"]["train_step_seconds"] == [0.4, 0.1, 0.9, 0.5]  # in the order timed, not sorted
    assert result["baseline"]["infer_step_cpu_seconds"] == pytest.approx([1.3, 1.2, 1.7, 1.6])
    calls.clear()
    monkeypatch.setattr(bench, "timed", ScriptedTimes(script))
    args = argparse.Namespace(**{**vars(args), "no_inference": True, "warmup": 2})
    result = bench.bench_precision("float32", args)
    assert [c[:2] for c in calls] == [("batch", "dsan"), ("train", "dsan"), ("train", "dsan"),
                                      ("batch", "baseline"), ("train", "baseline"), ("train", "baseline")]
    assert result["steps"] == {"train": 2} and "infer_ratio_dsan_over_baseline" not in result
    assert "infer_images_per_s" not in result["dsan"] and "train_ratio_dsan_over_baseline" in result


def test_a_round_of_a_slow_step_is_at_least_one_step(monkeypatch):
    """Probes of 50 s against --round-seconds 6: round(6 / 50) = 0 steps would time nothing; 1 is the floor."""
    def timed(fn, steps):
        return [(50.0, 50.0)] * steps

    _bench_with_stand_ins(monkeypatch, timed)
    args = argparse.Namespace(seed=0, batch_size=4, image_size=8, num_classes=3, no_inference=True, warmup=0,
                              steps=None, rounds=1, round_seconds=6.0)
    assert bench.bench_precision("float32", args)["steps"] == {"train": 1}


def test_the_bench_summary_names_its_settings_and_keeps_every_precision_s_results():
    args = argparse.Namespace(image_size=96, batch_size=12, warmup=2, rounds=5, precisions=["float32"])
    results = {"float32": {"train_ratio_dsan_over_baseline": 0.93}}
    summary = bench.summarise(results, args)
    assert (summary["image_size"], summary["batch_size"], summary["warmup"], summary["rounds"]) == (96, 12, 2, 5)
    assert summary["precisions"] is results


def test_fixed_batch_is_numpy_s_seeded_draw_of_the_size_asked():
    """The images first, then the labels, from one default_rng(seed); (batch, size, size, 3) float32."""
    args = argparse.Namespace(seed=11, batch_size=5, num_classes=6)
    x, y = bench.fixed_batch(24, args)
    rng = np.random.default_rng(11)
    np.testing.assert_array_equal(x, rng.standard_normal((5, 24, 24, 3), dtype=np.float32))
    np.testing.assert_array_equal(y, rng.integers(0, 6, size=(5,)))
    assert x.dtype == np.float32


def test_bench_settings_defaults_are_the_documented_ones_and_are_read_from_flags():
    from dsan_tf.cli.bench import parse_args

    settings = bench.BenchSettings()
    assert (settings.image_size, settings.image_sizes, settings.batch_size, settings.num_classes) == (112, (112,), 64, 7)
    assert (settings.steps, settings.round_seconds, settings.warmup, settings.rounds) == (None, 30.0, 1, 3)
    assert settings.precisions == ("float32", "mixed_bfloat16") and settings.profile_top == 10
    assert settings.threads is None and not (settings.profile or settings.no_inference)
    assert bench.BenchSettings.of(parse_args([])) == settings  # dsan bench's defaults are the library's
    flags = parse_args(["--against-torch", "--image-size", "64,96", "--batch-size", "3", "--steps", "2", "--seed", "9",
                        "--threads", "2", "--with-keras-adam", "--num-classes", "5", "--rounds", "4", "--warmup", "0"])
    got = bench.BenchSettings.of(flags)
    assert (got.image_size, got.image_sizes, got.batch_size, got.steps, got.seed, got.threads) == (64, (64, 96), 3, 2, 9, 2)
    assert (got.with_keras_adam, got.num_classes, got.rounds, got.warmup, got.precisions) == (True, 5, 4, 0, ("float32",))


def test_bench_against_torch_warms_each_framework_up_once_and_reports_its_setting(monkeypatch):
    """--warmup 0 still calls each framework once (tf's first call traces); the batch of the image size asked goes
    to both runners (torch's with the model module, precision, K and seed); the result names its precision,
    size, steps and frameworks and lists each step's wall and CPU seconds."""
    warm, made = [], []

    class Runner(FakeRunner):
        def train(self):
            warm.append(self.label)

    script = {("tf", "train"): [[(0.2, 1.0), (0.4, 3.0)]], ("torch", "train"): [[(0.5, 2.0), (0.3, 4.0)]]}
    script_bench(monkeypatch, script, tf_runner=lambda precision, size, args, x, y, adam=None, keras_batchnorm=False: (
        made.append(("tf", precision, size, x, y)) or Runner("tf")))
    monkeypatch.setattr(bench, "fixed_batch", lambda image_size, args: (f"x{image_size}", f"y{image_size}"))
    monkeypatch.setattr(bench, "TorchRunner", lambda *a: made.append(("torch", *a)) or Runner("torch"))
    args = argparse.Namespace(seed=3, batch_size=4, num_classes=5, warmup=0, steps=2, rounds=1, round_seconds=1.0,
                              with_keras_batchnorm=False, with_keras_adam=False)
    result = bench.bench_against_torch("mixed_bfloat16", 48, args, module="ref")
    assert warm == ["tf", "torch"]
    assert made == [("tf", "mixed_bfloat16", 48, "x48", "y48"), ("torch", "ref", "mixed_bfloat16", "x48", "y48", 5, 3)]
    assert (result["precision"], result["image_size"], result["steps"], result["frameworks"]) == (
        "mixed_bfloat16", 48, 2, ["tf", "torch"])
    assert result["tf"]["step_seconds"] == [0.2, 0.4] and result["torch"]["step_cpu_seconds"] == [2.0, 4.0]
    assert result["torch"]["step_seconds"] == [0.5, 0.3]  # in the order timed
    assert result["tf"]["step_cpu_seconds_median"] == 2.0 and result["tf"]["images_per_s_rounds"] == [
        pytest.approx(4 / 0.3)]


def test_profile_against_torch_warms_up_then_profiles_the_asked_steps_of_each_framework(monkeypatch):
    """Without --steps, PROFILE_STEPS (2) steps each; a warm-up call per framework first (even at --warmup 0);
    each framework's op times summarised per step with --profile-top op types of "other"."""
    from collections import Counter

    events = []

    class Runner:
        def __init__(self, label):
            self.label = label

        def train(self):
            events.append(("warm", self.label))

    def profiler(name):
        def run(train, steps):
            events.append(("profile", name, steps))
            return Counter({("conv_forward", "Conv2D"): 6.0 * steps, ("other", "Relu"): 2.0 * steps,
                            ("other", "AddV2"): 1.0 * steps})
        return run

    monkeypatch.setattr(bench, "fixed_batch", lambda size, args: ("x", "y"))
    monkeypatch.setattr(bench, "tf_runner", lambda precision, size, args, x, y: Runner("tf"))
    monkeypatch.setattr(bench, "TorchRunner", lambda module, precision, x, y, k, seed: Runner("torch"))
    monkeypatch.setattr(bench, "profile_tf", profiler("tf"))
    monkeypatch.setattr(bench, "profile_torch", profiler("torch"))
    monkeypatch.setattr(bench, "log", lambda message: None)
    args = argparse.Namespace(seed=0, batch_size=2, num_classes=3, warmup=0, steps=None, profile_top=1)
    result = bench.profile_against_torch("float32", 32, args, module="ref")
    assert events == [("warm", "tf"), ("warm", "torch"), ("profile", "tf", 2), ("profile", "torch", 2)]
    assert (result["precision"], result["image_size"], result["steps"], result["frameworks"]) == (
        "float32", 32, 2, ["tf", "torch"])
    assert result["tf"]["op_ms_per_step"] == pytest.approx(9.0) and result["torch"]["other_top"] == [["Relu", 2.0]]
    events.clear()
    args.steps, args.warmup = 3, 2
    assert bench.profile_against_torch("float32", 32, args, module="ref")["steps"] == 3
    assert events == [("warm", "tf"), ("warm", "tf"), ("warm", "torch"), ("warm", "torch"), ("profile", "tf", 3),
                      ("profile", "torch", 3)]


def test_run_against_torch_profiles_in_profile_mode_and_reports_its_settings(monkeypatch, tmp_path):
    import tensorflow as tf

    torch = pytest.importorskip("torch")
    measured = []
    monkeypatch.setattr(bench, "load_torch_reference", lambda path: "reference")
    monkeypatch.setattr(bench, "profile_against_torch", lambda precision, size, args, module: measured.append(
        (precision, size, module)) or {"precision": precision, "image_size": size, "steps": 2})
    monkeypatch.setattr(bench, "bench_against_torch", lambda *args: pytest.fail("timed instead of profiled"))
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    (tmp_path / "sub").mkdir()
    reference = tmp_path / "sub" / ".." / "ref.py"
    args = bench.BenchSettings(image_sizes=(32,), precisions=("float32",), profile=True, batch_size=6, warmup=2,
                               rounds=4, torch_reference=reference)
    summary = bench.run_against_torch(args)
    assert summary["mode"] == "profile" and measured == [("float32", 32, "reference")]
    assert (summary["batch_size"], summary["warmup"], summary["rounds"], summary["onednn"]) == (6, 2, 4, "0")
    assert summary["torch_reference"] == str((tmp_path / "ref.py").resolve())
    assert summary["tensorflow"] == tf.__version__ and summary["torch"] == torch.__version__
    assert summary["results"] == [{"precision": "float32", "image_size": 32, "steps": 2}]
    assert len(summary["load_average_1min"]) == 2 and summary["cpu"]["cpus"] >= 1


@pytest.mark.parametrize("op_name, op_type, part", [
    ("conv/Conv2DBackpropFilter", "Conv2DBackpropFilter", "conv_backward"),
    ("x", "_MklNativeConv2DBackpropInput", "conv_backward"),
    ("layer1_0_conv1/Conv2D", "_FusedConv2D", "conv_forward"),
    ("bn1/FusedBatchNormV3", "FusedBatchNormV3", "batchnorm"),
    ("layer1_0_bn2/AssignMovingAvg/sub", "Sub", "batchnorm"),  # a BatchNorm layer's scope
    ("layer2_0_downsample_1/mul", "Mul", "batchnorm"),
    ("sparse_attention/bn1_1/add", "AddV2", "batchnorm"),  # Keras' _1 suffix
    ("bn1", "Relu", "other"),  # the op's own name is no scope
    ("abn/mul", "Mul", "other"),  # "bn" inside a word is not a BatchNorm layer
    ("layer1_0_conv1/Relu", "Relu", "other"),
    ("Adam/update_conv/ResourceApplyAdam", "ResourceApplyAdam", "optimizer"),
    ("SGD/mul", "Mul", "optimizer"),
    ("x/AssignVariableOp", "AssignVariableOp", "optimizer"),
    ("mul_12", "Mul", "optimizer"),  # the weight decay added to the gradients: unscoped
    ("add", "AddV2", "optimizer"),
    ("model/mul_12", "Mul", "other"),
])
def test_tf_ops_are_sorted_into_the_parts_of_a_step(op_name, op_type, part):
    assert bench.tf_part(op_name, op_type) == part


@pytest.mark.parametrize("names, part", [
    (["aten::convolution_backward"], "conv_backward"),
    (["ConvolutionBackward0"], "conv_backward"),
    (["aten::mkldnn_convolution", "aten::conv2d"], "conv_forward"),
    (["aten::conv2d"], "conv_forward"),
    (["aten::native_batch_norm"], "batchnorm"),
    (["NativeBatchNormBackward0"], "batchnorm"),
    (["aten::add_", "Optimizer.step#Adam.step"], "optimizer"),  # by its caller
    (["aten::mul", "Optimizer.zero_grad#SGD.zero_grad"], "optimizer"),
    (["aten::_foreach_add_"], "optimizer"),
    (["aten::_fused_adam_"], "optimizer"),
    (["aten::add", "aten::native_batch_norm", "Optimizer.step#SGD.step"], "batchnorm"),  # the innermost match wins
    (["MyOptimizer.step"], "other"),
    (["aten::relu"], "other"),
    ([], "other"),
])
def test_torch_ops_are_sorted_into_the_parts_of_a_step(names, part):
    assert bench.torch_part(names) == part


# ---- issue 34: line-by-line sweep (cli/bench)


def _bench_refusal(capsys, *argv):
    from dsan_tf.cli.bench import parse_args

    with pytest.raises(SystemExit) as exit_:
        parse_args(list(argv))
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_dsan_bench_checks_its_flags_together(capsys):
    from dsan_tf.cli.bench import parse_args

    assert "--profile goes with --against-torch" in _bench_refusal(capsys, "--profile")
    assert "--with-keras-*" in _bench_refusal(capsys, "--against-torch", "--profile", "--with-keras-adam")
    assert "--with-keras-*" in _bench_refusal(capsys, "--against-torch", "--profile", "--with-keras-batchnorm")
    assert parse_args(["--against-torch", "--profile"]).threads == 1  # op times as CPU times
    assert parse_args(["--against-torch", "--profile", "--threads", "3"]).threads == 3
    assert parse_args(["--against-torch"]).threads is None
    assert "several sizes only with --against-torch" in _bench_refusal(capsys, "--image-size", "64,96")
    args = parse_args(["--against-torch", "--image-size", "64,96"])
    assert args.image_sizes == (64, 96) and args.image_size == 64
    args = parse_args([])
    assert args.image_sizes == (112,) and args.image_size == 112 and args.precisions == ("float32", "mixed_bfloat16")
    assert args.torch_reference == bench.REPO / ".." / "shared" / "bench" / "torch_dsan.py"
    assert parse_args(["--against-torch"]).precisions == ("float32",)
    assert parse_args(["--precisions", "mixed_bfloat16,mixed_bfloat16"]).precisions == ("mixed_bfloat16",)
    assert parse_args(["--precisions", "mixed_bfloat16,float32"]).precisions == ("mixed_bfloat16", "float32")
    # 1024 images of 512 px: 1024 * 64 * 256 * 256 elements in the first feature map, over 2**31 - 1
    assert "too large" in _bench_refusal(capsys, "--batch-size", "1024", "--image-size", "512")
    assert "too large" in _bench_refusal(capsys, "--against-torch", "--batch-size", "1024", "--image-size", "64,512")
    assert parse_args(["--batch-size", "1024", "--image-size", "352"]).batch_size == 1024  # 176 ** 2 * 64 * 1024 fits


def _throughput_summary():
    def entry(train, train_best, train_cpu, infer, infer_best, infer_cpu):
        return {"train_images_per_s": train, "train_images_per_s_best": train_best,
                "train_step_cpu_seconds_median": train_cpu, "infer_images_per_s": infer,
                "infer_images_per_s_best": infer_best, "infer_step_cpu_seconds_median": infer_cpu}

    result = {"steps": {"train": 3, "infer": 5}, "dsan": entry(10.0, 12.5, 1.5, 40.0, 44.0, 0.25),
              "baseline": entry(11.0, 13.0, 1.25, 42.0, 46.5, 0.5),
              "train_ratio_dsan_over_baseline": 0.8, "train_ratio_best_dsan_over_baseline": 0.9,
              "train_ratio_rounds": [0.7, 0.85], "train_ratio_cpu_dsan_over_baseline": 1.1,
              "infer_ratio_dsan_over_baseline": 0.95, "infer_ratio_best_dsan_over_baseline": 0.96,
              "infer_ratio_rounds": [0.93, 0.97], "infer_ratio_cpu_dsan_over_baseline": 2.0}
    return {"load_average_1min": [1.3, 3.5], "cpu_count": 4, "headline_precision": "float32",
            "train_ratio_dsan_over_baseline": 0.8, "precisions": {"float32": result}}


def test_the_throughput_table_puts_each_figure_in_its_column():
    """Each row's figures (split on spaces) in the table's order; the inference columns only with inference."""
    import contextlib
    import io

    from dsan_tf.cli.bench import print_table

    args = argparse.Namespace(no_inference=False, image_size=48, batch_size=8, rounds=2, warmup=1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_table(_throughput_summary(), args)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Throughput, 48x48, batch 8, 2 alternating rounds (dsan, baseline, ...) after 1 warm-up")
    assert lines[1] == "Machine: 4 CPUs, 1-min load average 1.3 at start, 3.5 at end"
    assert lines[2].split() == ["precision", "model", "steps/round", "train", "img/s", "CPU", "s/step", "steps/round",
                                "infer", "img/s", "CPU", "s/step"]
    assert lines[3].split() == ["float32", "dsan", "3", "10.00", "(", "12.50)", "1.50", "5", "40.00", "(", "44.00)",
                                "0.25"]
    assert lines[4].split() == ["float32", "baseline", "3", "11.00", "(", "13.00)", "1.25", "5", "42.00", "(",
                                "46.50)", "0.50"]
    assert lines[6].split() == ["float32", "train", "0.800", "(best", "0.900;", "rounds", "0.700", "0.850;", "CPU",
                                "1.100)"]
    assert lines[7].split() == ["inference", "0.950", "(best", "0.960;", "rounds", "0.930", "0.970;", "CPU", "2.000)"]
    assert lines[8] == "train_ratio_dsan_over_baseline (float32): 0.800 (target >= 0.97)"
    args.no_inference = True
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_table(_throughput_summary(), args)
    lines = out.getvalue().splitlines()
    assert lines[3].split() == ["float32", "dsan", "3", "10.00", "(", "12.50)", "1.50"] and len(lines) == 8
    assert "inference" not in out.getvalue() and lines[2].split().count("steps/round") == 1


def test_the_against_torch_table_labels_each_pair_and_puts_each_figure_in_its_column(capsys):
    from dsan_tf.cli.bench import print_against_torch

    def framework(per_s, best, cpu):
        return {"images_per_s": per_s, "images_per_s_best": best, "step_cpu_seconds_median": cpu}

    result = {"precision": "float32", "image_size": 64, "steps": 3, "frameworks": ["tf", "tf-keras-bn", "torch"],
              "tf": framework(20.0, 25.0, 0.75), "tf-keras-bn": framework(15.0, 16.0, 1.0),
              "torch": framework(10.0, 12.5, 1.5)}
    for key, ratio in (("tf_over_torch", 2.0), ("tf_keras_bn_over_torch", 1.5), ("tf_over_tf_keras_bn", 1.25)):
        result.update({f"ratio_{key}": ratio, f"ratio_best_{key}": ratio + 0.125, f"ratio_cpu_{key}": ratio + 0.25,
                       f"ratio_rounds_{key}": [ratio - 0.5, ratio + 0.5]})
    summary = {"batch_size": 8, "rounds": 2, "warmup": 1, "cpu": {"model": "a CPU", "cpus": 2, "isa": []},
               "threads": {"tf_intra_op": "default", "tf_inter_op": 2, "torch": 1}, "tensorflow": "2.x",
               "onednn": None, "torch": "2.y", "torch_reference": "ref.py", "load_average_1min": [0.5, 1.5],
               "results": [result]}
    print_against_torch(summary)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("DSAN training step") and "batch 8, 2 alternating rounds" in lines[0]
    assert "after 1 warm-up step(s)" in lines[0]
    assert lines[1] == "CPU: a CPU, 2 logical CPUs, ISA: none of avx2/avx512/amx"
    assert lines[2] == ("TensorFlow 2.x (TF_ENABLE_ONEDNN_OPTS=None, intra-op threads default, inter-op 2); "
                        "PyTorch 2.y (1 threads); reference ref.py")
    assert lines[3] == "1-min load average 0.5 at start, 1.5 at end"
    assert [line.split() for line in lines[5:8]] == [
        ["float32", "64", "3", "tf", "20.0", "(", "25.0)", "0.75"],
        ["float32", "64", "3", "tf-keras-bn", "15.0", "(", "16.0)", "1.00"],
        ["float32", "64", "3", "torch", "10.0", "(", "12.5)", "1.50"]]
    assert [line.split() for line in lines[9:]] == [  # sorted by key: tf_keras_bn_over_torch, tf_over_tf_..., tf_over_torch
        ["float32", "64px", "TF-keras-bn/PyTorch", "1.500", "(best", "1.625;", "CPU", "1.750;", "rounds", "1.000",
         "2.000)"],
        ["float32", "64px", "TF/TF-keras-bn", "1.250", "(best", "1.375;", "CPU", "1.500;", "rounds", "0.750",
         "1.750)"],
        ["float32", "64px", "TF/PyTorch", "2.000", "(best", "2.125;", "CPU", "2.250;", "rounds", "1.500", "2.500)"]]


def test_the_profile_table_puts_each_part_s_time_and_share_beside_the_other_framework_s(capsys):
    from dsan_tf.cli.bench import print_profile

    def ops(scale, shares):
        parts = {part: {"ms_per_step": scale * (i + 1), "share": share} for (i, part), share in
                 zip(enumerate(bench.PARTS), shares)}
        return {"parts": parts, "op_ms_per_step": 15.0 * scale, "other_top": []}

    summary = {"batch_size": 4, "warmup": 3, "cpu": {"model": "a CPU", "cpus": 2, "isa": ["avx2", "amx"]},
               "threads": {"tf_intra_op": 1, "tf_inter_op": 1, "torch": 1}, "tensorflow": "2.x", "onednn": "1",
               "torch": "2.y", "torch_reference": "ref.py", "load_average_1min": [0.5, 0.5],
               "results": [{"precision": "mixed_bfloat16", "image_size": 48, "steps": 2, "tf": ops(1.0, [1 / 15, 2 / 15, 3 / 15, 4 / 15, 5 / 15]),
                            "torch": ops(10.0, [0.5, 0.2, 0.1, 0.1, 0.1])}]}
    print_profile(summary)
    lines = capsys.readouterr().out.splitlines()
    assert "batch 4" in lines[0] and "after 3 warm-up" in lines[0] and lines[1].endswith("ISA: avx2, amx")
    assert lines[4] == "mixed_bfloat16, 48 px, 2 profiled step(s)"
    assert lines[6].split()[-4:] == ["1.0", "6.7%", "10.0", "50.0%"] and lines[6].startswith("  convolution forward")
    assert lines[10].split()[-4:] == ["5.0", "33.3%", "50.0", "10.0%"] and lines[10].startswith("  element-wise / other")
    assert lines[11].split() == ["summed", "op", "time", "15.0", "150.0"] and len(lines) == 12  # no "other" ops listed


def test_dsan_bench_prints_json_or_a_table_of_what_the_library_measured(monkeypatch, capsys):
    import json

    from dsan_tf.cli import bench as bench_cli

    asked = []
    monkeypatch.setattr(bench_cli, "run_throughput", lambda settings: asked.append(("throughput", settings))
                        or _throughput_summary())
    monkeypatch.setattr(bench_cli, "run_against_torch", lambda settings: asked.append(("torch", settings))
                        or {"mode": "against-torch", "ratio": 1.5})
    assert cli.main(["bench", "--json", "--image-size", "64", "--batch-size", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["cpu_count"] == 4
    kind, settings = asked[-1]
    assert kind == "throughput" and isinstance(settings, bench.BenchSettings)
    assert (settings.image_size, settings.image_sizes, settings.batch_size) == (64, (64,), 4)
    assert cli.main(["bench", "--no-inference"]) == 0
    out = capsys.readouterr().out
    assert "Throughput, 112x112" in out and "inference" not in out
    assert cli.main(["bench", "--against-torch", "--json", "--image-size", "32,64"]) == 0
    assert json.loads(capsys.readouterr().out) == {"mode": "against-torch", "ratio": 1.5}
    kind, settings = asked[-1]
    assert kind == "torch" and settings.image_sizes == (32, 64) and settings.precisions == ("float32",)


def test_torch_runner_trains_the_reference_model_with_its_main_s_optimisers_and_loss():
    """A stand-in reference DSAN (a conv and two heads): built after torch.manual_seed(seed) with K classes; the
    NHWC batch (non-square) becomes NCHW, labels int64; Adam(1e-3, weight decay 1e-4) over all but the centres,
    SGD(0.9, momentum 0.9) over the centres. One step's gradients are those of the loss written out here:
    0.4 (CE(z1) + 0.01 L_C + 0.01 L_CCS) + 0.6 CE(z2), L_C = 0.5 mean_i sum_j a (a h1 - c_y)^2,
    L_CCS = sum of (cos + 1) between different centres."""
    import copy
    import types

    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    class DSAN(torch.nn.Module):
        def __init__(self, K, variant):
            super().__init__()
            self.variant = variant
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.fc1, self.fc2 = torch.nn.Linear(4, K), torch.nn.Linear(4, K)
            self.centres = torch.nn.Parameter(torch.randn(K, 4))

        def forward(self, x):
            f = self.conv(x).mean((2, 3))
            return (self.fc1(f), self.fc2(f)), (torch.sigmoid(f), f)

    module = types.SimpleNamespace(DSAN=DSAN)
    x = np.random.default_rng(0).standard_normal((3, 8, 6, 3)).astype(np.float32)
    y = np.array([0, 2, 1])
    runner = bench.TorchRunner(module, "float32", x, y, 3, 4)
    torch.manual_seed(4)
    want = DSAN(3, "dsan")
    assert all(torch.equal(a, b) for a, b in zip(runner.model.parameters(), want.parameters()))
    assert runner.model.variant == "dsan" and runner.model.training and not runner.bf16
    assert torch.equal(runner.x, torch.from_numpy(x).permute(0, 3, 1, 2)) and runner.y.dtype == torch.int64
    adam, sgd = runner.opt, runner.copt
    assert isinstance(adam, torch.optim.Adam) and (adam.defaults["lr"], adam.defaults["weight_decay"]) == (1e-3, 1e-4)
    assert isinstance(sgd, torch.optim.SGD) and (sgd.defaults["lr"], sgd.defaults["momentum"]) == (0.9, 0.9)
    network = [p for group in adam.param_groups for p in group["params"]]
    assert len(network) == 6 and not any(p is runner.model.centres for p in network)
    assert [p for group in sgd.param_groups for p in group["params"]][0] is runner.model.centres

    hand = copy.deepcopy(runner.model)
    labels = torch.from_numpy(y)
    (z1, z2), (a, h1) = hand(runner.x)
    lc = 0.5 * (a * (a * h1 - hand.centres[labels]) ** 2).sum(1).mean()
    cn = F.normalize(hand.centres, dim=1)
    cos = cn @ cn.T
    lccs = sum(cos[i, j] + 1 for i in range(3) for j in range(3) if i != j)
    loss = 0.4 * (F.cross_entropy(z1, labels) + 0.01 * lc + 0.01 * lccs) + 0.6 * F.cross_entropy(z2, labels)
    loss.backward()
    runner.train()
    for (name, p), q in zip(runner.model.named_parameters(), hand.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)
    assert bench.TorchRunner(module, "mixed_bfloat16", x, y, 3, 4).bf16


def test_the_bench_summary_repeats_all_four_ratios_of_each_precision():
    args = argparse.Namespace(image_size=32, batch_size=2, warmup=0, rounds=1, precisions=["float32"])
    ratios = {"train_ratio_dsan_over_baseline": 0.9, "infer_ratio_dsan_over_baseline": 0.8,
              "train_ratio_cpu_dsan_over_baseline": 1.1, "infer_ratio_cpu_dsan_over_baseline": 1.2}
    summary = bench.summarise({"float32": ratios}, args)
    assert {k: v for k, v in summary.items() if k.endswith("_float32")} == {f"{k}_float32": v for k, v in ratios.items()}


def test_run_against_torch_keeps_tensorflow_s_pools_when_it_is_already_running(monkeypatch, tmp_path):
    """--threads 2 after TensorFlow started (setting its pools raises RuntimeError): a warning, PyTorch still set."""
    import tensorflow as tf

    torch = pytest.importorskip("torch")
    logged, torch_threads = [], []

    def running(n):
        raise RuntimeError("Intra op parallelism cannot be modified after initialization.")

    monkeypatch.setattr(bench, "load_torch_reference", lambda path: "reference")
    monkeypatch.setattr(bench, "log", logged.append)
    monkeypatch.setattr(torch, "set_num_threads", torch_threads.append)
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads", running)
    monkeypatch.setattr(bench, "bench_against_torch", lambda precision, size, args, module: {
        "precision": precision, "image_size": size})
    args = bench.BenchSettings(image_sizes=(32,), precisions=("float32",), threads=2, torch_reference=tmp_path / "r.py")
    summary = bench.run_against_torch(args)
    assert torch_threads == [2] and summary["mode"] == "against-torch"
    assert logged == ["warning: TensorFlow is already initialised; its thread pools are kept (reported below)"]
