"""experiments/predict.py: MTCNN + DSAN on raw photos and videos, JSON/CSV rows, annotations, bad input.

The model is a small untrained DSAN (48x48 input): these tests check the plumbing (one
row per face, the no-face row, frame indexing, the two model formats agreeing), not
the expression labels.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script, refuse_walking_into

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "photos"
needs_photos = pytest.mark.skipif(
    not (PHOTOS / "ivan.jpg").is_file() or not (PHOTOS / "no-faces.jpg").is_file(),
    reason=f"shared photos not found at {PHOTOS} (ivan.jpg, no-faces.jpg live beside the repo)")
CLASSES = ["negative", "neutral", "positive"]
SIZE = 48


@pytest.fixture(scope="module")
def predict():
    return load_script("predict")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    model = build_dsan(len(CLASSES), SIZE, "dsan", class_names=CLASSES, dtype="float32")
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


def run(predict, capsys, args):
    try:
        code = predict.main(args + ["--no-progress"])
    except SystemExit as stop:  # refused by a flag's validator (argparse)
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_face_row(row):
    assert row["face"] == 0 and row["note"] == ""
    assert row["label"] in CLASSES
    assert list(row["probabilities"]) == CLASSES
    p = np.array(list(row["probabilities"].values()))
    assert abs(p.sum() - 1.0) < 1e-4 and row["label"] == CLASSES[int(p.argmax())]
    assert row["probability"] == pytest.approx(p.max(), abs=1e-6)
    x, y, w, h = row["box"]
    assert w > 20 and h > 20 and x >= 0 and y >= 0


@needs_photos
def test_one_face_and_no_face_as_json_lines_with_annotations(predict, model_file, tmp_path, capsys):
    code, out, err = run(predict, capsys, ["--weights", str(model_file), str(PHOTOS / "ivan.jpg"),
                                           str(PHOTOS / "no-faces.jpg"), "--annotate", str(tmp_path / "ann")])
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["source"]).name for r in rows] == ["ivan.jpg", "no-faces.jpg"]
    ivan, empty = rows
    check_face_row(ivan)
    assert ivan["frame"] is None
    # ivan.jpg is 561x561 with his face near (300, 120).
    x, y, w, h = ivan["box"]
    assert 230 < x + w / 2 < 370 and 60 < y + h / 2 < 180
    assert empty["face"] is None and empty["label"] is None and empty["box"] is None
    assert empty["probabilities"] is None and empty["note"] == "no face"
    assert "1 faces, 1 without a face" in err
    from PIL import Image

    for name in ("ivan", "no-faces"):
        annotated = tmp_path / "ann" / f"{name}.jpg"
        with Image.open(annotated) as im, Image.open(PHOTOS / f"{name}.jpg") as original:
            assert im.size == original.size
    # The box is drawn: green pixels appear on the box edge of the annotated photo.
    with Image.open(tmp_path / "ann" / "ivan.jpg") as im:
        pixels = np.asarray(im.convert("RGB")).astype(int)
    edge = pixels[int(y + h / 2), int(round(x)) - 1:int(round(x)) + 2]
    assert (edge[:, 1] > 180).any() and (edge[:, 0] < 120).all()


@needs_photos
def test_csv_through_savedmodel_matches_keras(predict, model_file, tmp_path, capsys):
    """The SavedModel export and the .keras file give the same probabilities for the same face."""
    from dsan_tf.export import export_saved_model
    from dsan_tf.inference import load_dsan

    export_saved_model(load_dsan(model_file), tmp_path / "served", 1, warmup_images=[])
    rows = {}
    for flag, target in (("--weights", model_file), ("--savedmodel", tmp_path / "served")):
        out_file = tmp_path / f"{flag[2:]}.csv"
        code, _, err = run(predict, capsys, [flag, str(target), str(PHOTOS / "ivan.jpg"), str(PHOTOS / "no-faces.jpg"),
                                             "--format", "csv", "--output", str(out_file), "--align-size", str(SIZE)])
        assert code == 0, err
        with open(out_file, newline="") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames[:11] == ["source", "frame", "time_s", "face", "box_x", "box_y", "box_w", "box_h",
                                              "detection_confidence", "label", "probability"]
            assert reader.fieldnames[11:] == [f"p_{c}" for c in CLASSES] + ["note"]
            rows[flag] = list(reader)
    keras_rows, saved_rows = rows["--weights"], rows["--savedmodel"]
    assert len(keras_rows) == len(saved_rows) == 2
    assert saved_rows[1]["label"] == "" and saved_rows[1]["note"] == "no face" and saved_rows[1]["box_x"] == ""
    assert keras_rows[0]["label"] == saved_rows[0]["label"]
    for c in CLASSES:
        assert float(keras_rows[0][f"p_{c}"]) == pytest.approx(float(saved_rows[0][f"p_{c}"]), abs=1e-4)


def write_video(path, frames, fps=10.0):
    import cv2

    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_video_frames_by_stride_without_faces(predict, model_file, tmp_path, capsys):
    rng = np.random.default_rng(0)
    frames = [np.full((64, 80, 3), 40 * i % 255, np.uint8) + rng.integers(0, 20, (64, 80, 3), dtype=np.uint8)
              for i in range(7)]
    video = tmp_path / "clips" / "clip.avi"
    video.parent.mkdir()
    write_video(video, frames, fps=10.0)

    code, out, err = run(predict, capsys, ["--weights", str(model_file), str(video), "--frame-stride", "3",
                                           "--annotate", str(tmp_path / "ann")])
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["frame"] for r in rows] == [0, 3, 6]
    assert [r["time_s"] for r in rows] == [0.0, 0.3, 0.6]
    assert all(r["face"] is None and r["note"] == "no face" and r["source"] == str(video) for r in rows)
    assert sorted(p.name for p in (tmp_path / "ann" / "clip").iterdir()) == [
        "frame_000000.jpg", "frame_000003.jpg", "frame_000006.jpg"]
    assert "0 images and 3 video frames" in err

    # A folder input finds the video; --max-frames caps the frames per video.
    code, out, err = run(predict, capsys, ["--weights", str(model_file), str(tmp_path / "clips"),
                                           "--frame-stride", "2", "--max-frames", "2"])
    assert code == 0, err
    assert [json.loads(line)["frame"] for line in out.splitlines()] == [0, 2]


def test_iter_video_frames_reads_every_stride_th_frame(tmp_path):
    from dsan_tf.inference import iter_video_frames

    frames = [np.full((32, 32, 3), 30 * i, np.uint8) for i in range(8)]
    write_video(tmp_path / "v.avi", frames)
    got = list(iter_video_frames(tmp_path / "v.avi", stride=3))
    assert [i for i, _, _ in got] == [0, 3, 6]
    for i, fps, image in got:
        assert fps == pytest.approx(10.0) and image.shape == (32, 32, 3)
        assert abs(float(image.mean()) - 30 * i) < 6  # the right frame, RGB after MJPEG


def test_iter_video_frames_reports_a_truncated_video(tmp_path):
    """The header says 30 frames, half the file is gone: the status says so; a whole file has no note."""
    from dsan_tf.inference import iter_video_frames

    write_video(tmp_path / "v.avi", [np.full((32, 48, 3), 8 * i, np.uint8) for i in range(30)])
    data = (tmp_path / "v.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) // 2])
    status = {}
    got = list(iter_video_frames(tmp_path / "cut.avi", stride=2, status=status))
    assert status["expected_frames"] == 30 and 0 < status["read"] < 30 and len(got) == (status["read"] + 1) // 2
    assert status["note"] == (f"{tmp_path / 'cut.avi'}: truncated or damaged: its header says 30 frames, only "
                              f"{status['read']} could be decoded")
    for max_frames in (None, 3):
        status = {}
        assert len(list(iter_video_frames(tmp_path / "v.avi", max_frames=max_frames, status=status))) == (max_frames
                                                                                                          or 30)
        assert status["note"] == ""


def test_bad_inputs_give_one_line_errors(predict, model_file, tmp_path, capsys):
    import keras

    missing = tmp_path / "nowhere.jpg"
    code, _, err = run(predict, capsys, ["--weights", str(model_file), str(missing)])
    assert code == 2 and str(missing) in err and "no such file" in err and "Traceback" not in err

    broken = tmp_path / "broken.jpg"
    broken.write_text("this is not a JPEG")
    code, out, err = run(predict, capsys, ["--weights", str(model_file), str(broken)])
    assert code == 2 and str(broken) in err and "not a readable image" in err
    code, out, err = run(predict, capsys, ["--weights", str(model_file), str(broken), "--skip-unreadable"])
    assert code == 0
    row = json.loads(out)
    assert row["label"] is None and row["note"].startswith("unreadable:") and str(broken) in row["note"]

    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="not_dsan")
    other_file = tmp_path / "other.keras"
    other.save(other_file)
    code, _, err = run(predict, capsys, ["--weights", str(other_file), str(broken)])
    assert code == 2 and str(other_file) in err and "not a dsan_tf DSAN model" in err

    fake = tmp_path / "fake.keras"
    fake.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    code, _, err = run(predict, capsys, ["--weights", str(fake), str(broken)])
    assert code == 2 and str(fake) in err and "HDF5" in err

    code, _, err = run(predict, capsys, ["--savedmodel", str(tmp_path), str(broken)])
    assert code == 2 and "not a SavedModel directory" in err

    video = tmp_path / "empty.avi"
    video.write_bytes(b"")
    code, _, err = run(predict, capsys, ["--weights", str(model_file), str(video)])
    assert code == 2 and str(video) in err and "not a video" in err

    with pytest.raises(SystemExit) as exit_info:
        predict.parse_args(["--weights", str(model_file), "--savedmodel", str(tmp_path), str(broken)])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        predict.parse_args(["--weights", str(model_file), str(broken), "--frame-stride", "0"])
    capsys.readouterr()


def test_grey_faces_are_bt601_luminance_in_three_channels():
    from dsan_tf.inference import as_grey_rgb

    image = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]], np.uint8)
    grey = as_grey_rgb(image)
    assert grey.shape == (2, 2, 3) and grey.dtype == np.uint8
    assert (grey == grey[..., :1]).all()
    np.testing.assert_array_equal(grey[..., 0], [[76, 150], [29, 18]])  # 0.299*10+0.587*20+0.114*30 = 18.15


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


def mean_model():
    """A stub predictor whose answer is the crop's mean brightness: [1 - mean, mean] (mean in 0..1)."""
    from dsan_tf.inference import Predictor

    class MeanModel(Predictor):
        class_names = ["dark", "bright"]
        source, image_size = "stub", None

        def _predict_pixels(self, pixels):
            mean = np.asarray(pixels, np.float64).reshape(len(pixels), -1).mean(axis=1) / 255
            return np.stack([1 - mean, mean], axis=1).astype(np.float32)

    return MeanModel()


