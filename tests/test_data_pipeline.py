"""tf.data pipeline: shapes, order, determinism, oversampling, weights, sharding, bad bytes."""

import io
import math
import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dsan_tf.data import DataError
from dsan_tf.data.pipeline import (AugmentConfig, class_balanced_weights, make_dataset,
                                   make_dataset_from_source, source_from_table)
from dsan_tf.data.preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess_for_model
from dsan_tf.data.table import make_table, one_hot

K, S = 3, 16


def make_images(tmp_path, labels, size=8):
    """One PNG per label, each with a distinct grey level and a bright top-left block."""
    paths = []
    for i, _ in enumerate(labels):
        array = np.full((size, size), 10 + 7 * i, np.uint8)
        array[: size // 2, : size // 2] = 250
        path = tmp_path / f"img{i:03d}.png"
        Image.fromarray(array, mode="L").save(path)
        paths.append(str(path))
    return make_table("train", [f"img{i:03d}.png" for i in range(len(labels))], paths,
                      one_hot(labels, K))


def batches(ds):
    return [tuple(t.numpy() for t in b) for b in ds]


def test_eval_order_shapes_and_values(tmp_path):
    table = make_images(tmp_path, [0, 1, 2, 1, 0])
    out = batches(make_dataset(table, K, S, 2, training=False))
    assert [b[0].shape for b in out] == [(2, S, S, 3), (2, S, S, 3), (1, S, S, 3)]
    assert all(b[0].dtype == np.float32 and b[1].dtype == np.float32 for b in out)
    labels = np.concatenate([b[1] for b in out]).argmax(1)
    assert labels.tolist() == [0, 1, 2, 1, 0]
    first = np.array(Image.open(table["path"][0]).convert("RGB"))
    expected = preprocess_for_model(first, S).numpy()
    np.testing.assert_allclose(out[0][0][0], expected, atol=1e-6)  # inference preprocesses as training does
    assert batches(make_dataset(table, K, S, 2, training=False, drop_remainder=True))[-1][0].shape[0] == 2


def test_seeded_training_is_reproducible_and_reshuffles_each_epoch(tmp_path):
    table = make_images(tmp_path, [0, 1, 2, 1, 0, 2, 1, 0])
    augment = AugmentConfig(rotation_degrees=10, random_erasing=0.5)
    ds_a = make_dataset(table, K, S, 4, training=True, seed=7, augment=augment)
    ds_b = make_dataset(table, K, S, 4, training=True, seed=7, augment=augment)
    a1, a2 = batches(ds_a), batches(ds_a)
    b1, b2 = batches(ds_b), batches(ds_b)
    for x, y in zip(a1 + a2, b1 + b2):
        np.testing.assert_array_equal(x[0], y[0])
        np.testing.assert_array_equal(x[1], y[1])
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a1, a2))
    c1 = batches(make_dataset(table, K, S, 4, training=True, seed=8, augment=augment))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a1, c1))
    assert sum(len(b[1]) for b in a1) == 8  # one pass, no repeat


def test_augmentation_off_gives_the_eval_images(tmp_path):
    table = make_images(tmp_path, [0, 1, 2])
    off = AugmentConfig(random_crop=False, horizontal_flip=False)
    train = np.concatenate([b[0] for b in batches(
        make_dataset(table, K, S, 3, training=True, seed=0, augment=off))])
    evaluation = np.concatenate([b[0] for b in batches(make_dataset(table, K, S, 3, training=False))])
    key = lambda x: x.reshape(len(x), -1).mean(1)  # noqa: E731 - order differs (shuffled)
    np.testing.assert_allclose(np.sort(key(train)), np.sort(key(evaluation)), atol=1e-5)


