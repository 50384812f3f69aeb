"""Issue 23: the Python API (dsan_tf.predict, FaceExpressionRecognizer), the Predictor's own grey handling,
photos into model-ready face crops, and Grad-CAM of whole photos.

The shipped-model tests compare the API with ``dsan predict``'s pipeline (experiments/predict.py) on
ivan.jpg with the real MTCNN; the plumbing tests use a tiny grey-trained DSAN and a detector stand-in
that finds one face in every photo.
"""

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script
from test_bad_input_tools import FixedFaceDetector

from dsan_tf.data.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
needs_photos = pytest.mark.skipif(
    not (PHOTOS / "ivan.jpg").is_file() or not (PHOTOS / "no-faces.jpg").is_file(),
    reason=f"shared photos not found at {PHOTOS} (ivan.jpg, no-faces.jpg live beside the repo)")
CLASSES = ["neutral", "happiness", "surprise"]
CLASSES_OF_FERPLUS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt")
SIZE = 32


def predict_command():
    """``dsan predict``'s module: dsan_tf.cli.predict once the scripts move there, else experiments/predict.py."""
    try:
        return importlib.import_module("dsan_tf.cli.predict")
    except ImportError:
        return load_script("predict")


def shipped_size():
    """The shipped ferplus model's input side, from its record."""
    from dsan_tf.api import input_settings

    return input_settings("ferplus")["image_size"]


def is_grey(image):
    image = np.asarray(image)
    return bool((image == image[..., :1]).all())


@pytest.fixture(scope="module")
def grey_model():
    """A tiny untrained DSAN that records grayscale_input=True (as the shipped FERPlus model)."""
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    return build_dsan(len(CLASSES), SIZE, "dsan", class_names=CLASSES, grayscale_input=True, dtype="float32")


@pytest.fixture(scope="module")
def tiny(grey_model):
    from dsan_tf.api import FaceExpressionRecognizer

    return FaceExpressionRecognizer(grey_model, detector=FixedFaceDetector())


