"""Export a DSAN model for TensorFlow Serving: SavedModel signatures, warmup, server config.

The exported SavedModel needs nothing from this project at load time: its two signatures
are graphs of core TensorFlow ops only (no ``tf.py_function``, no custom ops), so stock
TensorFlow Serving, ``tf.saved_model.load`` or ``saved_model_cli`` can run it.

Signatures (both compute in float32, whatever precision the model was trained in):

- ``serving_default``: ``image_bytes`` tf.string [N] (JPEG/PNG/GIF/BMP/WebP face crops;
  the ``_bytes`` suffix makes TF Serving's REST API accept ``{"b64": ...}``).
- ``predict_pixels``: ``pixels`` float32 [N, H, W, 3], RGB in 0..255, any H and W. NaN, Inf
  or values outside [0, 255] are INVALID_ARGUMENT (HTTP 400) with the reason
  (:mod:`dsan_tf.pixels`, the one definition of a pixel).

Outputs of both: ``probabilities`` float32 [N, K] (the fused prediction),
``class_id`` int64 [N], ``class_name`` string [N], ``gfe_probabilities`` and
``mff_probabilities`` float32 [N, K] (softmax of each stream's logits). A model without
one of the streams (variants ``gfe``, ``mff``, ``baseline``) reports its fused
probabilities for the missing stream: with one stream the fused prediction *is* that
stream's softmax, so both outputs always exist and always sum to one.

Preprocessing is ``dsan_tf.data.preprocess`` itself (decode, bilinear antialiased resize to
the model's square input, ImageNet normalisation), traced into the graph, so training and
serving see the same pixels. A model trained on grey faces (its ``grayscale_input``, e.g.
the shipped FERPlus model) greys the faces in the graph first (:func:`grey_rgb`: the
formula of ``dsan_tf.inference.as_grey_rgb``; a grey face is unchanged), so a colour crop
sent to ``serving_default``, ``predict_pixels`` or the TFLite model gets the answer
``dsan predict`` gives; these signatures cannot be asked for colour faces.

Layout written by :func:`export_saved_model` (TF Serving's)::

    <base>/<version>/saved_model.pb
                     variables/
                     assets/labels.txt                      one class name per line
                     assets/dsan_settings.json              the model's settings (grayscale_input, ...)
                     assets.extra/tf_serving_warmup_requests PredictionLog TFRecords
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from dsan_tf.data import preprocess
from dsan_tf.io_utils import OutputError, atomic_dir, write_text
from dsan_tf.outputs import _Lock
from dsan_tf.serving_version import check_version

SIGNATURE_BYTES = "serving_default"
SIGNATURE_PIXELS = "predict_pixels"
INPUT_BYTES = "image_bytes"
INPUT_PIXELS = "pixels"
OUTPUT_KEYS = ("probabilities", "class_id", "class_name", "gfe_probabilities", "mff_probabilities")
LABELS_FILE = "labels.txt"
# The DSAN's settings, so a reader of the SavedModel knows e.g. that it was trained on grey faces.
SETTINGS_FILE = "dsan_settings.json"
WARMUP_FILE = "tf_serving_warmup_requests"
# Batch sizes the warmup replays through serving_default (1 up to the batching
# max_batch_size, see batching_parameters); predict_pixels is warmed at batch 1.
WARMUP_BATCH_SIZES = (1, 8, 32)
from dsan_tf.pixels import NOT_FINITE as PIXELS_NOT_FINITE  # noqa: E402  (the one definition: dsan_tf.pixels)
from dsan_tf.pixels import assert_pixels  # noqa: E402

# --------------------------------------------------------------------------- module
def class_names_of(model) -> list[str]:
    """The model's class names, or ``class_0..class_{K-1}`` when it stores none."""
    names = getattr(model, "class_names", None)
    k = int(model.settings["num_classes"]) if hasattr(model, "settings") else int(
        model.outputs[0].shape[-1])
    if not names:
        return [f"class_{i}" for i in range(k)]
    names = [str(n) for n in names]
    if any("\n" in n for n in names):
        raise ValueError(f"class names must not contain newlines: {names}")
    return names


