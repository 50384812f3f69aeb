"""Tests written for the survivors of the fresh blind mutant set (issue 34, 2026-12-07 afternoon).

Each test names the mutant of ``tests/mutation/mutants.py`` (FRESH_BLIND) it kills; every expected
value is written out by hand or computed independently of the code under test.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from dsan_tf import outputs
from dsan_tf.outputs import MARKER, OutputPolicy


# ---------------------------------------------------------------------- output policy


def _marked(folder: Path, kind: str, names):
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"kind": kind, "command": "someone"})] + [json.dumps(n) for n in names]
    (folder / MARKER).write_text("\n".join(lines) + "\n")
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"kept")


def test_recorded_files_of_another_kind_are_never_removed(tmp_path):
    """outputs-recorded-files-of-any-kind: only a marker of the SAME kind lists files a rerun may delete."""
    folder = tmp_path / "out"
    _marked(folder, "alignment", ["a.png", "b.png"])
    assert outputs.remove_recorded_files(folder, "explanations") == []
    assert sorted(p.name for p in folder.glob("*.png")) == ["a.png", "b.png"]
    removed = outputs.remove_recorded_files(folder, "alignment")
    assert sorted(p.name for p in removed) == ["a.png", "b.png"]
    assert not list(folder.glob("*.png"))


# ---------------------------------------------------------------------- flag validators


def test_seed_takes_every_32_bit_value_from_zero():
    """validators-seed-zero-refused: NumPy's legacy seeding takes 0 .. 2**32 - 1."""
    import argparse

    from dsan_tf.cli import validators as v

    assert v.seed("0") == 0 and v.seed("4294967295") == 4294967295
    for bad in ("-1", "4294967296"):
        with pytest.raises(argparse.ArgumentTypeError):
            v.seed(bad)


def test_tensor_guard_rounds_an_odd_side_up():
    """validators-tensor-half-side-floored: ResNet's conv1 (k7, s2, p3) turns 225 px into (225 + 6 - 7) // 2 + 1
    = 113 px; 64 channels x 113 x 113 = 817,216 elements per image, so 2,627 images fit in 2**31 - 1 and 2,628 do
    not (with the side floored to 112 both would seem to fit)."""
    from dsan_tf.cli import validators as v

    per_image = 64 * 113 * 113
    assert 2627 * per_image <= 2**31 - 1 < 2628 * per_image
    assert v.fits_in_one_tensor(2627, 225)
    assert not v.fits_in_one_tensor(2628, 225)


def test_output_suffixes_are_matched_whatever_their_case():
    """validators-output-suffix-case-sensitive: RESULT.CSV is a .csv file name."""
    import argparse

    from dsan_tf.cli import validators as v

    check = v.output_path(".csv", ".jsonl")
    assert check("RESULT.CSV") == Path("RESULT.CSV") and check("faces.JsonL") == Path("faces.JsonL")
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected a \.csv or \.jsonl file name"):
        check("result.txt")


def test_a_file_in_a_sub_folder_of_a_claimed_folder_is_recorded_and_replaced_on_a_rerun(tmp_path):
    """outputs-manifest-only-for-direct-children: annotated copies mirror their inputs' sub-folders
    (out/2024/a.png); the marker must list them so that a rerun of the same kind may replace them."""
    folder = tmp_path / "out"
    nested = folder / "2024" / "march" / "a.png"
    for run in (b"first", b"second"):
        with OutputPolicy("dsan predict") as policy:
            policy.claim_folder(folder, kind="annotations", flag="--annotate")
            policy.claim_file(nested, flag="--annotate")
            with policy.publish(nested) as tmp:
                Path(tmp).write_bytes(run)
        lines = (folder / MARKER).read_text().splitlines()
        assert json.loads(lines[0])["kind"] == "annotations"
        assert [json.loads(line) for line in lines[1:]] == ["2024/march/a.png"]
    assert nested.read_bytes() == b"second"


# ---------------------------------------------------------------------- flip averaging


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


# ---------------------------------------------------------------------- the Python API


