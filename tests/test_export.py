"""SavedModel export for TF Serving (issue 5): layout, signatures, fresh-process load,
warmup, config files, overwrite refusal, invalid images."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from script_loader import load_script
import tensorflow as tf

REPO = Path(__file__).resolve().parents[1]
IMAGE_SIZE = 64
OUTPUTS = ("probabilities", "class_id", "class_name", "gfe_probabilities", "mff_probabilities")


def ferplus_images(n=16):
    """Real FERPlus validation PNGs: the embedded sample, else the shared copy; skip if neither."""
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    for root in (Path(SAMPLE_FERPLUS_DIR), REPO.parent / "shared" / "datasets" / "ferplus"):
        files = sorted((root / "FER2013Valid").glob("*.png"))
        if files:
            return files[:n]
    pytest.skip("no FERPlus images: neither the embedded sample (dsan_tf/sample_data/ferplus) "
                "nor <repo>/../shared/datasets/ferplus is present")


def train_tiny_dsan(path, image_size=IMAGE_SIZE, **kwargs):
    """A small 8-class DSAN, trained 2 steps on random data (non-trivial BN stats), saved as .keras."""
    from dsan_tf.data import FERPLUS_CLASSES
    from dsan_tf.model import build_dsan

    model = build_dsan(8, image_size, class_names=list(FERPLUS_CLASSES), **kwargs)
    model.compile()
    model.run_eagerly = True  # two steps: cheaper eager than tracing the step (not saved with the model)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, image_size, image_size, 3)).astype("float32")
    y = rng.integers(0, 8, size=8)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.save(path)
    return path


def keras_reference(model, files):
    """The Keras model's outputs on the files, through the shared preprocessing."""
    from dsan_tf.data.preprocess import decode_image, preprocess_for_model

    x = tf.stack([preprocess_for_model(decode_image(Path(f).read_bytes()), model.settings["image_size"])
                  for f in files])
    out = model(x, training=False)
    return {
        "probabilities": out["probabilities"].numpy(),
        "gfe_probabilities": tf.nn.softmax(out["gfe_logits"]).numpy(),
        "mff_probabilities": tf.nn.softmax(out["mff_logits"]).numpy(),
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Export once through the command-line entry point; version 1 under <tmp>/models/dsan."""
    import keras

    import dsan_tf.model  # noqa: F401

    tmp = tmp_path_factory.mktemp("export")
    weights = train_tiny_dsan(tmp / "model.keras")
    base = tmp / "models" / "dsan"
    status = load_script("export_savedmodel", "export").main(
        ["--weights", str(weights), "--output", str(base), "--version", "1"])
    assert status == 0
    model = keras.models.load_model(weights, compile=False)
    return {"weights": weights, "base": base, "dir": base / "1", "model": model}


@pytest.fixture(scope="module")
def loaded(exported):
    return tf.saved_model.load(str(exported["dir"]))


def test_layout_labels_and_server_configs(exported):
    from dsan_tf import export
    from dsan_tf.data import FERPLUS_CLASSES

    d = exported["dir"]
    for rel in ("saved_model.pb", "variables/variables.index", "assets/labels.txt",
                "assets.extra/tf_serving_warmup_requests"):
        assert (d / rel).exists(), rel
    assert (d / "assets" / "labels.txt").read_text().splitlines() == list(FERPLUS_CLASSES)
    # The model's settings travel with it: predict.py reads grayscale_input from them.
    assert json.loads((d / "assets" / export.SETTINGS_FILE).read_text()) == exported["model"].settings
    # No temporary folders left beside the version (TF Serving would ignore them, but still).
    assert [p.name for p in exported["base"].iterdir()] == ["1"]

    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = text_format.Parse((exported["base"].parent / "models.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    (entry,) = config.model_config_list.config
    assert (entry.name, entry.base_path, entry.model_platform) == ("dsan", "/models/dsan", "tensorflow")
    assert list(entry.model_version_policy.specific.versions) == [1]

    batching = export.parse_batching_parameters(exported["base"].parent / "batching_parameters.txt")
    assert batching.max_batch_size.value == 32 == max(export.WARMUP_BATCH_SIZES)
    assert batching.num_batch_threads.value == 4 == batching.max_enqueued_batches.value
    assert 0 < batching.batch_timeout_micros.value <= 10000
    assert not batching.allowed_batch_sizes and not batching.pad_variable_length_inputs


def test_saved_model_cli_lists_both_signatures(exported):
    result = subprocess.run(["saved_model_cli", "show", "--all", "--dir", str(exported["dir"])],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    text = result.stdout
    for name in ("signature_def['serving_default']", "signature_def['predict_pixels']",
                 "inputs['image_bytes']", "inputs['pixels']"):
        assert name in text
    for output in OUTPUTS:
        assert text.count(f"outputs['{output}']") == 2, output
    assert "dtype: DT_STRING" in text and "shape: (-1, -1, -1, 3)" in text


CHILD = textwrap.dedent('''
    import importlib.abc, json, sys

    class NoProject(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("dsan_tf", "export"):
                raise ImportError(f"{name}: the SavedModel must load without this project")
            return None

    sys.meta_path.insert(0, NoProject())
    import numpy as np
    import tensorflow as tf

    saved, out, *files = sys.argv[1:]
    model = tf.saved_model.load(saved)
    data = [open(f, "rb").read() for f in files]
    by_bytes = model.signatures["serving_default"](image_bytes=tf.constant(data))
    pixels = tf.stack([tf.cast(tf.io.decode_image(d, channels=3, expand_animations=False), tf.float32)
                       for d in data])
    by_pixels = model.signatures["predict_pixels"](pixels=pixels)
    arrays = {}
    for prefix, result in (("bytes", by_bytes), ("pixels", by_pixels)):
        for key, value in result.items():
            value = value.numpy()
            if value.dtype == object:
                value = value.astype(str)
            arrays[f"{prefix}/{key}"] = value
    np.savez(out, **arrays)
    print(json.dumps({"project_modules": sorted(m for m in sys.modules if m.split(".")[0] == "dsan_tf"),
                      "dtypes": {k: str(v.dtype) for k, v in by_bytes.items()}}))
''')


def test_fresh_tensorflow_only_process_matches_keras(exported, tmp_path):
    files = ferplus_images(16)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    out = tmp_path / "out.npz"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, str(script), str(exported["dir"]), str(out), *map(str, files)],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["project_modules"] == []
    assert report["dtypes"]["probabilities"] == "<dtype: 'float32'>"
    got = np.load(out)
    want = keras_reference(exported["model"], files)
    names = np.array(exported["model"].class_names)
    for prefix in ("bytes", "pixels"):
        for key, value in want.items():
            np.testing.assert_allclose(got[f"{prefix}/{key}"], value, atol=1e-5, rtol=0, err_msg=f"{prefix}/{key}")
        class_id = got[f"{prefix}/class_id"]
        np.testing.assert_array_equal(class_id, want["probabilities"].argmax(-1))
        np.testing.assert_array_equal(got[f"{prefix}/class_name"], names[class_id])


def test_warmup_requests_run_through_the_loaded_signatures(exported, loaded):
    from dsan_tf import export

    logs = export.read_warmup_file(exported["dir"] / "assets.extra" / "tf_serving_warmup_requests")
    assert len(logs) >= 2
    seen = set()
    for log in logs:
        assert log.WhichOneof("log_type") == "predict_log"
        request = log.predict_log.request
        assert request.model_spec.name == "dsan"
        seen.add(request.model_spec.signature_name)
        fn = loaded.signatures[request.model_spec.signature_name]
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        assert set(inputs) == set(fn.structured_input_signature[1])
        outputs = fn(**inputs)
        n = int(next(iter(inputs.values())).shape[0])
        assert outputs["probabilities"].shape == (n, 8)
        np.testing.assert_allclose(outputs["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)
    assert seen == {"serving_default", "predict_pixels"}


def test_pixels_signature_accepts_any_size(loaded):
    fn = loaded.signatures["predict_pixels"]
    for shape in ((1, 48, 48, 3), (3, 100, 80, 3)):
        out = fn(pixels=tf.random.uniform(shape, 0, 255, seed=1))
        assert out["probabilities"].shape == (shape[0], 8)
        assert out["class_name"].dtype == tf.string and out["class_id"].dtype == tf.int64


def test_serving_default_mixed_sizes_and_formats_in_one_batch(loaded):
    """A batch may mix PNG/JPEG, sizes and grayscale/RGB; each image equals its own batch-1 result."""
    rng = np.random.default_rng(3)
    images = [tf.io.encode_png(rng.integers(0, 255, (48, 48, 1), dtype=np.uint8)).numpy(),
              tf.io.encode_jpeg(rng.integers(0, 255, (90, 70, 3), dtype=np.uint8)).numpy()]
    fn = loaded.signatures["serving_default"]
    both = fn(image_bytes=tf.constant(images))["probabilities"].numpy()
    for i, data in enumerate(images):
        one = fn(image_bytes=tf.constant([data]))["probabilities"].numpy()
        np.testing.assert_allclose(both[i], one[0], atol=1e-6)


@pytest.mark.parametrize("garbage, message", [
    (b"this is not an image", "Unknown image file format"),
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG"),  # PNG signature, broken content
])
def test_garbage_bytes_give_invalid_argument(loaded, garbage, message):
    good = ferplus_images(1)[0].read_bytes()
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        loaded.signatures["serving_default"](image_bytes=tf.constant([good, garbage]))
    assert message.lower() in info.value.message.lower(), info.value.message


def test_graph_uses_only_core_ops(exported):
    """Every op is a registered core TF op (so stock TF Serving has its kernel); no Python functions."""
    from tensorflow.core.protobuf import saved_model_pb2
    from tensorflow.python.framework import op_def_registry

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((exported["dir"] / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    ops = {n.op for n in graph.node}
    library_functions = {f.signature.name for f in graph.library.function}
    for f in graph.library.function:
        ops |= {n.op for n in f.node_def}
    ops -= library_functions  # calls to the graph's own functions
    assert not ops & {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
    unknown = sorted(op for op in ops if op_def_registry.get(op) is None)
    assert not unknown, f"ops outside core TensorFlow: {unknown}"
    assert {"DecodeImage", "ScaleAndTranslate"} <= ops  # preprocessing is in the graph


def test_refuses_to_overwrite_a_version(exported, capsys):
    pb = exported["dir"] / "saved_model.pb"
    before = pb.stat().st_mtime_ns
    status = load_script("export_savedmodel", "export").main(
        ["--weights", str(exported["weights"]), "--output", str(exported["base"]), "--version", "1"])
    assert status == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert pb.stat().st_mtime_ns == before

    from dsan_tf import export

    with pytest.raises(FileExistsError, match="--overwrite"):
        export.export_saved_model(exported["model"], exported["base"], 1)


def test_overwrite_replaces_atomically_and_config_tracks_versions(exported, tmp_path):
    """--overwrite swaps a version in place; a second version joins models.config."""
    import shutil

    from dsan_tf import export

    base = tmp_path / "models" / "dsan"
    shutil.copytree(exported["dir"], base / "1")
    old_inode = (base / "1" / "saved_model.pb").stat().st_ino
    script = load_script("export_savedmodel", "export")
    common = ["--weights", str(exported["weights"]), "--output", str(base), "--version", "1"]
    assert script.main(common) == 1  # refused
    assert (base / "1" / "saved_model.pb").stat().st_ino == old_inode
    assert script.main(common + ["--overwrite"]) == 0
    assert (base / "1" / "saved_model.pb").stat().st_ino != old_inode
    assert sorted(p.name for p in base.iterdir()) == ["1"]  # no temporary or replaced folders left
    assert tf.saved_model.load(str(base / "1")).signatures["predict_pixels"] is not None

    # A second version (a copy of version 1) joins models.config; a deleted one leaves it.
    shutil.copytree(base / "1", base / "2")
    config = export.update_model_config(base.parent / "models.config", "dsan", "/models/dsan", [2], local_base=base)
    (entry,) = config.model_config_list.config
    assert list(entry.model_version_policy.specific.versions) == [1, 2]
    shutil.rmtree(base / "1")
    config = export.update_model_config(base.parent / "models.config", "dsan", "/models/dsan", [2], local_base=base)
    assert list(config.model_config_list.config[0].model_version_policy.specific.versions) == [2]


def test_model_config_keeps_other_models_and_labels(tmp_path):
    from google.protobuf import text_format

    from dsan_tf import export

    path = tmp_path / "models.config"
    path.write_text(textwrap.dedent("""
        model_config_list {
          config { name: "other" base_path: "/models/other" model_platform: "tensorflow" }
          config {
            name: "dsan" base_path: "/models/dsan" model_platform: "tensorflow"
            model_version_policy { specific { versions: 1 } }
            version_labels { key: "stable" value: 1 }
          }
        }
    """))
    config = export.update_model_config(path, "dsan", "/models/dsan", [2])
    again = text_format.Parse(path.read_text(), type(config)())
    assert [c.name for c in again.model_config_list.config] == ["other", "dsan"]
    dsan = again.model_config_list.config[1]
    assert list(dsan.model_version_policy.specific.versions) == [1, 2]
    assert dict(dsan.version_labels) == {"stable": 1}


def test_batching_parameters_validate(tmp_path):
    from dsan_tf import export

    with pytest.raises(ValueError, match="allowed_batch_sizes"):
        export.batching_parameters(max_batch_size=32, allowed_batch_sizes=(1, 8, 16))
    path = tmp_path / "b.txt"
    export.write_batching_parameters(path, num_batch_threads=2, allowed_batch_sizes=(8, 16, 32))
    text = path.read_text()
    assert "max_batch_size {\n  value: 32\n}" in text and "allowed_batch_sizes: 32" in text
    parsed = export.parse_batching_parameters(path)
    assert parsed.num_batch_threads.value == 2 == parsed.max_enqueued_batches.value


@pytest.mark.parametrize("variant", ["gfe", "baseline"])
def test_single_stream_variants_report_the_fused_probabilities_for_missing_streams(variant):
    from dsan_tf import export
    from dsan_tf.model import build_dsan

    model = build_dsan(4, 32, variant=variant)
    module = export.build_serving_module(model)
    out = module.predict_pixels(tf.random.uniform((2, 40, 40, 3), 0, 255, seed=2))
    assert out["class_name"].numpy().tolist() == [f"class_{i}".encode() for i in out["class_id"].numpy()]
    np.testing.assert_allclose(out["gfe_probabilities"], out["probabilities"], atol=1e-6)
    np.testing.assert_allclose(out["mff_probabilities"], out["probabilities"], atol=1e-6)


def test_mixed_precision_model_is_served_in_float32():
    import keras

    from dsan_tf import export
    from dsan_tf.data.preprocess import preprocess_for_model
    from dsan_tf.model import as_float32, build_dsan

    model = build_dsan(4, 32, dtype="mixed_bfloat16")
    module = export.build_serving_module(model)
    pixels = tf.random.uniform((2, 32, 32, 3), 0, 255, seed=4)
    out = module.predict_pixels(pixels)
    assert all(out[k].dtype == tf.float32 for k in ("probabilities", "gfe_probabilities", "mff_probabilities"))
    want = as_float32(model)(preprocess_for_model(pixels, 32), training=False)["probabilities"]
    np.testing.assert_allclose(out["probabilities"], want, atol=1e-5)
    assert keras.config.dtype_policy().name == "float32"  # nothing global was changed


# ---------------------------------------------------------------------- fresh blind mutants (issue 34)
# Each test below names the mutant of tests/mutation/mutants.py (FRESH_BLIND) it was written to kill.


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


# round 2 blind mutants (issue 34)


def test_both_signatures_of_a_grey_trained_model_grey_a_colour_face():
    """r2-export-serving-bytes-not-greyed: serving_default (encoded bytes) greys a colour face for a model that
    records grayscale_input, as predict_pixels does: the answer for a colour crop is the answer for its BT.601
    grey (computed here by hand), and a model that saw the colour would answer otherwise."""
    import keras

    from dsan_tf import export
    from dsan_tf.data.preprocess import preprocess_for_model
    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(0)
    model = build_dsan(3, 32, "dsan", grayscale_input=True, dtype="float32")
    module = export.build_serving_module(model)
    colour = np.random.default_rng(6).integers(0, 256, (37, 45, 3), dtype=np.uint8)  # not square, not grey
    r, g, b = (colour[..., i].astype(np.float64) for i in range(3))
    grey = np.repeat(np.rint(0.299 * r + 0.587 * g + 0.114 * b).astype(np.uint8)[..., None], 3, axis=-1)
    want = model(preprocess_for_model(grey[None], 32), training=False)["probabilities"].numpy()[0]
    seen_in_colour = model(preprocess_for_model(colour[None], 32), training=False)["probabilities"].numpy()[0]
    assert np.abs(seen_in_colour - want).max() > 1e-4  # the test can tell grey from colour
    png = [tf.io.encode_png(colour).numpy()]
    np.testing.assert_allclose(module.serving_default(tf.constant(png))["probabilities"].numpy()[0], want, atol=1e-5)
    pixels = tf.constant(colour[None].astype(np.float32))
    np.testing.assert_allclose(module.predict_pixels(pixels)["probabilities"].numpy()[0], want, atol=1e-5)


# ---------------------------------------------------------------------- lines its own tests never ran (issue 34)


def test_class_names_of_a_model_without_names_and_names_holding_a_newline():
    """class_0.. from settings' num_classes (a DSAN) or the first output's width (another Keras model); a
    name with a newline would split labels.txt, so it is refused."""
    from types import SimpleNamespace

    from dsan_tf import export

    assert export.class_names_of(SimpleNamespace(settings={"num_classes": 3}, class_names=None)) == [
        "class_0", "class_1", "class_2"]
    other = SimpleNamespace(outputs=[SimpleNamespace(shape=(None, 2))])
    assert export.class_names_of(other) == ["class_0", "class_1"]
    named = SimpleNamespace(settings={"num_classes": 2}, class_names=["a", 7])
    assert export.class_names_of(named) == ["a", "7"]
    with pytest.raises(ValueError, match="class names must not contain newlines"):
        export.class_names_of(SimpleNamespace(settings={"num_classes": 2}, class_names=["a", "b\nc"]))


def test_warmup_cycles_through_its_images_and_needs_one(tmp_path, monkeypatch):
    """warmup_requests: batch n holds images[i % len] for i < n; predict_pixels gets the first image resized
    to 48 x 48 at batch 1; no images is a ValueError. Without the sample, the default images are synthetic
    PNGs (seeds 0..limit-1), each a grey blob brighter at its centre than at its corner."""
    from dsan_tf import export
    import dsan_tf.data as data

    with pytest.raises(ValueError, match="warmup needs at least one image"):
        export.warmup_requests("m", [])
    images = [export.synthetic_face_png(size=20, seed=i) for i in range(3)]
    requests = export.warmup_requests("m", images, batch_sizes=(1, 4))
    assert [r.model_spec.signature_name for r in requests] == ["serving_default"] * 2 + ["predict_pixels"]
    assert [r.model_spec.name for r in requests] == ["m"] * 3
    assert list(requests[1].inputs["image_bytes"].string_val) == [images[0], images[1], images[2], images[0]]
    assert list(requests[0].inputs["image_bytes"].string_val) == [images[0]]
    pixels = tf.make_ndarray(requests[2].inputs["pixels"])
    assert pixels.shape == (1, 48, 48, 3)

    face = tf.io.decode_png(images[0]).numpy()
    assert face.shape == (20, 20, 1) and int(face[9, 10, 0]) > int(face[0, 0, 0]) + 40
    assert export.synthetic_face_png(size=20, seed=0) == images[0] != images[1]
    monkeypatch.setattr(data, "SAMPLE_FERPLUS_DIR", tmp_path / "nothing here")
    assert export.default_warmup_images(limit=2) == [export.synthetic_face_png(seed=0), export.synthetic_face_png(seed=1)]


def test_list_versions_are_positive_numbered_folders_only(tmp_path):
    from dsan_tf import export

    assert export.list_versions(tmp_path / "missing") == []
    for name in ("0", "3", "10", "x2", ".7.123.tmp"):
        (tmp_path / name).mkdir()
    (tmp_path / "5").write_text("a file")
    assert export.list_versions(tmp_path) == [3, 10]
    with pytest.raises(FileExistsError, match=r"10 already exists; pass --overwrite"):
        export.check_version_free(tmp_path, 10)
    assert export.check_version_free(tmp_path, 10, overwrite=True) == tmp_path / "10"
    assert export.check_version_free(tmp_path, 4) == tmp_path / "4"


def test_only_files_this_module_wrote_are_made_by_export(tmp_path):
    """made_by_export: the models.config header or the batching header's first line; a user's file, a
    missing one and one that is not UTF-8 are not."""
    from dsan_tf import export

    path = tmp_path / "f"
    assert not export.made_by_export(path)
    path.write_text(export.MODEL_CONFIG_HEADER + "model_config_list {}\n")
    assert export.made_by_export(path)
    path.write_text(export.batching_parameters_text())
    assert export.made_by_export(path)
    path.write_text("# my own config\n" + export.MODEL_CONFIG_HEADER)
    assert not export.made_by_export(path)
    path.write_bytes(b"\xff\xfe\x00 not text")
    assert not export.made_by_export(path)


def test_a_models_config_that_is_not_a_text_proto_or_lists_version_0_is_refused(tmp_path):
    from dsan_tf import export
    from dsan_tf.io_utils import OutputError

    path = tmp_path / "models.config"
    path.write_text("model_config_list { config { name: ")
    with pytest.raises(OutputError, match=rf"^{path}: not a readable ModelServerConfig text proto"):
        export.read_model_config(path)
    path.write_text('model_config_list { config { name: "m" model_version_policy { specific { versions: 2 '
                    'versions: 0 } } } }')
    with pytest.raises(OutputError, match=r"model 'm' lists versions \[0\]; versions must be positive"):
        export.read_model_config(path)


def test_batching_parameters_refuse_zero_threads_or_batch_and_unsorted_sizes():
    """num_batch_threads or max_batch_size 0 refused; allowed sizes must increase (no repeats) and end at the
    maximum; max_enqueued_batches defaults to the threads, else is as given."""
    from dsan_tf import export

    for kwargs in ({"num_batch_threads": 0}, {"max_batch_size": 0}):
        with pytest.raises(ValueError, match="must be >= 1"):
            export.batching_parameters(**kwargs)
    for allowed in ((16, 8, 32), (8, 8, 32), (8, 16)):
        with pytest.raises(ValueError, match="must increase and end at max_batch_size"):
            export.batching_parameters(max_batch_size=32, allowed_batch_sizes=allowed)
    message = export.batching_parameters(max_batch_size=16, num_batch_threads=3, batch_timeout_micros=500)
    assert (message.max_batch_size.value, message.num_batch_threads.value, message.max_enqueued_batches.value,
            message.batch_timeout_micros.value) == (16, 3, 3, 500)
    assert export.batching_parameters(max_enqueued_batches=9).max_enqueued_batches.value == 9
    assert export.batching_parameters(pad_variable_length_inputs=True).pad_variable_length_inputs


# ---- round 4 blind mutants (issue 34)


def test_config_files_beside_a_users_own_are_updated_when_they_are_ours(tmp_path):
    """r4-export-own-beside-file-not-updated: a user's own models.config is never written; the command writes
    models.config.dsan beside it, and a later export updates that file again (it is ours: its first line says
    so). A models.config.dsan of the user's own is not touched either (None: nothing to write)."""
    from dsan_tf import export

    script = load_script("export_savedmodel", "export")
    (tmp_path / "models.config").write_text("model_config_list {}\n")  # the user's own
    (tmp_path / "batching_parameters.txt").write_text(export.batching_parameters_text())  # ours
    targets = script.config_targets(tmp_path)
    assert targets == {"models.config": tmp_path / "models.config.dsan",
                       "batching_parameters.txt": tmp_path / "batching_parameters.txt"}
    (tmp_path / "models.config.dsan").write_text(export.MODEL_CONFIG_HEADER + "model_config_list {}\n")
    assert script.config_targets(tmp_path)["models.config"] == tmp_path / "models.config.dsan"
    (tmp_path / "models.config.dsan").write_text("# mine\nmodel_config_list {}\n")
    assert script.config_targets(tmp_path)["models.config"] is None


def test_bench_serving_exits_1_only_when_the_saved_model_is_slower(monkeypatch, tmp_path):
    """r4-bench-serving-status-when-faster: exit status 1 when the SavedModel's predict_pixels median is slower
    than model.predict's, 0 when it is not. The model, the export and the loaded signatures are stand-ins whose
    speed is set by hand: predict_pixels sleeps 20 ms and model.predict nothing, then the other way round."""
    import time
    from types import SimpleNamespace

    import dsan_tf.model
    from dsan_tf import export

    bench = load_script("bench_serving", "export")
    answer = {"probabilities": tf.zeros((1, 2))}
    delays = {}

    def timed(name):
        def call(*args, **kwargs):
            time.sleep(delays[name])
            return answer
        return call

    class Model:
        settings = {"image_size": 8, "variant": "dsan"}

        def __call__(self, x, training=False):
            return answer

        def predict(self, x, batch_size, verbose=0):
            return timed("keras")()

    monkeypatch.setattr(dsan_tf.model, "build_dsan", lambda *args, **kwargs: Model())
    monkeypatch.setattr(dsan_tf.model, "as_float32", lambda model: model)
    monkeypatch.setattr(export, "export_saved_model", lambda *args, **kwargs: None)
    monkeypatch.setattr(tf.saved_model, "load", lambda path: SimpleNamespace(signatures={
        "predict_pixels": timed("saved_model"), "serving_default": lambda **kwargs: answer}))
    argv = ["--image-size", "32", "--num-classes", "2", "--batch-sizes", "1", "--repeats", "3", "--warmup", "0"]
    delays.update(saved_model=0.02, keras=0.0)
    assert bench.main(argv) == 1
    delays.update(saved_model=0.0, keras=0.02)
    assert bench.main(argv) == 0


# ---- round 8 blind mutants (issue 34)


def test_model_config_drops_the_labels_of_versions_no_longer_served(tmp_path):
    """r8-export-labels-of-dropped-versions-kept: models.config serves versions 1 and 2 with labels stable -> 1
    and canary -> 2; version 1's folder is gone, so exporting 3 serves 2 and 3 and keeps only canary (TF Serving
    refuses a config whose label names a version it does not serve)."""
    from dsan_tf import export

    path = tmp_path / "models.config"
    path.write_text(textwrap.dedent("""
        model_config_list {
          config {
            name: "dsan" base_path: "/models/dsan" model_platform: "tensorflow"
            model_version_policy { specific { versions: 1 versions: 2 } }
            version_labels { key: "stable" value: 1 }
            version_labels { key: "canary" value: 2 }
          }
        }
    """))
    base = tmp_path / "dsan"
    for version in (2, 3):
        (base / str(version)).mkdir(parents=True)
    config, _ = export.merged_model_config(path, "dsan", "/models/dsan", [3], local_base=base)
    (entry,) = config.model_config_list.config
    assert list(entry.model_version_policy.specific.versions) == [2, 3]
    assert dict(entry.version_labels) == {"canary": 2}


@pytest.mark.parametrize("name, refused", [("team/dsan", True), ("two words", True), ("dsan-v2", False)])
def test_a_model_name_with_a_slash_or_a_space_is_refused(tmp_path, capsys, name, refused):
    """r8-export-savedmodel-slash-in-model-name: TF Serving addresses a model as /v1/models/<name>, so
    --model-name team/dsan is refused (exit 2, naming the flag) before anything loads, as a name with a space
    is; dsan-v2 passes that check (the parsed arguments keep it)."""
    from dsan_tf.cli import parse_command_args

    argv = ["--weights", "ferplus", "--output", str(tmp_path / "dsan"), "--version", "1", "--model-name", name]
    if refused:
        with pytest.raises(SystemExit) as stop:
            parse_command_args("export savedmodel", argv)
        assert stop.value.code == 2 and "--model-name must be a non-empty name without spaces or '/'" in \
            capsys.readouterr().err
    else:
        assert parse_command_args("export savedmodel", argv)[1].model_name == name


# ---- round 9 blind mutants (issue 34)


def test_a_first_models_config_serves_every_version_already_on_disk(tmp_path):
    """r9-export-config-first-time-forgets-versions: with no models.config yet (or none naming the model),
    the config serves the versions already exported under the base (1 and 3) beside the new one (5)."""
    from dsan_tf import export

    base = tmp_path / "dsan"
    for version in (1, 3):
        (base / str(version)).mkdir(parents=True)
    config, _ = export.merged_model_config(tmp_path / "models.config", "dsan", "/models/dsan", [5], local_base=base)
    (entry,) = config.model_config_list.config
    assert list(entry.model_version_policy.specific.versions) == [1, 3, 5]


def test_the_default_serving_base_path_follows_the_model_name(tmp_path):
    """r9-export-savedmodel-base-path-folder-name: --model-name faces on an output folder named dsan gives
    base_path /models/faces (the docker layout names the model's folder after the model); without
    --model-name, /models/dsan; --serving-base-path wins over both."""
    from dsan_tf.cli import parse_command_args

    argv = ["--weights", "ferplus", "--output", str(tmp_path / "dsan"), "--version", "1"]
    assert parse_command_args("export savedmodel", argv + ["--model-name", "faces"])[1].serving_base_path == \
        "/models/faces"
    assert parse_command_args("export savedmodel", argv)[1].serving_base_path == "/models/dsan"
    assert parse_command_args("export savedmodel", argv + ["--serving-base-path", "/srv/m"])[1] \
        .serving_base_path == "/srv/m"


def test_the_num_batch_threads_flag_reaches_batching_parameters(tmp_path, monkeypatch, capsys):
    """r9-export-savedmodel-threads-not-passed: --num-batch-threads 2 writes num_batch_threads 2 (and
    max_enqueued_batches 2, its default) into batching_parameters.txt, not the default 4. The model and the
    SavedModel are stand-ins (this is about the config files the command writes)."""
    from types import SimpleNamespace

    import dsan_tf.inference as inference
    from dsan_tf import export
    from dsan_tf.cli import parse_command_args

    weights = tmp_path / "model.keras"
    weights.write_bytes(b"stand-in")
    settings = {"variant": "dsan", "num_classes": 2, "image_size": 16, "dtype": "float32"}
    monkeypatch.setattr(inference, "load_dsan", lambda path: SimpleNamespace(settings=settings))

    def fake_export(model, base, version, **kwargs):
        (Path(base) / str(version)).mkdir(parents=True)
        return Path(base) / str(version)

    monkeypatch.setattr(export, "export_saved_model", fake_export)
    command, args = parse_command_args("export savedmodel", ["--weights", str(weights), "--output",
                                                             str(tmp_path / "models" / "dsan"), "--version", "1",
                                                             "--num-batch-threads", "2"])
    assert command.run(args) == 0
    parsed = export.parse_batching_parameters(tmp_path / "models" / "batching_parameters.txt")
    assert (parsed.num_batch_threads.value, parsed.max_enqueued_batches.value) == (2, 2)


def test_warmup_images_named_in_capitals_are_taken(tmp_path):
    """r9-export-savedmodel-upper-case-suffix: --warmup-images FACE.JPG (a camera's upper-case name) passes the
    suffix check as face.jpg does; notes.TXT is still refused, naming its suffix."""
    from dsan_tf.cli import parse_command_args

    for name in ("FACE.JPG", "face.jpg", "notes.TXT"):
        (tmp_path / name).write_bytes(b"checked later")
    base = ["--weights", "ferplus", "--output", str(tmp_path / "models" / "dsan"), "--version", "1",
            "--warmup-images"]
    command, args = parse_command_args("export savedmodel", base + [str(tmp_path / "FACE.JPG"),
                                                                    str(tmp_path / "face.jpg")])
    command.check_paths(args, args.output / "1")
    command, args = parse_command_args("export savedmodel", base + [str(tmp_path / "notes.TXT")])
    with pytest.raises(command.CommandError, match=r"notes\.TXT: TensorFlow cannot decode a '\.TXT' file"):
        command.check_paths(args, args.output / "1")


# ---- issue 34: line-by-line sweep (dsan_tf/export.py)


def test_default_warmup_images_are_the_first_sample_pngs_in_name_order():
    """default_warmup_images(limit=3) with the embedded sample: the bytes of its first three PNGs by sorted
    path (found under every folder of the sample), not all of them and not in the folder's listing order."""
    from dsan_tf import export
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    files = sorted(Path(SAMPLE_FERPLUS_DIR).rglob("*.png"))
    if len(files) < 4:
        pytest.skip("the embedded FERPlus sample is absent")
    assert export.default_warmup_images(limit=3) == [f.read_bytes() for f in files[:3]]


def _export_with_a_stand_in_module(monkeypatch):
    """export_saved_model with the serving module replaced by an empty tf.Module that ships the labels and
    settings files it is given (so the save takes no time); returns the stand-in model."""
    from types import SimpleNamespace

    from dsan_tf import export

    def module(model, labels_path=None, settings_path=None):
        m = tf.Module()
        m.labels, m.settings = tf.saved_model.Asset(str(labels_path)), tf.saved_model.Asset(str(settings_path))
        return m

    monkeypatch.setattr(export, "build_serving_module", module)
    monkeypatch.setattr(export, "signatures_of", lambda m: None)
    return SimpleNamespace(settings={"num_classes": 2, "image_size": 16, "variant": "dsan"},
                           class_names=["Calm face", "happy"])


def test_the_python_export_names_its_warmup_after_the_base_folder_and_replays_the_images_given(tmp_path,
                                                                                             monkeypatch):
    """export_saved_model without model_name: the warmup requests name the model after the base folder
    ("Faces_2", as written); with warmup_images, those images (not the sample's) are replayed, the first one
    at every batch size; model_name given wins."""
    from dsan_tf import export

    model = _export_with_a_stand_in_module(monkeypatch)
    base = tmp_path / "serving" / "Faces_2"
    image = export.synthetic_face_png(size=12, seed=5)
    target = export.export_saved_model(model, base, 3, warmup_images=[image])
    assert target == base / "3"
    logs = export.read_warmup_file(target / "assets.extra" / export.WARMUP_FILE)
    requests = [log.predict_log.request for log in logs]
    assert {r.model_spec.name for r in requests} == {"Faces_2"}
    assert [len(r.inputs["image_bytes"].string_val) for r in requests[:-1]] == [1, 8, 32]
    assert set(requests[0].inputs["image_bytes"].string_val) == {image}
    assert (target / "assets" / "labels.txt").read_text() == "Calm face\nhappy\n"
    target = export.export_saved_model(model, base, 4, model_name="other", warmup_images=[image])
    assert {log.predict_log.request.model_spec.name for log in export.read_warmup_file(
        target / "assets.extra" / export.WARMUP_FILE)} == {"other"}


def test_a_version_below_1_is_refused_before_anything_is_written(tmp_path):
    from dsan_tf import export

    for version in (0, -2):
        with pytest.raises(ValueError, match="version must be a positive integer"):
            export.check_version_free(tmp_path, version)
    assert export.version_dir(tmp_path, "7") == tmp_path / "7"
    assert list(tmp_path.iterdir()) == []


def test_a_models_config_that_is_not_utf8_is_refused_naming_the_file(tmp_path):
    from dsan_tf import export
    from dsan_tf.io_utils import OutputError

    path = tmp_path / "models.config"
    path.write_bytes(b"\xff\xfe model_config_list {}")
    with pytest.raises(OutputError, match=rf"^{path}: not a readable ModelServerConfig text proto"):
        export.read_model_config(path)


def test_the_written_models_config_starts_with_its_header_so_the_next_export_updates_it(tmp_path):
    """update_model_config writes the header first (made_by_export then says the file is ours) and the
    config after it; merged_model_config returns the same text and writes nothing."""
    from dsan_tf import export

    path = tmp_path / "models.config"
    config, text = export.merged_model_config(path, "dsan", "/models/dsan", [2])
    assert not path.exists()
    assert text.startswith(export.MODEL_CONFIG_HEADER) and 'name: "dsan"' in text
    export.update_model_config(path, "dsan", "/models/dsan", [2])
    assert path.read_text() == text and export.made_by_export(path)


def test_one_thread_and_a_batch_of_one_are_allowed_and_one_allowed_size_equal_to_the_maximum():
    from dsan_tf import export

    message = export.batching_parameters(max_batch_size=1, num_batch_threads=1, allowed_batch_sizes=(1,))
    assert (message.max_batch_size.value, message.num_batch_threads.value, list(message.allowed_batch_sizes)) == \
        (1, 1, [1])
    assert list(export.batching_parameters(max_batch_size=32, allowed_batch_sizes=(32,)).allowed_batch_sizes) == [32]


def test_batching_parameters_have_tf_servings_field_numbers_on_the_wire():
    """The message is built from session_bundle_config.proto's field list: its binary form, encoded here by
    hand (tag = number << 3 | wire type; the wrappers are length-delimited messages holding field 1),
    is max_batch_size 1, batch_timeout_micros 2, max_enqueued_batches 3, num_batch_threads 4,
    allowed_batch_sizes 6 (packed), pad_variable_length_inputs 7."""
    from dsan_tf import export

    message = export.batching_parameters(max_batch_size=32, batch_timeout_micros=5, max_enqueued_batches=7,
                                         num_batch_threads=3, allowed_batch_sizes=(8, 32),
                                         pad_variable_length_inputs=True)

    def wrapped(number, value):  # a one-byte varint in an Int64Value
        return bytes([number << 3 | 2, 2, 0x08, value])

    want = (wrapped(1, 32) + wrapped(2, 5) + wrapped(3, 7) + wrapped(4, 3)
            + bytes([6 << 3 | 2, 2, 8, 32]) + bytes([7 << 3 | 0, 1]))
    assert message.SerializeToString(deterministic=True) == want


def test_grey_rgb_keeps_the_grey_of_overbright_values_at_255():
    """grey_rgb clips the luminance to 0..255: (300, 300, 300) greys to 255, (-4, -4, -4) to 0."""
    from dsan_tf.export import grey_rgb

    pixels = np.array([[[300, 300, 300], [-4, -4, -4]]], np.float32)
    np.testing.assert_array_equal(grey_rgb(pixels).numpy(), [[[255] * 3, [0] * 3]])


def test_the_pixel_signature_refuses_nan_and_values_above_255(loaded):
    """predict_pixels checks its pixels (INVALID_ARGUMENT, HTTP 400): NaN and 256 are refused, 255 is not."""
    fn = loaded.signatures["predict_pixels"]
    ok = np.full((1, 8, 10, 3), 255.0, np.float32)
    assert fn(pixels=tf.constant(ok))["probabilities"].shape == (1, 8)
    for bad in (np.nan, 256.0):
        pixels = ok.copy()
        pixels[0, 3, 4, 1] = bad
        with pytest.raises(tf.errors.InvalidArgumentError):
            fn(pixels=tf.constant(pixels))


def test_warmup_default_batch_sizes_and_its_pixel_size():
    """Without batch_sizes the warmup replays serving_default at 1, 8 and 32 (up to the batching
    max_batch_size 32); pixel_size sets the side of predict_pixels' face."""
    from dsan_tf import export

    image = export.synthetic_face_png(size=10, seed=1)
    requests = export.warmup_requests("m", [image], pixel_size=20)
    assert [len(r.inputs["image_bytes"].string_val) for r in requests[:-1]] == [1, 8, 32]
    assert tf.make_ndarray(requests[-1].inputs["pixels"]).shape == (1, 20, 20, 3)


def test_track_variables_keeps_each_variable_once():
    """Two functions reading one shared variable and one of their own: three variables, each once."""
    from types import SimpleNamespace

    from dsan_tf import export

    shared, a, b = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)
    f = tf.function(lambda: shared + a).get_concrete_function()
    g = tf.function(lambda: shared * b).get_concrete_function()
    module = SimpleNamespace()
    export._track_variables(module, [f, g])
    assert sorted(float(v.numpy()) for v in module.model_variables) == [1.0, 2.0, 3.0]