def float32_model(model):
    """A float32 copy of a DSAN (same weights): the signatures never compute in 16 bits."""
    from dsan_tf.model import as_float32

    return as_float32(model)


def build_serving_module(model, labels_path=None, settings_path=None) -> tf.Module:
    """A ``tf.Module`` with the ``serving_default`` and ``predict_pixels`` tf.functions.

    ``model`` is a DSAN (any precision); it is copied to float32 here. The module tracks
    only the variables the functions read (as Keras' own ``ExportArchive`` does), not the
    Keras objects, so the SavedModel loads without this project. ``labels_path``: a
    labels file to ship in ``assets/`` (one class name per line, in class-id order);
    ``settings_path``: a JSON file of the model's settings to ship there too.
    """
    model32 = float32_model(model)
    names = class_names_of(model32)
    image_size = int(model32.settings["image_size"])
    names_tensor = tf.constant(names, dtype=tf.string)
    grey = bool(model32.settings.get("grayscale_input", False))

    def outputs_from_model_input(x):
        out = model32(x, training=False)
        probabilities = tf.cast(out["probabilities"], tf.float32)
        gfe = tf.nn.softmax(tf.cast(out["gfe_logits"], tf.float32)) if "gfe_logits" in out else probabilities
        mff = tf.nn.softmax(tf.cast(out["mff_logits"], tf.float32)) if "mff_logits" in out else probabilities
        class_id = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
        return {
            "probabilities": tf.identity(probabilities, name="probabilities"),
            "class_id": tf.identity(class_id, name="class_id"),
            "class_name": tf.gather(names_tensor, class_id, name="class_name"),
            "gfe_probabilities": tf.identity(gfe, name="gfe_probabilities"),
            "mff_probabilities": tf.identity(mff, name="mff_probabilities"),
        }

    def preprocess_one(image_bytes):
        image = preprocess.decode_image(image_bytes)
        if grey:  # a grey-trained model greys its faces itself, before the resize (as dsan_tf.inference)
            image = tf.cast(grey_rgb(tf.cast(image, tf.float32)), image.dtype)
        return preprocess.preprocess_for_model(image, image_size)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_BYTES)])
    def serving_default(image_bytes):
        """Encoded images (JPEG/PNG/GIF/BMP/WebP) -> DSAN outputs."""
        x = tf.map_fn(preprocess_one, image_bytes,
                      fn_output_signature=tf.TensorSpec([image_size, image_size, 3], tf.float32))
        return outputs_from_model_input(x)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name=INPUT_PIXELS)])
    def predict_pixels(pixels):
        """RGB pixels in [0, 255], any size -> DSAN outputs; InvalidArgumentError (HTTP 400) for NaN, Inf
        or values outside [0, 255] (dsan_tf.pixels), which would otherwise come out as a confident class."""
        pixels = assert_pixels(pixels)
        if grey:
            pixels = grey_rgb(pixels)
        return outputs_from_model_input(preprocess.preprocess_for_model(pixels, image_size))

    module = tf.Module(name="dsan_serving")
    module.serving_default = serving_default
    module.predict_pixels = predict_pixels
    _track_variables(module, [serving_default.get_concrete_function(), predict_pixels.get_concrete_function()])
    if labels_path is not None:
        module.labels = tf.saved_model.Asset(str(labels_path))
    if settings_path is not None:
        module.settings = tf.saved_model.Asset(str(settings_path))
    return module


def grey_rgb(pixels):
    """Float RGB 0..255 [..., 3] -> float32 grey RGB in the graph: ``dsan_tf.inference.grey_pixels``
    (BT.601 luminance, rounded half to even, repeated in three channels). Idempotent: grey stays grey."""
    pixels = tf.cast(pixels, tf.float32)
    weights = tf.constant([0.299, 0.587, 0.114], tf.float32)
    luminance = tf.clip_by_value(tf.round(tf.reduce_sum(pixels[..., :3] * weights, axis=-1)), 0.0, 255.0)
    luminance = luminance[..., None]
    return tf.concat([luminance, luminance, luminance], axis=-1)  # (TFLite builtins only: no tf.repeat)