class _StubPredictor:
    """A Predictor whose model records a 48 px input (no TensorFlow)."""

    def __new__(cls, image_size):
        from dsan_tf.inference import Predictor

        class Stub(Predictor):
            class_names = ["a", "b"]
            source = "stub"

            def _predict_pixels(self, pixels):
                return np.tile([0.25, 0.75], (len(pixels), 1)).astype(np.float32)

        stub = Stub()
        stub.image_size = image_size
        return stub


def test_align_size_given_wins_over_the_models_recorded_size():
    """api-align-size-ignored: FaceExpressionRecognizer(align_size=64) crops 64 px faces even though the
    model records 48 (the documented override); without it, the model's 48; with neither, 112."""
    from dsan_tf.api import FaceExpressionRecognizer

    assert FaceExpressionRecognizer(_StubPredictor(48), align_size=64).image_size == 64
    assert FaceExpressionRecognizer(_StubPredictor(48)).image_size == 48
    assert FaceExpressionRecognizer(_StubPredictor(None)).image_size == 112
    assert FaceExpressionRecognizer(_StubPredictor(None), align_size=40).image_size == 40


def test_crops_of_one_height_and_different_widths_are_batched_apart():
    """inference-batches-grouped-by-height-only: 40x30 and 40x50 crops cannot share a batch; each face's
    answer is its own (the stub model answers the crop's mean brightness, computed here with NumPy)."""
    from dsan_tf.inference import Predictor

    class MeanModel(Predictor):
        class_names = ["dark", "bright"]
        source, image_size = "stub", None

        def _predict_pixels(self, pixels):
            mean = np.asarray(pixels, np.float64).reshape(len(pixels), -1).mean(axis=1) / 255
            return np.stack([1 - mean, mean], axis=1).astype(np.float32)

    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 256, (40, w, 3), dtype=np.uint8) for w in (30, 50, 30, 64)]
    got = MeanModel().predict(crops, batch_size=2, grayscale=False)
    means = np.array([c.astype(np.float64).mean() / 255 for c in crops])
    np.testing.assert_allclose(got, np.stack([1 - means, means], axis=1), atol=1e-6)


def test_a_whole_folder_output_never_replaces_a_folder_holding_an_input(tmp_path):
    """outputs-publish-folder-holding-an-input: publish_folder swaps the whole folder; one holding an input
    (here two levels down) is refused before any work, even with --overwrite, and the input is kept."""
    out = tmp_path / "out"
    source = out / "raw" / "fer2013.csv"
    source.parent.mkdir(parents=True)
    source.write_text("emotion,pixels,Usage\n")
    with OutputPolicy("dsan make-sample", flag="--out", overwrite=True, inputs=[source]) as policy:
        with pytest.raises(outputs.OutputError, match="holds the input"):
            with policy.publish_folder(out, kind="sample"):
                pass
    assert source.read_text() == "emotion,pixels,Usage\n"


def test_every_path_under_proc_is_written_through():
    """outputs-proc-not-written-through: /proc/self/fd/1 is stdout (a regular file when redirected); a /proc
    path is appended to, never renamed over, whatever stat says it is."""
    for path in ("/proc/self/status", "/proc/self/fd/1", "/proc/dsan-no-such/out.jsonl", "/dev/stdout"):
        assert outputs.is_write_through(path), path


def test_the_longest_name_whose_temporary_fits_is_accepted(tmp_path):
    """outputs-temp-name-limit-off-by-one: a temporary adds 1 + 1 + 7 + 1 + 8 + 16 = 34 bytes to a name,
    so names up to 255 - 34 = 221 bytes can be written safely and 222 cannot."""
    assert outputs.check_creatable(tmp_path / ("a" * 221), folder=False) == tmp_path / ("a" * 221)
    with pytest.raises(outputs.OutputError, match="too long to write safely"):
        outputs.check_creatable(tmp_path / ("a" * 222), folder=False)


# ---------------------------------------------------------------------- grey conversion


# RGB -> BT.601 luminance 0.299 R + 0.587 G + 0.114 B, by hand, rounded to the nearest level:
# (10, 200, 37): 2.99 + 117.4 + 4.218 = 124.608 -> 125; (255, 0, 0): 76.245 -> 76; (0, 0, 255): 29.07 -> 29;
# (0, 255, 0): 149.685 -> 150; (255, 255, 255): 255; (3, 3, 3): 3.
GREY_BY_HAND = [((10, 200, 37), 125), ((255, 0, 0), 76), ((0, 0, 255), 29), ((0, 255, 0), 150),
                ((255, 255, 255), 255), ((3, 3, 3), 3)]