def colour_photo(size=96, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


# ---------------------------------------------------------------------- import stays light


def test_import_dsan_tf_does_not_load_tensorflow():
    code = ("import sys, dsan_tf; assert dsan_tf.predict and dsan_tf.FaceExpressionRecognizer and "
            "dsan_tf.predict_faces; import dsan_tf.realtime; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'mtcnn', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr
    import dsan_tf

    assert {"predict", "predict_faces", "FaceExpressionRecognizer"} <= set(dir(dsan_tf))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        dsan_tf.nonsense  # noqa: B018


# ---------------------------------------------------------------------- the shipped model, the real detector


@pytest.fixture(scope="module")
def cli_rows(tmp_path_factory):
    """``dsan predict ivan.jpg no-faces.jpg`` (the shipped model, its defaults), as JSON rows."""
    out = tmp_path_factory.mktemp("cli") / "rows.jsonl"
    code = predict_command().main([str(PHOTOS / "ivan.jpg"), str(PHOTOS / "no-faces.jpg"), "--output", str(out),
                                   "--no-progress"])
    assert code == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


@needs_photos
def test_predict_gives_what_the_predict_command_prints(cli_rows):
    import dsan_tf
    from PIL import Image

    ivan, empty = cli_rows
    assert ivan["label"] is not None and empty["note"] == "no face"
    faces = dsan_tf.predict(PHOTOS / "ivan.jpg")
    (face,) = faces
    assert set(face) >= {"box", "label", "probabilities"}
    assert face["label"] == ivan["label"]
    assert list(face["probabilities"]) == list(ivan["probabilities"])
    for name, p in ivan["probabilities"].items():  # the command rounds to 6 decimals
        assert face["probabilities"][name] == pytest.approx(p, abs=1.5e-6)
    assert all(isinstance(v, int) for v in face["box"]) and face["box"] == ivan["box"]  # one vocabulary
    assert face["source"] == ivan["source"] == str(PHOTOS / "ivan.jpg")
    # A PIL image, an array and a str path give the same answer (the recognizer is cached); only a path
    # has a source to name.
    unnamed = [{**face, "source": None}]
    with Image.open(PHOTOS / "ivan.jpg") as im:
        assert dsan_tf.predict(im) == unnamed
        assert dsan_tf.predict(np.asarray(im.convert("RGB"))) == unnamed
    assert dsan_tf.predict(str(PHOTOS / "ivan.jpg")) == faces
    assert dsan_tf.predict(PHOTOS / "no-faces.jpg") == []


@needs_photos
def test_the_predictor_greys_for_the_shipped_model_whoever_calls_it(cli_rows):
    """The trap of issue 23: the aligned colour face of ivan.jpg gave another answer than the grey one."""
    from dsan_tf import api
    from dsan_tf.inference import as_grey_rgb

    recognizer = api.recognizer()
    assert recognizer.grayscale and recognizer.image_size == shipped_size()
    (face,) = recognizer.detect(PHOTOS / "ivan.jpg")
    assert not is_grey(face.image)
    predictor = recognizer.predictor
    by_default = predictor.predict([face.image])
    np.testing.assert_allclose(by_default, predictor.predict([as_grey_rgb(face.image)], grayscale=False), atol=1e-6)
    np.testing.assert_allclose(by_default, predictor.predict([as_grey_rgb(face.image)]), atol=1e-6)  # twice: same
    colour = predictor.predict([face.image], grayscale=False)
    assert np.abs(colour - by_default).max() > 0.05  # the colour face really answers differently
    np.testing.assert_allclose(by_default[0], list(cli_rows[0]["probabilities"].values()), atol=1.5e-6)
    # predict_pixels greys too, and the already-cropped call answers as the photo call.
    np.testing.assert_allclose(predictor.predict_pixels(face.image[None].astype(np.float32)), by_default, atol=1e-6)
    (crop,) = recognizer.predict_faces(face.image)
    assert crop["probabilities"] == pytest.approx(dict(zip(recognizer.class_names, by_default[0])), abs=1e-6)


@needs_photos
def test_explain_photo_explains_the_predicted_face_and_says_no_face(cli_rows):
    from dsan_tf.explain import explain_photo, overlay_photo, photo_aligner
    from dsan_tf.inference import load_dsan

    model = load_dsan("ferplus")
    aligner = photo_aligner(model)
    result = explain_photo(model, PHOTOS / "ivan.jpg", aligner=aligner)
    (face,) = result.faces
    assert result.note == "" and face.label == cli_rows[0]["label"] and face.target == face.label
    assert face.probabilities == pytest.approx(cli_rows[0]["probabilities"], abs=1.5e-6)
    assert face.heatmap.shape == face.image.shape[:2] == (shipped_size(),) * 2 and is_grey(face.image)
    assert 0.0 <= face.heatmap.min() and face.heatmap.max() <= 1.0
    empty = explain_photo(model, PHOTOS / "no-faces.jpg", aligner=aligner)
    assert empty.faces == [] and empty.note == "no face"
    assert overlay_photo(PHOTOS / "ivan.jpg", result).shape == (561, 561, 3)


# ---------------------------------------------------------------------- plumbing on a tiny grey model


def test_inputs_are_taken_as_paths_pil_arrays_or_bytes_and_anything_else_is_named(tiny, tmp_path):
    from PIL import Image

    photo = colour_photo()
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    want = tiny.predict(photo)
    (face,) = want
    assert list(face["probabilities"]) == CLASSES and face["label"] in CLASSES
    assert face["box"] == [20, 25, 40, 50]  # the stand-in's box, in the photo's pixels
    assert face["source"] is None  # an array names no file
    named = [{**face, "source": str(path)}]
    assert tiny.predict(path) == tiny.predict(str(path)) == named and tiny.predict(path.read_bytes()) == want
    with Image.open(path) as im:
        assert tiny.predict(im) == want
    grey = photo[..., 0]
    assert tiny.predict(grey) == tiny.predict(np.repeat(grey[..., None], 3, axis=2))
    for bad, words in (([[1, 2], [3, 4]], "builtins.list"), (photo.astype(np.float32) / 255, "float32 array"),
                       (photo[..., :2], "shape (96, 96, 2)"), (tmp_path / "missing.jpg", "missing.jpg"),
                       (b"not an image", "not a readable image"), (None, "NoneType")):
        with pytest.raises(DataError, match="expected|image") as err:
            tiny.predict(bad)
        assert words in str(err.value)


def test_faces_of_a_batch_go_through_the_model_in_one_call(grey_model, monkeypatch):
    from dsan_tf.api import FaceExpressionRecognizer

    recognizer = FaceExpressionRecognizer(grey_model, detector=FixedFaceDetector())
    calls = []
    kind = type(recognizer.predictor)
    original = kind._predict_pixels

    def spy(self, pixels):
        calls.append(np.asarray(pixels).copy())
        return original(self, pixels)

    monkeypatch.setattr(kind, "_predict_pixels", spy)
    photos = [colour_photo(seed=i) for i in range(3)]
    batch = recognizer.predict_batch(photos)
    (pixels,) = calls  # three faces, one call, grey
    assert pixels.shape == (3, SIZE, SIZE, 3) and is_grey(pixels)
    for photo, faces in zip(photos, batch):
        (single,) = recognizer.predict(photo)
        assert faces[0]["label"] == single["label"]
        assert faces[0]["probabilities"] == pytest.approx(single["probabilities"], abs=1e-6)


def test_grey_handling_is_the_same_through_every_entry_point(grey_model, tiny, tmp_path):
    """Keras predictor, predict_image (the command's path), the API and a SavedModel predictor agree."""
    from dsan_tf.data.align import FaceAligner
    import tensorflow as tf

    from dsan_tf.api import encode_png
    from dsan_tf.export import convert_tflite, export_saved_model, grey_rgb
    from dsan_tf.inference import KerasPredictor, SavedModelPredictor, as_grey_rgb, predict_image

    photo = colour_photo()
    (face,) = tiny.detect(photo)
    keras_predictor = KerasPredictor(grey_model)
    want = keras_predictor.predict([as_grey_rgb(face.image)], grayscale=False)[0]
    assert np.abs(keras_predictor.predict([face.image], grayscale=False)[0] - want).max() > 1e-4

    aligner = FaceAligner(SIZE, detector=FixedFaceDetector())
    for grayscale in (None, True):
        rows, _ = predict_image(keras_predictor, aligner, photo, "photo", grayscale=grayscale)
        assert list(rows[0]["probabilities"].values()) == pytest.approx(want, abs=1e-6)
    rows, _ = predict_image(keras_predictor, aligner, photo, "photo", grayscale=False)  # --no-grayscale
    assert list(rows[0]["probabilities"].values()) != pytest.approx(want, abs=1e-4)
    assert list(tiny.predict(photo)[0]["probabilities"].values()) == pytest.approx(want, abs=1e-6)
    (crop,) = tiny.face_crops(photo)
    assert crop.image.shape == (SIZE, SIZE, 3) and is_grey(crop.image) and crop.box == face.box

    export_saved_model(grey_model, tmp_path / "served", 1, warmup_images=[])
    saved = SavedModelPredictor(tmp_path / "served")
    assert saved.grayscale_input and saved.image_size == SIZE
    np.testing.assert_allclose(saved.predict([face.image])[0], want, atol=1e-4)
    np.testing.assert_allclose(saved.predict_pixels(face.image[None].astype(np.float32))[0], want, atol=1e-4)
    # The signatures grey a colour crop themselves (a grey-trained model): raw colour in, the Keras answer out.
    loaded = tf.saved_model.load(str(tmp_path / "served" / "1"))
    raw = loaded.signatures["predict_pixels"](pixels=tf.constant(face.image[None].astype(np.float32)))
    np.testing.assert_allclose(raw["probabilities"].numpy()[0], want, atol=1e-5)
    raw = loaded.signatures["serving_default"](image_bytes=tf.constant([encode_png(face.image)]))
    np.testing.assert_allclose(raw["probabilities"].numpy()[0], want, atol=1e-5)
    grey_crop = as_grey_rgb(face.image)[None].astype(np.float32)  # greying twice changes nothing
    np.testing.assert_array_equal(grey_rgb(grey_crop).numpy(), grey_crop)
    np.testing.assert_array_equal(grey_rgb(face.image[None].astype(np.float32)).numpy(), grey_crop)
    # So does the TFLite model (input at the model's size: the aligned crop).
    from dsan_tf.litert import signature_runner

    runner = signature_runner(model_content=convert_tflite(grey_model))
    got = runner(pixels=face.image[None].astype(np.float32))["probabilities"][0]
    np.testing.assert_allclose(got, want, atol=1e-4)

    # A client of the served model (no model at hand): the recorded settings, the crops, PNG bytes.
    from dsan_tf.api import face_crops, input_settings

    settings = input_settings(tmp_path / "served")
    assert settings == input_settings(tmp_path / "served" / "1" / "assets" / "dsan_settings.json")
    assert settings == {"image_size": SIZE, "grayscale_input": True}
    (sent,) = face_crops(photo, settings["image_size"], settings["grayscale_input"], detector=FixedFaceDetector())
    np.testing.assert_array_equal(sent.image, crop.image)
    served = tf.saved_model.load(str(tmp_path / "served" / "1")).signatures["serving_default"]
    got = served(image_bytes=tf.constant([encode_png(sent.image)]))["probabilities"].numpy()[0]
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_predict_faces_takes_one_crop_or_many(tiny):
    crops = [colour_photo(40, seed=1), colour_photo(50, seed=2)]
    both = tiny.predict_faces(crops)
    assert [list(r) for r in both] == [["source", "box", "label", "probabilities"]] * 2  # the face vocabulary
    assert all(r["source"] is None and r["box"] is None for r in both)  # arrays, already cropped
    assert tiny.predict_faces(crops[0]) == both[:1]
    assert tiny.predict_faces(np.stack([crops[0], crops[0]])) == both[:1] * 2


def test_a_photo_without_a_face_gives_an_empty_list(grey_model):
    from dsan_tf.api import FaceExpressionRecognizer

    class NoFace:
        def detect_faces(self, image, **kwargs):
            return np.zeros((0, 16))

    recognizer = FaceExpressionRecognizer(grey_model, detector=NoFace())
    assert recognizer.predict(colour_photo()) == []
    assert recognizer.predict_batch([colour_photo(), colour_photo(seed=1)]) == [[], []]


@pytest.fixture
def counted_recognizers(grey_model, monkeypatch):
    """The arguments of every FaceExpressionRecognizer the API builds (each one the grey model with a stand-in
    detector); the API's cache is empty before and after."""
    from dsan_tf import api

    built = []

    class Counting(api.FaceExpressionRecognizer):
        def __init__(self, *args, **kwargs):
            built.append(args)
            super().__init__(grey_model, detector=FixedFaceDetector())

    monkeypatch.setattr(api, "FaceExpressionRecognizer", Counting)
    api.clear_cache()
    yield built
    api.clear_cache()


def test_module_level_predict_reuses_one_recognizer(counted_recognizers):
    from dsan_tf import api

    first = api.predict(colour_photo(), model="some-model")
    assert api.predict(colour_photo(), model="some-model") == first
    assert len(counted_recognizers) == 1
    api.predict(colour_photo(), model="some-model", min_confidence=0.5)
    assert len(counted_recognizers) == 2


def test_explain_photo_on_the_tiny_model_agrees_with_the_recognizer(grey_model, tiny):
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.explain import explain_crops, explain_photo

    photo = colour_photo()
    result = explain_photo(grey_model, photo, aligner=FaceAligner(SIZE, detector=FixedFaceDetector()))
    (face,) = result.faces
    (want,) = tiny.predict(photo)
    assert face.box == want["box"] and face.label == want["label"]
    assert face.probabilities == pytest.approx(want["probabilities"], abs=1e-5)
    assert is_grey(face.image) and face.heatmap.shape == (SIZE, SIZE)
    (colour,) = explain_crops(grey_model, [photo], grayscale=False)
    assert not is_grey(colour.image) and colour.box is None


def test_the_first_api_call_is_quiet_and_leaves_the_users_log_levels_alone(tmp_path):
    """`dsan_tf.predict_faces` in a fresh interpreter: no TensorFlow start-up lines on stderr (they are
    dropped while TensorFlow loads), while TF_CPP_MIN_LOG_LEVEL and TensorFlow's logger stay the user's;
    with DSAN_VERBOSE=1 the lines are there, so the test sees what it claims to hide."""
    from test_cli import NOISE, SAMPLE_FACE

    code = textwrap.dedent(f"""
        import logging, os
        import dsan_tf
        faces = dsan_tf.predict_faces({str(SAMPLE_FACE)!r})
        print(faces[0]["label"], os.environ.get("TF_CPP_MIN_LOG_LEVEL"), logging.getLogger("tensorflow").level)
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "DSAN_VERBOSE", "DSAN_DEBUG")}
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                           timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    label, level, logger_level = quiet.stdout.split()
    assert label in CLASSES_OF_FERPLUS and level == "None" and logger_level == "0"
    assert not [line for line in quiet.stderr.splitlines() if NOISE.search(line)], quiet.stderr
    loud = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**env, "DSAN_VERBOSE": "1"})
    assert loud.returncode == 0 and [line for line in loud.stderr.splitlines() if NOISE.search(line)], loud.stderr


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


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


def test_the_api_takes_the_same_align_sizes_as_the_flag():
    """api-align-size-minimum-16: align_size and image_size from 8 px (as --align-size), refused below."""
    from dsan_tf.api import check_options
    from dsan_tf.state_files import ArgumentError

    check_options(align_size=8, image_size=8)
    check_options(align_size=1024)
    for name in ("align_size", "image_size"):
        with pytest.raises(ArgumentError, match=rf"{name} must be in \[8, inf\], got 7"):
            check_options(**{name: 7})


# round 2 blind mutants (issue 34)


def test_input_settings_of_an_export_that_records_no_grey_setting_mean_colour(tmp_path):
    """r2-api-unrecorded-grey-means-grey: an export's settings without grayscale_input (a colour model, or an
    export older than the record) mean colour faces, as SavedModelPredictor reads them; the size is its own."""
    import json

    from dsan_tf.api import input_settings

    version = tmp_path / "served" / "3"
    (version / "assets").mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    settings = version / "assets" / "dsan_settings.json"
    settings.write_text(json.dumps({"image_size": 40}))
    assert input_settings(tmp_path / "served") == {"image_size": 40, "grayscale_input": False}
    settings.write_text(json.dumps({"image_size": 56, "grayscale_input": True}))
    assert input_settings(settings) == {"image_size": 56, "grayscale_input": True}


# ---------------------------------------------------------------------- lines its own tests never ran (issue 34)


def test_arrays_are_taken_as_rgb_grey_or_rgba_and_the_float_hint_is_only_for_floats():
    """to_rgb_image: H x W x 1 is grey in three channels; H x W x 4 drops alpha (channel order kept);
    a float array gets the scaling hint, an int32 one does not; an empty side is refused; ``what`` names it."""
    from dsan_tf.api import to_rgb_image

    rgba = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(to_rgb_image(rgba), rgba[..., :3])
    single = np.array([[[7], [9]]], np.uint8)  # 1 x 2 x 1
    np.testing.assert_array_equal(to_rgb_image(single), [[[7, 7, 7], [9, 9, 9]]])
    with pytest.raises(DataError, match=r"^face 2: got a float64 array .*\(scale 0..1 floats with"):
        to_rgb_image(np.zeros((4, 4, 3)), "face 2")
    with pytest.raises(DataError) as err:
        to_rgb_image(np.zeros((4, 4, 3), np.int32))
    assert str(err.value).startswith("image: got a int32 array") and "scale 0..1" not in str(err.value)
    with pytest.raises(DataError, match=r"shape \(0, 4, 3\)"):
        to_rgb_image(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(DataError, match=r"shape \(2, 2, 2, 3\)"):
        to_rgb_image(np.zeros((2, 2, 2, 3), np.uint8))


def test_face_crops_refuse_an_aligner_of_another_size_and_impossible_detector_settings():
    """face_crops with an aligner cropping 48 px asked for 32 px faces: ValueError naming both; its
    options are range-checked like the recognizer's; colour crops stay colour when grayscale is False."""
    from dsan_tf.api import face_crops
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.state_files import ArgumentError

    photo = colour_photo()
    with pytest.raises(ValueError, match="the aligner crops 48 px faces, not 32 px"):
        face_crops(photo, 32, True, aligner=FaceAligner(48, detector=FixedFaceDetector()))
    with pytest.raises(ArgumentError, match=r"min_confidence must be in \[0, 1\], got 1.5"):
        face_crops(photo, 32, True, min_confidence=1.5, detector=FixedFaceDetector())
    with pytest.raises(ArgumentError, match=r"image_size must be in \[8, inf\], got 4"):
        face_crops(photo, 4, True, detector=FixedFaceDetector())
    (colour,) = face_crops(photo, 32, False, detector=FixedFaceDetector())
    (grey,) = face_crops(photo, 32, True, detector=FixedFaceDetector())
    assert not is_grey(colour.image) and is_grey(grey.image) and colour.box == grey.box


def test_input_settings_refuse_a_record_without_image_size_or_a_damaged_one_and_read_a_shipped_name(tmp_path):
    """input_settings: {"grayscale_input": true} alone records no size (ModelLoadError naming the file);
    a record that is not JSON is a ModelLoadError; the shipped model's name reads its package record."""
    import json

    from dsan_tf import pretrained
    from dsan_tf.api import input_settings
    from dsan_tf.inference import ModelLoadError

    path = tmp_path / "dsan_settings.json"
    path.write_text(json.dumps({"grayscale_input": True}))
    with pytest.raises(ModelLoadError, match=rf"^{path}: records no image_size; export the model again$"):
        input_settings(path)
    path.write_text("{not json")
    with pytest.raises(ModelLoadError, match="dsan_settings.json"):
        input_settings(path)
    config = pretrained.metadata("ferplus")["config"]
    assert input_settings("ferplus") == {"image_size": int(config["image_size"]),
                                         "grayscale_input": bool(config.get("grayscale_input", False))}


def test_check_options_refuses_bools_floats_and_values_below_each_minimum():
    """Each integer option is named when it is a bool, a float or below its own minimum (min_face_size 1,
    max_detection_side the P-Net window 12, batch_size 1); None is allowed only where it means "default"."""
    from dsan_tf.api import check_options
    from dsan_tf.state_files import ArgumentError

    check_options(min_confidence=0, min_face_size=1, max_detection_side=12, batch_size=1)
    check_options(min_confidence=1, batch_size=np.int64(3))
    for kwargs, message in (({"min_face_size": True}, "min_face_size must be an integer, got True"),
                            ({"batch_size": 2.0}, "batch_size must be an integer, got 2.0"),
                            ({"batch_size": None}, "batch_size must be an integer, got None"),
                            ({"min_face_size": None}, "min_face_size must be an integer, got None"),
                            ({"min_face_size": 0}, r"min_face_size must be in \[1, inf\], got 0"),
                            ({"max_detection_side": 11}, r"max_detection_side must be in \[12, inf\], got 11"),
                            ({"batch_size": 0}, r"batch_size must be in \[1, inf\], got 0"),
                            ({"min_confidence": -0.1}, r"min_confidence must be in \[0, 1\], got -0.1")):
        with pytest.raises(ArgumentError, match=f"^{message}$"):
            check_options(**kwargs)


def test_load_model_returns_a_predictor_as_is_and_names_what_it_cannot_take(grey_model):
    """load_model: a Predictor comes back itself; a DSAN becomes a KerasPredictor of its classes; a
    Keras model that is not a DSAN, a number: ModelLoadError naming the type; a recognizer of an object is
    built each time (only names and paths are cached)."""
    from dsan_tf import api
    from dsan_tf.inference import KerasPredictor, ModelLoadError

    stub = _StubPredictor(48)
    assert api.load_model(stub) is stub
    keras_predictor = api.load_model(grey_model)
    assert isinstance(keras_predictor, KerasPredictor) and keras_predictor.class_names == CLASSES

    class KerasLike:  # has a Keras model's attributes, is no DSAN
        settings, class_names = {}, []

    for thing, name in ((KerasLike(), "KerasLike"), (3, "int")):
        with pytest.raises(ModelLoadError, match=rf"^model: got a {name}; expected a shipped model's name"):
            api.load_model(thing)
    assert api.recognizer(stub) is not api.recognizer(stub)
    assert api.recognizer(stub).predictor is stub


def test_the_recognizer_names_its_model_size_and_classes_and_many_photos_are_numbered_in_errors(tiny):
    """__repr__ lists the model, crop size, grey setting and classes; in a batch of photos a bad one is
    "image 1" (its index), a single bad photo is "image"; rows() gives the same dicts as predict."""
    assert repr(tiny) == (f"FaceExpressionRecognizer(model='<in memory>', image_size={SIZE}, grayscale=True, "
                          f"classes={CLASSES})")
    photo = colour_photo()
    with pytest.raises(DataError, match=r"^image 1: got a builtins.list"):
        tiny.predict_batch([photo, [1, 2]])
    with pytest.raises(DataError, match=r"^image: got a builtins.list"):
        tiny.predict_batch([[1, 2]])
    faces = tiny.detect(photo)
    rows = tiny.rows(faces, tiny.classify([f.image for f in faces]), photo.shape, "p.png")
    assert rows == [{**tiny.predict(photo)[0], "source": "p.png"}]
    assert rows[0]["detection_confidence"] == 0.99  # the stand-in detector's confidence, rounded to 4 places


def test_module_level_predict_faces_and_a_savedmodel_folder_given_as_the_model(tmp_path):
    """dsan_tf.predict_faces with a Predictor: its answer (the stub's [0.25, 0.75]) per crop, no box; a path
    to a folder holding saved_model.pb (or its serving base folder) loads as a SavedModelPredictor."""
    from test_predict import _stub_savedmodel

    from dsan_tf import api
    from dsan_tf.inference import SavedModelPredictor

    (row,) = api.predict_faces(colour_photo(20), model=_StubPredictor(48))
    assert row == {"source": None, "box": None, "label": "b", "probabilities": {"a": 0.25, "b": 0.75}}
    _stub_savedmodel(tmp_path / "served" / "7", labels=["dark", "bright"])
    for path in (tmp_path / "served" / "7", tmp_path / "served", str(tmp_path / "served")):
        predictor = api.load_model(path)
        assert isinstance(predictor, SavedModelPredictor) and predictor.class_names == ["dark", "bright"]
        assert predictor.source == str(tmp_path / "served" / "7")


# ---- round 3 blind mutants (issue 34)


def test_predict_batch_gives_each_photo_its_own_faces_whatever_their_number():
    """r3-api-batch-offset-per-photo: photos with 0, 2 and 1 faces are classified together; each face's
    probabilities are its own crop's. The stand-in model answers [1 - m, m] for a crop of mean brightness
    m/255, and the stand-in aligner returns no face (photo 0), crops of brightness 51 and 102 (photo 1) and
    204 (photo 2): a count of one row per photo instead of one per face shifts every later answer."""
    from types import SimpleNamespace

    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.data.align import AlignedFace
    from dsan_tf.inference import Predictor

    class Mean(Predictor):
        class_names = ["dark", "bright"]
        source, image_size = "stub", 8

        def _predict_pixels(self, pixels):
            mean = np.asarray(pixels, np.float64).reshape(len(pixels), -1).mean(axis=1) / 255
            return np.stack([1 - mean, mean], axis=1).astype(np.float32)

    def face(level, x):
        return AlignedFace(box=(x, 2, 6, 8), landmarks=np.zeros((5, 2), np.float32), confidence=0.99,
                           image=np.full((8, 8, 3), level, np.uint8), matrix=np.eye(2, 3))

    per_photo = {10: [face(51, 1), face(102, 4)], 20: [], 30: [face(204, 3)]}  # keyed by the photo's width
    recognizer = FaceExpressionRecognizer(Mean())
    recognizer.aligner = SimpleNamespace(align=lambda image: per_photo[image.shape[1]], output_size=8)
    photos = [np.zeros((16, width, 3), np.uint8) for width in (20, 10, 30)]
    none, two, one = recognizer.predict_batch(photos)
    assert none == [] and len(two) == 2 and len(one) == 1
    brightness = [round(f["probabilities"]["bright"] * 255) for f in two + one]
    assert brightness == [51, 102, 204]
    assert [f["box"] for f in two + one] == [[1, 2, 6, 8], [4, 2, 6, 8], [3, 2, 6, 8]]


# ---- round 5 blind mutants (issue 34)


def test_the_grayscale_argument_overrides_what_the_model_records():
    """r5-api-forced-grayscale-ignored: grayscale=True greys the faces of a colour model and grayscale=False
    keeps the colour of a grey-trained one (the recognizer's documented override), whatever the record says.
    A pure red crop (255, 0, 0) greys to round(0.299 * 255) = 76 in each channel (BT.601, by hand)."""
    from dsan_tf.api import FaceExpressionRecognizer

    def spy(grey_record):
        stub = _StubPredictor(8)
        seen = []
        answer = stub._predict_pixels
        stub._predict_pixels = lambda pixels: (seen.append(np.asarray(pixels)), answer(pixels))[1]
        stub.grayscale_input = grey_record
        return stub, seen

    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    for grey_record, grayscale, want in ((False, True, (76, 76, 76)), (True, False, (255, 0, 0)),
                                         (True, None, (76, 76, 76)), (False, None, (255, 0, 0))):
        stub, seen = spy(grey_record)
        recognizer = FaceExpressionRecognizer(stub, grayscale=grayscale)
        assert recognizer.grayscale == (want[1] == 76)
        recognizer.predict_faces(red)
        (pixels,) = seen
        np.testing.assert_array_equal(pixels.reshape(-1, 3), np.tile(want, (64, 1)))


# ---- round 8 blind mutants (issue 34)


def test_face_crops_refuse_an_aligner_cropping_smaller_faces_too():
    """r8-api-aligner-size-mismatch-accepted: an aligner of 16 px crops asked for 32 px faces is refused as one
    of 48 px is (the check is inequality, not 'too large'); one of 32 px is taken."""
    from dsan_tf.api import face_crops
    from dsan_tf.data.align import FaceAligner

    photo = colour_photo()
    with pytest.raises(ValueError, match="the aligner crops 16 px faces, not 32 px"):
        face_crops(photo, 32, False, aligner=FaceAligner(16, detector=FixedFaceDetector()))
    (face,) = face_crops(photo, 32, False, aligner=FaceAligner(32, detector=FixedFaceDetector()))
    assert face.image.shape == (32, 32, 3)


def test_the_recognizer_passes_max_detection_side_to_its_aligner():
    """r8-api-max-detection-side-ignored: FaceExpressionRecognizer(max_detection_side=400) detects on a copy
    whose longer side is 400 px (the documented option); without it, the aligner's 1600 px default."""
    from dsan_tf.api import FaceExpressionRecognizer

    assert FaceExpressionRecognizer(_StubPredictor(48), max_detection_side=400).aligner.max_detection_side == 400
    assert FaceExpressionRecognizer(_StubPredictor(48)).aligner.max_detection_side == 1600


# ---- round 9 blind mutants (issue 34)


def test_the_recognizer_passes_largest_only_to_its_aligner():
    """r9-api-largest-only-not-passed: FaceExpressionRecognizer(largest_only=True) keeps only the largest face
    of each photo (its aligner's largest_only, the documented MTCNN setting); the default keeps every face."""
    from dsan_tf.api import FaceExpressionRecognizer

    assert FaceExpressionRecognizer(_StubPredictor(48), largest_only=True).aligner.largest_only is True
    assert FaceExpressionRecognizer(_StubPredictor(48)).aligner.largest_only is False


def test_the_recognizers_face_crops_are_at_its_align_size_not_the_models():
    """r9-api-face-crops-at-model-size: a recognizer built with align_size=32 for a model recording 48 px
    gives 32 x 32 crops from face_crops (the size its aligner crops), not a refusal or 48 px crops."""
    from dsan_tf.api import FaceExpressionRecognizer

    recognizer = FaceExpressionRecognizer(_StubPredictor(48), align_size=32, detector=FixedFaceDetector())
    (face,) = recognizer.face_crops(colour_photo())
    assert face.image.shape == (32, 32, 3)


def test_input_settings_refuse_a_recorded_image_size_of_zero(tmp_path):
    """r9-api-settings-zero-size-accepted: a record saying "image_size": 0 records no usable size: the same
    ModelLoadError as a record without the key, not a size of 0 for the face crops."""
    import json

    from dsan_tf.api import input_settings
    from dsan_tf.inference import ModelLoadError

    path = tmp_path / "dsan_settings.json"
    path.write_text(json.dumps({"image_size": 0, "grayscale_input": True}))
    with pytest.raises(ModelLoadError, match=rf"^{path}: records no image_size; export the model again$"):
        input_settings(path)


# ---- issue 34: line-by-line sweep (dsan_tf/api.py)


def _png_bytes(array):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_encoded_bytes_are_taken_as_bytes_bytearray_or_memoryview_and_bad_ones_are_named():
    """Encoded PNG bytes in any of Python's three byte types decode to the same 20 x 30 photo; undecodable
    bytes are named by ``what`` when given ("face 3"), else "<image bytes>"."""
    from dsan_tf.api import to_rgb_image

    photo = np.random.default_rng(7).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    data = _png_bytes(photo)
    for given in (data, bytearray(data), memoryview(data)):
        np.testing.assert_array_equal(to_rgb_image(given), photo)
    with pytest.raises(DataError, match=r"^face 3: not a readable image"):
        to_rgb_image(b"junk", "face 3")
    with pytest.raises(DataError, match=r"^<image bytes>: not a readable image"):
        to_rgb_image(b"junk")


def test_a_pil_image_is_turned_upright_by_its_exif_orientation():
    """A 20 x 30 PIL image whose EXIF says orientation 6 (rotate 90 degrees clockwise to view) comes back
    30 x 20, the array rotated clockwise with NumPy (as a path to the same file is)."""
    import io

    from PIL import Image

    from dsan_tf.api import to_rgb_image

    photo = np.random.default_rng(8).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    image = Image.fromarray(photo)
    exif = image.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", exif=exif)
    with Image.open(io.BytesIO(buffer.getvalue())) as rotated:
        got = to_rgb_image(rotated)
    np.testing.assert_array_equal(got, np.rot90(photo, k=-1))
    np.testing.assert_array_equal(to_rgb_image(buffer.getvalue()), got)


def test_an_array_with_no_column_is_refused_as_one_with_no_row():
    from dsan_tf.api import to_rgb_image

    for shape in ((4, 0, 3), (4, 0), (0, 0, 3)):
        with pytest.raises(DataError, match=rf"got a uint8 array of shape \({shape[0]}, 0"):
            to_rgb_image(np.zeros(shape, np.uint8))


class _TwoSizesDetector:
    """Two faces: FixedFaceDetector's (40 x 50) and, listed first, a smaller one (20 x 24) to its right."""

    def detect_faces(self, image, **kwargs):
        big = FixedFaceDetector().detect_faces(image)[0]
        small = np.array([0, 66.0, 30.0, 86.0, 54.0, 0.97, 70, 82, 76, 71, 81, 38, 38, 43, 48, 48])
        return np.stack([small, big])


def test_face_crops_pass_largest_only_on_and_check_every_detector_option():
    """face_crops(largest_only=True) keeps the larger face only; without it both, largest first; min_face_size
    and max_detection_side are range-checked (as the recognizer's) before any detection."""
    from dsan_tf.api import face_crops
    from dsan_tf.state_files import ArgumentError

    photo = colour_photo()
    both = face_crops(photo, 16, False, detector=_TwoSizesDetector())
    assert [tuple(round(v) for v in f.box) for f in both] == [(20, 25, 40, 50), (66, 30, 20, 24)]
    (only,) = face_crops(photo, 16, False, largest_only=True, detector=_TwoSizesDetector())
    assert tuple(round(v) for v in only.box) == (20, 25, 40, 50)
    for options, message in (({"min_face_size": 0}, r"min_face_size must be in \[1, inf\], got 0"),
                             ({"max_detection_side": 5}, r"max_detection_side must be in \[12, inf\], got 5")):
        with pytest.raises(ArgumentError, match=message):
            face_crops(photo, 16, False, detector=_TwoSizesDetector(), **options)


def test_encode_png_is_lossless_and_keeps_width_and_height():
    from PIL import Image
    import io

    from dsan_tf.api import encode_png

    crop = np.random.default_rng(9).integers(0, 256, (7, 11, 3), dtype=np.uint8)
    data = encode_png(crop)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), crop)