def test_flip_and_shift_move_the_bright_block(tmp_path):
    table = make_images(tmp_path, [0] * 6)
    flips = AugmentConfig(random_crop=False, horizontal_flip=True)
    images = np.concatenate([b[0] for b in batches(
        make_dataset(table, K, S, 6, training=True, seed=1, augment=flips))])
    left = images[:, : S // 2, : S // 2 - 1, 0].mean((1, 2))
    right = images[:, : S // 2, S // 2 + 1:, 0].mean((1, 2))
    assert ((left > right) | (right > left)).all() and (right > left).any() and (left > right).any()
    shifted = AugmentConfig(random_crop=True, crop_padding=0.25, horizontal_flip=False)
    images = np.concatenate([b[0] for b in batches(
        make_dataset(table, K, S, 6, training=True, seed=1, augment=shifted))])
    assert (images == 0.0).any()  # padding is the mean colour, 0 after normalisation


def test_oversampling_balances_classes(tmp_path):
    table = make_images(tmp_path, [0] * 12 + [1] * 3 + [2] * 1)
    ds = make_dataset(table, K, S, 8, training=True, seed=3, oversample=True)
    labels = np.concatenate([b[1] for b in batches(ds) for _ in [0]]).argmax(1)
    assert len(labels) == 16
    counts = np.bincount(np.concatenate(
        [np.concatenate([b[1] for b in batches(ds)]).argmax(1) for _ in range(10)]), minlength=K)
    assert counts.sum() == 160 and counts.min() > 30  # ~53 each instead of 120/30/10


def test_oversampling_from_a_single_source(tmp_path):
    table = make_images(tmp_path, [0] * 12 + [2] * 2)
    ds = make_dataset_from_source(source_from_table(table), K, S, 7, training=True, seed=0,
                                  oversample=True)
    labels = np.concatenate([np.concatenate([b[1] for b in batches(ds)]).argmax(1)
                             for _ in range(6)])
    assert len(labels) == 84 and set(labels) == {0, 2} and (labels == 2).sum() > 25


def test_sample_weights_and_soft_targets(tmp_path):
    table = make_images(tmp_path, [0, 1, 2, 2])
    table["target"] = [np.array([0.6, 0.4, 0], np.float32), np.eye(K, dtype=np.float32)[1],
                       np.eye(K, dtype=np.float32)[2], np.eye(K, dtype=np.float32)[2]]
    weights = class_balanced_weights(table["label"], K)
    out = batches(make_dataset(table, K, S, 4, training=False, sample_weights=weights))
    assert len(out[0]) == 3
    np.testing.assert_allclose(out[0][1][0], [0.6, 0.4, 0])
    np.testing.assert_allclose(out[0][2], weights[[0, 1, 2, 2]])


def test_class_balanced_weights_match_sklearn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0, 0, 0, 1, 2, 2])
    np.testing.assert_allclose(class_balanced_weights(labels, 3),
                               compute_class_weight("balanced", classes=np.arange(3), y=labels))
    assert class_balanced_weights([0, 0, 2], 3)[1] == 0.0


def test_input_context_shards_and_sets_per_replica_batch(tmp_path):
    table = make_images(tmp_path, [0, 1, 2, 0, 1, 2, 0, 1])
    seen = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2,
                                             input_pipeline_id=pipeline_id,
                                             num_replicas_in_sync=2)
        out = batches(make_dataset(table, K, S, 4, training=False, input_context=context))
        assert [len(b[1]) for b in out] == [2, 2]
        seen.append(np.concatenate([b[0] for b in out]).mean((1, 2, 3)))
    merged = np.sort(np.concatenate(seen))
    everything = np.sort(np.concatenate([b[0] for b in batches(
        make_dataset(table, K, S, 8, training=False))]).mean((1, 2, 3)))
    np.testing.assert_allclose(merged, everything, atol=1e-5)


def test_in_memory_bytes_and_face_boxes(tmp_path):
    array = np.zeros((20, 20, 3), np.uint8)
    array[5:15, 10:20] = 255
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    table = make_table("train", ["a.png"], [""], one_hot([1], K), [(10, 5, 10, 10)],
                       [buf.getvalue()])
    images = batches(make_dataset(table, K, S, 1, training=False))[0][0]
    white = (255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(images[0], np.broadcast_to(white, (S, S, 3)), atol=1e-4)


def test_bad_bytes_fail_naming_the_file(tmp_path):
    table = make_images(tmp_path, [0, 1])
    with open(table["path"][1], "wb") as f:
        f.write(b"this is not an image")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"not an image.*img001.png"):
        batches(make_dataset(table, K, S, 2, training=False))