def test_crops_of_one_height_and_different_widths_are_batched_apart():
    """inference-batches-grouped-by-height-only: 40x30 and 40x50 crops cannot share a batch; each face's
    answer is its own (the stub model answers the crop's mean brightness, computed here with NumPy)."""
    rng = np.random.default_rng(3)
    crops = [rng.integers(0, 256, (40, w, 3), dtype=np.uint8) for w in (30, 50, 30, 64)]
    got = mean_model().predict(crops, batch_size=2, grayscale=False)
    means = np.array([c.astype(np.float64).mean() / 255 for c in crops])
    np.testing.assert_allclose(got, np.stack([1 - means, means], axis=1), atol=1e-6)


def test_an_rgba_crop_is_classified_as_its_rgb_and_an_input_named_twice_is_read_once(tmp_path):
    """inference-rgba-crop-refused, inference-inputs-listed-twice: the alpha channel is dropped (the stub model
    answers the crop's mean, so alpha 0 or 255 would change it); a photo named and also inside a named folder is
    one input."""
    from PIL import Image

    from dsan_tf.inference import collect_inputs

    rgb = np.random.default_rng(4).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.zeros((20, 30, 1), np.uint8)], axis=2)
    mean = rgb.astype(np.float64).mean() / 255
    np.testing.assert_allclose(mean_model().predict([rgba], grayscale=False), [[1 - mean, mean]], atol=1e-6)

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(rgb).save(folder / name)
    found = collect_inputs([folder / "a.png", folder, folder / "a.png"])
    assert [(f.name, root) for f, root in found] == [("a.png", folder), ("b.png", folder)]


# round 2 blind mutants (issue 34)


def test_a_serving_base_folder_resolves_to_its_highest_numbered_version(tmp_path):
    """r2-inference-lowest-savedmodel-version: TF Serving serves the highest version, so --savedmodel BASE
    must too; numbers compare as numbers (10 after 9), and a number without saved_model.pb or a non-numbered
    folder is no version."""
    from dsan_tf.inference import ModelLoadError, resolve_savedmodel_dir

    base = tmp_path / "served"
    for name in ("2", "10", "9", "1"):
        (base / name).mkdir(parents=True)
        (base / name / "saved_model.pb").write_bytes(b"")
    (base / "11").mkdir()  # an export still being written: no saved_model.pb yet
    (base / "latest").mkdir()
    (base / "latest" / "saved_model.pb").write_bytes(b"")
    assert resolve_savedmodel_dir(base) == base / "10"
    assert resolve_savedmodel_dir(base / "9") == base / "9"  # a version folder is itself
    with pytest.raises(ModelLoadError, match="no saved_model.pb"):
        resolve_savedmodel_dir(base / "11")


def test_predict_pixels_greys_to_the_integer_levels_of_bt601():
    """r2-inference-grey-pixels-unrounded: float pixels greyed for a grey-trained model reach the model as the
    integer BT.601 levels as_grey_rgb gives uint8 faces (and the training data has), not fractions."""
    from dsan_tf.inference import Predictor

    seen = []

    class Spy(Predictor):
        class_names = ["a", "b"]
        source, image_size, grayscale_input = "stub", None, True

        def _predict_pixels(self, pixels):
            seen.append(np.asarray(pixels, np.float64))
            return np.full((len(pixels), 2), 0.5, np.float32)

    pixels = np.random.default_rng(5).uniform(0, 255, (2, 7, 11, 3)).astype(np.float32)
    Spy().predict_pixels(pixels)
    r, g, b = (pixels[..., i].astype(np.float64) for i in range(3))
    want = np.rint(0.299 * r + 0.587 * g + 0.114 * b)
    np.testing.assert_array_equal(seen[0], np.repeat(want[..., None], 3, axis=-1))
    Spy().predict_pixels(pixels, grayscale=False)  # the override: colour, untouched
    np.testing.assert_array_equal(seen[1], pixels)


def _photo(path, height=90, width=120, seed=0):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def aligner_sizes(monkeypatch):
    """The output sizes dsan predict builds its FaceAligner with; the aligner finds the stand-in face."""
    import dsan_tf.data.align as align
    from test_bad_input_tools import FixedFaceDetector

    sizes, real = [], align.FaceAligner

    class Recording(real):
        def __init__(self, output_size=112, **kwargs):
            sizes.append(output_size)
            super().__init__(output_size=output_size, **{**kwargs, "detector": FixedFaceDetector()})

    monkeypatch.setattr(align, "FaceAligner", Recording)
    return sizes


def test_the_align_size_flag_wins_over_the_models_input_size(predict, model_file, tmp_path, capsys, aligner_sizes):
    """r2-predict-align-size-ignored: the model records 48 px; --align-size 32 aligns at 32 (then resized)."""
    photo = _photo(tmp_path / "p.png")
    for flags, size in (([], SIZE), (["--align-size", "32"], 32)):
        code, out, err = run(predict, capsys, ["--weights", str(model_file), str(photo), *flags])
        assert code == 0, err
        assert aligner_sizes[-1] == size and json.loads(out)["box"] == [20, 25, 40, 50]


def test_an_unreadable_sub_folder_makes_the_exit_status_1(predict, model_file, tmp_path, capsys, monkeypatch,
                                                         aligner_sizes):
    """r2-predict-unreadable-folders-exit-0: the photos that could be read are answered, the folder that could
    not is named, and the exit status is 1 (photos are missing from the answer)."""
    photos = tmp_path / "photos"
    _photo(photos / "a.png")
    _photo(photos / "locked" / "b.png", seed=1)
    refuse_walking_into(monkeypatch, "locked")
    code, out, err = run(predict, capsys, ["--weights", str(model_file), str(photos)])
    assert code == 1, err
    assert [Path(json.loads(line)["source"]).name for line in out.splitlines()] == ["a.png"]
    assert "locked: folder cannot be read (Permission denied)" in err and "1 unreadable folders" in err
    code, out, err = run(predict, capsys, ["--weights", str(model_file), str(photos / "a.png")])
    assert code == 0, err


# ---------------------------------------------------------------------- lines its own tests never ran (issue 34)


def test_a_keras_file_that_is_not_a_whole_zip_with_config_json_is_refused_by_what_it_is(tmp_path):
    """_check_keras_archive, before Keras sees the file: a zip cut short (its first entry's magic, no end),
    an empty file, a zip whose entry fails its checksum, a zip without config.json, any other bytes
    (named by their first 8), a directory (with the --savedmodel hint only when it holds one)."""
    import zipfile

    from dsan_tf.inference import ModelLoadError, load_dsan

    whole = tmp_path / "whole.keras"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("config.json", "{}" + " " * 200)
    data = whole.read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[:40])
    flipped = tmp_path / "flipped.keras"
    at = data.index(b"{}")  # a byte of the stored entry: its CRC no longer matches
    flipped.write_bytes(data[:at] + b"[" + data[at + 1:])
    weights_only = tmp_path / "weights.keras"
    with zipfile.ZipFile(weights_only, "w") as archive:
        archive.writestr("model.weights.h5", "x")
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    text = tmp_path / "text.keras"
    text.write_bytes(b"hello world, not a model")
    cases = [(cut, f"{cut}: truncated or damaged .keras file (40 bytes: a zip archive whose end is missing"),
             (flipped, f"{flipped}: damaged .keras file (config.json inside it fails its checksum)"),
             (weights_only, f"{weights_only}: a zip archive without config.json, not a .keras model file"),
             (empty, f"{empty}: not a .keras model file (a .keras file is a zip archive; this is an empty file)"),
             (text, f"{text}: not a .keras model file (a .keras file is a zip archive; this is a file starting "
                    "with b'hello wo')")]
    for path, message in cases:
        with pytest.raises(ModelLoadError) as err:
            load_dsan(path)
        assert str(err.value).startswith(message), (path.name, str(err.value))

    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(ModelLoadError) as err:
        load_dsan(folder)
    assert str(err.value) == f"{folder}: is a directory; expected a .keras file saved from a DSAN model"
    (folder / "1").mkdir()
    (folder / "1" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ModelLoadError, match=r"is a directory holding a SavedModel \(predict.py takes it with "
                                             r"--savedmodel"):
        load_dsan(folder)


def test_a_missing_model_and_one_model_too_many_or_too_few_are_refused(tmp_path, monkeypatch):
    """check_model_exists names the file and what ships; load_predictor takes exactly one of the two;
    resolve_savedmodel_dir refuses a path that is not a folder; default_weights refuses when nothing ships."""
    from dsan_tf import pretrained
    from dsan_tf.inference import (ModelLoadError, check_model_exists, default_weights, load_predictor, model_files,
                                   resolve_savedmodel_dir)

    missing = tmp_path / "gone.keras"
    with pytest.raises(ModelLoadError, match=rf"^{missing}: no such model file \(shipped models, given by name: "):
        check_model_exists(missing)
    check_model_exists(tmp_path)  # an existing path passes (what it is, load_dsan says)
    assert model_files(None) == [] and model_files(missing) == [missing]
    for weights, savedmodel in ((None, None), (missing, tmp_path)):
        with pytest.raises(ModelLoadError, match="give exactly one of"):
            load_predictor(weights, savedmodel)
    with pytest.raises(ModelLoadError, match=rf"^{missing}: no such SavedModel directory$"):
        resolve_savedmodel_dir(missing)
    assert default_weights() == "ferplus"
    monkeypatch.setattr(pretrained, "available", lambda *args, **kwargs: [])
    with pytest.raises(ModelLoadError, match=r"give --weights MODEL.keras \(no model ships"):
        default_weights()
    with pytest.raises(ModelLoadError, match=r"no such model file \(no model ships with this installation yet\)"):
        check_model_exists(missing)


def test_face_crops_must_be_uint8_with_three_or_four_channels_and_grey_ones_are_repeated():
    """_as_rgb: a float crop and a 2-channel crop are refused (nothing guessed); an H x W grey crop is its
    value in all three channels (the stub answers the mean: 51/255 for a crop of 51s); no faces: (0, K)."""
    model = mean_model()
    with pytest.raises(ValueError, match="expected uint8 RGB face crops, got dtype float32"):
        model.predict([np.zeros((4, 4, 3), np.float32)])
    with pytest.raises(ValueError, match=r"expected \[H, W, 3\] face crops, got shape \(4, 4, 2\)"):
        model.predict([np.zeros((4, 4, 2), np.uint8)])
    np.testing.assert_allclose(model.predict([np.full((5, 6), 51, np.uint8)], grayscale=False),
                               [[0.8, 0.2]], atol=1e-6)
    empty = model.predict([])
    assert empty.shape == (0, 2) and empty.dtype == np.float32


