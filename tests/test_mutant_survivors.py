"""Tests written against mutants that survived the suite (issue 26; docs/testing.md): each compares the code
with an independent reference, here literal published constants."""

import numpy as np
import tensorflow as tf

from dsan_tf.data.preprocess import normalize_imagenet, preprocess_for_model

# torchvision's ImageNet statistics on the 0..1 scale (the MS-Celeb-1M ResNet-18 weights were trained with them).
TORCHVISION_MEAN = np.array([0.485, 0.456, 0.406])
TORCHVISION_STD = np.array([0.229, 0.224, 0.225])


def test_imagenet_normalisation_uses_the_torchvision_constants_in_rgb_order():
    pixels = np.array([[[0, 0, 0], [255, 255, 255], [200, 100, 30]]], np.float32)  # (1, 3, 3): H=1, W=3
    expected = (pixels / 255.0 - TORCHVISION_MEAN) / TORCHVISION_STD
    np.testing.assert_allclose(normalize_imagenet(tf.constant(pixels)).numpy(), expected, rtol=1e-5, atol=1e-5)


def test_preprocess_for_model_of_a_flat_image_is_the_normalised_colour():
    """A flat colour stays flat through the resize (no black border, no channel swap) and is normalised."""
    colour = np.array([200, 100, 30], np.float32)
    image = tf.constant(np.broadcast_to(colour, (20, 30, 3)).astype(np.uint8))
    out = preprocess_for_model(image, 32).numpy()
    assert out.shape == (32, 32, 3)
    np.testing.assert_allclose(out, np.broadcast_to((colour / 255.0 - TORCHVISION_MEAN) / TORCHVISION_STD, out.shape),
                               rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------- output safety, the project's code on both sides

def test_a_second_command_cannot_claim_a_file_or_folder_another_one_holds(tmp_path):
    """Both sides are the project's OutputPolicy (not a lock taken by the test): the lock mode the project
    takes is what is tested (a shared lock would let both commands write)."""
    import pytest

    from dsan_tf.outputs import OutputError
    from dsan_tf.outputs import OutputPolicy

    (tmp_path / "run").mkdir()
    with OutputPolicy("first") as first:
        first.claim_file(tmp_path / "out.json")
        first.claim_folder(tmp_path / "run", "run")
        with OutputPolicy("second") as second:
            with pytest.raises(OutputError, match="in use by another command"):
                second.claim_file(tmp_path / "out.json")
            with pytest.raises(OutputError, match="in use by another command"):
                second.claim_folder(tmp_path / "run", "run")
    with OutputPolicy("third") as third:  # released with the first command
        third.claim_file(tmp_path / "out.json")
        third.claim_folder(tmp_path / "run", "run")


def test_an_output_inside_an_input_folder_is_refused(tmp_path):
    import pytest

    from dsan_tf.outputs import OutputError
    from dsan_tf.outputs import OutputPolicy

    data = tmp_path / "data"
    data.mkdir()
    (data / "labels.csv").write_text("x\n")
    with OutputPolicy("cmd", inputs=[data]) as policy:
        with pytest.raises(OutputError, match="lies inside the input folder"):
            policy.claim_file(data / "predictions.csv")
        with pytest.raises(OutputError, match="is the input"):
            policy.claim_folder(data, "run")
        policy.claim_file(tmp_path / "predictions.csv")


def test_downscaling_low_passes_a_pixel_checkerboard_to_grey():
    """resize_image antialiases (its documented bilinear + antialias): a one-pixel black/white checkerboard shrunk
    3x is grey (its mean, 127.5) everywhere; sampling without the low-pass would keep single black or white pixels."""
    from dsan_tf.data.preprocess import resize_image

    board = (np.indices((48, 48)).sum(axis=0) % 2 * 255).astype(np.uint8)
    out = resize_image(tf.constant(np.repeat(board[..., None], 3, axis=2)), 16).numpy()
    assert out.shape == (16, 16, 3)
    np.testing.assert_allclose(out, 127.5, atol=5.0)