def test_bad_tables_are_refused(tmp_path):
    table = make_images(tmp_path, [0, 1])
    with pytest.raises(DataError, match=r"expected \(4,\) for num_classes=4"):
        make_dataset(table, 4, S, 2, training=False)
    with pytest.raises(DataError, match="no rows"):
        make_dataset(table.iloc[:0], K, S, 2, training=False)
    with pytest.raises(DataError, match="one per class"):
        make_dataset(table, K, S, 2, training=False, sample_weights=[1.0, 2.0])


def test_cache_to_file_and_no_cache(tmp_path):
    table = make_images(tmp_path, [0, 1, 2])
    for cache in (str(tmp_path / "cache"), False):
        out = batches(make_dataset(table, K, S, 2, training=True, seed=0, cache=cache))
        assert sum(len(b[1]) for b in out) == 3
    assert list(tmp_path.glob("cache*"))


def test_single_source_oversampling_counts_its_own_shard(tmp_path):
    table = make_images(tmp_path, [0, 0, 0, 0, 0, 1])  # class 1 only in shard 1
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=0,
                                         num_replicas_in_sync=2)
    ds = make_dataset_from_source(source_from_table(table), K, S, 4, training=True, seed=0,
                                  oversample=True, input_context=context)
    labels = np.concatenate([b[1] for b in batches(ds)]).argmax(1)
    assert labels.tolist() == [0, 0, 0]  # rows 0, 2, 4; an epoch of this shard's size


def test_inference_rounds_after_the_resize_as_the_pipeline_caches_uint8():
    """A 48 px face for a 96 px model: the upscaled pixels fall between integers, and preprocess_for_model
    (predict, the SavedModel, explain) rounds them as training did. Expected: NumPy, from the resize."""
    face = np.random.default_rng(3).integers(0, 256, (9, 7, 3)).astype(np.uint8)  # non-square, odd sides
    upscaled = tf.image.resize(face.astype(np.float32), (S, S), antialias=True).numpy()
    assert np.abs(upscaled - np.round(upscaled)).max() > 0.2  # the rounding has work to do
    mean, std = np.array([0.485, 0.456, 0.406]) * 255, np.array([0.229, 0.224, 0.225]) * 255
    np.testing.assert_allclose(preprocess_for_model(face, S).numpy(),
                               (np.clip(np.round(upscaled), 0, 255) - mean) / std, atol=1e-4)


# round 2 blind mutants (issue 34)

def test_a_flip_without_shift_is_the_exact_mirror_of_the_eval_image(tmp_path):
    # Non-square sources with distinct grey levels: each training image (flip only, no shift, no
    # rotation) must be exactly one eval image or its left-right mirror, no column lost to the fill.
    paths = []
    for i in range(6):
        array = np.full((9, 13), 20 + 30 * i, np.uint8)
        array[:4, :5] = 250
        array[:, -1] = 5
        path = tmp_path / f"wide{i}.png"
        Image.fromarray(array, mode="L").save(path)
        paths.append(str(path))
    table = make_table("train", [f"wide{i}.png" for i in range(6)], paths, one_hot([0] * 6, K))
    flips = AugmentConfig(random_crop=False, horizontal_flip=True)
    train = np.concatenate([b[0] for b in batches(make_dataset(table, K, S, 6, training=True, seed=3, augment=flips))])
    evaluation = np.concatenate([b[0] for b in batches(make_dataset(table, K, S, 6, training=False))])
    mirrored = 0
    for image in train:
        same = [np.allclose(image, e, atol=1e-5) for e in evaluation]
        flipped = [np.allclose(image, e[:, ::-1], atol=1e-5) for e in evaluation]
        assert sum(same) + sum(flipped) == 1
        mirrored += sum(flipped)
    assert 0 < mirrored < 6


# ---- lines its own tests never ran (issue 34)

def truncate(path):
    """A good PNG signature, a body cut short: passes the byte check, fails TensorFlow's decoder."""
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:40])


