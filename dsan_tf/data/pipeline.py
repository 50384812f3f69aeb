"""tf.data input pipeline: table or source dicts -> (images, targets[, weights]) batches.

Two stages, so that the TFRecord reader reuses the second one:

1. `source_from_table(table)` -> dicts ``{"image_bytes", "target", "box", "path"}``
   (``path`` is optional: a file path or description, used only in error messages).
2. `make_dataset_from_source(source, ...)`: check + decode + crop to box + resize ->
   uint8 cache -> shuffle -> augment -> ImageNet-normalise -> batch -> prefetch.

`make_dataset(table, ...)` chains the two.

Determinism: with ``seed`` set, the shuffle order and every augmentation are fixed
(a seeded shuffle and per-example seeds from `tf.data.Dataset.random` feeding
stateless random ops); each epoch (each new iterator) gets a different, still
reproducible, order and augmentation.

Bad bytes: readers check each file's signature at read time (``check_images``); the
pipeline checks it again before decoding (TFRecords, files changed since) and fails
with an InvalidArgumentError whose message names the file. A file with a good
signature but a corrupt body fails inside TensorFlow's decoder, which names no
file: `check_decodable` decodes a table once before training (filling the file
cache) and names the first file that fails.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import math
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import tensorflow as tf

from dsan_tf.data import preprocess
from dsan_tf.data.errors import DataError

log = logging.getLogger(__name__)

AUTOTUNE = tf.data.AUTOTUNE
_MAGIC = ((b"\x89PNG\r\n\x1a\n", 8), (b"\xff\xd8\xff", 3), (b"GIF87a", 6), (b"GIF89a", 6),
          (b"BM", 2))


@dataclasses.dataclass
class AugmentConfig:
    """Training augmentation.

    random_crop: the paper's random crop, as pad-and-crop: a random shift of up to
        ``crop_padding`` of the side, 1/8 by default (28 px at 224 px, 8 px at 64 px).
        DAN's RandomCrop(224, padding=32) pads 1/7 (``crop_padding=32/224``); 1/8 is
        kept so that runs measured with it stay comparable. The padding is the
        ImageNet mean colour (0 after normalisation), not black.
    horizontal_flip: random left-right flip (p = 0.5).
    rotation_degrees: random rotation in [-deg, deg], bilinear, mean-colour fill.
    random_erasing: probability of torchvision-style RandomErasing (area 2-33 %,
        aspect 0.3-3.3, erased to the mean colour).
    """

    random_crop: bool = True
    horizontal_flip: bool = True
    rotation_degrees: float = 0.0
    random_erasing: float = 0.0
    crop_padding: float = 0.125

    @property
    def active(self) -> bool:
        return bool(self.random_crop or self.horizontal_flip or self.rotation_degrees
                    or self.random_erasing)


def class_balanced_weights(labels, num_classes: int) -> np.ndarray:
    """Per-class weights n / (k * count_c) (scikit-learn's "balanced"), k = classes
    present; absent classes get 0."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
    present = counts > 0
    weights = np.zeros(num_classes, dtype=np.float32)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


# ----------------------------------------------------------------------- source stage


def _table_columns(table: pd.DataFrame):
    paths = table["path"].astype(str).to_numpy()
    targets = np.stack([np.asarray(t, dtype=np.float32) for t in table["target"]])
    boxes = np.array([(-1, -1, -1, -1) if b is None or (isinstance(b, float) and math.isnan(b))
                      else tuple(int(v) for v in b) for b in table["box"]],
                     dtype=np.int32).reshape(-1, 4)
    if "image_bytes" in table.columns:
        blobs = [b if isinstance(b, (bytes, bytearray)) else b"" for b in table["image_bytes"]]
    else:
        blobs = [b""] * len(table)
    origin = [p if p else f"{name} (in-memory image)" for p, name in zip(paths, table["name"])]
    return {"path": np.array(origin, dtype=object), "file": paths,
            "image_bytes": np.array(blobs, dtype=object), "target": targets, "box": boxes}


def source_from_table(table: pd.DataFrame, *, shuffle: bool = False,
                      seed: int | None = None) -> tf.data.Dataset:
    """Table -> dataset of ``{"image_bytes", "target", "box", "path"}`` dicts.

    Files are read lazily (``tf.io.read_file``) unless the table carries
    ``image_bytes``. ``shuffle`` shuffles the rows before any file is read (cheap,
    full-table buffer), for pipelines that do not cache.
    """
    if table.empty:
        raise DataError("the table has no rows; expected at least one image")
    cols = _table_columns(table)
    ds = tf.data.Dataset.from_tensor_slices(cols)
    if shuffle:
        ds = ds.shuffle(len(table), seed=seed, reshuffle_each_iteration=True)

    def read(row):
        image_bytes = tf.cond(tf.strings.length(row["image_bytes"]) > 0,
                              lambda: row["image_bytes"],
                              lambda: tf.io.read_file(row["file"]))
        return {"image_bytes": image_bytes, "target": row["target"], "box": row["box"],
                "path": row["path"]}

    return ds.map(read, num_parallel_calls=AUTOTUNE)


# ----------------------------------------------------------------------- model stage


def _check_image_bytes(image_bytes, path):
    ok = tf.constant(False)
    for magic, n in _MAGIC:
        ok = ok | tf.equal(tf.strings.substr(image_bytes, 0, n), magic)
    message = tf.strings.join(["not an image (expected PNG/JPEG/GIF/BMP bytes): ", path])
    return tf.debugging.Assert(ok, [message], name="check_image_bytes")


def _decode_fn(image_size: int):
    def decode(elem):
        image_bytes = elem["image_bytes"]
        path = elem.get("path", tf.constant("<unnamed source element>"))
        with tf.control_dependencies([_check_image_bytes(image_bytes, path)]):
            image = preprocess.decode_image(image_bytes)
        image = preprocess.crop_to_box(image, elem["box"])
        image = preprocess.to_uint8(preprocess.resize_image(image, image_size))
        return image, tf.cast(elem["target"], tf.float32)

    return decode


def _affine_transforms(batch_size, image_size, config: AugmentConfig, seed):
    """Per-image inverse affine maps (ImageProjectiveTransform layout) that compose a
    random shift (pad-and-crop), a horizontal flip and a rotation about the centre."""
    u = tf.random.stateless_uniform([batch_size, 4], seed)
    s = float(image_size)
    c = (s - 1.0) / 2.0
    pad = float(round(image_size * config.crop_padding)) if config.random_crop else 0.0
    # Integer shifts in [-pad, pad]: with no rotation, sampling stays on the pixel grid.
    tx = tf.floor(u[:, 0] * (2 * pad + 1)) - pad
    ty = tf.floor(u[:, 1] * (2 * pad + 1)) - pad
    flip = (u[:, 2] < 0.5) if config.horizontal_flip else tf.zeros([batch_size], tf.bool)
    max_angle = math.radians(config.rotation_degrees)
    angle = (2.0 * u[:, 3] - 1.0) * max_angle
    cos, sin = tf.cos(angle), tf.sin(angle)
    # input = Fx (R (output - t - c) + c) + flip offset, Fx = diag(+-1, 1)
    fx = tf.where(flip, -1.0, 1.0)
    qx, qy = -tx - c, -ty - c
    a0, a1, a2 = fx * cos, -fx * sin, fx * (cos * qx - sin * qy + c) + tf.where(flip, s - 1.0, 0.0)
    b0, b1, b2 = sin, cos, sin * qx + cos * qy + c
    zeros = tf.zeros_like(a0)
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def _erase(images, seed, probability):
    """torchvision-style RandomErasing on a batch, to 0 (the mean colour)."""
    shape = tf.shape(images)
    batch_size, size = shape[0], shape[1]
    s = tf.cast(size, tf.float32)
    u = tf.random.stateless_uniform([batch_size, 5], seed)
    area = s * s * (0.02 + u[:, 1] * 0.31)
    ratio = tf.exp(math.log(0.3) + u[:, 2] * (math.log(3.3) - math.log(0.3)))
    h = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area * ratio)), tf.int32), 1, size)
    w = tf.clip_by_value(tf.cast(tf.round(tf.sqrt(area / ratio)), tf.int32), 1, size)
    top = tf.cast(u[:, 3] * tf.cast(size - h + 1, tf.float32), tf.int32)
    left = tf.cast(u[:, 4] * tf.cast(size - w + 1, tf.float32), tf.int32)
    idx = tf.range(size)[None, :]
    rows = (idx >= top[:, None]) & (idx < (top + h)[:, None])
    cols = (idx >= left[:, None]) & (idx < (left + w)[:, None])
    mask = rows[:, :, None] & cols[:, None, :] & (u[:, 0] < probability)[:, None, None]
    return tf.where(mask[..., None], 0.0, images)