def _track_variables(module, concrete_functions):
    """Attach the variables the functions capture to ``module`` (so they are saved)."""
    seen, variables = set(), []
    for fn in concrete_functions:
        for v in fn.variables:
            if id(v) not in seen:
                seen.add(id(v))
                variables.append(v)
    module.model_variables = variables


def signatures_of(module) -> dict:
    return {
        SIGNATURE_BYTES: module.serving_default.get_concrete_function(),
        SIGNATURE_PIXELS: module.predict_pixels.get_concrete_function(),
    }


# --------------------------------------------------------------------------- warmup
def synthetic_face_png(size: int = 48, seed: int = 0) -> bytes:
    """A deterministic grey PNG (a smooth blob), for warmup when no real images are given."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    image = 128 + 80 * np.exp(-((xx - 0.5) ** 2 + (yy - 0.45) ** 2) * 8) + rng.normal(0, 8, (size, size))
    image = np.clip(image, 0, 255).astype(np.uint8)[..., None]
    return tf.io.encode_png(image).numpy()


def warmup_requests(model_name: str, images: list[bytes], batch_sizes=WARMUP_BATCH_SIZES, pixel_size: int = 48):
    """PredictRequests TF Serving replays at load: serving_default at each batch size
    (cycling through ``images``) and predict_pixels at batch 1."""
    from tensorflow_serving.apis import predict_pb2

    if not images:
        raise ValueError("warmup needs at least one image")
    requests = []
    for n in batch_sizes:
        batch = [images[i % len(images)] for i in range(n)]
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = SIGNATURE_BYTES
        request.inputs[INPUT_BYTES].CopyFrom(tf.make_tensor_proto(np.array(batch, dtype=object), dtype=tf.string))
        requests.append(request)
    pixels = tf.image.resize(tf.cast(preprocess.decode_image(images[0]), tf.float32), (pixel_size, pixel_size))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = SIGNATURE_PIXELS
    request.inputs[INPUT_PIXELS].CopyFrom(tf.make_tensor_proto(pixels.numpy()[None], dtype=tf.float32))
    requests.append(request)
    return requests


def write_warmup_file(path, requests) -> None:
    """Write PredictRequests as TF Serving's warmup file (TFRecord of PredictionLog)."""
    from tensorflow_serving.apis import prediction_log_pb2

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def read_warmup_file(path) -> list:
    """The PredictionLog records of a warmup file."""
    from tensorflow_serving.apis import prediction_log_pb2

    logs = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs


def default_warmup_images(limit: int = 8) -> list[bytes]:
    """Real FERPlus crops from the embedded sample when present, else synthetic PNGs."""
    try:
        from dsan_tf.data import SAMPLE_FERPLUS_DIR
        files = sorted(Path(SAMPLE_FERPLUS_DIR).rglob("*.png"))[:limit]
    except Exception:  # pragma: no cover - sample data is optional
        files = []
    if files:
        return [f.read_bytes() for f in files]
    return [synthetic_face_png(seed=i) for i in range(limit)]


# --------------------------------------------------------------------------- export
def version_dir(base, version) -> Path:
    return Path(base) / str(check_version(version))


def check_version_free(base, version, overwrite=False) -> Path:
    """The version's directory; FileExistsError if it exists and ``overwrite`` is false."""
    target = version_dir(base, version)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass --overwrite (overwrite=True) to replace it")
    return target