def test_faces_go_to_the_model_in_batches_of_batch_size_and_keep_their_order():
    """Five crops of one shape, batch_size 2: calls of 2, 2, 1 faces; each answer lands on its own face."""
    from dsan_tf.inference import Predictor

    calls = []

    class Counting(Predictor):
        class_names = ["dark", "bright"]
        source, image_size = "stub", None

        def _predict_pixels(self, pixels):
            calls.append(len(pixels))
            mean = np.asarray(pixels, np.float64).reshape(len(pixels), -1).mean(axis=1) / 255
            return np.stack([1 - mean, mean], axis=1).astype(np.float32)

    levels = [0, 51, 102, 153, 255]
    got = Counting().predict([np.full((3, 3, 3), v, np.uint8) for v in levels], batch_size=2, grayscale=False)
    assert calls == [2, 2, 1]
    np.testing.assert_allclose(got[:, 1], np.array(levels) / 255, atol=1e-6)


def test_predict_pixels_refuses_what_is_not_a_batch_of_rgb_images_and_a_model_answering_nan():
    """Shapes [H, W, 3], [N, H, W, 4] and an empty side are refused before the model; a model whose answer
    is NaN is refused naming the model (argmax of NaN would be class 0)."""
    from dsan_tf.inference import Predictor
    from dsan_tf.state_files import NotANumberError

    model = mean_model()
    for shape in ((4, 4, 3), (1, 4, 4, 4), (1, 0, 4, 3)):
        with pytest.raises(ValueError, match=rf"pixels must be RGB images \[N, H, W, 3\], got shape \({shape[0]}"):
            model.predict_pixels(np.zeros(shape, np.float32))
    np.testing.assert_allclose(model.predict_pixels(np.full((1, 2, 2, 3), 255.0), grayscale=False), [[0.0, 1.0]])

    class Diverged(Predictor):
        class_names = ["a", "b"]
        source, image_size = "diverged.keras", None

        def _predict_pixels(self, pixels):
            return np.full((len(pixels), 2), np.nan, np.float32)

    for call in (lambda p: p.predict([np.zeros((2, 2, 3), np.uint8)]),
                 lambda p: p.predict_pixels(np.zeros((1, 2, 2, 3)))):
        with pytest.raises(NotANumberError, match="diverged.keras"):
            call(Diverged())


def test_recorded_settings_of_an_export_are_read_checked_or_absent(tmp_path):
    """_recorded_settings: no file means {} (an older export); a damaged file is a ModelLoadError."""
    from dsan_tf.inference import ModelLoadError, _recorded_settings

    path = tmp_path / "dsan_settings.json"
    assert _recorded_settings(path) == {}
    path.write_text('{"image_size": 40, "grayscale_input": true}')
    assert _recorded_settings(path) == {"image_size": 40, "grayscale_input": True}
    path.write_text('{"image_size": "forty"}')
    with pytest.raises(ModelLoadError, match="image_size"):
        _recorded_settings(path)


def test_collect_inputs_refuses_a_missing_path_and_a_folder_without_images(tmp_path):
    """A folder with only a text file is named with the extensions looked for; a path that is neither file
    nor folder is named; a named file's root is its own folder, a found file's the folder named."""
    from dsan_tf.data.errors import DataError
    from dsan_tf.inference import collect_inputs

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "read.txt").write_text("x")
    with pytest.raises(DataError, match=rf"^{tmp_path / 'notes'}: folder holds no images or videos \(.*\.mp4"):
        collect_inputs([tmp_path / "notes"])
    with pytest.raises(DataError, match=rf"^{tmp_path / 'nowhere'}: no such file or folder$"):
        collect_inputs([tmp_path / "nowhere"])
    photo = _photo(tmp_path / "deep" / "sub" / "p.png")
    assert collect_inputs([photo]) == [(photo, photo.parent)]
    assert collect_inputs([tmp_path / "deep"]) == [(photo, tmp_path / "deep")]


def test_video_frames_refuse_a_stride_below_1_and_stop_at_max_frames_with_a_stride(tmp_path):
    """stride 0 is a ValueError; stride 2 with max_frames 2 gives frames 0 and 2 (not 3 frames, not frame 1)."""
    from dsan_tf.inference import is_video, iter_video_frames

    write_video(tmp_path / "v.avi", [np.full((16, 16, 3), 30 * i, np.uint8) for i in range(6)])
    with pytest.raises(ValueError, match="frame stride must be >= 1, got 0"):
        list(iter_video_frames(tmp_path / "v.avi", stride=0))
    assert [i for i, _, _ in iter_video_frames(tmp_path / "v.avi", stride=2, max_frames=2)] == [0, 2]
    assert is_video("a/CLIP.MP4") and is_video("b.webm") and not is_video("c.jpg")


def test_predict_image_rows_time_in_seconds_and_csv_columns(tmp_path):
    """predict_image: the frame's time is frame / fps to 3 decimals (7 / 3 fps = 2.333 s), None without fps;
    a face's row has its integer box, label and probability; csv_row flattens it into csv_fields' columns."""
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.inference import csv_fields, csv_row, predict_image
    from test_bad_input_tools import FixedFaceDetector

    image = np.full((90, 120, 3), 204, np.uint8)  # every crop is 204s: the stub's answer is [0.2, 0.8]
    aligner = FaceAligner(16, detector=FixedFaceDetector())
    rows, faces = predict_image(mean_model(), aligner, image, "clip.mp4", frame=7, fps=3.0, grayscale=False)
    (row,) = rows
    assert len(faces) == 1 and row["frame"] == 7 and row["time_s"] == 2.333 and row["face"] == 0
    assert row["box"] == [20, 25, 40, 50] and row["label"] == "bright" and row["note"] == ""
    assert row["probability"] == pytest.approx(0.8, abs=1e-5)
    assert row["detection_confidence"] == 0.99  # the stand-in detector's, to 4 places
    assert row["probabilities"] == pytest.approx({"dark": 0.2, "bright": 0.8}, abs=1e-5)
    rows, _ = predict_image(mean_model(), aligner, image, "photo.png", frame=None, fps=None)
    assert rows[0]["frame"] is None and rows[0]["time_s"] is None
    fields = csv_fields(["dark", "bright"])
    assert fields[:4] == ["source", "frame", "time_s", "face"] and fields[-1] == "note"
    flat = csv_row(rows[0], ["dark", "bright"])
    assert set(flat) == set(fields) and flat["frame"] == "" and flat["source"] == "photo.png"
    assert flat["label"] == "bright" and flat["note"] == ""


def test_annotate_puts_the_label_above_the_box_or_below_it_at_the_top_edge_and_save_rgb_refuses(tmp_path,
                                                                                                 monkeypatch):
    """A box 40 px down has its label above it (pixels above the box are drawn, below are not); a box at the
    top edge has it below; a no-face row writes its note in the top-left corner; the input is not changed."""
    from dsan_tf.inference import annotate, save_rgb

    blank = np.zeros((200, 200, 3), np.uint8)
    row = {"box": [50, 40, 60, 60], "label": "a", "probability": 0.5}
    out = annotate(blank, [row])
    assert not blank.any()
    assert out[20:38, 50:80].any() and not out[102:130, 52:108].any()  # label above, inside below untouched
    out = annotate(blank, [{**row, "box": [50, 0, 60, 60]}])
    assert out[62:80, 50:80].any()  # no room above: under the box
    out = annotate(blank, [{"box": None, "note": "no face"}])
    assert out[2:10, 2:10].any() and not out[100:, 100:].any()
    saved = save_rgb(tmp_path / "a.png", np.full((4, 5, 3), (10, 20, 30), np.uint8))
    from PIL import Image

    np.testing.assert_array_equal(np.asarray(Image.open(saved))[0, 0], [10, 20, 30])  # RGB, not BGR
    import cv2

    monkeypatch.setattr(cv2, "imwrite", lambda *args: False)  # OpenCV's answer for a file it could not write
    with pytest.raises(OSError, match=r"b.png: could not write the image"):
        save_rgb(tmp_path / "b.png", np.zeros((4, 5, 3), np.uint8))
    assert not (tmp_path / "b.png").exists()


def _stub_savedmodel(path, kind="pixels", labels=None, output="probabilities", known_k=True, two_inputs=False):
    """A SavedModel without a DSAN: its one signature answers [1 - mean, mean] of each image (mean in 0..1),
    by the pixels input ("predict_pixels") or PNG bytes ("serving_default"); the class count static or not."""
    import tensorflow as tf

    def answer(mean):
        p = tf.stack([1 - mean, mean], axis=1)
        return {output: p if known_k else tf.reshape(p, tf.stack([tf.shape(mean)[0], -1]))}

    class Stub(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def pixels(self, pixels):
            return answer(tf.reduce_mean(pixels, axis=[1, 2, 3]) / 255)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def image_bytes(self, image_bytes):
            images = tf.map_fn(lambda b: tf.cast(tf.io.decode_png(b, channels=3), tf.float32), image_bytes,
                               fn_output_signature=tf.TensorSpec([None, None, 3], tf.float32))
            return answer(tf.reduce_mean(images, axis=[1, 2, 3]) / 255)

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)] * 2)
        def pair(self, pixels, other):
            return answer(tf.reduce_mean(pixels + other, axis=[1, 2, 3]) / 255)

    stub = Stub()
    signature = {"pixels": stub.pixels, "bytes": stub.image_bytes, "other": stub.pixels}[kind]
    if two_inputs:
        signature = stub.pair
    name = {"pixels": "predict_pixels", "bytes": "serving_default", "other": "something_else"}[kind]
    tf.saved_model.save(stub, str(path), signatures={name: signature})
    if labels is not None:
        (path / "assets").mkdir(exist_ok=True)
        (path / "assets" / "labels.txt").write_text("".join(f"{n}\n" for n in labels))
    return path


def test_a_savedmodel_predictor_takes_either_signature_and_names_classes_from_labels_or_by_index(tmp_path):
    """SavedModelPredictor: the bytes signature gets lossless PNGs of the faces (answers = the NumPy mean);
    labels.txt names the classes (blank lines skipped); labels of the wrong count, or no labels, give
    class_0.. (the count asked of the model with one blank image when its signature does not say it)."""
    from dsan_tf.inference import SavedModelPredictor

    faces = [np.full((6, 5, 3), 51, np.uint8), np.full((6, 5, 3), 204, np.uint8)]
    by_bytes = SavedModelPredictor(_stub_savedmodel(tmp_path / "bytes", "bytes", labels=["dark", "", "bright"]))
    assert by_bytes.class_names == ["dark", "bright"] and by_bytes.image_size is None and not by_bytes.grayscale_input
    np.testing.assert_allclose(by_bytes.predict(faces), [[0.8, 0.2], [0.2, 0.8]], atol=1e-6)
    wrong_count = SavedModelPredictor(_stub_savedmodel(tmp_path / "three", labels=["a", "b", "c"]))
    assert wrong_count.class_names == ["class_0", "class_1"]
    unknown_k = SavedModelPredictor(_stub_savedmodel(tmp_path / "unknown", known_k=False))
    assert unknown_k.class_names == ["class_0", "class_1"]
    unknown_k_named = SavedModelPredictor(_stub_savedmodel(tmp_path / "named", known_k=False, labels=["x", "y"]))
    assert unknown_k_named.class_names == ["x", "y"]
    np.testing.assert_allclose(unknown_k_named.predict_pixels(np.full((1, 2, 2, 3), 255.0)), [[0.0, 1.0]], atol=1e-6)