def _augment_fn(config: AugmentConfig, image_size: int):
    """Augment a whole uint8 batch at once (one transform op per batch, not per image):
    normalise, then shift/flip/rotate with 0 fill, then erase."""

    def augment(images, targets, seed):
        seeds = tf.random.experimental.stateless_split(seed, 2)
        images = preprocess.normalize_imagenet(images)
        batch_size = tf.shape(images)[0]
        if config.random_crop or config.horizontal_flip or config.rotation_degrees:
            transforms = _affine_transforms(batch_size, image_size, config, seeds[0])
            images = tf.raw_ops.ImageProjectiveTransformV3(
                images=images, transforms=transforms,
                output_shape=tf.constant([image_size, image_size]), fill_value=0.0,
                interpolation="BILINEAR", fill_mode="CONSTANT")
        if config.random_erasing > 0:
            images = _erase(images, seeds[1], config.random_erasing)
        return images, targets

    return augment


def _count_classes(source: tf.data.Dataset, num_classes: int) -> np.ndarray:
    labels = source.map(lambda e: tf.argmax(e["target"], output_type=tf.int32),
                        num_parallel_calls=AUTOTUNE)
    counts = labels.reduce(tf.zeros([num_classes], tf.int64),
                           lambda acc, k: acc + tf.one_hot(k, num_classes, dtype=tf.int64))
    return counts.numpy()