def export_saved_model(model, base, version, overwrite=False, model_name=None, warmup_images=None) -> Path:
    """Write ``model`` as ``<base>/<version>`` in TF Serving's layout, atomically.

    Everything is written to a temporary sibling directory (``.<version>.<pid>.<token>``:
    not numeric, so a running TF Serving ignores it; left over by a killed export, it is
    deleted by the next export of that version) and renamed into place at the end. With
    ``overwrite`` an existing version is moved aside, replaced by the same rename, and
    deleted. Files and folders get the normal mode (the umask's), so a server running as
    another user can read them.
    """
    target = check_version_free(base, version, overwrite)
    model_name = model_name or Path(base).name
    names = class_names_of(model)
    images = warmup_images if warmup_images else default_warmup_images()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two exports of one version at once: the second is refused now (a lock held for the whole
    # export), and the no-replace rename at the end keeps a version that appeared meanwhile.
    lock = _Lock(target.parent / f".{target.name}.lock", remove=True)
    lock.acquire(f"version {target}")
    with contextlib.ExitStack() as stack:
        stack.callback(lock.release)
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="dsan-labels-"))
        tmp = stack.enter_context(atomic_dir(target, replace=overwrite))
        labels = Path(scratch) / LABELS_FILE  # both copied into assets/ by the save
        labels.write_text("".join(n + "\n" for n in names), encoding="utf-8")
        settings = Path(scratch) / SETTINGS_FILE
        settings.write_text(json.dumps(model.settings, indent=2) + "\n", encoding="utf-8")
        module = build_serving_module(model, labels_path=labels, settings_path=settings)
        tf.saved_model.save(module, str(tmp), signatures=signatures_of(module))
        write_warmup_file(tmp / "assets.extra" / WARMUP_FILE, warmup_requests(model_name, images))
    return target


def list_versions(base) -> list[int]:
    """Numeric version directories under ``base`` (what TF Serving would see)."""
    base = Path(base)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit() and int(p.name) > 0)


# --------------------------------------------------------------------------- models.config
MODEL_CONFIG_HEADER = ("# ModelServerConfig written by dsan export savedmodel (dsan_tf); each export merges its "
                       "version into this file.\n")
BATCHING_HEADER = ("# TF Serving BatchingParameters for DSAN (written by dsan_tf.export; values\n"
                   "# explained in export/README.md). Use with --enable_batching "
                   "--batching_parameters_file=<this file>.\n")


def made_by_export(path) -> bool:
    """Whether ``path`` is a models.config or batching_parameters.txt this module wrote (its first
    line is the header it writes): only those are rewritten; a user's own file is kept."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return first in (MODEL_CONFIG_HEADER, BATCHING_HEADER.splitlines(keepends=True)[0])


def merged_model_config(config_path, model_name, base_path, versions, local_base=None):
    """(config, text): the ModelServerConfig of ``config_path`` (empty when missing) serving ``versions``
    of ``model_name``, and its text with :data:`MODEL_CONFIG_HEADER` (nothing is written).

    Other models in an existing file are kept. For this model, versions already listed
    that still exist under ``local_base`` (when given) are kept beside the new ones (a
    model not yet in the file starts from every version under ``local_base``), and
    version labels are kept when their version is still served.
    """
    from google.protobuf import text_format

    config_path = Path(config_path)
    config = read_model_config(config_path)
    entries = config.model_config_list.config
    entry = next((c for c in entries if c.name == model_name), None)
    on_disk = set(list_versions(local_base)) if local_base is not None else None
    if entry is None:  # first time: serve every version already exported
        entry = entries.add()
        entry.name = model_name
        keep = set(on_disk or ())
    else:
        keep = {v for v in entry.model_version_policy.specific.versions if on_disk is None or v in on_disk}
    served = sorted(keep | {int(v) for v in versions})
    labels = {k: v for k, v in entry.version_labels.items() if v in served}
    entry.base_path = str(base_path)
    entry.model_platform = "tensorflow"
    entry.model_version_policy.ClearField("specific")
    entry.model_version_policy.specific.versions.extend(served)
    entry.ClearField("version_labels")
    for key, value in labels.items():
        entry.version_labels[key] = value
    return config, MODEL_CONFIG_HEADER + text_format.MessageToString(config)


def update_model_config(config_path, model_name, base_path, versions, local_base=None):
    """Write :func:`merged_model_config` to ``config_path`` (Python API: the caller owns the file;
    ``dsan export savedmodel`` publishes it through the output policy instead). Returns the proto."""
    config, text = merged_model_config(config_path, model_name, base_path, versions, local_base)
    write_text(config_path, text)
    return config


def read_model_config(config_path):
    """The ModelServerConfig in ``config_path`` (empty when the file does not exist yet).

    OutputError naming the file when it is unreadable or not a ModelServerConfig text proto
    (it could not be updated), so the export stops before it writes anything.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2 as msc

    config_path = Path(config_path)
    config = msc.ModelServerConfig()
    if not config_path.exists():
        return config
    try:
        text = config_path.read_text(encoding="utf-8")
        text_format.Parse(text, config)
    except (OSError, UnicodeDecodeError, text_format.ParseError) as err:
        raise OutputError(f"{config_path}: not a readable ModelServerConfig text proto ({err}); "
                          "fix or move the file, then export again") from None
    for entry in config.model_config_list.config:
        bad = [v for v in entry.model_version_policy.specific.versions if v < 1]
        if bad:
            raise OutputError(f"{config_path}: model {entry.name!r} lists versions {bad}; "
                              "versions must be positive")
    return config