def test_check_decodable_names_the_first_bad_row_and_drops_its_cache(tmp_path):
    from dsan_tf.data.pipeline import check_decodable

    table = make_images(tmp_path, [0, 1, 2, 1])
    truncate(table["path"][2])
    truncate(table["path"][3])  # also bad, but row 2 comes first
    (tmp_path / "keep.txt").write_text("not the cache")
    prefix = str(tmp_path / "cache")
    with pytest.raises(DataError, match=r"img002\.png: not a decodable image \((?!.*\{\{)[^)]*\w.*\); replace the file") as caught:
        check_decodable(table, S, prefix)
    assert "img003" not in str(caught.value)
    assert not list(tmp_path.glob("cache*"))  # the half-written cache is gone ...
    assert (tmp_path / "keep.txt").exists()  # ... and nothing else
    # A missing file is said as such (row 1 here), an in-memory row is named by its name.
    (tmp_path / "again").mkdir()
    table = make_images(tmp_path / "again", [0, 1, 2])
    (tmp_path / "again" / "img001.png").unlink()
    with pytest.raises(DataError, match=r"img001\.png: image file not found \(moved or deleted"):
        check_decodable(table, S)
    memory = make_table("train", ["face.png"], [""], one_hot([1], K), None, [b"\x89PNG\r\n\x1a\n" + b"x" * 60])
    with pytest.raises(DataError, match=r"^face\.png \(in-memory image\): not a decodable image"):
        check_decodable(memory, S)


