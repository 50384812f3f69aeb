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


# ---------------------------------------------------------------------- scores that are not numbers


@pytest.mark.parametrize("score, shown", [("high", "'high'"), (True, "True")])
def test_compare_refuses_a_per_class_score_that_is_text_or_true(tmp_path, score, shown):
    """A per-class accuracy of "high" (a traceback when compared with 0..1) or true (read as 100 %) in a
    run's metrics.json: one line naming the file and the class."""
    import json

    from dsan_tf.cli.compare import load_run
    from dsan_tf.errors import UserError

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"accuracy": 0.5, "mean_class_accuracy": 0.4,
                                                  "per_class_accuracy": {"neutral": 0.7, "happiness": score}}))
    with pytest.raises(UserError, match=rf"metrics\.json \(a run's metrics\): per_class_accuracy\.happiness is "
                                        rf"{shown}, not a number"):
        load_run(run)


@pytest.mark.parametrize("schema", ["float", "Number", "int"])
def test_true_is_not_a_number_in_a_state_file(schema):
    """JSON true is a bool, which Python also counts as the int 1: the schema's numbers refuse it."""
    from dsan_tf import state_files
    from dsan_tf.state_files import StateFileError, parse_json_state

    kind = {"float": float, "Number": state_files.Number, "int": int}[schema]
    assert parse_json_state('{"epochs": 3}', "state.json", {"epochs": kind}) == {"epochs": 3}
    with pytest.raises(StateFileError, match=r"state\.json \(a state\): expected an? .+ at epochs, found true/false"):
        parse_json_state('{"epochs": true}', "state.json", {"epochs": kind}, what="a state")


# ---------------------------------------------------------------------- the live detector: one of two faces lost


class _TwoFaceOnet:
    """MTCNN's last stage: each proposal comes back moved by (+2, +1) px; a proposal right of ``lose_right_of``
    (a face that left) comes back with a score under the threshold, so it is dropped."""

    _model = None

    def __init__(self):
        self.lose_right_of = None

    def __call__(self, images_normalized, bboxes_batch, threshold_onet, nms_onet):
        rows = []
        for _, x1, y1, x2, y2, _ in bboxes_batch:
            score = 0.5 if self.lose_right_of is not None and x1 > self.lose_right_of else 0.99
            if score >= threshold_onet:
                rows.append([0, x1 + 2, y1 + 1, x2 + 2, y2 + 1, score, *[x1 + 10] * 5, *[y1 + 10] * 5])
        return np.array(rows).reshape(-1, 16)


class _TwoFaceMtcnn:
    """Two faces of different sizes: 30x40 at (20, 20) and 36x44 at (130, 30)."""

    def __init__(self):
        self._stages = [object(), object(), _TwoFaceOnet()]
        self.searches = 0

    def detect_faces(self, image, **kwargs):
        self.searches += 1
        return np.array([[0, 20.0, 20.0, 50.0, 60.0, 0.99, *[30.0] * 5, *[35.0] * 5],
                         [0, 130.0, 30.0, 166.0, 74.0, 0.98, *[145.0] * 5, *[50.0] * 5]])


def test_the_live_detector_searches_again_when_one_of_two_faces_is_lost():
    from dsan_tf.data.align import FaceAligner
    from dsan_tf.live_detection import LiveDetector

    mtcnn = _TwoFaceMtcnn()
    live = LiveDetector(FaceAligner(output_size=32, min_face_size=20, detector=mtcnn), search_every=5)
    frame = np.zeros((100, 200, 3), np.uint8)
    first, second = live(frame), live(frame)
    assert (first.kind, second.kind, mtcnn.searches) == ("search", "refit", 1)
    assert len(second.detections) == 2
    mtcnn._stages[-1].lose_right_of = 100  # the right face's refit fails: the left one is still found
    step = live(frame)
    assert step.kind == "refit+search" and mtcnn.searches == 2  # searched on this frame, not 3 frames later
    assert sorted(tuple(d.box) for d in step.detections) == [(20.0, 20.0, 30.0, 40.0), (130.0, 30.0, 36.0, 44.0)]


# ---------------------------------------------------------------------- TFLite predictor: pixels as the Keras path


def test_the_tflite_predictor_rounds_resized_faces_to_integer_pixels():
    """A 45x37 face resized to 32 px gives fractional pixels; the TFLite runner must get them rounded (and in
    0..255), as the Keras predictor's model does, else the two paths' answers drift apart."""
    from dsan_tf.data.preprocess import resize_image
    from dsan_tf.tflite_predictor import TFLitePredictor

    seen = []
    lite = TFLitePredictor.__new__(TFLitePredictor)  # no flatbuffer: a runner that records its input
    lite.image_size = 32
    lite._runner = lambda pixels: seen.append(np.array(pixels)) or {"probabilities": np.zeros((len(pixels), 3))}
    face = np.random.default_rng(4).integers(0, 256, (1, 45, 37, 3)).astype(np.uint8)
    lite._predict_pixels(face)
    resized = np.asarray(resize_image(face, 32), np.float64)
    assert np.any(resized != np.round(resized))  # the check below can fail
    (got,) = seen
    assert got.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(got, np.clip(np.round(resized), 0, 255))


# ---------------------------------------------------------------------- LiteRT missing


def test_litert_missing_names_the_extra_that_installs_it(monkeypatch):
    import sys

    from dsan_tf.litert import load_interpreter

    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # as if dsan_tf[tflite] were not installed
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(ModuleNotFoundError, match=r"needs LiteRT \(ai-edge-litert\): pip install 'dsan_tf\[tflite\]'") as err:
        load_interpreter(model_content=b"not used")
    assert err.value.name.startswith("ai_edge_litert")  # what an installer or a caller catching it looks at