# --------------------------------------------------------------------------- batching
def batching_parameters_class():
    """TF Serving's ``tensorflow.serving.BatchingParameters`` message class.

    tensorflow-serving-api does not ship ``session_bundle_config.proto``; this builds the
    message from its field list (tensorflow_serving/servables/tensorflow/
    session_bundle_config.proto) in a private descriptor pool, so the file is written
    (and checked) through protobuf's text format rather than string formatting.
    """
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    f = descriptor_pb2.FileDescriptorProto(
        name="tensorflow_serving/servables/tensorflow/session_bundle_config.proto",
        package="tensorflow.serving", syntax="proto3", dependency=["google/protobuf/wrappers.proto"])
    m = f.message_type.add(name="BatchingParameters")
    F = descriptor_pb2.FieldDescriptorProto
    for number, name, type_name in [
        (1, "max_batch_size", ".google.protobuf.Int64Value"),
        (2, "batch_timeout_micros", ".google.protobuf.Int64Value"),
        (3, "max_enqueued_batches", ".google.protobuf.Int64Value"),
        (4, "num_batch_threads", ".google.protobuf.Int64Value"),
        (5, "thread_pool_name", ".google.protobuf.StringValue"),
    ]:
        m.field.add(name=name, number=number, type=F.TYPE_MESSAGE, type_name=type_name, label=F.LABEL_OPTIONAL)
    m.field.add(name="allowed_batch_sizes", number=6, type=F.TYPE_INT64, label=F.LABEL_REPEATED)
    m.field.add(name="pad_variable_length_inputs", number=7, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL)
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


def batching_parameters(max_batch_size=32, batch_timeout_micros=1000, max_enqueued_batches=None,
                        num_batch_threads=4, allowed_batch_sizes=(), pad_variable_length_inputs=False):
    """A BatchingParameters message for serving DSAN on CPU (export/README.md explains the values).

    ``num_batch_threads``: the serving machine's CPU cores. ``max_enqueued_batches``
    defaults to ``num_batch_threads`` (TF Serving's advice for online serving: bounded
    queueing delay). No ``allowed_batch_sizes`` by default: on CPU padding a batch up
    to an allowed size only adds work.
    """
    allowed = [int(b) for b in allowed_batch_sizes]
    if allowed and (allowed != sorted(set(allowed)) or allowed[-1] != int(max_batch_size)):
        raise ValueError("allowed_batch_sizes must increase and end at max_batch_size")
    if int(num_batch_threads) < 1 or int(max_batch_size) < 1:
        raise ValueError("num_batch_threads and max_batch_size must be >= 1")
    message = batching_parameters_class()()
    message.max_batch_size.value = int(max_batch_size)
    message.batch_timeout_micros.value = int(batch_timeout_micros)
    message.max_enqueued_batches.value = int(max_enqueued_batches or num_batch_threads)
    message.num_batch_threads.value = int(num_batch_threads)
    message.allowed_batch_sizes.extend(allowed)
    message.pad_variable_length_inputs = bool(pad_variable_length_inputs)
    return message