def test_the_exported_graph_greys_colour_with_bt601_rounded():
    """export-grey-weights-in-bgr-order, export-grey-floors: the SavedModel/TFLite grey conversion."""
    from dsan_tf.export import grey_rgb

    pixels = np.array([[rgb for rgb, _ in GREY_BY_HAND]], np.float32)  # 1 x 6 x 3
    want = np.repeat(np.array([[g for _, g in GREY_BY_HAND]], np.float32)[..., None], 3, axis=-1)
    np.testing.assert_array_equal(grey_rgb(pixels).numpy(), want)


def test_crops_are_greyed_with_bt601_rounded():
    """inference-grey-crop-floors: as_grey_rgb (uint8 crops) and grey_pixels (float pixels) alike."""
    from dsan_tf.inference import as_grey_rgb, grey_pixels

    crop = np.array([[rgb for rgb, _ in GREY_BY_HAND]], np.uint8)
    want = np.repeat(np.array([[g for _, g in GREY_BY_HAND]], np.uint8)[..., None], 3, axis=-1)
    np.testing.assert_array_equal(as_grey_rgb(crop), want)
    np.testing.assert_array_equal(grey_pixels(crop.astype(np.float32)), want.astype(np.float32))


# ---------------------------------------------------------------------- the face vocabulary


def test_the_label_of_tied_probabilities_is_the_first_as_numpys_argmax():
    """face-record-last-of-equal-maxima: a record's label and the export's class_id (np.argmax) agree on ties."""
    from dsan_tf.face_record import FaceRecord

    names = ["neutral", "happiness", "surprise", "sadness"]
    for p in ([0.4, 0.1, 0.4, 0.1], [0.25, 0.25, 0.25, 0.25], [0.1, 0.45, 0.0, 0.45]):
        assert FaceRecord.classified(None, None, p, names).label == names[int(np.argmax(p))]
    assert FaceRecord.classified(None, None, [0.4, 0.1, 0.4, 0.1], names).label == "neutral"


# ---------------------------------------------------------------------- state files


def test_open_bounds_refuse_the_bound_itself():
    """state-open-upper-bound-accepts-the-bound: (0, 1) refuses 0 and 1, [0, 1] takes them."""
    from dsan_tf.state_files import ArgumentError, require_in_range

    assert require_in_range(1.0, "p", 0, 1) == 1.0 and require_in_range(0.0, "p", 0, 1) == 0.0
    assert require_in_range(0.999, "p", 0, 1, low_open=True, high_open=True) == 0.999
    for value, match in ((1.0, r"p must be in \(0, 1\), got 1\.0"), (0.0, r"p must be in \(0, 1\), got 0\.0")):
        with pytest.raises(ArgumentError, match=match):
            require_in_range(value, "p", 0, 1, low_open=True, high_open=True)


def test_an_npz_state_file_with_nan_or_inf_is_refused_naming_the_array(tmp_path):
    """state-npz-nan-accepted: read_npz_state's float arrays must be finite (integer arrays are not checked)."""
    from dsan_tf.state_files import StateFileError, read_npz_state

    path = tmp_path / "features.npz"
    schema = {"features": (2, "f"), "labels": (1, "iu")}
    np.savez(path, features=np.ones((3, 2)), labels=np.arange(3))
    assert read_npz_state(path, schema)["labels"].tolist() == [0, 1, 2]
    for bad in (np.nan, np.inf):
        features = np.ones((3, 2))
        features[2, 1] = bad
        np.savez(path, features=features, labels=np.arange(3))
        with pytest.raises(StateFileError, match=r"features\.npz.*array 'features' holds NaN or infinite"):
            read_npz_state(path, schema)


# ---------------------------------------------------------------------- dataset readers