@pytest.mark.parametrize("options, message", [
    ({"min_confidence": 1.5}, r"min_confidence must be in \[0, 1\], got 1.5"),
    ({"min_face_size": 0}, r"min_face_size must be in \[1, inf\], got 0"),
    ({"align_size": 4}, r"align_size must be in \[8, inf\], got 4"),
    ({"max_detection_side": 5}, r"max_detection_side must be in \[12, inf\], got 5"),
    ({"batch_size": 0}, r"batch_size must be in \[1, inf\], got 0"),
])
def test_the_recognizer_refuses_each_option_out_of_its_range(options, message):
    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.state_files import ArgumentError

    with pytest.raises(ArgumentError, match=f"^{message}$"):
        FaceExpressionRecognizer(_StubPredictor(48), **options)


def test_the_recognizer_passes_its_detector_options_and_batch_size_on():
    """min_confidence and min_face_size are its aligner's (defaults 0.9 and 20); batch_size 2 sends five
    crops to the model as 2, 2 and 1; class_names is a copy (changing it changes no answer's names)."""
    from dsan_tf.api import FaceExpressionRecognizer

    recognizer = FaceExpressionRecognizer(_StubPredictor(48), min_confidence=0.6, min_face_size=31, batch_size=2)
    assert (recognizer.aligner.min_confidence, recognizer.aligner.min_face_size) == (0.6, 31)
    default = FaceExpressionRecognizer(_StubPredictor(48))
    assert (default.aligner.min_confidence, default.aligner.min_face_size, default.batch_size) == (0.9, 20, 32)
    calls = []
    answer = recognizer.predictor._predict_pixels
    recognizer.predictor._predict_pixels = lambda pixels: (calls.append(len(pixels)), answer(pixels))[1]
    recognizer.classify([np.zeros((8, 8, 3), np.uint8)] * 5)
    assert calls == [2, 2, 1]
    recognizer.class_names.append("c")
    assert recognizer.class_names == ["a", "b"]