def batching_parameters_text(**kwargs) -> str:
    """``batching_parameters.txt`` (text proto, with :data:`BATCHING_HEADER`) for ``--batching_parameters_file``."""
    from google.protobuf import text_format

    return BATCHING_HEADER + text_format.MessageToString(batching_parameters(**kwargs))


def write_batching_parameters(path, **kwargs):
    """Write :func:`batching_parameters_text` to ``path`` (Python API: the caller owns the file)."""
    write_text(path, batching_parameters_text(**kwargs))
    return batching_parameters(**kwargs)


def parse_batching_parameters(path):
    from google.protobuf import text_format

    message = batching_parameters_class()()
    text_format.Parse(Path(path).read_text(encoding="utf-8"), message)
    return message


# --------------------------------------------------------------------------- TFLite
TFLITE_OUTPUTS = ("probabilities", "class_id", "gfe_probabilities", "mff_probabilities")


def tflite_function(model):
    """The TFLite graph: float32 [N, S, S, 3] RGB 0..255 at the model's input size ->
    ``probabilities``, ``class_id``, ``gfe_probabilities``, ``mff_probabilities``.

    The same pixel input as ``predict_pixels`` but at a fixed size: resizing
    (ScaleAndTranslate) is not a TFLite builtin, so the caller resizes (bilinear, with
    antialiasing when shrinking, as ``dsan_tf.data.preprocess.resize_image``); the graph rounds
    to integers, as the training pipeline does (``preprocess_for_model``). ImageNet
    normalisation is inside. No ``class_name`` output (TFLite string tensors are poorly
    supported on devices); the labels file is written beside the model.
    """
    model32 = float32_model(model)
    size = int(model32.settings["image_size"])
    grey = bool(model32.settings.get("grayscale_input", False))

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, name=INPUT_PIXELS)])
    def predict(pixels):
        if grey:  # greyed in the graph, as predict_pixels
            pixels = grey_rgb(pixels)
        # rounded as preprocess_for_model (the training pipeline's uint8 step): any float input gives
        # predict_pixels' answer
        pixels = tf.clip_by_value(tf.round(pixels), 0.0, 255.0)
        out = model32(preprocess.normalize_imagenet(pixels), training=False)
        probabilities = tf.cast(out["probabilities"], tf.float32)
        gfe = tf.nn.softmax(tf.cast(out["gfe_logits"], tf.float32)) if "gfe_logits" in out else probabilities
        mff = tf.nn.softmax(tf.cast(out["mff_logits"], tf.float32)) if "mff_logits" in out else probabilities
        return {"probabilities": probabilities,
                "class_id": tf.argmax(probabilities, axis=-1, output_type=tf.int64),
                "gfe_probabilities": gfe, "mff_probabilities": mff}

    holder = tf.Module()
    holder.predict = predict
    concrete = predict.get_concrete_function()
    _track_variables(holder, [concrete])
    return concrete, holder


def convert_tflite(model, quantize: bool = False) -> bytes:
    """TFLite flatbuffer with one signature (``serving_default``, input ``pixels``): float32,
    or dynamic-range quantised (int8 weights, float activations; no calibration data)."""
    concrete, holder = tflite_function(model)
    # Through a SavedModel, so the flatbuffer carries the signature's input/output names.
    with tempfile.TemporaryDirectory(prefix="dsan-tflite-") as tmp:
        tf.saved_model.save(holder, tmp, signatures={SIGNATURE_BYTES: concrete})
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[SIGNATURE_BYTES])
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()