def test_a_savedmodel_that_is_no_dsan_export_is_refused_by_what_it_lacks(tmp_path):
    """No known signature (the ones found are named), a signature of two inputs, one without a
    'probabilities' output, a saved_model.pb TensorFlow cannot read: each a ModelLoadError naming the folder."""
    from dsan_tf.inference import ModelLoadError, SavedModelPredictor

    cases = [(_stub_savedmodel(tmp_path / "other", "other"),
              r"has neither a 'predict_pixels' nor a 'serving_default' signature \(found: something_else\)"),
             (_stub_savedmodel(tmp_path / "pair", two_inputs=True), "signature takes 2 inputs; expected one"),
             (_stub_savedmodel(tmp_path / "logits", output="logits"), "signature has no 'probabilities' output")]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"not a protobuf")
    cases.append((broken, "could not load the SavedModel"))
    for path, message in cases:
        with pytest.raises(ModelLoadError, match=rf"^{path}: {message}"):
            SavedModelPredictor(path)


def test_a_zip_keras_cannot_rebuild_a_broken_shipped_model_and_an_unreadable_folder_are_named(tmp_path,
                                                                                              monkeypatch):
    """A whole zip with config.json that Keras cannot rebuild: ModelLoadError with the error's type; a shipped
    model whose files are damaged: pretrained's message as a ModelLoadError; a SavedModel folder itself
    (saved_model.pb at its top) gets the --savedmodel hint; a named folder that cannot be listed is a
    DataError naming it (not "holds no images"); its unreadable sub-folders are listed in ``unreadable``."""
    import zipfile

    from dsan_tf import pretrained
    from dsan_tf.data.errors import DataError
    from dsan_tf.inference import ModelLoadError, collect_inputs, load_dsan

    odd = tmp_path / "odd.keras"
    with zipfile.ZipFile(odd, "w") as archive:
        archive.writestr("config.json", '{"class_name": "NoSuchLayerAnywhere", "config": {}}')
    with pytest.raises(ModelLoadError, match=rf"^{odd}: not loadable as a DSAN model \(\w+: "):
        load_dsan(odd)

    def damaged(name, directory=None):
        raise pretrained.PretrainedError(f"{name}.weights.h5: unreadable (truncated); reinstall dsan_tf")

    monkeypatch.setattr(pretrained, "load", damaged)
    with pytest.raises(ModelLoadError, match=r"^ferplus.weights.h5: unreadable \(truncated\); reinstall"):
        load_dsan("ferplus")

    version = tmp_path / "export"
    version.mkdir()
    (version / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="is a directory holding a SavedModel"):
        load_dsan(version)

    _photo(tmp_path / "locked" / "a.png")
    _photo(tmp_path / "top" / "b.png")
    _photo(tmp_path / "top" / "locked" / "c.png")
    refuse_walking_into(monkeypatch, "locked")
    with pytest.raises(DataError, match=rf"^{tmp_path / 'locked'}: folder cannot be read \(.*Permission denied"):
        collect_inputs([tmp_path / "locked"])
    unreadable = []
    assert [f.name for f, _ in collect_inputs([tmp_path / "top"], unreadable)] == ["b.png"]
    assert len(unreadable) == 1 and "locked" in unreadable[0]


def test_a_zip_whose_directory_is_damaged_and_a_mixed_precision_model_in_the_keras_predictor(tmp_path):
    """A .keras whose end record is intact but whose central directory is not: "cannot be read" (a zip by its
    end, not readable as one). KerasPredictor: a mixed-precision DSAN is run as a float32 copy;
    a float32 one is used as it is; a model without class names gets class_0, class_1, class_2."""
    import zipfile

    from dsan_tf.inference import KerasPredictor, ModelLoadError, load_dsan
    from dsan_tf.model import build_dsan

    path = tmp_path / "header.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
    data = path.read_bytes()
    at = data.index(b"PK\x01\x02")  # the central directory's entry: its magic broken, the end record intact
    path.write_bytes(data[:at] + b"PK\x01\x09" + data[at + 4:])
    with pytest.raises(ModelLoadError, match=rf"^{path}: truncated or damaged .keras file \({len(data)} bytes; "
                                             r"the zip archive cannot be read: "):
        load_dsan(path)

    mixed = build_dsan(3, 32, dtype="mixed_float16")
    predictor = KerasPredictor(mixed)
    assert predictor.model is not mixed and predictor.model.settings["dtype"] == "float32"
    assert predictor.class_names == ["class_0", "class_1", "class_2"] and predictor.image_size == 32
    plain = build_dsan(3, 32, class_names=CLASSES, dtype="float32")
    assert KerasPredictor(plain).model is plain and KerasPredictor(plain).class_names == CLASSES


# ---- round 5 blind mutants (issue 34)


class _TwoFaceDetector:
    """mtcnn's detect_faces stand-in: FixedFaceDetector's face and the same face 60 px to its right."""

    def detect_faces(self, image, **kwargs):
        from test_bad_input_tools import FixedFaceDetector

        face = FixedFaceDetector().detect_faces(image)[0]
        beside = face.copy()
        beside[[1, 3]] += 60.0  # the box's x1, x2 (a row: 0, x1, y1, x2, y2, confidence, 5 marks x, 5 marks y)
        beside[6:11] += 60.0  # the landmarks' x
        return np.stack([face, beside])


def test_the_summary_counts_faces_not_photos_with_faces(tmp_path):
    """r5-predict-faces-counted-per-image: two photos of two faces each are four faces (2 + 2, by hand), in
    the counts dsan predict's summary line prints, and four rows."""
    import argparse
    import io

    from dsan_tf.cli.predict import predict_all
    from dsan_tf.data.align import FaceAligner

    photos = [_photo(tmp_path / f"p{i}.png", height=90, width=140, seed=i) for i in range(2)]
    args = argparse.Namespace(format="jsonl", grayscale=False, frame_stride=1, max_frames=None,
                              skip_unreadable=False, no_progress=True)
    out = io.StringIO()
    counts = predict_all(args, [(p, tmp_path) for p in photos], mean_model(), FaceAligner(16, detector=_TwoFaceDetector()),
                         None, out)
    assert len(out.getvalue().splitlines()) == 4
    assert counts["faces"] == 4 and counts["images"] == 2 and counts["no_face"] == 0


def test_annotated_copies_of_clashing_names_are_numbered_from_2(tmp_path):
    """r5-predict-annotated-clash-suffix-from-one: a.png and a.jpg of one folder both want ann/a.jpg; the first
    keeps it, the second gets ann/a_2.jpg and a third ann/a_3.jpg (the names the command documents by example)."""
    from dsan_tf.cli.predict import _Annotator

    annotator = _Annotator(tmp_path / "ann")
    inputs = [(tmp_path / name, tmp_path) for name in ("a.png", "a.jpg", "a.bmp")]
    annotator.plan(inputs)
    assert [annotator.path(s, r) for s, r in inputs] == [tmp_path / "ann" / n for n in ("a.jpg", "a_2.jpg", "a_3.jpg")]


def test_the_live_path_takes_exactly_one_video(tmp_path):
    """r5-predict-live-path-two-videos-accepted: --chart (or --annotate VIDEO.mp4) with two videos is refused
    (exit status 2, naming the count) rather than the second video silently skipped; one video is accepted."""
    from dsan_tf.cli.predict import parse_args

    videos = []
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).write_bytes(b"")
        videos.append(str(tmp_path / name))
    for flags in (["--chart", str(tmp_path / "c.png")], ["--annotate", str(tmp_path / "out.mp4")]):
        with pytest.raises(SystemExit) as stop:
            parse_args([*videos, *flags])
        assert stop.value.code == 2
        assert parse_args([videos[0], *flags]).inputs == [Path(videos[0])]


# ---- round 6 blind mutants (issue 34)


@pytest.mark.parametrize("name", ["clip.MP4", "clip.Avi"])
def test_an_annotated_video_name_in_capitals_is_written(tmp_path, name):
    """r6-video_outputs-upper-case-suffix-refused: is_video_output takes CLIP.MP4 as a video, so the writer must
    write one there too (OpenCV reads the container from the suffix in any case): 3 frames in, 3 frames back."""
    import cv2

    from dsan_tf.outputs import OutputPolicy
    from dsan_tf.video_outputs import is_video_output, video_writer

    path = tmp_path / name
    assert is_video_output(path)
    with OutputPolicy(command="predict", flag="--annotate") as policy:
        with video_writer(policy, path, 10.0, (16, 16)) as write:
            for level in (0, 100, 200):
                write(np.full((16, 16, 3), level, np.uint8))
    video, frames = cv2.VideoCapture(str(path)), 0
    while video.read()[0]:
        frames += 1
    video.release()
    assert frames == 3 and sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [name]


# ---- round 7 blind mutants (issue 34)


def test_iter_video_frames_counts_a_yielded_frame_as_read(tmp_path):
    """While frame i (stride 2: frames 0, 2, 4) is being handled, i + 1 frames have been read or grabbed
    (frames 0..i); a caller that stops after frame 2 leaves the count at 3, not 2."""
    from dsan_tf.inference import iter_video_frames

    write_video(tmp_path / "v.avi", [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(6)])
    status = {}
    seen = []
    for index, _, _ in iter_video_frames(tmp_path / "v.avi", stride=2, status=status):
        seen.append((index, status["read"]))
        if index == 2:
            break
    assert seen == [(0, 1), (2, 3)] and status["read"] == 3


# ---- round 8 blind mutants (issue 34)


def test_predict_image_gives_the_detectors_confidence_to_four_places(tmp_path):
    """r8-inference-confidence-two-digits: a face detected with confidence 0.987654 has detection_confidence
    0.9877 (four places, as the Python API gives it), not 0.99."""
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.inference import predict_image
    from test_bad_input_tools import FixedFaceDetector

    class Unsure(FixedFaceDetector):
        def detect_faces(self, image, **kwargs):
            rows = super().detect_faces(image, **kwargs)
            rows[0, 5] = 0.987654  # the confidence column of mtcnn's row
            return rows

    rows, _ = predict_image(mean_model(), FaceAligner(16, detector=Unsure()), np.full((90, 120, 3), 90, np.uint8),
                            "photo.png", grayscale=False)
    assert rows[0]["detection_confidence"] == 0.9877


class _Camera:
    """cv2.VideoCapture's stand-in for a camera delivering ``frames`` (RGB) and then nothing."""

    def __init__(self, frames):
        self.frames = list(frames)

    def isOpened(self):  # noqa: N802  (OpenCV's name)
        return True

    def read(self):
        if not self.frames:
            return False, None
        return True, self.frames.pop(0)[..., ::-1].copy()  # OpenCV's BGR

    def get(self, prop):
        return 0.0

    def release(self):
        pass