def test_predict_batch_names_each_photos_source_and_clips_each_box_to_its_own_photo(tiny, tmp_path):
    """A path, an array and a str path in one batch: sources the path as given, None, the str; the stand-in's
    box (x 20..60) is clipped to a 50 px wide photo (w 30) and left whole in a 96 px one."""
    from PIL import Image

    first, last = tmp_path / "one.png", tmp_path / "three.png"
    Image.fromarray(colour_photo(seed=1)).save(first)
    Image.fromarray(colour_photo(seed=3)).save(last)
    narrow = np.random.default_rng(2).integers(0, 256, (100, 50, 3), dtype=np.uint8)
    faces = tiny.predict_batch([first, narrow, str(last)])
    assert [f[0]["source"] for f in faces] == [str(first), None, str(last)]
    assert [f[0]["box"] for f in faces] == [[20, 25, 40, 50], [20, 25, 30, 50], [20, 25, 40, 50]]


def test_predict_faces_takes_one_path_bytes_or_pil_image_as_one_crop_and_names_a_bad_one_by_index(tiny, tmp_path):
    """A single str path, Path, PNG bytes or PIL image is one crop (not a sequence of characters, bytes or
    rows); the source is the path as given; in a list, a bad crop is "face <index>"."""
    from PIL import Image

    crop = colour_photo(40, seed=4)
    path = tmp_path / "face crop.png"
    Image.fromarray(crop).save(path)
    (want,) = tiny.predict_faces([crop])
    for given, source in ((path, str(path)), (str(path), str(path)), (path.read_bytes(), None)):
        assert tiny.predict_faces(given) == [{**want, "source": source}]
    with Image.open(path) as im:
        assert tiny.predict_faces(im) == [want]
    with pytest.raises(DataError, match=r"^face 1: got a float32 array"):
        tiny.predict_faces([crop, crop.astype(np.float32)])


