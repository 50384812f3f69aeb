"""Issue 13, the inference and export tools: careless-user probes end in one-line errors, never lose a file.

predict, explain, analyze, align_faces, make_tfrecords, export_savedmodel, export_tflite and
client: outputs never land on inputs, are validated before any long work and replace an
old file only when complete (with the normal file mode); 16-bit and other Pillow modes
decode as TensorFlow decodes them; MTCNN looks at a downscaled copy of huge photos.
The models are the tiny ones of test_predict (3 classes, 48 px, untrained).
"""

import io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script
from test_align import CachedDetector
from test_predict import PHOTOS, model_file, needs_photos, predict  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- helpers


def call(main, argv, capsys):
    """(exit code, stdout, stderr) of a script's main(argv); argparse refusals count as exit code 2."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *words):
    """A non-zero exit with exactly one 'error:' line on stderr, naming ``words``, and no traceback."""
    assert code not in (0, None), err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    for word in words:
        assert str(word) in lines[0], lines[0]


def write_photo(path, size=64, seed=0):
    """A small noise JPEG/PNG (no face in it), parent folders created."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def snapshot(*paths):
    return {p: p.read_bytes() for p in paths}


def assert_unchanged(before):
    for path, data in before.items():
        assert path.read_bytes() == data, f"{path} was changed"


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


# ---------------------------------------------------------------------- 1, 2: predict's outputs


def test_predict_refuses_to_annotate_over_or_into_its_inputs(predict, model_file, tmp_path, capsys):
    photos = tmp_path / "photos"
    photo = write_photo(photos / "a.jpg")
    before = snapshot(photo, model_file)
    cases = [([photos], photos),                    # the input folder itself: a.jpg -> a.jpg
             ([photo], photos),                     # a named photo: its annotated copy is the photo
             ([photos], photos / "annotated")]      # inside the input folder: a rerun would read them
    for inputs, annotate in cases:
        code, out, err = call(predict.main, ["--weights", model_file, *inputs, "--annotate", annotate,
                                             "--no-progress"], capsys)
        assert_one_line_error(code, err, f"--annotate {annotate}")
        assert out == ""
        assert_unchanged(before)
        assert sorted(p.name for p in photos.rglob("*")) == ["a.jpg"]