@pytest.mark.parametrize("frames, status", [(0, 1), (1, 0)])
def test_a_camera_that_delivers_no_frame_exits_1(monkeypatch, capsys, frames, status):
    """r8-predict-camera-no-frame-exit-zero: dsan predict --camera exits 1 when the camera opens but delivers
    no frame (the documented exit status) and 0 when it delivered one (one JSON line, the stand-in face)."""
    import argparse

    import cv2

    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.cli import predict as command
    from test_bad_input_tools import FixedFaceDetector

    recognizer = FaceExpressionRecognizer(mean_model(), align_size=16, detector=FixedFaceDetector())
    monkeypatch.setattr(command, "_live_recognizer", lambda args: recognizer)
    monkeypatch.setattr(cv2, "VideoCapture", lambda index: _Camera([np.full((90, 120, 3), 90, np.uint8)] * frames))
    args = argparse.Namespace(camera=0, show=False, search_every=10, smooth=1, frame_stride=1, max_frames=None)
    assert command.run_camera(args) == status
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == frames
    assert ("camera 0: opened but delivered no frame" in err) == (frames == 0)


def test_the_live_paths_progress_bar_counts_the_frames_a_stride_reaches(tmp_path):
    """r8-predict-progress-frames-floor: a 10-frame video at stride 3 has frames 0, 3, 6 and 9 processed: 4
    (10 / 3 rounded up), at stride 5 frames 0 and 5: 2; --max-frames 2 caps the 4 at 2; a file whose header
    gives no frame count leaves the total to --max-frames (None: unknown)."""
    from dsan_tf.cli.predict import _frames_to_process

    video = tmp_path / "ten.avi"
    write_video(video, [np.full((16, 16, 3), 20 * i, np.uint8) for i in range(10)])
    assert [_frames_to_process(video, stride, None) for stride in (1, 3, 5)] == [10, 4, 2]
    assert _frames_to_process(video, 3, 2) == 2
    missing = tmp_path / "none.avi"
    assert _frames_to_process(missing, 3, 7) == 7 and _frames_to_process(missing, 3, None) is None


# ---- round 9 blind mutants (issue 34)


def test_predict_pixels_refuses_a_batch_of_zero_pixel_wide_images():
    """r9-inference-zero-width-pixels: [1, 4, 0, 3] (4 rows, no column) is refused with the shape message
    before the model, as [1, 0, 4, 3] is: an empty side is an empty side, whichever it is."""
    with pytest.raises(ValueError, match=r"pixels must be RGB images \[N, H, W, 3\], got shape \(1, 4, 0, 3\)"):
        mean_model().predict_pixels(np.zeros((1, 4, 0, 3), np.float32))


def test_predict_image_gives_probabilities_to_six_places(tmp_path):
    """r9-inference-probability-digits-four: a model answering [1/3, 2/3] gives rows whose probabilities are
    0.333333 and 0.666667 (six places, dsan predict's documented rounding), not 0.3333 and 0.6667."""
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.inference import Predictor, predict_image
    from test_bad_input_tools import FixedFaceDetector

    class Thirds(Predictor):
        class_names = ["dark", "bright"]
        source, image_size = "stub", None

        def _predict_pixels(self, pixels):
            return np.tile(np.array([1 / 3, 2 / 3], np.float32), (len(pixels), 1))

    rows, _ = predict_image(Thirds(), FaceAligner(16, detector=FixedFaceDetector()),
                            np.full((90, 120, 3), 90, np.uint8), "photo.png", grayscale=False)
    assert rows[0]["probabilities"] == {"dark": 0.333333, "bright": 0.666667}
    assert rows[0]["probability"] == 0.666667


def test_the_largest_only_flag_reaches_the_photo_aligner(predict, model_file, tmp_path, capsys, monkeypatch):
    """r9-predict-largest-only-not-passed: dsan predict --largest-only builds its FaceAligner with
    largest_only=True (classify only each photo's largest face); without the flag, False."""
    import dsan_tf.data.align as align
    from test_bad_input_tools import FixedFaceDetector

    given, real = [], align.FaceAligner

    class Recording(real):
        def __init__(self, output_size=112, **kwargs):
            given.append(kwargs.get("largest_only"))
            super().__init__(output_size=output_size, **{**kwargs, "detector": FixedFaceDetector()})

    monkeypatch.setattr(align, "FaceAligner", Recording)
    photo = _photo(tmp_path / "p.png")
    for flags, want in (([], False), (["--largest-only"], True)):
        code, out, err = run(predict, capsys, ["--weights", str(model_file), str(photo), *flags])
        assert code == 0, err
        assert given[-1] is want


def test_the_live_path_recognizer_takes_the_align_size_flag(monkeypatch):
    """r9-predict-live-align-size-dropped: on the live path (--camera, --annotate VIDEO, --chart) --align-size
    24 gives 24 px crops; without it, the model's size (none recorded here: 112)."""
    import argparse

    import dsan_tf.inference as inference
    from dsan_tf.cli import predict as command

    monkeypatch.setattr(inference, "load_predictor", lambda weights=None, savedmodel=None: mean_model())
    for align_size, want in ((24, 24), (None, 112)):
        args = argparse.Namespace(weights=None, savedmodel=None, grayscale=False, min_confidence=0.9,
                                  min_face_size=20, largest_only=False, align_size=align_size, classifier="keras")
        assert command._live_recognizer(args).image_size == want


def test_a_live_path_video_of_which_no_frame_can_be_read_exits_1(tmp_path, monkeypatch, capsys):
    """r9-predict-live-no-frame-exit-zero: on the live path, a video that opens but delivers no frame (the
    stand-in capture) gives exit status 1 (as a camera delivering none), with the note on stderr and no row."""
    import argparse

    import cv2

    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.cli import predict as command
    from test_bad_input_tools import FixedFaceDetector

    video = tmp_path / "empty.mp4"
    video.write_bytes(b"")
    monkeypatch.setattr(cv2, "VideoCapture", lambda path: _Camera([]))
    recognizer = FaceExpressionRecognizer(mean_model(), align_size=16, detector=FixedFaceDetector())
    monkeypatch.setattr(command, "_live_recognizer", lambda args: recognizer)
    args = argparse.Namespace(inputs=[video], weights=None, savedmodel=None, overwrite=False,
                              output=tmp_path / "rows.jsonl", annotate=None, chart=None, format="jsonl",
                              frame_stride=1, max_frames=None, search_every=10, smooth=1, no_progress=True)
    assert command.run_live_video(args) == 1
    assert "no frame could be read" in capsys.readouterr().err
    assert (tmp_path / "rows.jsonl").read_text() == ""


# ---- issue 34: line-by-line sweep (dsan_tf/inference.py)


class _SizedFacesDetector:
    """mtcnn's detect_faces stand-in: a small face on the dark left half of a 100 x 200 photo (confidence 0.95)
    and, listed second, a large one on the bright right half whose box runs 15 px past the right edge
    (confidence 0.912345). Rows: 0, x1, y1, x2, y2, confidence, 5 marks x, 5 marks y."""

    def detect_faces(self, image, **kwargs):
        small = [0, 10.0, 20.0, 40.0, 56.0, 0.95, 18, 32, 25, 19, 31, 32, 32, 40, 48, 48]
        large = [0, 120.0, 10.0, 215.0, 90.0, 0.912345, 145, 185, 165, 150, 180, 35, 35, 55, 70, 70]
        return np.array([small, large], np.float64)


def _two_region_photo():
    image = np.full((100, 200, 3), 40, np.uint8)
    image[:, 100:] = 200
    return image


def test_predict_image_orders_faces_largest_first_each_with_its_own_answer_and_a_clipped_box():
    """Rows follow the faces largest first (face 0 the large one, though the detector lists it second); each
    row's answer is its own crop's (the stub answers the crop's mean, computed here with NumPy); the large
    box is clipped at the photo's width 200 (x 120, w 80), not its height 100; confidences to 4 places."""
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.inference import predict_image

    rows, faces = predict_image(mean_model(), FaceAligner(16, detector=_SizedFacesDetector()), _two_region_photo(),
                                "two.png", grayscale=False)
    assert [r["face"] for r in rows] == [0, 1] and len(faces) == 2
    assert rows[0]["box"] == [120, 10, 80, 80] and rows[1]["box"] == [10, 20, 30, 36]
    assert [r["detection_confidence"] for r in rows] == [0.9123, 0.95]
    means = [f.image.astype(np.float64).mean() / 255 for f in faces]
    assert means[0] > means[1] + 0.2  # the crops tell the faces apart
    for row, mean in zip(rows, means):
        assert row["probabilities"]["bright"] == pytest.approx(mean, abs=1e-6)
        assert row["label"] == ("bright" if mean > 0.5 else "dark") and row["source"] == "two.png"


def test_a_face_row_and_a_no_face_row_carry_the_documented_fields_in_order():
    """JSON lines: source, box, label, probabilities, then frame, time_s, face, detection_confidence,
    probability, note (the command's docstring); a frame without a face keeps its frame and time."""
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.inference import predict_image

    order = ["source", "box", "label", "probabilities", "frame", "time_s", "face", "detection_confidence",
             "probability", "note"]
    image = np.full((90, 120, 3), 90, np.uint8)
    rows, _ = predict_image(mean_model(), FaceAligner(16, detector=FixedFaceDetectorAlias()), image, "v.mp4",
                            frame=4, fps=8.0, grayscale=False)
    assert list(rows[0]) == order and rows[0]["time_s"] == 0.5

    class NoFace:
        def detect_faces(self, image, **kwargs):
            return np.zeros((0, 16))

    rows, faces = predict_image(mean_model(), FaceAligner(16, detector=NoFace()), image, "v.mp4", frame=4, fps=8.0)
    assert faces == [] and list(rows[0]) == order
    assert rows == [{"source": "v.mp4", "box": None, "label": None, "probabilities": None, "frame": 4,
                     "time_s": 0.5, "face": None, "detection_confidence": None, "probability": None,
                     "note": "no face"}]
    rows, _ = predict_image(mean_model(), FaceAligner(16, detector=NoFace()), image, "v.mp4", frame=4, fps=0.0)
    assert rows[0]["time_s"] is None  # a video whose header gives no frame rate: no time


def FixedFaceDetectorAlias():  # noqa: N802  (the shared stand-in, imported where the test runs)
    from test_bad_input_tools import FixedFaceDetector

    return FixedFaceDetector()