def test_affectnet_face_boxes_are_rounded_to_the_nearest_pixel(tmp_path):
    """affectnet-box-truncated: 2.6, 3.4, 6.7, 5.2 -> (3, 3, 7, 5), not truncated to (2, 3, 6, 5)."""
    from dsan_tf.data.affectnet import read_annotation_csv

    path = tmp_path / "training.csv"
    path.write_text("0/a.jpg,2.6,3.4,6.7,5.2,1.0;2.0,3,0.1,-0.2\n0/b.jpg,10,20,30.5001,40.49,1.0;2.0,5,0.1,-0.2\n")
    rows = read_annotation_csv(path)
    assert [(name, box, code) for name, box, code, _ in rows] == [("0/a.jpg", (3, 3, 7, 5), 3),
                                                                  ("0/b.jpg", (10, 20, 31, 40), 5)]


def test_split_folders_are_recognised_whatever_their_case(tmp_path):
    """folder-split-names-case-sensitive: Train/ and Valid/ are the train and valid splits, not classes."""
    from PIL import Image

    from dsan_tf.data.folder import read_folder

    for rel in ("Train/happy/1.png", "Train/sad/2.png", "Valid/happy/3.png", "TEST/sad/4.png"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((12, 10, 3), 90, np.uint8)).save(path)
    data = read_folder(tmp_path)
    assert data.class_names == ("happy", "sad")
    assert sorted(data.splits) == ["test", "train", "valid"]
    assert data.split("train")["label"].tolist() == [0, 1] and data.split("test")["label"].tolist() == [1]


# ---------------------------------------------------------------------- resume


def test_resume_may_change_the_time_budget_and_nothing_of_the_configuration():
    """resume-time-budget-counts-as-configuration: --time-budget-minutes (like --checkpoint-every) is how
    long to run, not what is trained: a resume with another budget is the same run."""
    from dsan_tf.runner import configuration_differences

    before = {"epochs": 3, "batch_size": 8, "time_budget_minutes": 5, "checkpoint_every": 10, "resume": False}
    after = {**before, "time_budget_minutes": 60, "checkpoint_every": 2, "resume": True}
    assert configuration_differences(before, after) == ""
    assert configuration_differences(before, {**after, "epochs": 4}) == "epochs: was 3, now 4"


def test_a_legacy_checkpoint_after_the_epochs_last_step_counts_as_trained():
    """resume-trained-epoch-needs-one-more-step: a checkpoint from before the epoch_trained record that has
    skipped all 4 batches of its epoch (4 of 4) follows the epoch's last step; 3 of 4 does not."""
    import types

    import tensorflow as tf

    from dsan_tf.training import _epoch_already_trained

    state = types.SimpleNamespace(epoch_trained=False)
    data = lambda epoch, context=None: tf.data.Dataset.range(4)  # noqa: E731 - 4 batches an epoch
    assert _epoch_already_trained(state, data, 0, 4, False, None)
    assert not _epoch_already_trained(state, data, 0, 3, False, None)
    assert _epoch_already_trained(state, data, 0, 4, True, 4) and not _epoch_already_trained(state, data, 0, 3, True, 4)
    assert _epoch_already_trained(types.SimpleNamespace(epoch_trained=True), data, 0, 1, False, None)


# ---------------------------------------------------------------------- alignment


class _OneFaceDetector:
    """mtcnn's numpy rows for one face in the middle of whatever image it is given."""

    def detect_faces(self, image, **kwargs):
        h, w = image.shape[:2]
        x0, y0, x1, y1 = 0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h
        xs = [0.4 * w, 0.6 * w, 0.5 * w, 0.42 * w, 0.58 * w]
        ys = [0.4 * h, 0.4 * h, 0.5 * h, 0.62 * h, 0.62 * h]
        return np.array([[0, x0, y0, x1, y1, 0.99, *xs, *ys]])


def test_photos_whose_names_differ_only_in_suffix_keep_both_crops(tmp_path):
    """align-clashing-names-lose-their-suffix: a.jpg and a.png in one folder give a.jpg.png and a.png.png
    (neither crop lost); b.jpg alone gives b.png."""
    from PIL import Image

    from dsan_tf.data.align import FaceAligner, align_folder

    source, out = tmp_path / "photos", tmp_path / "aligned"
    source.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "a.png", "b.jpg"):
        Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(source / name)
    summary = align_folder(source, out, FaceAligner(16, min_face_size=1, detector=_OneFaceDetector()),
                           progress=False)
    assert summary.ok == 3
    assert sorted(p.name for p in out.glob("*.png") if p.name != "align-report.csv") == ["a.jpg.png", "a.png.png",
                                                                                           "b.png"]