@pytest.fixture(scope="module")
def tiny_dsan():
    """An untrained 3-class DSAN of 32 px colour faces (random weights: colour and grey answer differently)."""
    import keras

    from dsan_tf.model import build_dsan

    keras.utils.set_random_seed(1)
    return build_dsan(3, 32, "dsan", dtype="float32")


def _tflite_graph(model, monkeypatch, grey):
    """export.tflite_function's concrete function (the graph convert_tflite converts, run here in TensorFlow)
    for ``model`` as if its settings said grayscale_input=grey (no float32 copy: it is float32 already)."""
    from dsan_tf import export

    class Recorded:
        settings = {**model.settings, "grayscale_input": grey}

        def __call__(self, x, training=False):
            return model(x, training=training)

    monkeypatch.setattr(export, "float32_model", lambda m: m)
    return export.tflite_function(Recorded())[0]


def _keras_answer(model, pixels):
    from dsan_tf.data.preprocess import normalize_imagenet

    return model(normalize_imagenet(tf.constant(pixels)), training=False)["probabilities"].numpy()


def test_the_tflite_graph_rounds_and_clips_its_pixels(tiny_dsan, monkeypatch):
    """A colour model's TFLite graph: values 0.4 above an integer give the integer's answer (and the model
    itself tells them apart); 300 gives 255's answer and -7 gives 0's."""
    concrete = _tflite_graph(tiny_dsan, monkeypatch, grey=False)
    face = np.random.default_rng(8).integers(0, 256, (1, 32, 32, 3)).astype(np.float32)
    assert np.abs(_keras_answer(tiny_dsan, face + 0.4) - _keras_answer(tiny_dsan, face)).max() > 1e-6
    np.testing.assert_allclose(concrete(pixels=tf.constant(face + 0.4))["probabilities"].numpy(),
                               _keras_answer(tiny_dsan, face), atol=1e-6)
    extremes = np.where(np.arange(32 * 32 * 3).reshape(1, 32, 32, 3) % 2 == 0, 300.0, -7.0).astype(np.float32)
    clipped = np.where(extremes > 0, 255.0, 0.0).astype(np.float32)
    assert np.abs(_keras_answer(tiny_dsan, extremes) - _keras_answer(tiny_dsan, clipped)).max() > 1e-4
    np.testing.assert_allclose(concrete(pixels=tf.constant(extremes))["probabilities"].numpy(),
                               _keras_answer(tiny_dsan, clipped), atol=1e-6)


