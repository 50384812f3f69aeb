"""Preprocessing ops: decoding every format, resizing, normalising, inside tf.function."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dsan_tf.data.preprocess import (IMAGENET_MEAN, IMAGENET_STD, crop_to_box, decode_image,
                                     normalize_imagenet, preprocess_for_model, resize_image)


def encode(array, fmt, **kw):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF"])
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_decode_formats_to_rgb_uint8(fmt, mode):
    array = np.full((6, 5, 3) if mode == "RGB" else (6, 5), 200, np.uint8)
    image = decode_image(encode(array, fmt))
    assert image.dtype == tf.uint8 and image.shape == (6, 5, 3)
    assert abs(int(image.numpy()[3, 2, 1]) - 200) <= 3


def test_decode_gif_takes_first_frame():
    frames = [Image.fromarray(np.full((4, 4), v, np.uint8)) for v in (30, 220)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    image = decode_image(buf.getvalue())
    assert image.shape == (4, 4, 3) and abs(int(image.numpy()[0, 0, 0]) - 30) <= 3


def test_resize_and_normalise():
    image = tf.constant(np.full((48, 48, 3), 255, np.uint8))
    resized = resize_image(image, 112)
    assert resized.dtype == tf.float32 and resized.shape == (112, 112, 3)
    np.testing.assert_allclose(resized.numpy(), 255.0, atol=1e-3)
    mean = tf.constant(np.array(IMAGENET_MEAN, np.float32)[None, None])
    np.testing.assert_allclose(normalize_imagenet(mean).numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(normalize_imagenet(tf.fill([1, 1, 3], 255.0)).numpy()[0, 0],
                               (255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD),
                               rtol=1e-6)


def test_preprocess_for_model_single_batch_and_tf_function():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (2, 30, 20, 3)).astype(np.uint8)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
    def serve(images):
        return preprocess_for_model(images, 16)

    out = serve(batch)
    assert out.shape == (2, 16, 16, 3) and out.dtype == tf.float32
    single = preprocess_for_model(batch[1], 16)
    np.testing.assert_allclose(out[1].numpy(), single.numpy(), atol=1e-5)
    np.testing.assert_allclose(preprocess_for_model(batch[1].astype(np.float32), 16).numpy(),
                               single.numpy(), atol=1e-5)


def test_crop_to_box_clips_and_ignores_missing_box():
    image = tf.reshape(tf.range(10 * 8 * 3), (10, 8, 3))
    assert crop_to_box(image, [2, 3, 4, 5]).shape == (5, 4, 3)
    assert crop_to_box(image, [-2, 6, 40, 40]).shape == (4, 8, 3)
    assert crop_to_box(image, [-1, -1, -1, -1]).shape == (10, 8, 3)
    assert crop_to_box(image, [50, 50, 4, 4]).shape == (10, 8, 3)


# ---- round 4 blind mutants (issue 34)


def test_a_float_image_whose_brightest_pixel_is_exactly_one_is_a_0_to_1_image():
    from dsan_tf.data.preprocess import pil_to_rgb

    unit = Image.fromarray(np.array([[0.0, 0.5], [0.25, 1.0]], np.float32))
    assert unit.mode == "F"
    # x 255, rounded half to even: 0, 127.5 -> 128, 63.75 -> 64, 255.
    assert pil_to_rgb(unit)[..., 0].tolist() == [[0, 128], [64, 255]]
    # A brightest value above 1 means a 0..255 float image: rounded as it is (1.4 -> 1, 2.0 -> 2).
    wide = Image.fromarray(np.array([[0.0, 1.4], [2.0, 200.0]], np.float32))
    assert pil_to_rgb(wide)[..., 2].tolist() == [[0, 1], [2, 200]]


# ---- round 6 blind mutants (issue 34)


def test_to_uint8_rounds_to_the_nearest_level_and_clips():
    """r6-preprocess-uint8-truncates: the cached uint8 image is the resized float image rounded, not
    truncated (127.7 -> 128, 0.6 -> 1, 254.9 -> 255), and clipped to 0..255."""
    from dsan_tf.data.preprocess import to_uint8

    values = tf.constant([[[127.7, 0.6, 254.9], [12.2, -3.0, 300.0]]])
    out = to_uint8(values)
    assert out.dtype == tf.uint8
    assert out.numpy().tolist() == [[[128, 1, 255], [12, 0, 255]]]


# ---- round 7 blind mutants (issue 34)

def test_crop_to_box_on_a_tall_image_keeps_a_box_below_the_width():
    # 20 rows x 10 columns, each pixel the number of its row: the box x=2, y=15, w=4, h=3 is rows 15..17,
    # columns 2..5 (its top, 15, is past the image's width 10 but inside its height 20).
    image = tf.constant(np.repeat(np.arange(20, dtype=np.uint8)[:, None, None], 10, axis=1).repeat(3, axis=2))
    crop = crop_to_box(image, [2, 15, 4, 3]).numpy()
    assert crop.shape == (3, 4, 3) and crop[:, 0, 0].tolist() == [15, 16, 17]


# ---- round 8 blind mutants (issue 34)

def test_a_32_bit_grey_image_whose_brightest_pixel_is_255_is_read_as_8_bit():
    """r8-preprocess-int-grey-255-as-16-bit: a mode "I" image (32-bit integers) is 16-bit only when a value
    exceeds 255; values up to exactly 255 are 8-bit levels kept as they are. One above 255 (256) makes the
    whole image 16-bit: its high byte, 256 // 256 = 1, 255 // 256 = 0."""
    from dsan_tf.data.preprocess import pil_to_rgb

    eight = Image.fromarray(np.array([[0, 100], [200, 255]], np.int32))
    assert eight.mode == "I"
    assert pil_to_rgb(eight)[..., 1].tolist() == [[0, 100], [200, 255]]
    sixteen = Image.fromarray(np.array([[0, 100], [255, 256]], np.int32))
    assert pil_to_rgb(sixteen)[..., 1].tolist() == [[0, 0], [0, 1]]