def test_module_level_predict_faces_passes_its_options_on():
    """dsan_tf.predict_faces(..., grayscale=True) greys a colour crop for a colour model (the option reaches the
    recognizer): a pure red crop reaches the model as 76, 76, 76 (BT.601, by hand)."""
    from dsan_tf import api

    stub = _StubPredictor(8)
    seen = []
    answer = stub._predict_pixels
    stub._predict_pixels = lambda pixels: (seen.append(np.asarray(pixels)), answer(pixels))[1]
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    api.predict_faces(red, model=stub, grayscale=True)
    np.testing.assert_array_equal(seen[-1].reshape(-1, 3), np.tile([76, 76, 76], (64, 1)))
    api.predict_faces(red, model=stub)
    np.testing.assert_array_equal(seen[-1].reshape(-1, 3), np.tile([255, 0, 0], (64, 1)))


def test_a_model_path_and_its_str_share_one_cached_recognizer(counted_recognizers, tmp_path):
    from dsan_tf import api

    assert api.recognizer(tmp_path / "m.keras") is api.recognizer(str(tmp_path / "m.keras"))
    assert len(counted_recognizers) == 1
    api.clear_cache()
    api.recognizer(tmp_path / "m.keras")
    assert len(counted_recognizers) == 2  # cleared: built again