def test_the_tflite_graph_of_a_grey_model_greys_colour_faces(tiny_dsan, monkeypatch):
    """A grey-trained model's TFLite graph answers a colour face with the model's answer for its BT.601
    grey computed by hand (0.299 R + 0.587 G + 0.114 B, rounded, in three channels)."""
    concrete = _tflite_graph(tiny_dsan, monkeypatch, grey=True)
    colour = np.random.default_rng(9).integers(0, 256, (2, 32, 32, 3)).astype(np.float32)
    grey = np.repeat(np.rint(colour @ np.array([0.299, 0.587, 0.114]))[..., None], 3, axis=-1).astype(np.float32)
    assert np.abs(_keras_answer(tiny_dsan, colour) - _keras_answer(tiny_dsan, grey)).max() > 1e-4
    np.testing.assert_allclose(concrete(pixels=tf.constant(colour))["probabilities"].numpy(),
                               _keras_answer(tiny_dsan, grey), atol=1e-5)


# ---- issue 34: line-by-line sweep (dsan_tf/cli/export_savedmodel.py)


@pytest.mark.parametrize("flag, value, accepted", [
    ("--num-batch-threads", "1024", True), ("--num-batch-threads", "1025", False), ("--num-batch-threads", "0", False),
    ("--version", str(2**63 - 1), True), ("--version", str(2**63), False), ("--version", "0", False),
])
def test_the_savedmodel_commands_number_flags_at_their_bounds(tmp_path, capsys, flag, value, accepted):
    """--num-batch-threads: 1 to 1024 cores; --version: 1 to 2**63 - 1 (TF Serving's int64)."""
    from dsan_tf.cli import parse_command_args

    argv = ["--weights", "ferplus", "--output", str(tmp_path / "dsan"), "--version", "1", flag, value]
    if accepted:
        args = parse_command_args("export savedmodel", argv)[1]
        assert getattr(args, flag[2:].replace("-", "_")) == int(value)
    else:
        with pytest.raises(SystemExit) as stop:
            parse_command_args("export savedmodel", argv)
        assert stop.value.code == 2 and flag in capsys.readouterr().err