def test_predict_checks_everything_before_touching_its_output(predict, model_file, tmp_path, capsys, umask_022):
    photo = write_photo(tmp_path / "photos" / "a.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a JPEG")
    results = tmp_path / "results.jsonl"
    results.write_text("yesterday's results\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    before = snapshot(photo, model_file, results)

    def refused(argv, *words):
        code, _, err = call(predict.main, ["--weights", model_file, *argv, "--no-progress"], capsys)
        assert_one_line_error(code, err, *words)
        assert_unchanged(before)

    refused([tmp_path / "typo.jpg", "--output", results], "typo.jpg", "no such file")
    refused([photo, "--output", results], f"--output {results}", "exists", "--overwrite")  # issue 24
    refused([broken, photo, "--output", results, "--overwrite"], "broken.jpg")  # fails at work: old results kept
    refused([photo, "--output", photo], f"--output {photo}", "input")
    refused([photo, "--output", model_file], f"--output {model_file}", "input")
    refused([tmp_path / "photos", "--output", tmp_path / "photos" / "rows.csv"], "inside the input folder")
    refused([photo, "--output", blocker / "rows.jsonl"], f"--output {blocker / 'rows.jsonl'}", "is a file")
    refused([photo, "--output", tmp_path], "is a folder")

    code, _, err = call(predict.main, ["--weights", model_file, photo, "--output", results, "--no-progress",
                                       "--overwrite"], capsys)
    assert code == 0, err
    assert json.loads(results.read_text())["note"] == "no face"
    assert stat.S_IMODE(results.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


# ---------------------------------------------------------------------- 5: 16-bit and other image modes


def test_every_pillow_mode_decodes_as_tensorflow_does(tmp_path):
    import cv2
    import tensorflow as tf
    from PIL import Image

    from dsan_tf.data.align import read_rgb
    from dsan_tf.data.preprocess import pil_to_rgb

    rng = np.random.default_rng(0)
    grey16 = rng.integers(0, 65536, (24, 20), dtype=np.uint16)
    rgb16 = rng.integers(0, 65536, (24, 20, 3), dtype=np.uint16)

    def tf_pixels(data):
        return tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False).numpy()

    # 16-bit PNGs, grey and colour: exactly the SavedModel's pixels (high byte).
    for name, pixels in (("grey16.png", grey16), ("rgb16.png", rgb16)):
        data = cv2.imencode(".png", pixels)[1].tobytes()
        (tmp_path / name).write_bytes(data)
        np.testing.assert_array_equal(read_rgb(tmp_path / name), tf_pixels(data), err_msg=name)
    np.testing.assert_array_equal(read_rgb(tmp_path / "grey16.png")[..., 0], grey16 >> 8)

    # 32-bit integer and float TIFFs (modes I and F).
    values = rng.integers(0, 65536, (8, 8)).astype(np.int32)
    assert Image.fromarray(values).mode == "I"
    np.testing.assert_array_equal(pil_to_rgb(Image.fromarray(values))[..., 1], values >> 8)
    small = rng.integers(0, 256, (8, 8)).astype(np.int32)
    np.testing.assert_array_equal(pil_to_rgb(Image.fromarray(small))[..., 2], small)
    unit = rng.uniform(0, 1, (8, 8)).astype(np.float32)
    np.testing.assert_array_equal(pil_to_rgb(Image.fromarray(unit))[..., 0], np.rint(unit * 255))

    # The 8-bit modes: palette (with transparency), grey + alpha, CMYK, 1-bit.
    rgb = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    palette = Image.fromarray(rgb).quantize(16)
    palette.info["transparency"] = 0
    np.testing.assert_array_equal(pil_to_rgb(palette), np.asarray(palette.convert("RGBA"))[..., :3])
    grey_alpha = Image.fromarray(np.stack([rgb[..., 0], rgb[..., 1]], -1))
    assert grey_alpha.mode == "LA"
    np.testing.assert_array_equal(pil_to_rgb(grey_alpha), np.repeat(rgb[..., :1], 3, axis=2))
    cmyk = Image.fromarray(rgb).convert("CMYK")
    np.testing.assert_array_equal(pil_to_rgb(cmyk), rgb)
    assert pil_to_rgb(Image.new("1", (5, 4), 1)).tolist() == np.full((4, 5, 3), 255).tolist()
    for image in (palette, grey_alpha, cmyk):
        assert pil_to_rgb(image).dtype == np.uint8 and pil_to_rgb(image).shape == (8, 8, 3)


def test_tfrecords_crop_of_a_16bit_png_is_not_white():
    import cv2
    from PIL import Image

    from dsan_tf.data.tfrecords import prepare_image

    grey16 = (np.arange(32 * 32).reshape(32, 32) * 40).astype(np.uint16)  # 0 .. 40920: mid-grey on average
    data = cv2.imencode(".png", grey16)[1].tobytes()
    stored, _ = prepare_image(data, "grey16.png", (0, 0, 16, 16), crop_boxes=True, image_size=None,
                              jpeg_quality=95)
    with Image.open(io.BytesIO(stored)) as im:
        crop = np.asarray(im.convert("L"), np.float64)
    assert abs(crop.mean() - (grey16[:16, :16] >> 8).mean()) < 2.0


@needs_photos
def test_align_faces_finds_the_face_in_a_16bit_photo(tmp_path, capsys):
    import cv2

    grey = cv2.cvtColor(cv2.imread(str(PHOTOS / "ivan.jpg")), cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257
    (tmp_path / "in").mkdir()
    cv2.imwrite(str(tmp_path / "in" / "ivan16.png"), grey)
    code, out, err = call(load_script("align_faces").main,
                          ["--input", tmp_path / "in", "--output", tmp_path / "out", "--no-progress"], capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "ivan16.png").is_file(), out


# ---------------------------------------------------------------------- 8: export version and models.config


def test_export_refuses_a_bad_version_or_config_before_writing_anything(model_file, tmp_path, capsys):
    script = load_script("export_savedmodel", "export")
    models = tmp_path / "models"
    base = models / "dsan"
    common = ["--weights", model_file, "--output", base]
    for version in ("99999999999999999999", str(2 ** 63), "0", "-3", "one"):
        code, _, err = call(script.main, common + ["--version", version], capsys)
        assert_one_line_error(code, err, "--version", version)
        assert not models.exists()

    models.mkdir()
    config = models / "models.config"
    config.write_text("model_config_list { config { name: 'dsan' base_path: \n")  # cut short
    before = snapshot(config)
    code, _, err = call(script.main, common + ["--version", "1"], capsys)
    assert_one_line_error(code, err, str(config), "ModelServerConfig")
    assert not base.exists()
    assert_unchanged(before)


# ---------------------------------------------------------------------- 10: odd paths, arguments, truncated models


@pytest.fixture
def odd(tmp_path, model_file):
    """Valid inputs for every command, and a regular file standing where an output folder should go."""
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    named_like_config = tmp_path / "configs" / "models.config"  # weights that carry an output's name
    named_like_config.parent.mkdir()
    named_like_config.write_bytes(model_file.read_bytes())
    return {"model": model_file, "photos": write_photo(tmp_path / "photos" / "a.jpg").parent,
            "ferplus": Path(SAMPLE_FERPLUS_DIR), "blocker": blocker, "under": blocker / "out",
            "config_weights": named_like_config}


ODD_OUTPUTS = {
    "predict --output": ("predict", "experiments",
                         lambda o: ["--weights", o["model"], o["photos"], "--output", o["under"] / "r.jsonl"]),
    "predict --annotate": ("predict", "experiments",
                           lambda o: ["--weights", o["model"], o["photos"], "--annotate", o["under"]]),
    "explain": ("explain", "experiments", lambda o: ["--weights", o["model"], "--images", o["photos"],
                                                     "--method", "gradcam", "--output", o["under"]]),
    "explain, a file as folder": ("explain", "experiments", lambda o: [
        "--weights", o["model"], "--images", o["photos"], "--method", "gradcam", "--output", o["blocker"]]),
    "analyze": ("analyze", "experiments", lambda o: ["--weights", o["model"], "--output", o["under"]]),
    "align_faces --output": ("align_faces", "experiments",
                             lambda o: ["--input", o["photos"], "--output", o["under"]]),
    "align_faces --report": ("align_faces", "experiments", lambda o: [
        "--input", o["photos"], "--output", o["blocker"].parent / "crops", "--report", o["under"] / "r.csv"]),
    "make_tfrecords": ("make_tfrecords", "experiments", lambda o: [
        "--dataset", "ferplus", "--data-dir", o["ferplus"], "--output", o["under"]]),
    "export_savedmodel --output": ("export_savedmodel", "export", lambda o: [
        "--weights", o["model"], "--output", o["under"] / "dsan", "--version", "1",
        "--config-dir", o["blocker"].parent / "configs"]),
    "export_savedmodel --config-dir": ("export_savedmodel", "export", lambda o: [
        "--weights", o["model"], "--output", o["blocker"].parent / "dsan", "--version", "1",
        "--config-dir", o["under"]]),
    "export_tflite": ("export_tflite", "export", lambda o: [
        "--weights", o["model"], "--output", o["under"], "--data-dir", o["ferplus"]]),
}


@pytest.mark.parametrize("case", sorted(ODD_OUTPUTS))
def test_an_output_under_a_regular_file_is_a_one_line_error(case, odd, capsys):
    name, folder, argv = ODD_OUTPUTS[case]
    code, _, err = call(load_script(name, folder).main, argv(odd), capsys)
    assert_one_line_error(code, err, odd["blocker"])
    assert odd["blocker"].read_text() == "x"


INTO_INPUTS = {
    "explain into its images": ("explain", "experiments", lambda o: [
        "--weights", o["model"], "--images", o["photos"], "--method", "gradcam", "--output", o["photos"]]),
    "analyze into its data": ("analyze", "experiments", lambda o: [
        "--weights", o["model"], "--data-dir", o["ferplus"], "--output", o["ferplus"] / "analysis"]),
    "align_faces into its input": ("align_faces", "experiments",
                                   lambda o: ["--input", o["photos"], "--output", o["photos"]]),
    "make_tfrecords into its data": ("make_tfrecords", "experiments", lambda o: [
        "--dataset", "ferplus", "--data-dir", o["ferplus"], "--output", o["ferplus"]]),
    "export_tflite over its weights": ("export_tflite", "export", lambda o: [
        "--weights", o["model"], "--output", o["model"], "--data-dir", o["ferplus"]]),
    "export_savedmodel config over its weights": ("export_savedmodel", "export", lambda o: [
        "--weights", o["config_weights"], "--output", o["blocker"].parent / "dsan", "--version", "1",
        "--config-dir", o["config_weights"].parent]),
}


@pytest.mark.parametrize("case", sorted(INTO_INPUTS))
def test_an_output_on_or_inside_an_input_is_refused(case, odd, capsys):
    name, folder, argv = INTO_INPUTS[case]
    folders = (odd["photos"], odd["ferplus"])
    listing = {p: sorted(q.relative_to(p) for q in p.rglob("*")) for p in folders}
    before = snapshot(odd["model"], odd["config_weights"])
    code, _, err = call(load_script(name, folder).main, argv(odd), capsys)
    assert_one_line_error(code, err, "input")
    assert {p: sorted(q.relative_to(p) for q in p.rglob("*")) for p in folders} == listing
    assert_unchanged(before)


def test_export_overwrite_refuses_to_delete_its_own_inputs(model_file, tmp_path, capsys):
    base = tmp_path / "dsan"
    (base / "1").mkdir(parents=True)
    weights = base / "1" / "model.keras"
    weights.write_bytes(model_file.read_bytes())
    code, _, err = call(load_script("export_savedmodel", "export").main,
                        ["--weights", weights, "--output", base, "--version", "1", "--overwrite"], capsys)
    assert_one_line_error(code, err, weights, "replaces")
    assert weights.read_bytes() == model_file.read_bytes()


@pytest.mark.parametrize("flag, value", [("--shards", 0), ("--shard-size", 0), ("--jpeg-quality", 101),
                                         ("--image-size", 0), ("--split", "nosuchsplit")])
def test_make_tfrecords_refuses_impossible_settings_before_writing(flag, value, tmp_path, capsys):
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    out = tmp_path / "records"
    code, _, err = call(load_script("make_tfrecords").main, ["--dataset", "ferplus", "--data-dir", SAMPLE_FERPLUS_DIR,
                                                             "--output", out, flag, value], capsys)
    assert_one_line_error(code, err, flag)
    assert not out.exists() or not any(out.iterdir())


def truncated_copy(model_file, path):
    path.write_bytes(model_file.read_bytes()[: model_file.stat().st_size // 2])
    return path


def corrupted_copy(model_file, path):
    """A bit flipped in the middle of the weights: the zip's directory is intact, a checksum is not."""
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def test_a_truncated_or_corrupted_model_is_named_as_such(model_file, tmp_path, capsys):
    from dsan_tf.data import SAMPLE_FERPLUS_DIR
    from dsan_tf.inference import ModelLoadError, load_dsan

    truncated = truncated_copy(model_file, tmp_path / "truncated.keras")
    corrupted = corrupted_copy(model_file, tmp_path / "corrupted.keras")
    with pytest.raises(ModelLoadError, match="truncated or damaged"):
        load_dsan(truncated)
    with pytest.raises(ModelLoadError, match="damaged .keras file .*checksum"):
        load_dsan(corrupted)
    commands = {
        "export_savedmodel": lambda w: ["--weights", w, "--output", tmp_path / "models" / "dsan", "--version", "1"],
        "export_tflite": lambda w: ["--weights", w, "--output", tmp_path / "tflite", "--data-dir", SAMPLE_FERPLUS_DIR],
    }
    for name, argv in commands.items():
        for weights in (truncated, corrupted):
            code, _, err = call(load_script(name, "export").main, argv(weights), capsys)
            assert_one_line_error(code, err, weights, "damaged")
    assert not (tmp_path / "models" / "dsan").exists() and not (tmp_path / "tflite").exists()


# ---------------------------------------------------------------------- 11: export_tflite checks first


def test_export_tflite_checks_its_data_and_saved_model_before_converting(model_file, tmp_path, monkeypatch,
                                                                         capsys):
    from dsan_tf import export
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted before the arguments were checked")

    monkeypatch.setattr(export, "convert_tflite", no_conversion)
    script = load_script("export_tflite", "export")
    common = ["--weights", model_file, "--output", tmp_path / "tflite"]
    (tmp_path / "empty").mkdir()
    for extra, words in ((["--data-dir", tmp_path / "nowhere"], ["nowhere"]),
                         (["--data-dir", SAMPLE_FERPLUS_DIR, "--saved-model", tmp_path / "nowhere"],
                          ["--saved-model", "nowhere"]),
                         (["--data-dir", SAMPLE_FERPLUS_DIR, "--saved-model", tmp_path / "empty"],
                          ["--saved-model", "not a SavedModel"]),
                         (["--data-dir", SAMPLE_FERPLUS_DIR, "--limit", "0"], ["--limit"])):
        code, _, err = call(script.main, common + extra, capsys)
        assert_one_line_error(code, err, *words)
    assert not (tmp_path / "tflite").exists()


# ---------------------------------------------------------------------- 12: MTCNN on a downscaled copy


class FixedFaceDetector:
    """mtcnn's detect_faces stand-in: one face at fixed coordinates of whatever image it is given."""

    def __init__(self):
        self.shapes = []

    def detect_faces(self, image, **kwargs):
        self.shapes.append(image.shape)
        marks_x, marks_y = [30.0, 50.0, 40.0, 32.0, 48.0], [40.0, 40.0, 50.0, 60.0, 60.0]
        return np.array([[0, 20.0, 25.0, 60.0, 75.0, 0.99, *marks_x, *marks_y]])


def test_mtcnn_looks_at_a_downscaled_copy_and_warps_the_full_image():
    from dsan_tf.data.align import MAX_DETECTION_SIDE, FaceAligner, warp_face

    height, width = 3 * MAX_DETECTION_SIDE // 2, 3 * MAX_DETECTION_SIDE  # 2400 x 4800 at the default
    image = np.empty((height, width, 3), np.uint8)  # a pattern that tells pixels apart
    image[..., 0] = np.arange(width) % 256
    image[..., 1] = (np.arange(height) % 256)[:, None]
    image[..., 2] = np.arange(width) // 7 % 256
    detector = FixedFaceDetector()
    faces = FaceAligner(112, min_face_size=20, detector=detector).align(image)

    assert max(detector.shapes[0][:2]) == MAX_DETECTION_SIDE
    scale = width / MAX_DETECTION_SIDE  # 3: the stand-in's coordinates come back three times larger
    (face,) = faces
    np.testing.assert_allclose(face.box, ((20 + 0.5) * scale - 0.5, (25 + 0.5) * scale - 0.5, 40 * scale,
                                          50 * scale), atol=1e-4)
    np.testing.assert_allclose(face.landmarks[0], ((30 + 0.5) * scale - 0.5, (40 + 0.5) * scale - 0.5), atol=1e-4)
    crop, _ = warp_face(image, face.landmarks, 112)
    np.testing.assert_array_equal(face.image, crop)  # warped from the full-resolution pixels

    small = FixedFaceDetector()
    FaceAligner(112, detector=small).align(image[:300, :400])
    assert small.shapes == [(300, 400, 3)]  # a small photo is looked at as it is


@needs_photos
def test_a_downscaled_detection_finds_the_same_face():
    from dsan_tf.data.align import FaceAligner, read_rgb

    photo = read_rgb(PHOTOS / "ivan.jpg")  # 561 x 561
    detector = CachedDetector()
    full = FaceAligner(112, detector=detector).align(photo)[0]
    shrunk = FaceAligner(112, detector=detector, max_detection_side=280).align(photo)[0]
    assert np.abs(np.subtract(full.landmarks, shrunk.landmarks)).max() < 6.0
    eyes = shrunk.aligned_landmarks()[:2]
    assert abs(eyes[0, 1] - eyes[1, 1]) <= 2.0


# ---------------------------------------------------------------------- 13: file modes, stale temporaries, labels, NaN


def test_outputs_have_the_normal_file_mode(model_file, tmp_path, umask_022):
    """0644 files and 0755 folders under umask 022, as a plain open() gives: TF Serving in a container
    running as another user can read models.config and the SavedModel."""
    from dsan_tf import export
    from dsan_tf.inference import load_dsan
    from dsan_tf.io_utils import atomic_path, write_json

    with atomic_path(tmp_path / "model.keras") as tmp:
        Path(tmp).write_bytes(b"weights")
    write_json({"a": 1}, tmp_path / "metrics.json")
    export.update_model_config(tmp_path / "models.config", "dsan", "/models/dsan", [1])
    export.write_batching_parameters(tmp_path / "batching_parameters.txt")
    version = export.export_saved_model(load_dsan(model_file), tmp_path / "dsan", 1, warmup_images=[])
    written = [tmp_path / name for name in ("model.keras", "metrics.json", "models.config",
                                            "batching_parameters.txt")]
    for path in [*written, version, *version.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
    assert sorted(p.name for p in (tmp_path / "dsan").iterdir()) == ["1"]


def killed_inside(code: str) -> int:
    """Run ``code`` in a Python process that kills itself (SIGKILL) at its end; returns its pid."""
    script = f"import os, signal, sys\nsys.path.insert(0, {str(REPO)!r})\n{textwrap.dedent(code)}\n" \
             "os.kill(os.getpid(), signal.SIGKILL)\n"
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    _, err = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, err.decode()
    return process.pid


def test_temporaries_of_a_killed_write_are_cleaned_by_the_next_write(tmp_path):
    from dsan_tf.io_utils import atomic_path

    target = tmp_path / "model.keras"
    dead = killed_inside(f"""
        from dsan_tf.io_utils import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            open(tmp, "wb").write(b"half a model")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    (orphan,) = tmp_path.iterdir()
    assert orphan.name.startswith(".model.keras.")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        keep = [tmp_path / f".model.keras.{alive.pid}.0123abcd.keras",  # a live writer's
                tmp_path / ".model.keras.notes",                        # not of the pattern
                tmp_path / f".other.keras.{dead}.0123abcd.keras"]       # another target's
        for path in keep:
            path.write_text("keep")
        with atomic_path(target) as tmp:
            Path(tmp).write_text("new")
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model.keras", *(p.name for p in keep)])
    finally:
        alive.kill()
        alive.wait()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        Path(tmp).write_text("half")
        raise RuntimeError("a write that fails keeps the old file")
    assert target.read_text() == "new"

    # The same for folders (an export's version folder).
    from dsan_tf.io_utils import atomic_dir

    version = tmp_path / "models" / "1"
    killed_inside(f"""
        from pathlib import Path
        from dsan_tf.io_utils import atomic_dir
        with atomic_dir(Path({str(version)!r})) as folder:
            (folder / "saved_model.pb").write_bytes(b"half")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert len(list(version.parent.iterdir())) == 1
    with atomic_dir(version) as folder:
        (folder / "saved_model.pb").write_text("whole")
    assert [p.name for p in version.parent.iterdir()] == ["1"]
    assert (version / "saved_model.pb").read_text() == "whole"


def test_client_refuses_labels_that_do_not_name_every_class(tmp_path, monkeypatch, capsys):
    client = load_script("client", "export")
    sent = []

    def fake_predict(url, model, version, images, timeout=30.0):
        sent.append(len(images))
        return [{"probabilities": [0.2, 0.5, 0.3], "class_id": 1, "class_name": "b"} for _ in images]

    monkeypatch.setattr(client, "predict_rest", fake_predict)
    face = write_photo(tmp_path / "face.png")
    for lines in (["a", "b"], ["a", "b", "c", "d"], []):
        labels = tmp_path / "labels.txt"
        labels.write_text("".join(f"{name}\n" for name in lines))
        code, out, err = call(client.main, ["--rest", "http://127.0.0.1:1", "--labels", labels, "--faces", face],
                              capsys)
        assert_one_line_error(code, err, f"--labels {labels}")
        assert code == client.EXIT_INPUT and out == ""
    labels.write_text("a\nb\nc\n")
    code, out, err = call(client.main, ["--rest", "http://127.0.0.1:1", "--labels", labels, "--faces", face], capsys)
    assert code == 0 and "b 0.500" in out


def test_nan_pixels_are_an_error_not_an_answer(model_file):
    import tensorflow as tf

    from dsan_tf.export import build_serving_module
    from dsan_tf.inference import KerasPredictor, load_dsan

    model = load_dsan(model_file)
    pixels = np.full((2, 48, 48, 3), 128.0, np.float32)
    pixels[1, 3, 4, 0] = np.nan
    module = build_serving_module(model)  # the exported predict_pixels signature
    with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or Inf"):
        module.predict_pixels(tf.constant(pixels))
    assert module.predict_pixels(tf.constant(pixels[:1]))["probabilities"].shape == (1, 3)
    # Issue 24: finite values outside [0, 255] are INVALID_ARGUMENT too (HTTP 400 from TF Serving), not
    # NaN probabilities answered 'neutral' (1e30) or a confident class (-1e9, 300, 1000).
    for value in (1e30, -1e9, 300.0, 1000.0, -0.5):
        bad = pixels[:1].copy()
        bad[0, 5, 5, 1] = value
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"pixels must be finite RGB values in \[0, 255\]"):
            module.predict_pixels(tf.constant(bad))
    with pytest.raises(ValueError, match="NaN"):
        KerasPredictor(model).predict_pixels(pixels)