def test_load_model_takes_a_keras_file_by_path_or_str_and_names_a_folder_that_is_no_savedmodel(grey_model, tmp_path):
    from dsan_tf import api
    from dsan_tf.inference import KerasPredictor, ModelLoadError

    path = tmp_path / "tiny grey.keras"
    grey_model.save(path)
    for given in (path, str(path)):
        predictor = api.load_model(given)
        assert isinstance(predictor, KerasPredictor) and predictor.source == str(path)
        assert predictor.class_names == CLASSES and predictor.image_size == SIZE and predictor.grayscale_input
    with pytest.raises(ModelLoadError, match=rf"^{tmp_path}: is a directory; expected a .keras file"):
        api.load_model(tmp_path)


def test_the_recognizer_gives_the_detectors_confidence_to_four_places():
    """A face detected with confidence 0.987654: detection_confidence 0.9877 (four places, as dsan predict),
    not 0.99 (the stand-in's usual 0.99 cannot tell two places from four)."""
    from dsan_tf.api import FaceExpressionRecognizer

    class Unsure(FixedFaceDetector):
        def detect_faces(self, image, **kwargs):
            rows = super().detect_faces(image, **kwargs)
            rows[0, 5] = 0.987654  # the confidence column of mtcnn's row
            return rows

    recognizer = FaceExpressionRecognizer(_StubPredictor(16), detector=Unsure())
    (face,) = recognizer.predict(colour_photo())
    assert face["detection_confidence"] == 0.9877
