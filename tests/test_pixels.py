"""dsan_tf/pixels.py: what a pixel may be (finite, in [0, 255]) for every entry point taking pixels.

The reasons, the images named, the bounds themselves (0 and 255 pass), and the graph check used inside
the SavedModel's signature. (The pixel tests of the commands are in test_predict.py and test_export.py.)
"""

import numpy as np
import pytest



def test_check_pixels_names_the_reason_the_images_and_the_extremes():
    """NaN is "NaN or Inf" (even when another image is also out of range: the finite check comes first);
    out-of-range images are listed (at most 10), with the min and max; exactly 0 and 255 pass; the result
    is float32; one image given without a batch axis is checked as one."""
    from dsan_tf.pixels import check_pixels

    pixels = np.full((12, 2, 2, 3), 100.0)
    pixels[3, 0, 0, 0] = np.nan
    pixels[5, 1, 1, 2] = 256.0
    with pytest.raises(ValueError, match=r"found NaN or Inf \(image\(s\) 3\)$"):
        check_pixels(pixels)
    pixels[3, 0, 0, 0] = 0.0
    pixels[0, 0, 0, 0], pixels[11, 0, 0, 0] = -0.001, 255.5
    with pytest.raises(ValueError, match=r"found values outside that range \(image\(s\) 0, 5, 11: min -0\.001, "
                                         r"max 256\)$"):
        check_pixels(pixels)
    many = np.full((13, 1, 1, 3), 300.0)
    with pytest.raises(ValueError, match=r"\(image\(s\) 0, 1, 2, 3, 4, 5, 6, 7, 8, 9: min 300, max 300\)$"):
        check_pixels(many)
    edge = check_pixels(np.array([[[[0, 255, 0]]]], np.int64))
    assert edge.dtype == np.float32 and edge.tolist() == [[[[0.0, 255.0, 0.0]]]]
    with pytest.raises(ValueError, match=r"found NaN or Inf \(image\(s\) 0\)$"):
        check_pixels(np.array([1.0, np.inf]))


def test_assert_pixels_in_the_graph_refuses_what_check_pixels_refuses():
    """The TensorFlow check (eager here, as in the signature's graph): NaN/Inf with the NOT_FINITE reason,
    below 0 or above 255 with OUT_OF_RANGE; 0 and 255 themselves pass through unchanged."""
    import tensorflow as tf

    from dsan_tf.pixels import NOT_FINITE, OUT_OF_RANGE, assert_pixels

    ok = tf.constant([[[[0.0, 255.0, 17.5]]]])
    np.testing.assert_array_equal(assert_pixels(ok).numpy(), ok.numpy())
    for value, reason in ((np.nan, NOT_FINITE), (np.inf, NOT_FINITE), (-0.5, OUT_OF_RANGE), (255.5, OUT_OF_RANGE)):
        with pytest.raises(tf.errors.InvalidArgumentError) as err:
            assert_pixels(tf.constant([[[[value, 1.0, 2.0]]]]))
        assert reason in str(err.value), (value, str(err.value)[:200])