# ---------------------------------------------------------------------- dsan bench


def test_without_steps_a_round_is_sized_from_the_slower_models_probe(monkeypatch):
    """bench-auto-steps-from-the-fastest-probe: probes of 2.0 s (dsan) and 0.5 s (baseline) training steps and
    --round-seconds 6 give round(6 / 2.0) = 3 steps, so dsan's round lasts ~6 s (not 10 steps = 20 s); the
    inference probes 0.2 / 0.1 s give round(6 / 0.2) = 30, capped at 10."""
    import argparse

    from dsan_tf import benchmark as bench

    probe = {("dsan", "train"): 2.0, ("baseline", "train"): 0.5, ("dsan", "infer"): 0.2, ("baseline", "infer"): 0.1}
    seen = set()

    class Runner:
        def __init__(self, label, *args):
            self.label = label

        def train(self):
            pass

        def infer(self):
            pass

    def timed(fn, steps):
        key = (fn.__self__.label, fn.__name__)
        if key not in seen:  # the probe step after the warm-up
            seen.add(key)
            assert steps == 1
            return [(probe[key], probe[key])]
        return [(0.1 * (i + 1), 0.1) for i in range(steps)]

    monkeypatch.setattr(bench, "build", lambda variant, precision, args, adam=None: variant)
    monkeypatch.setattr(bench, "Runner", Runner)
    monkeypatch.setattr(bench, "timed", timed)
    monkeypatch.setattr(bench, "log", lambda message: None)
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


# ---------------------------------------------------------------------- real time and live detection


class _VirtualTime:
    """time.perf_counter / time.sleep of dsan_tf.realtime on a virtual clock (no real waiting)."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)


class _Capture:
    """A 10 fps video of ``n`` frames whose every read costs ``read_s`` on ``clock``."""

    def __init__(self, n, clock=None, read_s=0.0, fps=10.0):
        self.frames = [np.full((24, 32, 3), i, np.uint8) for i in range(n)]
        self.clock, self.read_s, self.fps, self.position = clock, read_s, fps, 0

    def isOpened(self):  # noqa: N802 - OpenCV's name
        return True

    def read(self):
        if self.position >= len(self.frames):
            return False, None
        if self.clock is not None:
            self.clock.now += self.read_s
        self.position += 1
        return True, self.frames[self.position - 1].copy()

    def grab(self):
        return self.read()[0]

    def get(self, prop):
        import cv2

        return {cv2.CAP_PROP_FPS: self.fps, cv2.CAP_PROP_FRAME_COUNT: len(self.frames)}.get(prop, 0.0)

    def release(self):
        pass


class _SlowNoFace:
    def __init__(self, clock, seconds):
        self.clock, self.seconds = clock, seconds

    def detect(self, image):
        self.clock.now += self.seconds
        return []


def test_keeping_pace_drops_a_frame_only_when_a_whole_frame_behind(monkeypatch):
    """realtime-paced-video-drops-any-late-frame: 10 fps, 130 ms per frame. By hand: frame 0 done at 0.13
    (frame 1 due 0.1: 0.03 late, kept), 0.26 (frame 2: 0.06 late), 0.39, 0.52; frame 4 is 0.12 late (more
    than a frame, 0.1 s): dropped; frame 5 0.02 late, 6, 7 kept, frame 8 0.11 late: dropped, frame 9 kept."""
    from dsan_tf import realtime

    fake = _VirtualTime()
    monkeypatch.setattr(realtime, "time", fake)
    report = realtime.StreamReport("clip")
    results = list(realtime.stream(_Capture(10), _SlowNoFace(fake, 0.13), realtime=True, report=report))
    assert [r.index for r in results] == [0, 1, 2, 3, 5, 6, 7, 9]
    assert report.dropped == 2 and report.read == 10


def test_a_strided_frame_is_stamped_with_its_own_time_in_the_video():
    """realtime-frame-time-from-emitted-count: stride 3 of a 10 fps video: frames 0, 3, 6, 9 at 0.0, 0.3,
    0.6, 0.9 s."""
    from dsan_tf.realtime import stream

    class NoFace:
        def detect(self, image):
            return []

    results = list(stream(_Capture(10), NoFace(), stride=3))
    assert [(r.index, r.time_s) for r in results] == [(0, 0.0), (3, 0.3), (6, 0.6), (9, 0.9)]


def test_live_latency_counts_the_read_and_every_search_is_counted():
    """realtime-latency-without-the-read, realtime-refit-search-not-counted: reading a frame costs 5 ms, the
    detector 20 ms, classifying 8 ms a face: latency 33 ms per one-face frame (by hand); frames whose step is
    "search" or "refit+search" ran MTCNN's cascade (2 of 4)."""
    from dsan_tf.data.align import Detection
    from dsan_tf.live_detection import Step
    from dsan_tf.realtime import StreamReport, live_stream

    clock = _VirtualTime()
    kinds = iter(["search", "refit", "refit+search", "refit"])

    def detector(frame):
        clock.now += 0.020
        return Step(next(kinds), [Detection((4.0, 3.0, 12.0, 12.0), np.zeros((5, 2), np.float32), 0.99)])

    class Recognizer:
        def __init__(self):
            self.aligner = self

        def align_detections(self, image, faces):
            return [type("Face", (), {"image": image[:4, :4], "box": f.box, "confidence": f.confidence})()
                    for f in faces]

        def classify(self, crops):
            clock.now += 0.008 * len(crops)
            return np.tile([[0.3, 0.7]], (len(crops), 1))

        def rows(self, faces, probabilities, shape):
            return [{"box": [4, 3, 12, 12], "label": "b", "probabilities": {"a": 0.3, "b": 0.7},
                     "detection_confidence": 0.99} for _ in faces]

    report = StreamReport("cam")
    results = list(live_stream(_Capture(4, clock, read_s=0.005), Recognizer(), detector=detector, report=report,
                               clock=clock.perf_counter))
    assert [r.latency_s for r in results] == pytest.approx([0.033] * 4)
    assert report.summary()["latency_ms_median"] == pytest.approx(33.0)
    assert report.searches == 2 and report.summary()["searches"] == 2