def _class_tables(table: pd.DataFrame, num_classes: int) -> list:
    """One table per class (None for an absent class), as oversampling caches them."""
    labels = table["label"].to_numpy()
    return [table[labels == k] if (labels == k).any() else None for k in range(num_classes)]


def check_decodable(table: pd.DataFrame, image_size: int, cache: str | None = None,
                    *, per_class: int | None = None) -> None:
    """Decode every image of ``table`` once, in order; DataError naming the first file that fails.

    Run before training or evaluation starts: the same error inside ``fit`` is a raw
    TensorFlow error, mid-epoch, naming no file. With ``cache`` (the file prefix given
    to `make_dataset`), the decoded images fill that tf.data file cache, so they are
    still decoded only once; a cache already complete is not read again, and a failed
    or interrupted pass removes its files (an incomplete cache must never be read as
    complete). ``per_class=K``: the per-class caches of ``make_dataset(oversample=True)``.
    """
    if per_class is None:
        parts = [(table, "")]
    else:
        parts = [(part, f".class{k}") for k, part in enumerate(_class_tables(table, per_class))
                 if part is not None]
    for part, suffix in parts:
        prefix = cache + suffix if cache else None
        if prefix and Path(prefix + ".index").exists():
            problem = _damaged_cache(part, image_size, prefix)
            if problem is None:
                continue
            # The cache is derived data: a damaged one (a disk error, a kill mid-copy) is said and rebuilt,
            # not read mid-epoch as a TensorFlow error naming no file.
            log.warning("the decoded-image cache %s is damaged (%s): decoding the images again", prefix, problem)
            _remove_cache(prefix)
        try:
            failure = _first_undecodable(part, image_size, prefix)
        except BaseException:  # Ctrl-C: drop the half-written cache
            if prefix:
                _remove_cache(prefix)
            raise
        if failure is not None:
            if prefix:
                _remove_cache(prefix)
            row, error = part.iloc[failure[0]], failure[1]
            origin = row["path"] or f"{row['name']} (in-memory image)"
            if isinstance(error, tf.errors.NotFoundError):
                raise DataError(f"{origin}: image file not found (moved or deleted since the labels were read?)")
            raise DataError(f"{origin}: not a decodable image ({_tf_error_reason(error)}); "
                            "replace the file or remove its row from the label file")


def _first_undecodable(table: pd.DataFrame, image_size: int, prefix: str | None):
    """(row index, TensorFlow error) of the first image of ``table`` that fails to decode, or None.

    A deterministic map keeps table order, so the count of elements read before the
    error is the failing row.
    """
    ds = source_from_table(table).map(_decode_fn(image_size), num_parallel_calls=AUTOTUNE,
                                      deterministic=True)
    iterator = iter(_cache(ds, prefix))
    read, failure = 0, None
    try:
        for _ in iterator:
            read += 1
    except tf.errors.OpError as error:
        # Without its traceback: the traceback's frames hold the iterator, whose cache writer (and its
        # threads) would then outlive the removal of the half-written cache and write its files again.
        failure = read, error.with_traceback(None)
    finally:
        del iterator  # the cache writer must be gone before its files are removed
    if failure is not None:
        gc.collect()  # and gone even if a reference cycle holds it
    return failure


