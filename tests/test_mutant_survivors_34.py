"""Tests written for mutants of issue 34's mutation check that the suite let survive
(see docs/testing.md, issue 34). Each is small and needs no model."""

import numpy as np
import pytest

from dsan_tf import cli


@pytest.mark.parametrize("fps, suffix", [(8.0, ".avi"), (12.5, ".mp4")])
def test_video_writer_keeps_the_source_frame_rate(tmp_path, fps, suffix):
    """An annotated video plays at the rate of the video it annotates (not a fixed 30 fps), on a
    non-square frame."""
    import cv2

    from dsan_tf.outputs import OutputPolicy
    from dsan_tf.video_outputs import video_writer

    path = tmp_path / f"annotated{suffix}"
    with OutputPolicy("dsan predict") as policy:
        with video_writer(policy, path, fps, (96, 64)) as write:
            for i in range(4):
                write(np.full((64, 96, 3), 30 * i, np.uint8))
    video = cv2.VideoCapture(str(path))
    try:
        assert video.get(cv2.CAP_PROP_FPS) == pytest.approx(fps, rel=1e-3)
        assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (96, 64)
        assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    finally:
        video.release()


def test_bench_batch_fit_is_checked_at_the_largest_of_several_sizes(tmp_path, monkeypatch, capsys):
    """dsan bench --against-torch with sizes 32 and 512: a batch that fits one tensor at 32 px but not at
    512 px is refused before any work, naming the largest size (1024 x 32 x 32 x 3 fits; at 512 it does not)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:  # argparse's error: before TensorFlow or PyTorch is imported
        cli.main(["bench", "--against-torch", "--batch-size", "1024", "--image-size", "32,512"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--batch-size 1024 at --image-size 512" in err.splitlines()[0], err