def test_csv_row_puts_every_value_in_its_own_column():
    """csv_row of a face row: the box's four integers in box_x, box_y, box_w, box_h (in that order), the
    probabilities in p_<class>, the frame's fields, "" for None; csv_fields lists the columns in order."""
    from dsan_tf.inference import csv_fields, csv_row

    row = {"source": "a b.png", "box": [3, 5, 7, 11], "label": "bright",
           "probabilities": {"dark": 0.25, "bright": 0.75}, "frame": 12, "time_s": 0.4, "face": 1,
           "detection_confidence": 0.9876, "probability": 0.75, "note": ""}
    assert csv_fields(["dark", "bright"]) == ["source", "frame", "time_s", "face", "box_x", "box_y", "box_w", "box_h",
                                             "detection_confidence", "label", "probability", "p_dark", "p_bright",
                                             "note"]
    assert csv_row(row, ["dark", "bright"]) == {
        "source": "a b.png", "frame": 12, "time_s": 0.4, "face": 1, "box_x": 3, "box_y": 5, "box_w": 7, "box_h": 11,
        "detection_confidence": 0.9876, "label": "bright", "probability": 0.75, "p_dark": 0.25, "p_bright": 0.75,
        "note": ""}
    empty = csv_row({"source": "c.png", "frame": None, "face": None, "box": None, "label": None,
                     "probabilities": None, "note": "no face"}, ["dark", "bright"])
    assert empty == {"source": "c.png", "frame": "", "time_s": "", "face": "", "box_x": "", "box_y": "", "box_w": "",
                     "box_h": "", "detection_confidence": "", "label": "", "probability": "", "p_dark": "",
                     "p_bright": "", "note": "no face"}


def test_model_inputs_resize_any_crop_to_the_side_and_normalise_with_imagenet_statistics():
    """A 20 x 30 crop of one colour becomes S x S of that colour (shown), and the model input is
    (x / 255 - mean) / std with torchvision's ImageNet mean 0.485, 0.456, 0.406 and std 0.229, 0.224, 0.225."""
    from dsan_tf.inference import model_inputs

    crops = [np.full((20, 30, 3), (100, 150, 200), np.uint8), np.full((30, 20), 60, np.uint8)]
    shown, inputs = model_inputs(crops, 24)
    assert shown.shape == inputs.shape == (2, 24, 24, 3) and shown.dtype == np.uint8 and inputs.dtype == np.float32
    np.testing.assert_array_equal(shown[0].reshape(-1, 3), np.tile([100, 150, 200], (24 * 24, 1)))
    np.testing.assert_array_equal(shown[1], 60)
    want = (np.array([100, 150, 200]) / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(inputs[0, 5, 7], want, atol=1e-5)


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
                                    ".MOV"])
def test_every_video_container_opencv_reads_is_a_video(suffix):
    from dsan_tf.inference import is_video

    assert is_video(f"dir.mp4/clip{suffix}")


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".gif", ""])
def test_photos_and_names_without_a_suffix_are_not_videos(suffix):
    from dsan_tf.inference import is_video

    assert not is_video(f"clips.mp4/photo{suffix}")


def test_a_video_whose_header_gives_no_frame_count_reports_none_and_no_truncation(monkeypatch):
    """A capture that reports 0 frames and 0 fps (a camera, a stream): expected_frames None (unknown, not 0),
    fps 0.0, every frame delivered read, and no truncation note when it ends."""
    import cv2

    from dsan_tf.inference import iter_video_frames

    monkeypatch.setattr(cv2, "VideoCapture", lambda path: _Camera([np.full((8, 8, 3), 10 * i, np.uint8)
                                                                   for i in range(3)]))
    status = {}
    got = [(i, fps) for i, fps, _ in iter_video_frames("stream.mp4", status=status)]
    assert got == [(0, 0.0), (1, 0.0), (2, 0.0)]
    assert status == {"expected_frames": None, "read": 3, "note": ""}


def test_model_files_of_a_shipped_name_are_its_two_shipped_files():
    """--weights ferplus reads the package's ferplus.json and its weights file (both exist), never a file
    called "ferplus" in the working directory; a path is itself."""
    from dsan_tf import pretrained
    from dsan_tf.inference import is_shipped_model, model_files

    files = model_files("ferplus")
    assert [f.name for f in files] == ["ferplus.json", f"ferplus{pretrained.WEIGHTS_SUFFIX}"]
    assert all(f.is_file() and f.parent == pretrained.SHIPPED_DIR for f in files)
    assert is_shipped_model("ferplus") and not is_shipped_model(None) and not is_shipped_model("nowhere.keras")


def test_collect_inputs_keeps_the_order_the_inputs_are_given_in(tmp_path):
    """A named photo, then a folder, then another photo: in that order (the folder's files sorted)."""
    from dsan_tf.inference import collect_inputs

    late = _photo(tmp_path / "z.png")
    folder = tmp_path / "f"
    inside = [_photo(folder / name, seed=i) for i, name in enumerate(("b.png", "a.png"))]
    early = _photo(tmp_path / "a.png", seed=3)
    found = collect_inputs([late, folder, early])
    assert found == [(late, tmp_path), (inside[1], folder), (inside[0], folder), (early, tmp_path)]


# ---- issue 34: line-by-line sweep (dsan_tf/cli/predict.py)


class _BrightFacesDetector:
    """_TwoFaceDetector's two faces in an image brighter than 100 on average, none in a darker one."""

    def detect_faces(self, image, **kwargs):
        return _TwoFaceDetector().detect_faces(image) if image.mean() > 100 else np.zeros((0, 16))


class _SpyModel:
    """mean_model() that records the pixels it is given; ``grey`` is its recorded grayscale_input."""

    def __new__(cls, grey=False):
        model = mean_model()
        model.grayscale_input = grey
        model.seen = []
        answer = model._predict_pixels
        model._predict_pixels = lambda pixels: (model.seen.append(np.asarray(pixels)), answer(pixels))[1]
        return model


@pytest.fixture
def stub_command(monkeypatch):
    """dsan predict with its model a _SpyModel (set ``state["model"]`` to change it) and its FaceAligner
    finding faces with ``state["detector"]`` (default FixedFaceDetector); the aligner's keyword arguments
    are recorded in ``state["aligners"]``."""
    import dsan_tf.data.align as align
    import dsan_tf.inference as inference

    state = {"model": _SpyModel(), "detector": FixedFaceDetectorAlias(), "aligners": []}
    real = align.FaceAligner

    class Recording(real):
        def __init__(self, output_size=112, **kwargs):
            state["aligners"].append({"output_size": output_size, **kwargs})
            super().__init__(output_size=output_size, **{**kwargs, "detector": state["detector"]})

    monkeypatch.setattr(align, "FaceAligner", Recording)
    monkeypatch.setattr(inference, "load_predictor", lambda weights=None, savedmodel=None: state["model"])
    return state


def test_the_detector_flags_reach_the_photo_aligner(predict, tmp_path, capsys, stub_command):
    """--min-confidence 0.5 and --min-face-size 33 are the FaceAligner's; without them 0.9 and 20."""
    photo = _photo(tmp_path / "p.png")
    for flags, want in (([], (0.9, 20)), (["--min-confidence", "0.5", "--min-face-size", "33"], (0.5, 33))):
        code, out, err = run(predict, capsys, ["--weights", "ferplus", str(photo), *flags])
        assert code == 0, err
        given = stub_command["aligners"][-1]
        assert (given["min_confidence"], given["min_face_size"]) == want


def test_a_truncated_video_among_photos_makes_the_exit_status_1(predict, tmp_path, capsys, stub_command):
    """The photo path: a video that ends before its header's frame count is noted on stderr, counted in the
    summary, and the exit status is 1 (its frames are missing); the whole video gives 0 and no such words."""
    frames = [np.full((64, 80, 3), 8 * i, np.uint8) for i in range(30)]
    write_video(tmp_path / "whole.avi", frames)
    data = (tmp_path / "whole.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) // 2])
    photo = _photo(tmp_path / "p.png")
    code, out, err = run(predict, capsys, ["--weights", "ferplus", str(photo), str(tmp_path / "cut.avi")])
    assert code == 1, err
    assert f"{tmp_path / 'cut.avi'}: truncated or damaged: its header says 30 frames" in err
    assert ", 1 truncated or damaged videos" in err
    code, out, err = run(predict, capsys, ["--weights", "ferplus", str(photo), str(tmp_path / "whole.avi")])
    assert code == 0 and "truncated" not in err, err
    assert len(out.splitlines()) == 31 and "1 images and 30 video frames: 31 faces" in err


def test_the_summary_line_counts_images_frames_faces_no_faces_and_unreadable_files(predict, tmp_path, capsys,
                                                                                  stub_command):
    """A photo of two faces, a dark photo, an unreadable file (--skip-unreadable) and a 4-frame video whose
    frames 0 and 2 are bright (two faces each): 2 images, 4 frames, 2 + 4 = 6 faces, 1 + 2 = 3 without a
    face, 1 unreadable (counted by hand); exit status 0."""
    from PIL import Image

    stub_command["detector"] = _BrightFacesDetector()
    bright, dark = tmp_path / "bright.png", tmp_path / "dark.png"
    Image.fromarray(np.full((90, 140, 3), 200, np.uint8)).save(bright)
    Image.fromarray(np.full((90, 140, 3), 30, np.uint8)).save(dark)
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a JPEG")
    write_video(tmp_path / "v.avi", [np.full((90, 140, 3), level, np.uint8) for level in (200, 30, 200, 30)])
    code, out, err = run(predict, capsys, ["--weights", "ferplus", str(bright), str(dark), str(broken),
                                           str(tmp_path / "v.avi"), "--skip-unreadable"])
    assert code == 0, err
    assert "2 images and 4 video frames: 6 faces, 3 without a face, 1 unreadable" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(Path(r["source"]).name, r["frame"], r["face"]) for r in rows] == [
        ("bright.png", None, 0), ("bright.png", None, 1), ("dark.png", None, None), ("broken.jpg", None, None),
        ("v.avi", 0, 0), ("v.avi", 0, 1), ("v.avi", 1, None), ("v.avi", 2, 0), ("v.avi", 2, 1), ("v.avi", 3, None)]


def test_a_model_trained_on_grey_faces_gets_grey_faces_unless_no_grayscale(predict, tmp_path, capsys, stub_command):
    """No --grayscale flag: the model's record decides (grey faces, said on stderr); --no-grayscale keeps colour;
    --grayscale greys for a colour model. The photo is colour noise, so its crop is not grey."""
    photo = _photo(tmp_path / "p.png")

    def faces_seen(grey_record, flags):
        stub_command["model"] = _SpyModel(grey=grey_record)
        code, _, err = run(predict, capsys, ["--weights", "ferplus", str(photo), *flags])
        assert code == 0, err
        (pixels,) = stub_command["model"].seen
        return bool((pixels == pixels[..., :1]).all()), "trained on grey faces" in err

    assert faces_seen(True, []) == (True, True)
    assert faces_seen(True, ["--no-grayscale"]) == (False, False)
    assert faces_seen(False, []) == (False, False)
    assert faces_seen(False, ["--grayscale"]) == (True, False)


