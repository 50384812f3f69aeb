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