def _damaged_cache(table: pd.DataFrame, image_size: int, prefix: str) -> str | None:
    """What is wrong with the complete-looking file cache ``prefix`` of ``table``, or None when it reads
    back whole: every element, as many as the table has rows. (Read, not decoded: a few seconds for
    FERPlus, against a run of hours that would otherwise stop mid-epoch.)"""
    ds = _cache(source_from_table(table).map(_decode_fn(image_size)), prefix)
    read = 0
    try:
        for _ in ds:
            read += 1
    except tf.errors.OpError as error:
        return f"{_tf_error_reason(error)} after {read} of {len(table)} images"
    if read != len(table):
        return f"it holds {read} images, the table {len(table)}"
    return None


def _remove_cache(prefix: str) -> None:
    for path in Path(prefix).parent.glob(Path(prefix).name + "*"):
        path.unlink(missing_ok=True)


def _tf_error_reason(error: tf.errors.OpError) -> str:
    """What a tf.data error says went wrong ("Invalid PNG data, size 500"), without its node names."""
    first = (error.message or type(error).__name__).strip().splitlines()[0]
    found = re.search(r"Iterator::[\w:]+: (.*)", first)
    return found.group(1) if found else re.sub(r"\{\{.*?\}\}\s*", "", first)


def _cache(ds, cache, suffix=""):
    if cache is True:
        return ds.cache()
    if isinstance(cache, str) and cache:
        return ds.cache(cache + suffix)
    return ds


def make_dataset_from_source(
    source: tf.data.Dataset | Sequence[tf.data.Dataset | None],
    num_classes: int,
    image_size: int,
    batch_size: int,
    *,
    training: bool,
    augment: AugmentConfig | None = None,
    seed: int | None = None,
    cache: bool | str = True,
    oversample: bool = False,
    sample_weights=None,
    input_context: tf.distribute.InputContext | None = None,
    drop_remainder: bool = False,
    num_parallel_calls=AUTOTUNE,
    shuffle_buffer: int | None = None,
    shard: bool = True,
    epoch_size: int | None = None,
) -> tf.data.Dataset:
    """Source dicts -> batches of (images float32 [B,S,S,3], targets float32 [B,K]
    [, weights float32 [B]]).

    ``source`` is one dataset, or (for oversampling) a list of K per-class datasets
    (None for an absent class). ``cache``: True (memory), a file prefix (disk) or
    False; the cache holds decoded, box-cropped, resized uint8 images. ``augment``:
    None = AugmentConfig() when training. ``oversample``: class-balanced sampling
    (each present class equally likely) with an epoch of ``epoch_size`` examples
    (default: the source's size). ``sample_weights``: per-class weights, the weight
    of an example is that of its argmax class. ``shuffle_buffer``: None = whole
    dataset when cached or its size is known (else 10,000), 0 = no shuffle.
    ``shard=False`` when the source is already this input pipeline's shard.
    """
    if augment is None:
        augment = AugmentConfig()
    batch = (input_context.get_per_replica_batch_size(batch_size) if input_context
             else batch_size)
    decode = _decode_fn(image_size)
    per_class = not isinstance(source, tf.data.Dataset)
    if shard and input_context is not None and input_context.num_input_pipelines > 1:
        n, i = input_context.num_input_pipelines, input_context.input_pipeline_id
        source = ([s.shard(n, i) if s is not None else None for s in source] if per_class
                  else source.shard(n, i))

    def prepare(ds, suffix=""):
        ds = ds.map(decode, num_parallel_calls=num_parallel_calls)
        return _cache(ds, cache, suffix)

    def shuffled(ds, ds_seed):
        buffer = shuffle_buffer
        if buffer is None:
            n = int(ds.cardinality())
            buffer = n if n > 0 and (cache or n <= 10_000) else 10_000
        return ds.shuffle(buffer, seed=ds_seed, reshuffle_each_iteration=True) if buffer else ds

    if training and oversample:
        if per_class:
            if len(source) != num_classes:
                raise DataError(f"oversampling needs {num_classes} per-class sources, "
                                f"got {len(source)}")
            classes = [prepare(s, f".class{k}") if s is not None else None
                       for k, s in enumerate(source)]
        else:
            counts = _count_classes(source, num_classes)
            full = prepare(source)
            classes = [full.filter(lambda _image, target, k=k: tf.argmax(target) == k)
                       if counts[k] else None for k in range(num_classes)]
            if epoch_size is None:
                epoch_size = int(counts.sum())
        present = [k for k, ds in enumerate(classes) if ds is not None]
        if not present:
            raise DataError("oversampling: no class has any example")
        if epoch_size is None:
            raise DataError("oversampling: epoch_size is needed with per-class sources")
        streams = [shuffled(classes[k], None if seed is None else seed + 1 + k).repeat()
                   for k in present]
        ds = tf.data.Dataset.sample_from_datasets(
            streams, weights=[1.0 / len(present)] * len(present), seed=seed,
            rerandomize_each_iteration=True).take(epoch_size)
    else:
        if per_class:
            parts = [s for s in source if s is not None]
            source = parts[0]
            for s in parts[1:]:
                source = source.concatenate(s)
        if training and not cache:
            source = shuffled(source, seed)  # shuffle bytes, not decoded images
        ds = prepare(source)
        if training and cache:
            ds = shuffled(ds, seed)

    ds = ds.batch(batch, drop_remainder=drop_remainder, num_parallel_calls=num_parallel_calls)
    if training and augment.active:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        augment_fn = _augment_fn(augment, image_size)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda batch_, s: augment_fn(batch_[0], batch_[1], s),
            num_parallel_calls=num_parallel_calls)
    else:
        ds = ds.map(lambda images, targets: (preprocess.normalize_imagenet(images), targets),
                    num_parallel_calls=num_parallel_calls)

    if sample_weights is not None:
        weights = np.asarray(sample_weights, dtype=np.float32).reshape(-1)
        if weights.size != num_classes:
            raise DataError(f"sample_weights has {weights.size} entries; expected one per "
                            f"class ({num_classes})")
        table = tf.constant(weights)
        ds = ds.map(lambda images, targets: (images, targets,
                                             tf.gather(table, tf.argmax(targets, axis=1))),
                    num_parallel_calls=num_parallel_calls)

    options = tf.data.Options()
    options.deterministic = not (training and seed is None)
    return ds.with_options(options).prefetch(AUTOTUNE)