def test_the_config_dir_flag_is_kept_and_defaults_to_the_outputs_parent(tmp_path):
    from dsan_tf.cli import parse_command_args

    argv = ["--weights", "ferplus", "--output", str(tmp_path / "models" / "dsan"), "--version", "1"]
    assert parse_command_args("export savedmodel", argv)[1].config_dir == tmp_path / "models"
    assert parse_command_args("export savedmodel", argv + ["--config-dir", str(tmp_path / "conf")])[1] \
        .config_dir == tmp_path / "conf"


def _savedmodel_with_stand_ins(tmp_path, monkeypatch, *flags):
    """`dsan export savedmodel --weights <stand-in> --output <tmp>/models/dsan FLAGS` with the model and the
    SavedModel replaced by stand-ins (the config files are real); returns (status, the export's keyword
    arguments and version, as it was called)."""
    from types import SimpleNamespace

    import dsan_tf.inference as inference
    from dsan_tf import export
    from dsan_tf.cli import parse_command_args

    weights = tmp_path / "model.keras"
    weights.write_bytes(b"stand-in")
    settings = {"variant": "dsan", "num_classes": 2, "image_size": 16, "dtype": "float32"}
    monkeypatch.setattr(inference, "load_dsan", lambda path: SimpleNamespace(settings=settings))
    calls = []

    def fake_export(model, base, version, **kwargs):
        calls.append({"version": version, **kwargs})
        (Path(base) / str(version)).mkdir(parents=True)
        return Path(base) / str(version)

    monkeypatch.setattr(export, "export_saved_model", fake_export)
    command, args = parse_command_args("export savedmodel", ["--weights", str(weights), "--output",
                                                             str(tmp_path / "models" / "dsan"), *flags])
    return command.run(args), calls