def test_without_weights_the_shipped_model_is_named_and_without_inputs_the_demo_photo_runs(predict, tmp_path, capsys,
                                                                                         stub_command):
    """No --weights: a line names the shipped model 'ferplus'; no input at all: the demo photo, one line saying
    what ran (no summary line, no grey-faces line); both exit 0."""
    from dsan_tf.demo import demo_photo

    photo = _photo(tmp_path / "p.png")
    code, out, err = run(predict, capsys, [str(photo)])
    assert code == 0 and "no --weights given: using the shipped model 'ferplus'" in err and "1 images" in err, err
    stub_command["model"] = _SpyModel(grey=True)  # the demo's one line stands for the grey-faces line too
    code, out, err = run(predict, capsys, [])
    assert code == 0, err
    assert [json.loads(line)["source"] for line in out.splitlines()] == [str(demo_photo())]
    assert "no input given: the shipped model 'ferplus' on" in err and "no --weights given" not in err
    assert "images and" not in err and "grey" not in err


def test_a_video_that_delivers_no_frame_gets_one_row_saying_so(tmp_path, monkeypatch):
    """The photo path: a video that opens but gives no frame has one row (note "no frame could be read",
    frame None), counts 0 frames and no face-less frame."""
    import argparse
    import io

    import cv2

    from dsan_tf.cli.predict import predict_all
    from dsan_tf.data.align import FaceAligner

    monkeypatch.setattr(cv2, "VideoCapture", lambda path: _Camera([]))
    args = argparse.Namespace(format="jsonl", grayscale=False, frame_stride=1, max_frames=None,
                              skip_unreadable=False, no_progress=True)
    out = io.StringIO()
    video = tmp_path / "empty.mp4"
    counts = predict_all(args, [(video, tmp_path)], mean_model(), FaceAligner(16, detector=_TwoFaceDetector()),
                         None, out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {"source": str(video), "frame": None, "face": None, "box": None, "label": None, "probabilities": None,
         "note": "no frame could be read"}]
    assert counts["frames"] == 0 and counts["no_face"] == 0 and counts["images"] == 0