def make_dataset(
    table: pd.DataFrame,
    num_classes: int,
    image_size: int,
    batch_size: int,
    *,
    training: bool,
    augment: AugmentConfig | None = None,
    seed: int | None = None,
    cache: bool | str = True,
    oversample: bool = False,
    sample_weights=None,
    input_context: tf.distribute.InputContext | None = None,
    drop_remainder: bool = False,
    num_parallel_calls=AUTOTUNE,
) -> tf.data.Dataset:
    """A reader's table (or one split of it) -> batches; see `make_dataset_from_source`.

    The table is sharded here (rows ``id::n``) before any file is read, and
    oversampling uses one cached pipeline per class.
    """
    if table.empty:
        raise DataError("make_dataset: the table has no rows; expected at least one image")
    bad = [i for i, t in enumerate(table["target"]) if np.shape(t) != (num_classes,)]
    if bad:
        raise DataError(f"make_dataset: row {bad[0]} ('{table['name'].iloc[bad[0]]}') has a "
                        f"target of shape {np.shape(table['target'].iloc[bad[0]])}; expected "
                        f"({num_classes},) for num_classes={num_classes}")
    if input_context is not None and input_context.num_input_pipelines > 1:
        table = table.iloc[input_context.input_pipeline_id::input_context.num_input_pipelines]
        if table.empty:
            raise DataError(f"input pipeline {input_context.input_pipeline_id} of "
                            f"{input_context.num_input_pipelines} got no rows")
    common = dict(training=training, augment=augment, seed=seed, cache=cache,
                  oversample=oversample, sample_weights=sample_weights,
                  input_context=input_context, drop_remainder=drop_remainder,
                  num_parallel_calls=num_parallel_calls, shard=False)
    if training and oversample:
        sources = [source_from_table(part) if part is not None else None
                   for part in _class_tables(table, num_classes)]
        return make_dataset_from_source(sources, num_classes, image_size, batch_size,
                                        epoch_size=len(table), **common)
    pre_shuffle = training and not cache
    source = source_from_table(table, shuffle=pre_shuffle, seed=seed)
    return make_dataset_from_source(source, num_classes, image_size, batch_size,
                                    shuffle_buffer=0 if pre_shuffle else None, **common)