def test_an_onet_box_is_clipped_to_the_frames_width_and_height():
    """live-onet-box-clipped-hw-swapped: a 100 x 200 (h x w) frame; ONet's box (-5, -3)-(250, 150) becomes
    (0, 0)-(199, 99): x to the width, y to the height."""
    from dsan_tf.live_detection import _detection

    row = [0, -5.0, -3.0, 250.0, 150.0, 0.97, *range(1, 6), *range(11, 16)]
    face = _detection(np.array(row, np.float64), (100, 200, 3))
    assert face.box == pytest.approx((0.0, 0.0, 199.0, 99.0)) and face.confidence == pytest.approx(0.97)
    np.testing.assert_allclose(face.landmarks, [[1, 11], [2, 12], [3, 13], [4, 14], [5, 15]])
    inside = _detection(np.array([0, 10.0, 20.0, 60.0, 90.0, 0.9, *[0] * 10], np.float64), (100, 200, 3))
    assert inside.box == pytest.approx((10.0, 20.0, 50.0, 70.0))


def test_the_step_checkpoint_sees_the_epochs_last_step():
    """resume-epoch-finished-one-step-late: a 3-batch epoch ends on batch index 2 (the third step); a resumed
    epoch that skipped 1 batch (a 2-batch fit) ends on index 1. The checkpoint saved there is marked as
    following the epoch's last step, so a resume validates it and trains nothing."""
    import types

    from dsan_tf.training import StepCheckpoint

    saves = []
    state = types.SimpleNamespace(save=lambda epoch, step, running=None, epoch_trained=False:
                                  saves.append((epoch, step, epoch_trained)))
    model = types.SimpleNamespace(metrics_variables=[])
    for first_step, steps in ((0, 3), (1, 2)):
        saves.clear()
        callback = StepCheckpoint(state, epoch=4, first_step=first_step, every=1)
        callback.set_model(model)
        callback.set_params({"steps": steps})
        finished = []
        for batch in range(steps):
            callback.on_train_batch_end(batch)
            finished.append(callback.epoch_finished)
        assert finished == [False] * (steps - 1) + [True]
        assert saves == [(4, first_step + i + 1, i == steps - 1) for i in range(steps)]