def test_the_model_name_base_path_config_dir_and_warmup_images_reach_the_export_and_models_config(
        tmp_path, monkeypatch, capsys):
    """--model-name faces, --serving-base-path /srv/faces, --config-dir conf, --warmup-images face.png,
    --version 3: the export is called with model name faces, the PNG's bytes and overwrite False; conf/
    holds models.config serving faces version 3 from /srv/faces, and batching_parameters.txt."""
    from PIL import Image

    from dsan_tf import export

    face = tmp_path / "face.png"
    Image.fromarray(np.full((6, 9, 3), 90, np.uint8)).save(face)
    status, calls = _savedmodel_with_stand_ins(
        tmp_path, monkeypatch, "--version", "3", "--model-name", "faces", "--serving-base-path", "/srv/faces",
        "--config-dir", str(tmp_path / "conf"), "--warmup-images", str(face))
    assert status == 0
    assert calls == [{"version": 3, "overwrite": False, "model_name": "faces", "warmup_images": [face.read_bytes()]}]
    config = export.read_model_config(tmp_path / "conf" / "models.config")
    (entry,) = config.model_config_list.config
    assert (entry.name, entry.base_path, list(entry.model_version_policy.specific.versions)) == \
        ("faces", "/srv/faces", [3])
    assert export.parse_batching_parameters(tmp_path / "conf" / "batching_parameters.txt").num_batch_threads.value == 4
    assert not (tmp_path / "models" / "models.config").exists()
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'models' / 'dsan' / '3'} (dsan, 2 classes, input 16px, trained as float32" in out
    assert f"wrote {tmp_path / 'conf' / 'models.config'} (serving faces versions [3] from /srv/faces)" in out


def test_a_users_own_models_config_is_merged_into_the_file_written_beside_it(tmp_path, monkeypatch, capsys):
    """A models.config of the user's own in --config-dir (serving "other") is kept byte for byte;
    models.config.dsan, written beside it, serves both "other" and dsan version 1 (merged from the user's file
    in --config-dir, not from the output's parent), and one line says so."""
    from dsan_tf import export

    own = tmp_path / "conf" / "models.config"
    own.parent.mkdir()
    text = 'model_config_list { config { name: "other" base_path: "/models/other" model_platform: "tensorflow" } }\n'
    own.write_text(text)
    status, _ = _savedmodel_with_stand_ins(tmp_path, monkeypatch, "--version", "1", "--config-dir", str(own.parent))
    assert status == 0 and own.read_text() == text
    config = export.read_model_config(tmp_path / "conf" / "models.config.dsan")
    assert [(c.name, list(c.model_version_policy.specific.versions)) for c in config.model_config_list.config] == \
        [("other", []), ("dsan", [1])]
    assert f"kept {own}: not written by this command; wrote models.config.dsan beside it" in capsys.readouterr().err


def test_when_both_config_names_are_the_users_nothing_is_written_and_a_line_says_so(tmp_path, monkeypatch, capsys):
    """models.config and models.config.dsan both the user's own: neither is touched, and stderr names the
    file and the version to merge by hand; batching_parameters.txt (new) is still written."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("models.config", "models.config.dsan"):
        (folder / name).write_text("model_config_list {}\n")
    status, _ = _savedmodel_with_stand_ins(tmp_path, monkeypatch, "--version", "2")
    err = capsys.readouterr().err
    assert status == 0
    assert [(folder / n).read_text() for n in ("models.config", "models.config.dsan")] == ["model_config_list {}\n"] * 2
    assert (f"kept {folder / 'models.config'}: not written by this command (nor models.config.dsan); merge version 2 "
            "into it yourself") in err
    assert (folder / "batching_parameters.txt").exists()


def test_an_input_inside_the_version_folder_an_overwrite_would_delete_is_refused(tmp_path):
    """--overwrite replaces <output>/1: a warmup image kept inside it is refused before anything is written."""
    from PIL import Image

    from dsan_tf.cli import parse_command_args

    inside = tmp_path / "models" / "dsan" / "1" / "face.png"
    inside.parent.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(inside)
    command, args = parse_command_args("export savedmodel", [
        "--weights", "ferplus", "--output", str(tmp_path / "models" / "dsan"), "--version", "1", "--overwrite",
        "--warmup-images", str(inside)])
    with pytest.raises(command.CommandError, match=rf"^{inside} lies inside {inside.parent}, which the export replaces"):
        command.check_paths(args, args.output / "1")


def test_a_warmup_image_tensorflow_cannot_decode_is_refused_by_its_content(tmp_path):
    """read_warmup_images: a TIFF named face.jpg (Pillow reads it, TensorFlow would not) is refused naming the
    format; a PNG and a BMP come back as their bytes, in order."""
    from PIL import Image

    from dsan_tf.cli.export_savedmodel import CommandError, read_warmup_images

    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    png, bmp, tiff = tmp_path / "a.png", tmp_path / "b.bmp", tmp_path / "face.jpg"
    Image.fromarray(pixels).save(png)
    Image.fromarray(pixels).save(bmp)
    Image.fromarray(pixels).save(tiff, format="TIFF")
    assert read_warmup_images([png, bmp]) == [png.read_bytes(), bmp.read_bytes()]
    with pytest.raises(CommandError, match=rf"^--warmup-images {tiff}: a TIFF image, which TensorFlow cannot"):
        read_warmup_images([png, tiff])
