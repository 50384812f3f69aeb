"""export/client.py against the TF Serving stand-in (tests/serving_stub.py) over REST and gRPC.

TF Serving cannot be installed on the build machine; the stand-in loads the exported
SavedModel and speaks TF Serving's REST and gRPC predict protocols on 127.0.0.1.
"""

import base64
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from serving_stub import StubServer  # noqa: E402


from dsan_tf.cli import client  # noqa: E402  (`dsan client`; export/client.py is its wrapper)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_images(n):
    from dsan_tf.data import SAMPLE_FERPLUS_DIR

    for root in (Path(SAMPLE_FERPLUS_DIR), REPO.parent / "shared" / "datasets" / "ferplus"):
        files = sorted((root / "FER2013Valid").glob("*.png"))
        if files:
            return files[:n]
    pytest.skip("no FERPlus images (embedded sample or <repo>/../shared/datasets/ferplus)")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A small 8-class DSAN exported as version 1 and served by the stand-in."""
    from dsan_tf import export
    from dsan_tf.data import FERPLUS_CLASSES
    from dsan_tf.model import build_dsan

    tmp = tmp_path_factory.mktemp("served")
    base = tmp / "models" / "dsan"
    model = build_dsan(8, 32, class_names=list(FERPLUS_CLASSES))
    export.export_saved_model(model, base, 1)
    images = sample_images(5)
    # A JPEG too, so both formats travel.
    jpeg = tmp / "face.jpg"
    jpeg.write_bytes(tf.io.encode_jpeg(tf.io.decode_png(images[0].read_bytes(), channels=3)).numpy())
    images.append(jpeg)
    with StubServer(base, "dsan") as server:
        fn = server.servables.versions[1].signatures["serving_default"]
        expected = fn(image_bytes=tf.constant([p.read_bytes() for p in images]))
        yield {"server": server, "images": images, "base": base,
               "expected": {k: v.numpy() for k, v in expected.items()}}


def run(capsys, *argv, faces=True):
    """``dsan client argv``; ``faces``: the files are face crops (--faces), as most tests send."""
    status = client.main([str(a) for a in argv] + (["--faces"] if faces else []))
    out = capsys.readouterr()
    return status, out.out, out.err


def check_json_lines(stdout, served):
    lines = stdout.strip().splitlines()
    assert len(lines) == len(served["images"])
    expected = served["expected"]
    for i, (line, path) in enumerate(zip(lines, served["images"])):
        record = json.loads(line)
        assert record["source"] == str(path) and record["box"] is None  # crops sent as they are: no box
        ids = [str(k) for k in range(len(expected["probabilities"][i]))]  # no --labels: keyed by class id
        for key in ("probabilities", "gfe_probabilities", "mff_probabilities"):
            assert list(record[key]) == ids
            np.testing.assert_allclose(list(record[key].values()), expected[key][i], atol=1e-6)
        assert record["class_id"] == int(expected["class_id"][i])
        assert record["label"] == expected["class_name"][i].decode()


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_json_output_matches_the_signature(served, capsys, protocol):
    server = served["server"]
    address = server.rest_url if protocol == "rest" else server.grpc_target
    status, out, err = run(capsys, f"--{protocol}", address, "--model", "dsan", "--version", 1,
                           "--batch-size", 4, "--json", *served["images"])
    assert status == 0, err
    check_json_lines(out, served)


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_text_output_one_line_per_image(served, capsys, protocol):
    server = served["server"]
    address = server.rest_url if protocol == "rest" else server.grpc_target
    labels = served["base"] / "1" / "assets" / "labels.txt"
    status, out, err = run(capsys, f"--{protocol}", address, "--labels", labels, *served["images"])
    assert status == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == len(served["images"])
    for i, (line, path) in enumerate(zip(lines, served["images"])):
        name = served["expected"]["class_name"][i].decode()
        assert line.startswith(f"{path}: {name} (")
        assert "neutral " in line and "contempt " in line  # every class, named


def test_rest_client_runs_as_a_script_without_tensorflow(served, tmp_path):
    """The REST path of export/client.py needs only the standard library (+ Pillow)."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys, importlib.abc\n"
        "class B(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'grpc', 'tensorflow_serving'):\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, B())\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}  # this checkout's dsan_tf
    result = subprocess.run([sys.executable, str(REPO / "export" / "client.py"), "--rest",
                             served["server"].rest_url, "--json", "--faces", *map(str, served["images"])],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    check_json_lines(result.stdout, served)


class _OneFaceOrNone:
    """mtcnn.MTCNN stand-in: one face (fixed coordinates) in photos wider than 90 px, none in the others."""

    def __init__(self, *args, **kwargs):
        from test_bad_input_tools import FixedFaceDetector

        self.one = FixedFaceDetector()

    def detect_faces(self, image, **kwargs):
        return self.one.detect_faces(image) if image.shape[1] > 90 else np.zeros((0, 15))


def test_whole_photos_are_detected_and_aligned_here(served, capsys, tmp_path, monkeypatch):
    """Default: each face of a photo is aligned at the model's recorded size and sent as PNG; no face: nothing sent."""
    import mtcnn
    from PIL import Image

    from dsan_tf.api import encode_png, face_crops
    from test_bad_input_tools import FixedFaceDetector

    monkeypatch.setattr(mtcnn, "MTCNN", _OneFaceOrNone)
    rng = np.random.default_rng(3)
    photo, empty = tmp_path / "photo.png", tmp_path / "empty.png"
    pixels = rng.integers(0, 256, (100, 100, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(photo)
    Image.fromarray(rng.integers(0, 256, (60, 60, 3), dtype=np.uint8)).save(empty)
    (face,) = face_crops(pixels, 32, False, detector=FixedFaceDetector())  # the served model: 32 px, colour
    fn = served["server"].servables.versions[1].signatures["serving_default"]
    want = fn(image_bytes=tf.constant([encode_png(face.image)]))["probabilities"].numpy()[0]

    status, out, err = run(capsys, "--rest", served["server"].rest_url, "--settings", served["base"], "--json",
                           empty, photo, faces=False)
    assert status == 0, err
    requests = served["server"].servables.requests
    first, second = map(json.loads, out.strip().splitlines())
    assert first == {"source": str(empty), "box": None, "label": None, "probabilities": None, "face": None,
                     "note": "no face"}
    assert second["source"] == str(photo) and second["face"] == 0 and len(second["box"]) == 4
    np.testing.assert_allclose(list(second["probabilities"].values()), want, atol=1e-6)

    status, out, err = run(capsys, "--rest", served["server"].rest_url, empty, faces=False)  # nothing to send
    assert status == 0 and out.strip() == f"{empty}: no face", err
    assert served["server"].servables.requests == requests  # a photo without a face sends nothing
    # Without --settings: grey crops at the shipped FERPlus model's input size.
    status, out, err = run(capsys, "--rest", served["server"].rest_url, photo, faces=False)
    assert status == 0 and out.startswith(f"{photo} face 0 ["), err
    with pytest.raises(SystemExit):
        client.main(["--rest", served["server"].rest_url, "--faces", "--align-size", "64", str(photo)])
    assert "for whole photos" in capsys.readouterr().err


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_refused_connection(capsys, protocol, served):
    port = free_port()  # nothing listens there
    address = f"http://127.0.0.1:{port}" if protocol == "rest" else f"127.0.0.1:{port}"
    status, out, err = run(capsys, f"--{protocol}", address, "--timeout", 10, served["images"][0])
    assert status == client.EXIT_UNREACHABLE
    assert out == ""
    assert "cannot reach TF Serving" in err and str(port) in err
    if protocol == "rest":
        assert "connection refused" in err


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
@pytest.mark.parametrize("model, version", [("nosuchmodel", None), ("dsan", 7)])
def test_unknown_model_or_version(served, capsys, protocol, model, version):
    server = served["server"]
    address = server.rest_url if protocol == "rest" else server.grpc_target
    argv = [f"--{protocol}", address, "--model", model]
    if version is not None:
        argv += ["--version", version]
    status, out, err = run(capsys, *argv, served["images"][0])
    assert status == client.EXIT_NOT_FOUND
    assert "not found on the server" in err and f"'{model}'" in err
    assert "Servable not found" in err  # the server's own words are passed on
    if version is not None:
        assert f"version {version}" in err


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_not_an_image_is_refused_before_sending(served, capsys, tmp_path, protocol):
    server = served["server"]
    address = server.rest_url if protocol == "rest" else server.grpc_target
    text = tmp_path / "notes.png"
    text.write_text("not really a png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(served["images"][0].read_bytes()[:60])
    before = server.servables.requests
    for bad, message in ((text, "not an image"), (truncated, "corrupt or truncated PNG"),
                         (tmp_path / "missing.png", "cannot read file")):
        status, out, err = run(capsys, f"--{protocol}", address, served["images"][0], bad)
        assert status == client.EXIT_INPUT
        assert out == ""  # nothing predicted, not even for the good image
        assert str(bad) in err and message in err and "\n" == err[-1]
    assert server.servables.requests == before


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_stub_rest_protocol_formats_and_errors(served):
    """The stand-in answers like TF Serving: row and columnar formats, b64, 400 on bad bytes."""
    url = served["server"].rest_url + "/v1/models/dsan:predict"
    data = served["images"][0].read_bytes()
    b64 = {"b64": base64.b64encode(data).decode()}
    status, reply = _post(url, {"instances": [b64]})
    assert status == 200 and reply["predictions"][0]["class_name"] == served["expected"]["class_name"][0].decode()
    status, reply = _post(url, {"instances": [{"image_bytes": b64}]})
    assert status == 200 and len(reply["predictions"]) == 1
    status, reply = _post(url, {"inputs": {"image_bytes": [b64, b64]}})
    assert status == 200 and np.array(reply["outputs"]["probabilities"]).shape == (2, 8)
    pixels = tf.cast(tf.io.decode_png(data, channels=3), tf.float32).numpy()
    status, reply = _post(url, {"signature_name": "predict_pixels", "inputs": {"pixels": [pixels.tolist()]}})
    assert status == 200
    np.testing.assert_allclose(reply["outputs"]["probabilities"][0], served["expected"]["probabilities"][0], atol=1e-5)
    status, reply = _post(url, {"instances": [{"b64": base64.b64encode(b"garbage").decode()}]})
    assert status == 400 and "Unknown image file format" in reply["error"]