def test_check_decodable_trusts_a_complete_cache_and_rebuilds_a_short_one(tmp_path, caplog):
    from dsan_tf.data.pipeline import check_decodable

    table = make_images(tmp_path, [0, 1, 2, 1])
    prefix = str(tmp_path / "cache")
    check_decodable(table.iloc[:2], S, prefix)  # a cache of 2 images where the table has 4
    assert (tmp_path / "cache.index").exists()
    with caplog.at_level("WARNING"):
        check_decodable(table, S, prefix)
    assert "it holds 2 images, the table 4" in caplog.text
    got = np.concatenate([b[1] for b in batches(make_dataset(table, K, S, 4, training=False, cache=prefix))])
    assert got.argmax(1).tolist() == [0, 1, 2, 1]  # rebuilt whole
    # Complete now: not decoded again, so a file spoiled since goes unnoticed (the cache holds its image).
    truncate(table["path"][1])
    caplog.clear()
    with caplog.at_level("WARNING"):
        check_decodable(table, S, prefix)
    assert "damaged" not in caplog.text
    # A cache cut short on disk does not read back: said, dropped and decoded again (which now meets the spoiled file).
    data = next(tmp_path.glob("cache.data*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with caplog.at_level("WARNING"), pytest.raises(DataError, match=r"img001\.png: not a decodable image"):
        check_decodable(table, S, prefix)
    assert re.search(r"the decoded-image cache \S*cache is damaged \(.* after \d of 4 images\)", caplog.text)
    assert not list(tmp_path.glob("cache*"))


def test_check_decodable_per_class_caches_and_names_the_bad_file(tmp_path):
    from dsan_tf.data.pipeline import check_decodable

    table = make_images(tmp_path, [0, 2, 0, 2])  # class 1 absent: no cache of its own
    prefix = str(tmp_path / "cache")
    check_decodable(table, S, prefix, per_class=K)
    assert sorted(p.name for p in tmp_path.glob("cache*.index")) == ["cache.class0.index", "cache.class2.index"]
    truncate(table["path"][3])
    for path in tmp_path.glob("cache*"):
        path.unlink()
    with pytest.raises(DataError, match=r"img003\.png: not a decodable image"):
        check_decodable(table, S, prefix, per_class=K)
    assert sorted(p.name for p in tmp_path.glob("cache*.index")) == ["cache.class0.index"]  # class 2's is dropped


def test_an_interrupted_decode_check_drops_its_cache(tmp_path, monkeypatch):
    from dsan_tf.data import pipeline

    table = make_images(tmp_path, [0, 1])
    prefix = str(tmp_path / "cache")

    def interrupted(part, image_size, prefix_):
        assert prefix_ == prefix
        (tmp_path / "cache.data-00000-of-00001").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_first_undecodable", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.check_decodable(table, S, prefix)
    assert not list(tmp_path.glob("cache*"))


def test_tf_error_reason_drops_iterator_and_node_names():
    from dsan_tf.data.pipeline import _tf_error_reason

    error = tf.errors.InvalidArgumentError(None, None, "Iterator::Root::Map: Invalid PNG data, size 40\nmore")
    assert _tf_error_reason(error) == "Invalid PNG data, size 40"
    error = tf.errors.InvalidArgumentError(None, None, "{{function_node f}} {{node DecodePng}} Bad header\n x")
    assert _tf_error_reason(error) == "Bad header"
    assert _tf_error_reason(tf.errors.NotFoundError(None, None, "")) == "NotFoundError"


def test_source_and_per_class_refusals(tmp_path):
    table = make_images(tmp_path, [0, 1, 2])
    with pytest.raises(DataError, match="the table has no rows; expected at least one image"):
        source_from_table(table.iloc[:0])
    one = source_from_table(table.iloc[:1])
    with pytest.raises(DataError, match="oversampling needs 3 per-class sources, got 2"):
        make_dataset_from_source([one, one], K, S, 2, training=True, oversample=True)
    with pytest.raises(DataError, match="oversampling: no class has any example"):
        make_dataset_from_source([None, None, None], K, S, 2, training=True, oversample=True, epoch_size=3)
    with pytest.raises(DataError, match="oversampling: epoch_size is needed with per-class sources"):
        make_dataset_from_source([one, None, None], K, S, 2, training=True, oversample=True)
    context = tf.distribute.InputContext(num_input_pipelines=4, input_pipeline_id=3, num_replicas_in_sync=4)
    with pytest.raises(DataError, match="input pipeline 3 of 4 got no rows"):
        make_dataset(table, K, S, 1, training=False, input_context=context)  # rows 0, 1, 2 go to pipelines 0-2


def test_per_class_sources_without_oversampling_are_read_in_class_order(tmp_path):
    table = make_images(tmp_path, [2, 0, 2, 0, 0])
    sources = [source_from_table(table[table["label"] == k]) if (table["label"] == k).any() else None
               for k in range(K)]
    out = batches(make_dataset_from_source(sources, K, S, 8, training=False))
    assert np.concatenate([b[1] for b in out]).argmax(1).tolist() == [0, 0, 0, 2, 2]
    # and the images are those rows (1, 3, 4, then 0, 2), told apart by their grey level
    evaluation = np.concatenate([b[0] for b in batches(make_dataset(table, K, S, 8, training=False))])
    np.testing.assert_allclose(out[0][0], evaluation[[1, 3, 4, 0, 2]], atol=1e-6)


def test_affine_transforms_shift_by_whole_pixels_and_rotate_about_the_centre():
    from dsan_tf.data.pipeline import _affine_transforms

    seed = tf.constant([4, 2], tf.int64)
    size = 16  # pad = round(16 * 0.125) = 2: shifts -2..2
    shifts = _affine_transforms(400, size, AugmentConfig(random_crop=True, horizontal_flip=False), seed).numpy()
    np.testing.assert_allclose(shifts[:, [0, 1, 3, 4, 6, 7]], np.tile([1, 0, 0, 1, 0, 0], (400, 1)), atol=1e-6)
    assert set(np.round(shifts[:, 2]).tolist()) == {-2, -1, 0, 1, 2} == set(np.round(shifts[:, 5]).tolist())
    np.testing.assert_allclose(shifts[:, [2, 5]], np.round(shifts[:, [2, 5]]), atol=1e-5)
    assert not np.allclose(shifts[:, 2], shifts[:, 5])  # x and y shifts drawn apart
    wide = _affine_transforms(400, size, AugmentConfig(random_crop=True, horizontal_flip=False, crop_padding=0.25),
                              seed).numpy()
    assert set(np.round(wide[:, 2]).tolist()) == set(range(-4, 5))
    flips = _affine_transforms(400, size, AugmentConfig(random_crop=False, horizontal_flip=True), seed).numpy()
    mirrored = flips[:, 0] < 0  # x_in = 15 - x_out, y unchanged
    assert 100 < mirrored.sum() < 300
    np.testing.assert_allclose(flips[mirrored][:, :6], np.tile([-1, 0, 15, 0, 1, 0], (mirrored.sum(), 1)), atol=1e-5)
    np.testing.assert_allclose(flips[~mirrored][:, :6], np.tile([1, 0, 0, 0, 1, 0], ((~mirrored).sum(), 1)), atol=1e-5)
    turns = _affine_transforms(400, size, AugmentConfig(random_crop=False, horizontal_flip=True, rotation_degrees=30),
                               seed).numpy()
    c = (size - 1) / 2  # the centre pixel 7.5 maps to itself, flipped or not
    np.testing.assert_allclose(turns[:, 0] * c + turns[:, 1] * c + turns[:, 2], c, atol=1e-4)
    np.testing.assert_allclose(turns[:, 3] * c + turns[:, 4] * c + turns[:, 5], c, atol=1e-4)
    angles = np.degrees(np.arctan2(turns[:, 3], turns[:, 4]))
    assert np.abs(angles).max() <= 30 + 1e-3 and np.abs(angles).max() > 25 and angles.min() < -25
    np.testing.assert_allclose(np.hypot(turns[:, 3], turns[:, 4]), 1, atol=1e-6)  # no scaling


def test_random_erasing_blanks_one_rectangle_of_2_to_33_percent():
    from dsan_tf.data.pipeline import _erase

    size, n = 20, 300
    images = tf.ones([n, size, size, 3])
    seed = tf.constant([7, 1], tf.int64)
    assert np.array_equal(_erase(images, seed, 0.0).numpy(), images.numpy())
    erased = _erase(images, seed, 1.0).numpy()
    assert (erased[..., 0] == erased[..., 2]).all()  # every channel alike
    areas, aspects = [], []
    for image in erased[..., 0]:
        rows, cols = np.nonzero(image == 0)
        top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
        assert (image[top:bottom + 1, left:right + 1] == 0).all() and len(rows) == (bottom - top + 1) * (right - left + 1)
        areas.append(len(rows) / size ** 2)
        aspects.append((bottom - top + 1) / (right - left + 1))
    # torchvision's ranges (2-33 % of the area, aspect 0.3-3.3), loosened by the rounding of h and w to pixels
    assert 0.01 <= min(areas) < 0.05 and 0.28 < max(areas) <= 0.40
    assert min(aspects) < 0.5 and max(aspects) > 2.0
    # each image's own rectangle: h = round(sqrt(area * ratio)) from its 5 uniforms, as torchvision draws them
    u = tf.random.stateless_uniform([n, 5], seed).numpy()
    area = size * size * (0.02 + u[:, 1] * 0.31)
    ratio = np.exp(math.log(0.3) + u[:, 2] * (math.log(3.3) - math.log(0.3)))
    h = np.clip(np.round(np.sqrt(area * ratio)), 1, size)
    w = np.clip(np.round(np.sqrt(area / ratio)), 1, size)
    top = np.floor(u[:, 3] * (size - h + 1))
    left = np.floor(u[:, 4] * (size - w + 1))
    for i in (0, 1, 2, n - 1):
        rows, cols = np.nonzero(erased[i, ..., 0] == 0)
        assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (top[i], top[i] + h[i], left[i], left[i] + w[i])
    half = _erase(images, seed, 0.5).numpy()
    hit = (half == 0).any(axis=(1, 2, 3))
    np.testing.assert_array_equal(hit, u[:, 0] < 0.5)


def test_single_source_oversampling_takes_the_epoch_size_asked_for(tmp_path):
    table = make_images(tmp_path, [0, 0, 0, 2])
    ds = make_dataset_from_source(source_from_table(table), K, S, 4, training=True, seed=1, oversample=True,
                                  epoch_size=9)
    labels = np.concatenate([b[1] for b in batches(ds)]).argmax(1)
    assert len(labels) == 9 and set(labels.tolist()) == {0, 2}  # not the source's 4; class 1 never drawn