def test_predict_all_writes_a_csv_header_and_one_row_per_face(tmp_path):
    """--format csv: csv_fields' header, then the two faces' rows with their boxes (60 px apart) and answers."""
    import argparse
    import io

    from dsan_tf.cli.predict import predict_all
    from dsan_tf.data.align import FaceAligner

    photo = _photo(tmp_path / "p.png", height=90, width=140)
    args = argparse.Namespace(format="csv", grayscale=False, frame_stride=1, max_frames=None,
                              skip_unreadable=False, no_progress=True)
    out = io.StringIO()
    predict_all(args, [(photo, tmp_path)], mean_model(), FaceAligner(16, detector=_TwoFaceDetector()), None, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == ["source", "frame", "time_s", "face", "box_x", "box_y", "box_w", "box_h",
                             "detection_confidence", "label", "probability", "p_dark", "p_bright", "note"]
    assert [(r["face"], r["box_x"], r["box_y"], r["box_w"], r["box_h"]) for r in rows] == [
        ("0", "20", "25", "40", "50"), ("1", "80", "25", "40", "50")]
    for r in rows:
        assert float(r["p_dark"]) + float(r["p_bright"]) == pytest.approx(1.0, abs=2e-6)
        assert r["source"] == str(photo) and r["frame"] == "" and r["note"] == ""


@pytest.mark.parametrize("flags, says", [
    (["PHOTO", "--smooth", "3"], "--smooth: for the live path only"),
    (["PHOTO", "--search-every", "5"], "--search-every: for the live path only"),
    (["PHOTO", "--classifier", "tflite"], "--classifier tflite: for the live path only"),
    (["PHOTO", "--show"], "--show goes with --camera"),
    (["--camera", "0", "PHOTO"], "--camera writes JSON lines on stdout (or a window with --show): not with inputs"),
    (["--camera", "0", "--output", "OUT/rows.jsonl"], "not with --output"),
    (["--camera", "0", "--annotate", "OUT/ann"], "not with --annotate"),
    (["--camera", "0", "--format", "csv"], "not with --format csv"),
    (["--camera", "0", "--skip-unreadable"], "not with --skip-unreadable"),
    (["--camera", "0", "--chart", "OUT/c.png"], "not with --chart"),
    (["PHOTO", "--chart", "OUT/c.png"], "--chart takes one input video (e.g. clip.mp4), got 1 input(s): "),
    (["VIDEO", "--chart", "OUT/c.png", "--annotate", "OUT/ann"], "--annotate with --chart: give the annotated video's"),
])
def test_flags_that_do_not_go_together_exit_2_naming_them(tmp_path, capsys, flags, says):
    from dsan_tf.cli.predict import parse_args

    photo, video = _photo(tmp_path / "p.png"), tmp_path / "v.mp4"
    video.write_bytes(b"")
    argv = [str(photo) if f == "PHOTO" else str(video) if f == "VIDEO" else f.replace("OUT", str(tmp_path))
            for f in flags]
    with pytest.raises(SystemExit) as stop:
        parse_args(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and says in err, err


@pytest.mark.parametrize("flags", [
    ["--camera", "0", "--smooth", "3", "--search-every", "5", "--classifier", "tflite", "--show"],
    ["VIDEO", "--chart", "OUT/c.png", "--smooth", "3", "--search-every", "1"],
    ["VIDEO", "--annotate", "OUT/a.MP4", "--chart", "OUT/c.png"],
    ["PHOTO", "--annotate", "OUT/ann", "--format", "csv", "--output", "OUT/rows.csv", "--skip-unreadable"],
])
def test_flags_that_go_together_are_accepted(tmp_path, flags):
    from dsan_tf.cli.predict import parse_args

    photo, video = _photo(tmp_path / "p.png"), tmp_path / "v.mp4"
    video.write_bytes(b"")
    parse_args([str(photo) if f == "PHOTO" else str(video) if f == "VIDEO" else f.replace("OUT", str(tmp_path))
                for f in flags])


def test_annotated_copies_mirror_sub_folders_and_frames_go_in_a_folder_named_after_the_video(tmp_path):
    """Found under root: root/sub/x.png -> ann/sub/x.jpg; root/sub/clip.mp4's frame 7 -> ann/sub/clip/
    frame_000007.jpg; a file outside its root keeps only its name (never an absolute path beside the input)."""
    from dsan_tf.cli.predict import _Annotator

    root, ann = tmp_path / "root", tmp_path / "ann"
    annotator = _Annotator(ann)
    annotator.plan([(root / "sub" / "x.png", root), (root / "sub" / "clip.mp4", root)])
    assert annotator.path(root / "sub" / "x.png", root) == ann / "sub" / "x.jpg"
    assert annotator.path(root / "sub" / "clip.mp4", root, 7) == ann / "sub" / "clip" / "frame_000007.jpg"
    assert annotator.frame_folder(root / "sub" / "clip.mp4", root) == ann / "sub" / "clip"
    assert annotator.path(tmp_path / "elsewhere" / "y.png", root) == ann / "y.jpg"
    assert "clip.mp4" not in {p.name for p in annotator.planned}  # videos are not planned as one copy


def test_check_outputs_refuses_annotations_that_would_replace_an_input_or_the_output(tmp_path):
    """An annotated copy landing on an input photo, a video's frames written into a folder holding an input,
    an annotated copy that is --output: each refused naming what it would replace; a clean layout passes."""
    import argparse

    from dsan_tf.cli.predict import _Annotator, check_outputs
    from dsan_tf.io_utils import OutputError

    folder = tmp_path / "photos"
    photo = _photo(folder / "a.jpg")

    def check(inputs, annotate, output=None):
        args = argparse.Namespace(inputs=[s for s, _ in inputs], weights=None, savedmodel=None, output=output,
                                  annotate=annotate)
        annotator = _Annotator(annotate)
        annotator.plan(inputs)
        check_outputs(args, inputs, annotator)

    with pytest.raises(OutputError, match=rf"the annotated copy of {photo} would replace the input {photo}"):
        check([(photo, folder)], folder)
    video, inside = tmp_path / "clip.mp4", _photo(tmp_path / "frames" / "clip" / "b.png")
    video.write_bytes(b"")
    with pytest.raises(OutputError, match=rf"the frames of {video} would be written into .*which holds the input"):
        check([(video, tmp_path), (inside, tmp_path / "frames" / "clip")], tmp_path / "frames")
    with pytest.raises(OutputError, match=r"would replace --output"):
        check([(photo, folder)], tmp_path / "ann", output=tmp_path / "ann" / "a.jpg")
    check([(photo, folder), (video, tmp_path)], tmp_path / "ann", output=tmp_path / "rows.jsonl")


def test_the_live_path_recognizer_takes_every_detector_and_grey_flag(monkeypatch, capsys):
    """_live_recognizer passes --min-confidence, --min-face-size, --largest-only and --grayscale on (the
    photo path's flags, the same meaning on the live path), and says when a grey-trained model greys."""
    import argparse

    import dsan_tf.inference as inference
    from dsan_tf.cli import predict as command

    model = _SpyModel(grey=True)
    monkeypatch.setattr(inference, "load_predictor", lambda weights=None, savedmodel=None: model)
    args = argparse.Namespace(weights=None, savedmodel=None, grayscale=None, min_confidence=0.4, min_face_size=33,
                              largest_only=True, align_size=None, classifier="keras")
    recognizer = command._live_recognizer(args)
    assert recognizer.predictor is model and recognizer.grayscale is True
    aligner = recognizer.aligner
    assert (aligner.min_confidence, aligner.min_face_size, aligner.largest_only) == (0.4, 33, True)
    assert "trained on grey faces" in capsys.readouterr().err
    args.grayscale, args.largest_only = False, False
    recognizer = command._live_recognizer(args)
    assert recognizer.grayscale is False and recognizer.aligner.largest_only is False
    assert "grey" not in capsys.readouterr().err
    args.grayscale = True  # asked for: greyed, and nothing to explain
    assert command._live_recognizer(args).grayscale is True and "grey" not in capsys.readouterr().err


def test_the_live_path_writes_a_csv_table_and_refuses_one_file_for_two_outputs(tmp_path, monkeypatch, capsys):
    """One video on the live path with --format csv: the table's header (video_outputs.table_fields) and one row
    per frame's face, exit 0; --output and --chart naming the same file is refused before any frame."""
    import argparse

    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.cli import predict as command
    from dsan_tf.data.errors import DataError
    from dsan_tf.video_outputs import table_fields

    video = tmp_path / "v.avi"
    write_video(video, [np.full((90, 120, 3), 60 * i, np.uint8) for i in range(3)])
    recognizer = FaceExpressionRecognizer(mean_model(), align_size=16, detector=FixedFaceDetectorAlias())
    monkeypatch.setattr(command, "_live_recognizer", lambda args: recognizer)
    args = argparse.Namespace(inputs=[video], weights=None, savedmodel=None, overwrite=False,
                              output=tmp_path / "rows.csv", annotate=None, chart=None, format="csv",
                              frame_stride=1, max_frames=None, search_every=1, smooth=1, no_progress=True)
    assert command.run_live_video(args) == 0
    with open(tmp_path / "rows.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == table_fields(["dark", "bright"])
    assert [int(r["frame"]) for r in rows] == [0, 1, 2] and all(r["track"] != "" for r in rows)
    assert "1 face tracks" in capsys.readouterr().err
    args.output, args.chart = tmp_path / "same.png", tmp_path / "same.png"
    with pytest.raises(DataError, match=r"--chart .*same.png: the same file as --output"):
        command.run_live_video(args)


def test_show_without_a_display_is_a_user_error_before_the_model_loads(monkeypatch):
    """--camera 0 --show where no window can open: DisplayUnavailable (exit status 2, a UserError) saying to
    drop --show, raised before the model loads (a stand-in that would fail if it were asked)."""
    import argparse

    from dsan_tf import realtime
    from dsan_tf.cli import predict as command
    from dsan_tf.errors import UserError

    def no_display():
        raise realtime.DisplayError("no display here")

    def never(args):
        raise AssertionError("the model loaded before the display was checked")

    monkeypatch.setattr(realtime, "check_display", no_display)
    monkeypatch.setattr(command, "_live_recognizer", never)
    args = argparse.Namespace(camera=0, show=True)
    with pytest.raises(command.DisplayUnavailable, match=r"^--show: no display here \(drop --show\)$") as err:
        command.run_camera(args)
    assert isinstance(err.value, UserError)


def test_ctrl_c_stops_the_camera_with_its_report_line(monkeypatch, capsys):
    """Ctrl-C while the camera's lines are written ends with the report line saying so (no traceback); the
    camera delivered no frame before it: exit status 1."""
    import argparse

    import cv2

    from dsan_tf import realtime
    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.cli import predict as command

    def interrupted(results, out):
        raise KeyboardInterrupt

    recognizer = FaceExpressionRecognizer(mean_model(), align_size=16, detector=FixedFaceDetectorAlias())
    monkeypatch.setattr(command, "_live_recognizer", lambda args: recognizer)
    monkeypatch.setattr(cv2, "VideoCapture", lambda index: _Camera([]))
    monkeypatch.setattr(realtime, "write_json_lines", interrupted)
    args = argparse.Namespace(camera=0, show=False, search_every=10, smooth=1, frame_stride=1, max_frames=None)
    assert command.run_camera(args) == 1
    err = capsys.readouterr().err
    assert err.rstrip().endswith("; stopped by Ctrl-C") and err.startswith("dsan predict: ")


def test_the_live_path_exits_1_for_a_truncated_video_and_refuses_a_missing_one(tmp_path, monkeypatch, capsys):
    """One video on the live path that ends before its header's 30 frames: its decoded frames' rows, the
    truncation on stderr, exit status 1; a video path that is not a file is a DataError naming it."""
    import argparse

    from dsan_tf.api import FaceExpressionRecognizer
    from dsan_tf.cli import predict as command
    from dsan_tf.data.errors import DataError

    write_video(tmp_path / "whole.avi", [np.full((64, 80, 3), 8 * i, np.uint8) for i in range(30)])
    data = (tmp_path / "whole.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[:len(data) // 2])
    recognizer = FaceExpressionRecognizer(mean_model(), align_size=16, detector=FixedFaceDetectorAlias())
    monkeypatch.setattr(command, "_live_recognizer", lambda args: recognizer)
    args = argparse.Namespace(inputs=[tmp_path / "cut.avi"], weights=None, savedmodel=None, overwrite=False,
                              output=tmp_path / "rows.jsonl", annotate=None, chart=None, format="jsonl",
                              frame_stride=1, max_frames=None, search_every=10, smooth=1, no_progress=True)
    assert command.run_live_video(args) == 1
    assert "truncated" in capsys.readouterr().err
    rows = (tmp_path / "rows.jsonl").read_text().splitlines()
    assert 0 < len(rows) < 30
    args.inputs, args.output = [tmp_path / "whole.avi"], tmp_path / "whole.jsonl"
    assert command.run_live_video(args) == 0
    assert len((tmp_path / "whole.jsonl").read_text().splitlines()) == 30
    args.inputs = [tmp_path / "gone.avi"]
    with pytest.raises(DataError, match=rf"^{tmp_path / 'gone.avi'}: no such video file$"):
        command.run_live_video(args)


def test_a_savedmodel_with_both_signatures_is_read_through_its_pixels_one(tmp_path):
    """An export has predict_pixels and serving_default (PNG bytes); the Predictor uses predict_pixels, which
    takes the float pixels as they are. The stand-in's two signatures answer opposite ways ([1 - m, m] and
    [m, 1 - m] for a crop of mean m), so the answer tells which one ran."""
    import tensorflow as tf

    from dsan_tf.inference import SavedModelPredictor

    class Both(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
        def pixels(self, pixels):
            mean = tf.reduce_mean(pixels, axis=[1, 2, 3]) / 255
            return {"probabilities": tf.stack([1 - mean, mean], axis=1)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def image_bytes(self, image_bytes):
            images = tf.map_fn(lambda b: tf.cast(tf.io.decode_png(b, channels=3), tf.float32), image_bytes,
                               fn_output_signature=tf.TensorSpec([None, None, 3], tf.float32))
            mean = tf.reduce_mean(images, axis=[1, 2, 3]) / 255
            return {"probabilities": tf.stack([mean, 1 - mean], axis=1)}

    both = Both()
    tf.saved_model.save(both, str(tmp_path / "both"), signatures={"predict_pixels": both.pixels,
                                                                  "serving_default": both.image_bytes})
    predictor = SavedModelPredictor(tmp_path / "both")
    np.testing.assert_allclose(predictor.predict([np.full((4, 6, 3), 51, np.uint8)]), [[0.8, 0.2]], atol=1e-6)
    np.testing.assert_allclose(predictor.predict_pixels(np.full((1, 2, 2, 3), 25.5)), [[0.9, 0.1]], atol=1e-6)


def test_a_predictor_sends_at_most_32_faces_per_call_by_default():
    """Predictor.predict's batch_size defaults to 32: 40 crops of one shape go as 32 and 8."""
    from dsan_tf.inference import Predictor

    calls = []

    class Counting(Predictor):
        class_names = ["a", "b"]
        source, image_size = "stub", None

        def _predict_pixels(self, pixels):
            calls.append(len(pixels))
            return np.full((len(pixels), 2), 0.5, np.float32)

    Counting().predict([np.zeros((4, 4, 3), np.uint8)] * 40, grayscale=False)
    assert calls == [32, 8]


def test_the_documented_defaults_of_dsan_predict(tmp_path):
    """JSON lines, the model's grey setting, every frame, all frames, MTCNN's 0.9 and 20 px, no smoothing,
    a search every 10 frames, the Keras classifier, the model's crop size; --align-size takes 8 to 1024."""
    from dsan_tf.cli.predict import parse_args

    photo = _photo(tmp_path / "p.png")
    args = parse_args([str(photo)])
    assert (args.format, args.grayscale, args.frame_stride, args.max_frames, args.min_confidence,
            args.min_face_size, args.smooth, args.search_every, args.classifier, args.align_size,
            args.largest_only, args.overwrite, args.skip_unreadable) == ("jsonl", None, 1, None, 0.9, 20, 1, 10,
                                                                          "keras", None, False, False, False)
    assert parse_args([str(photo), "--align-size", "8"]).align_size == 8
    assert parse_args([str(photo), "--align-size", "1024"]).align_size == 1024
    for bad in ("7", "1025"):
        with pytest.raises(SystemExit):
            parse_args([str(photo), "--align-size", bad])


def test_a_savedmodel_is_loaded_as_one_and_the_demo_names_what_ran(predict, tmp_path, capsys, monkeypatch,
                                                                   stub_command):
    """--savedmodel DIR: the predictor is asked for that SavedModel and no shipped weights (one of the two,
    not both); the demo names the SavedModel, a .keras file or the shipped model it ran."""
    import dsan_tf.inference as inference

    asked = []

    def loading(weights=None, savedmodel=None):
        asked.append((weights, savedmodel))
        return stub_command["model"]

    monkeypatch.setattr(inference, "load_predictor", loading)
    served = tmp_path / "served"
    served.mkdir()
    photo = _photo(tmp_path / "p.png")
    code, _, err = run(predict, capsys, ["--savedmodel", str(served), str(photo)])
    assert code == 0 and asked[-1] == (None, served) and "no --weights given" not in err, err
    code, _, err = run(predict, capsys, ["--savedmodel", str(served)])
    assert code == 0 and f"no input given: the SavedModel {served} on" in err, err
    weights = tmp_path / "m.keras"
    weights.write_bytes(b"")
    code, _, err = run(predict, capsys, ["--weights", str(weights)])
    assert code == 0 and f"no input given: the model {weights} on" in err and asked[-1] == (weights, None), err


def test_an_existing_output_is_kept_without_overwrite_and_replaced_with_it(predict, tmp_path, capsys, monkeypatch,
                                                                          stub_command):
    """--output naming a file the command did not make: refused (exit 2, the file unchanged) before the model
    loads; with --overwrite it is replaced by the rows."""
    import dsan_tf.inference as inference

    loaded = []
    monkeypatch.setattr(inference, "load_predictor",
                        lambda weights=None, savedmodel=None: loaded.append(weights) or stub_command["model"])
    photo = _photo(tmp_path / "p.png")
    output = tmp_path / "rows.jsonl"
    output.write_text("precious\n")
    code, _, err = run(predict, capsys, ["--weights", "ferplus", str(photo), "--output", str(output)])
    assert code == 2 and output.read_text() == "precious\n" and str(output) in err, err
    assert loaded == [] and stub_command["model"].seen == []
    code, _, err = run(predict, capsys, ["--weights", "ferplus", str(photo), "--output", str(output), "--overwrite"])
    assert code == 0, err
    assert json.loads(output.read_text())["source"] == str(photo)


def test_the_keras_predictor_runs_the_model_in_inference_mode_at_its_input_size():
    """A face's answer does not depend on the faces batched with it (BatchNorm's moving statistics, no
    dropout: training=False), and is the model's own answer on that face preprocessed at its 32 px input."""
    import keras

    from dsan_tf.data.preprocess import preprocess_for_model
    from dsan_tf.inference import KerasPredictor
    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(1)
    model = build_dsan(3, 32, class_names=CLASSES, dtype="float32")
    rng = np.random.default_rng(11)
    faces = [rng.integers(0, 256, (40, 50, 3), dtype=np.uint8) for _ in range(3)]
    predictor = KerasPredictor(model)
    alone = predictor.predict(faces[:1])
    together = predictor.predict(faces)
    np.testing.assert_allclose(together[:1], alone, atol=1e-5)
    want = model(preprocess_for_model(faces[0][None].astype(np.float32), 32), training=False)["probabilities"]
    np.testing.assert_allclose(alone, np.asarray(want), atol=1e-5)
