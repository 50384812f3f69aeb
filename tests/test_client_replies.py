"""dsan client against servers that misbehave (issue 31): a per-request deadline (a server sending a byte a
second cannot hold it), and a malformed reply (REST JSON or gRPC) is one line naming the server."""

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from dsan_tf.cli import client

FACE = Path(__file__).resolve().parents[1] / "dsan_tf" / "sample_data"


def face_png(tmp_path):
    from PIL import Image

    path = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(path)
    return path


class RawServer:
    """An HTTP server on 127.0.0.1 answering every request with ``reply`` (bytes), ``delay`` s between bytes."""

    def __init__(self, reply: bytes, delay: float = 0.0):
        self.reply, self.delay = reply, delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length")), b"0"))
                while len(body) < length:
                    body += conn.recv(65536)
                if not self.delay:
                    conn.sendall(self.reply)
                    return
                for byte in self.reply:
                    if self.stop.is_set():
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(self.delay)
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.sock.close()


def http(body: bytes, status="200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


@pytest.fixture
def server():
    servers = []

    def make(reply, delay=0.0):
        servers.append(RawServer(reply, delay))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


@contextlib.contextmanager
def grpc_serving(servicer):
    """A TF Serving stand-in on 127.0.0.1 answering Predict with ``servicer``; yields its port."""
    import grpc
    from concurrent import futures

    from tensorflow_serving.apis import prediction_service_pb2_grpc

    grpc_server = grpc.server(futures.ThreadPoolExecutor(2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    try:
        yield port
    finally:
        grpc_server.stop(0)


def run(capsys, *argv):
    status = client.main([str(a) for a in argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_a_server_sending_a_byte_at_a_time_meets_the_deadline(server, capsys, tmp_path):
    # Each byte comes well within a per-read timeout of 1 s; the whole reply would take 60 s.
    good = json.dumps({"predictions": [{"probabilities": [0.2, 0.8], "class_id": 1, "class_name": "happy"}]})
    slow = server(http(good.encode()), delay=0.25)
    started = time.monotonic()
    status, out, err = run(capsys, "--rest", slow.url, "--timeout", 1.5, "--faces", face_png(tmp_path))
    took = time.monotonic() - started
    assert status == client.EXIT_UNREACHABLE and out == ""
    assert took < 5, took
    lines = err.strip().splitlines()
    assert len(lines) == 1 and slow.url in lines[0] and "within 1.5 s" in lines[0], err


@pytest.mark.parametrize("body, says", [
    (b'{"predictions": [{"probabilities": [0.2, 0.8], "cla', "not valid JSON (truncated?)"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b'["predictions"]', "expected an object, found an array"),
    (b'{"outputs": []}', "missing key predictions"),
    (b'{"predictions": [{"probabilities": [0.2, NaN], "class_id": 1, "class_name": "x"}]}', "NaN, not a finite"),
    (b'{"predictions": [{"probabilities": [0.2, "a"], "class_id": 1, "class_name": "x"}]}',
     r"expected a finite number at predictions[0].probabilities[1]"),
    (b'{"predictions": [{"probabilities": [0.2, 0.8], "class_id": 5, "class_name": "x"}]}',
     "class_id 5 is not a class"),
    (b'{"predictions": [{"probabilities": [0.2, 0.8], "class_id": 1}]}', "missing key predictions[0].class_name"),
    (b'{"predictions": []}', "0 predictions for 1 images"),
])
def test_a_malformed_rest_reply_is_one_line_naming_the_server(server, capsys, tmp_path, body, says):
    bad = server(http(body))
    status, out, err = run(capsys, "--rest", bad.url, "--timeout", 10, "--faces", face_png(tmp_path))
    assert status == client.EXIT_SERVER and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"server at {bad.url}" in lines[0] and says in lines[0], err
    assert "internal error" not in err and "Traceback" not in err


def test_malformed_grpc_replies_are_one_line_naming_the_server(capsys, tmp_path):
    pytest.importorskip("grpc")

    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    def tensor(dtype, dims, **values):
        shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims])
        return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape, **values)

    replies = [
        {"probabilities": tensor(types_pb2.DT_FLOAT, [1, 2], float_val=[0.2, 0.8])},  # no class_id, class_name
        {"probabilities": tensor(types_pb2.DT_FLOAT, [1, 3], float_val=[0.2, 0.8]),  # 2 values for a 1x3 shape
         "class_id": tensor(types_pb2.DT_INT64, [1], int64_val=[1]),
         "class_name": tensor(types_pb2.DT_STRING, [1], string_val=[b"x"])},
        {"probabilities": tensor(types_pb2.DT_HALF, [1, 2], half_val=[1, 2]),  # a dtype the signature never has
         "class_id": tensor(types_pb2.DT_INT64, [1], int64_val=[1]),
         "class_name": tensor(types_pb2.DT_STRING, [1], string_val=[b"x"])},
        {"probabilities": tensor(types_pb2.DT_FLOAT, [1, 2], float_val=[float("nan"), 0.5]),
         "class_id": tensor(types_pb2.DT_INT64, [1], int64_val=[1]),
         "class_name": tensor(types_pb2.DT_STRING, [1], string_val=[b"x"])},
    ]

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            response = predict_pb2.PredictResponse()
            for name, proto in replies[0].items():
                response.outputs[name].CopyFrom(proto)
            return response

    with grpc_serving(Servicer()) as port:
        face = face_png(tmp_path)
        for says in ["missing key predictions[0].class_id", "ValueError", "KeyError", "probabilities[0], found nan"]:
            status, out, err = run(capsys, "--grpc", f"127.0.0.1:{port}", "--timeout", 10, "--faces", face)
            lines = err.strip().splitlines()
            assert status == client.EXIT_SERVER and out == "", err
            assert len(lines) == 1 and f"server at 127.0.0.1:{port}" in lines[0] and says in lines[0], err
            replies.pop(0)


# round 2 blind mutants (issue 34)


@pytest.mark.parametrize("class_id", [2, -1])
def test_a_class_id_just_outside_the_probabilities_is_refused(server, capsys, tmp_path, class_id):
    """r2-client-class-id-k-accepted: with 2 probabilities the class ids are 0 and 1; 2 (one past) and -1 are
    a malformed reply (exit 1, one line), not an IndexError or the last class by wrap-around."""
    body = json.dumps({"predictions": [{"probabilities": [0.2, 0.8], "class_id": class_id, "class_name": "x"}]})
    bad = server(http(body.encode()))
    status, out, err = run(capsys, "--rest", bad.url, "--timeout", 10, "--faces", face_png(tmp_path))
    assert status == client.EXIT_SERVER and out == ""
    assert len(err.strip().splitlines()) == 1 and f"class_id {class_id} is not a class" in err, err


def test_a_grpc_server_that_misses_the_deadline_is_unreachable(capsys, tmp_path):
    """r2-client-grpc-deadline-is-a-server-error: no gRPC answer within --timeout exits 3 (unreachable, as the
    REST path), not 1 (a server error)."""
    pytest.importorskip("grpc")

    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    release = threading.Event()

    class Silent(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            release.wait(10)
            return predict_pb2.PredictResponse()

    with grpc_serving(Silent()) as port:
        try:
            status, out, err = run(capsys, "--grpc", f"127.0.0.1:{port}", "--timeout", 0.5, "--faces",
                                   face_png(tmp_path))
        finally:
            release.set()  # before the server stops: its worker is waiting on it
    assert status == client.EXIT_UNREACHABLE and out == "", err
    assert len(err.strip().splitlines()) == 1 and "within 0.5 s" in err, err


def test_whole_photo_flags_win_over_the_recorded_settings(tmp_path):
    """r2-client-align-size-ignored, r2-client-no-grayscale-ignored: --align-size and --grayscale/--no-grayscale
    override what --settings records (56 px, grey); unset, the record holds."""
    settings = tmp_path / "dsan_settings.json"
    settings.write_text(json.dumps({"image_size": 56, "grayscale_input": True}))
    parser = client.build_parser()

    def chosen(*flags):
        return client.photo_settings(parser.parse_args(["--rest", "http://h:8501", "--settings", str(settings),
                                                        *flags, "photo.jpg"]))

    assert chosen() == (56, True)
    assert chosen("--align-size", "40") == (40, True)
    assert chosen("--no-grayscale") == (56, False)
    assert chosen("--align-size", "24", "--no-grayscale") == (24, False)


# ---------------------------------------------------------------------- lines its own tests never ran (issue 34)


def _reply(*pairs):
    """A REST reply body of predictions (probabilities, class_id) with class names "c<id>"."""
    return json.dumps({"predictions": [{"probabilities": p, "class_id": k, "class_name": f"c{k}"}
                                       for p, k in pairs]}).encode()


def test_image_formats_are_named_by_their_first_bytes():
    """Each signature the client accepts, WebP only inside a RIFF container, anything else None."""
    assert client.image_format(b"\xff\xd8\xff\xe0rest") == "JPEG"
    assert client.image_format(b"\x89PNG\r\n\x1a\nrest") == "PNG"
    assert client.image_format(b"GIF87a..") == client.image_format(b"GIF89a..") == "GIF"
    assert client.image_format(b"BM\x00\x00") == "BMP"
    assert client.image_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WebP"
    assert client.image_format(b"RIFF\x00\x00\x00\x00AVI LIST") is None
    assert client.image_format(b"\x89PNG\r\n\x1a") is None  # one byte short of PNG's magic
    assert client.image_format(b"") is None


def test_labels_name_the_probabilities_of_text_and_json_lines(server, capsys, tmp_path):
    """--labels (blank lines skipped) names every class in the text line and the JSON keys, the streams'
    too; the text line shows the predicted class's probability (class_id 1: 0.750), not the first one."""
    labels = tmp_path / "labels.txt"
    labels.write_text("neutral\n\nhappy\n")
    body = json.dumps({"predictions": [{"probabilities": [0.25, 0.75], "class_id": 1, "class_name": "happy",
                                        "gfe_probabilities": [0.5, 0.5], "mff_probabilities": [0.125, 0.875]}]})
    good = server(http(body.encode()))
    face = face_png(tmp_path)
    status, out, err = run(capsys, "--rest", good.url, "--labels", labels, "--faces", face)
    assert status == 0, err
    assert out == f"{face}: happy (0.750)  [neutral 0.250, happy 0.750]\n"
    status, out, err = run(capsys, "--rest", good.url, "--labels", labels, "--faces", "--json", face)
    assert status == 0, err
    record = json.loads(out)
    assert record == {"source": str(face), "box": None, "label": "happy",
                      "probabilities": {"neutral": 0.25, "happy": 0.75}, "class_id": 1,
                      "gfe_probabilities": {"neutral": 0.5, "happy": 0.5},
                      "mff_probabilities": {"neutral": 0.125, "happy": 0.875}}
    status, out, err = run(capsys, "--rest", good.url, "--faces", face)  # no labels: numbered, space-separated
    assert status == 0 and out == f"{face}: happy (0.750)  [0.250 0.750]\n", err


def test_labels_that_do_not_match_the_model_or_are_empty_stop_with_exit_2(server, capsys, tmp_path):
    """Three names for two probabilities: exit 2 naming both counts, nothing printed; an empty labels file is
    refused before anything is sent."""
    good = server(http(_reply(([0.25, 0.75], 1))))
    labels = tmp_path / "labels.txt"
    labels.write_text("a\nb\nc\n")
    status, out, err = run(capsys, "--rest", good.url, "--labels", labels, "--faces", face_png(tmp_path))
    assert status == client.EXIT_INPUT and out == ""
    assert "3 class names, but the model returns 2 probabilities" in err and len(err.strip().splitlines()) == 1
    labels.write_text("\n  \n")
    status, out, err = run(capsys, "--rest", good.url, "--labels", labels, "--faces", face_png(tmp_path))
    assert status == client.EXIT_INPUT and out == "" and "no class names in it" in err
    labels.write_bytes(b"\xff\xfe bad")
    status, out, err = run(capsys, "--rest", good.url, "--labels", labels, "--faces", face_png(tmp_path))
    assert status == client.EXIT_INPUT and "cannot read labels" in err


def test_images_go_in_batches_of_batch_size_and_each_answer_to_its_own_file(server, capsys, tmp_path):
    """The stand-in answers every request with one prediction: --batch-size 1 sends one image per request
    (three files, three answers in file order); --batch-size 2 sends two, so its one answer is refused."""
    one = server(http(_reply(([0.9, 0.1], 0))))
    files = [face_png(tmp_path)]
    for name in ("b.png", "c.png"):
        files.append(tmp_path / name)
        files[-1].write_bytes(files[0].read_bytes())
    status, out, err = run(capsys, "--rest", one.url, "--batch-size", 1, "--faces", *files)
    assert status == 0, err
    assert out.splitlines() == [f"{f}: c0 (0.900)  [0.900 0.100]" for f in files]
    status, out, err = run(capsys, "--rest", one.url, "--batch-size", 2, "--faces", *files)
    assert status == client.EXIT_SERVER and "1 predictions for 2 images sent" in err


def test_http_errors_map_to_exit_statuses_with_the_servers_words(server, capsys, tmp_path):
    """404: exit 4 naming the model and version; 500: exit 1 with TF Serving's JSON "error" text, or the raw
    body when it is not JSON."""
    missing = server(http(b'{"error": "Servable not found for request"}', "404 Not Found"))
    status, out, err = run(capsys, "--rest", missing.url, "--model", "m", "--version", 3, "--faces",
                           face_png(tmp_path))
    assert status == client.EXIT_NOT_FOUND and out == ""
    assert f"model 'm' version 3 not found on the server at {missing.url}: Servable not found for request" in err
    broken = server(http(b'{"error": "boom"}', "500 Internal Server Error"))
    status, out, err = run(capsys, "--rest", broken.url, "--faces", face_png(tmp_path))
    assert status == client.EXIT_SERVER
    assert f"server at {broken.url} rejected the request (HTTP 500): boom" in err
    plain = server(http(b"  plain words  ", "503 Service Unavailable"))
    status, out, err = run(capsys, "--rest", plain.url, "--faces", face_png(tmp_path))
    assert status == client.EXIT_SERVER and "(HTTP 503): plain words" in err


def test_the_rest_request_names_the_version_and_carries_each_image_in_base64(monkeypatch):
    """predict_rest: .../v1/models/NAME/versions/V:predict (no /versions without one; a trailing slash of
    the URL dropped); the body's instances are the images' base64, in order, for serving_default."""
    import base64

    seen = []

    def post(request, timeout):
        seen.append((request.full_url, json.loads(request.data)))
        return _reply(([0.5, 0.5], 0), ([0.5, 0.5], 1))

    monkeypatch.setattr(client, "_post", post)
    got = client.predict_rest("http://h:8501/", "dsan", 2, [b"one", b"two"])
    assert [p["class_id"] for p in got] == [0, 1]
    url, body = seen[0]
    assert url == "http://h:8501/v1/models/dsan/versions/2:predict"
    assert body == {"signature_name": "serving_default",
                    "instances": [{"b64": base64.b64encode(b"one").decode()},
                                  {"b64": base64.b64encode(b"two").decode()}]}
    client.predict_rest("http://h:8501", "dsan", None, [b"one", b"two"])
    assert seen[1][0] == "http://h:8501/v1/models/dsan:predict"


@pytest.mark.parametrize("argv, says", [
    (["--rest", "localhost:8501"], "--rest takes a URL such as http://localhost:8501, got 'localhost:8501'"),
    (["--rest", "http://h:70000"], "--rest http://h:70000: port 70000 is out of range"),
    (["--rest", "http://h:0/x"], "--rest http://h:0/x: port 0 is out of range"),
    (["--rest", "http://[::1]:99999"], "--rest http://[::1]:99999: port 99999 is out of range"),
    (["--grpc", "h:65536"], "--grpc h:65536: port 65536 is out of range"),
    (["--grpc", "h:port"], "--grpc h:port: port port is out of range (a port is a number from 1 to 65535)"),
    (["--rest", "http://h:8501", "--faces", "--align-size", "32", "--no-grayscale"],
     "--align-size, --grayscale/--no-grayscale: for whole photos; with --faces the files are sent as they are"),
])
def test_bad_addresses_and_photo_flags_with_faces_are_refused_with_exit_2(capsys, argv, says):
    with pytest.raises(SystemExit) as stop:
        client.main([*argv, "face.png"])
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and out == "" and f"dsan client: error: {says}" in err, err


def test_ports_at_the_ends_of_the_range_and_addresses_without_one_pass():
    """1 and 65535 are ports; an address with no port (or an IPv6 host without one) is not range-checked."""
    parser = client.build_parser()
    for address in (["--rest", "http://h:1"], ["--rest", "https://h:65535/"], ["--rest", "http://[::1]/"],
                    ["--grpc", "h:1"], ["--grpc", "[::1]:65535"], ["--rest", "http://h"]):
        args = parser.parse_args([*address, "face.png"])
        client.check_args(parser, args)  # no SystemExit
    args = parser.parse_args(["--grpc", "[::1]:8500", "x.png"])
    assert client._port_of(args) == ("8500", "--grpc [::1]:8500")
    args = parser.parse_args(["--rest", "http://[::1]:8501/v1", "x.png"])
    assert client._port_of(args) == ("8501", "--rest http://[::1]:8501/v1")


def test_tensor_protos_of_every_output_dtype_become_arrays_of_their_shape():
    """_to_numpy: packed tensor_content, repeated values, one value standing for a whole tensor, strings."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    def shape(*dims):
        return tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims])

    packed = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape(2, 2),
                                    tensor_content=np.array([1, 2, 3, 4], np.float32).tobytes())
    np.testing.assert_array_equal(client._to_numpy(packed, np), [[1, 2], [3, 4]])
    listed = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT64, tensor_shape=shape(3), int64_val=[5, 6, 7])
    assert client._to_numpy(listed, np).tolist() == [5, 6, 7] and client._to_numpy(listed, np).dtype == np.int64
    constant = tensor_pb2.TensorProto(dtype=types_pb2.DT_DOUBLE, tensor_shape=shape(2, 3), double_val=[0.5])
    np.testing.assert_array_equal(client._to_numpy(constant, np), np.full((2, 3), 0.5))
    ints = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT32, tensor_shape=shape(1, 2), int_val=[8, 9])
    assert client._to_numpy(ints, np).tolist() == [[8, 9]] and client._to_numpy(ints, np).dtype == np.int32
    names = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=shape(2), string_val=[b"a", b"\xc3\xa9"])
    assert client._to_numpy(names, np).tolist() == ["a", "\u00e9"]


def test_an_empty_probability_list_and_a_network_error_other_than_refusal(server, capsys, tmp_path, monkeypatch):
    """A prediction with no probabilities is malformed (exit 1); a URLError that is not a refused connection
    (e.g. a name that does not resolve) is exit 3 with its own reason, not "connection refused"."""
    import urllib.error

    empty = server(http(_reply(([], 0))))
    status, out, err = run(capsys, "--rest", empty.url, "--faces", face_png(tmp_path))
    assert status == client.EXIT_SERVER and "predictions[0].probabilities is empty" in err, err

    def unresolvable(request, timeout):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(client, "_post", unresolvable)
    status, out, err = run(capsys, "--rest", "http://nowhere:8501", "--faces", face_png(tmp_path))
    assert status == client.EXIT_UNREACHABLE
    assert "cannot reach TF Serving's REST API at http://nowhere:8501: Name or service not known" in err
    assert "connection refused" not in err


def test_a_grpc_refusal_other_than_unavailable_not_found_or_deadline_is_a_server_error(capsys, tmp_path):
    """INVALID_ARGUMENT (e.g. bytes the model cannot decode): exit 1 naming the code and the server's words."""
    grpc = pytest.importorskip("grpc")

    from tensorflow_serving.apis import prediction_service_pb2_grpc

    class Refusing(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Unknown image file format")

    with grpc_serving(Refusing()) as port:
        status, out, err = run(capsys, "--grpc", f"127.0.0.1:{port}", "--timeout", 10, "--faces", face_png(tmp_path))
    assert status == client.EXIT_SERVER and out == ""
    assert (f"server at 127.0.0.1:{port} rejected the request (INVALID_ARGUMENT): Unknown image file format"
            in err), err


def test_a_json_line_carries_only_the_streams_the_server_sent_and_a_face_found_in_a_photo():
    """json_line: a reply with gfe but no mff probabilities has only gfe; a face of a photo has its number
    and box; labels of the wrong count fall back to class ids."""
    prediction = {"probabilities": [0.25, 0.75], "class_id": 1, "class_name": "b", "gfe_probabilities": [0.5, 0.5]}
    record = json.loads(client.json_line("p.jpg", prediction, {"face": 2, "box": [1, 2, 3, 4]}, ["x", "y", "z"]))
    assert record == {"source": "p.jpg", "box": [1, 2, 3, 4], "label": "b", "probabilities": {"0": 0.25, "1": 0.75},
                      "face": 2, "class_id": 1, "gfe_probabilities": {"0": 0.5, "1": 0.5}}
    assert client.format_line("p.jpg", prediction, ["x", "y", "z"]) == "p.jpg: b (0.750)  [0.250 0.750]"


# ---- round 3 blind mutants (issue 34)


def test_the_documented_exit_statuses_are_the_numbers_themselves(server, capsys, tmp_path):
    """r3-client-exit-statuses-3-4-swapped: the statuses a script reads are the numbers of the client's docs
    (3: server unreachable, 4: model not found), written out here rather than read from the module."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    status, out, err = run(capsys, "--rest", f"http://127.0.0.1:{port}", "--faces", face_png(tmp_path))
    assert status == 3 and "cannot reach" in err, err
    missing = server(http(b'{"error": "Servable not found"}', "404 Not Found"))
    status, out, err = run(capsys, "--rest", missing.url, "--model", "m", "--faces", face_png(tmp_path))
    assert status == 4 and "not found" in err, err


# ---- round 5 blind mutants (issue 34)


def test_a_reply_with_more_predictions_than_images_is_refused():
    """r5-client-extra-predictions-accepted: one image sent, two predictions back: the answers can no longer be
    matched to the files, so the reply is a server error (exit 1) naming both counts, as one too few is."""
    one = {"probabilities": [0.2, 0.8], "class_id": 1, "class_name": "b"}
    for got, sent in ((2, 1), (1, 2)):
        with pytest.raises(client.ClientError, match=rf"^server at srv: {got} predictions for {sent} images sent$") as err:
            client.check_predictions([dict(one) for _ in range(got)], sent, "srv")
        assert err.value.status == 1
    assert client.check_predictions([dict(one)], 1, "srv") == [one]


# ---- round 9 blind mutants (issue 34)


def test_label_lines_are_taken_without_their_surrounding_spaces(server, capsys, tmp_path):
    """r9-client-labels-not-stripped: a labels file written by hand with a trailing space and a leading tab
    ("neutral \\n\\thappy\\n") names the classes "neutral" and "happy" in --json, as the model's labels.txt."""
    labels = tmp_path / "labels.txt"
    labels.write_text("neutral \n\thappy\n")
    good = server(http(_reply(([0.25, 0.75], 1))))
    status, out, err = run(capsys, "--rest", good.url, "--labels", labels, "--faces", "--json", face_png(tmp_path))
    assert status == 0, err
    assert json.loads(out)["probabilities"] == {"neutral": 0.25, "happy": 0.75}


def test_the_largest_only_flag_reaches_the_photo_aligner(monkeypatch):
    """r9-client-photo-largest-only-dropped: dsan client --largest-only builds its FaceAligner with
    largest_only=True (one face sent per photo); without the flag, False."""
    import dsan_tf.data.align as align

    given = []

    class Recording(align.FaceAligner):
        def __init__(self, *args, **kwargs):
            given.append(kwargs.get("largest_only"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(align, "FaceAligner", Recording)
    parser = client.build_parser()
    for flags, want in (([], False), (["--largest-only"], True)):
        args = parser.parse_args(["--rest", "http://h:8501", "--align-size", "16", "--no-grayscale", *flags, "p.jpg"])
        assert client.photo_faces(args, [], []) == []
        assert given[-1] is want


# ---- issue 34: line-by-line sweep (dsan_tf/cli/client.py)


@pytest.mark.parametrize("error", [ConnectionResetError("Connection reset by peer"), TimeoutError("timed out")])
def test_a_connection_dropped_or_timed_out_mid_request_is_unreachable(capsys, tmp_path, monkeypatch, error):
    """A reset connection or a socket timeout (not URLError) is exit 3 naming the server and the reason."""
    def post(request, timeout):
        raise error

    monkeypatch.setattr(client, "_post", post)
    status, out, err = run(capsys, "--rest", "http://h:8501", "--faces", face_png(tmp_path))
    assert status == 3 and out == ""
    assert f"cannot reach TF Serving's REST API at http://h:8501: {error}" in err


def test_the_rest_timeout_bounds_each_read_too(monkeypatch):
    """predict_rest(timeout=7): the socket timeout given to the request is 7 s, not the default 30."""
    seen = []

    def post(request, timeout):
        seen.append(timeout)
        return _reply(([0.5, 0.5], 0))

    monkeypatch.setattr(client, "_post", post)
    client.predict_rest("http://h:8501", "dsan", None, [b"one"], timeout=7)
    assert seen == [7]


def test_a_servers_error_text_is_its_json_error_else_its_first_300_characters_stripped():
    assert client._error_text(b'{"error": "Servable not found"}') == "Servable not found"
    assert client._error_text(b"  " + b"x" * 400 + b"\n") == "x" * 300
    assert client._error_text(b"\xffplain") == "\ufffdplain"


def test_the_photo_aligner_gets_the_detector_flags_and_the_crop_size(monkeypatch):
    """photo_faces builds its FaceAligner with --min-confidence, --min-face-size and the crop side
    (--align-size), not their defaults."""
    import dsan_tf.data.align as align

    given = []

    class Recording(align.FaceAligner):
        def __init__(self, *args, **kwargs):
            given.append(kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(align, "FaceAligner", Recording)
    args = client.build_parser().parse_args(["--rest", "http://h:8501", "--align-size", "24", "--no-grayscale",
                                             "--min-confidence", "0.75", "--min-face-size", "33", "p.jpg"])
    assert client.photo_faces(args, [], []) == []
    assert (given[-1]["output_size"], given[-1]["min_confidence"], given[-1]["min_face_size"]) == (24, 0.75, 33)


@pytest.mark.parametrize("flags, accepted", [
    (["--timeout", "0"], False), (["--timeout", "1e6"], True), (["--timeout", "1000001"], False),
    (["--batch-size", "1024"], True), (["--batch-size", "1025"], False), (["--batch-size", "0"], False),
    (["--version", "0"], False), (["--version", str(2**63 - 1)], True), (["--version", str(2**63)], False),
])
def test_the_clients_number_flags_at_their_bounds(capsys, flags, accepted):
    """--timeout: more than 0 s, at most 1e6; --batch-size: 1 to 1024; --version: 1 to 2**63 - 1."""
    parser = client.build_parser()
    if accepted:
        args = parser.parse_args(["--rest", "http://h:8501", *flags, "x.png"])
        want = float(flags[1]) if flags[0] == "--timeout" else int(flags[1])
        assert getattr(args, flags[0][2:].replace("-", "_")) == want
    else:
        with pytest.raises(SystemExit) as stop:
            parser.parse_args(["--rest", "http://h:8501", *flags, "x.png"])
        assert stop.value.code == 2 and flags[0] in capsys.readouterr().err


def test_the_clients_defaults_are_the_documented_ones():
    """Model dsan, the latest version, 32 images a request, 30 s, text lines, no labels, whole photos."""
    args = client.build_parser().parse_args(["--rest", "http://h:8501", "x.png"])
    assert (args.model, args.version, args.batch_size, args.timeout, args.json, args.labels, args.faces) == \
        ("dsan", None, 32, 30.0, False, None, False)


def test_the_grpc_request_names_model_version_and_signature_and_each_answer_goes_to_its_image():
    """predict_grpc: the PredictRequest names the model, the version (none when not given) and
    serving_default, and carries the images as a [2] string tensor in order; the reply's rows become one
    prediction per image, in order."""
    pytest.importorskip("grpc")

    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    def tensor(dtype, dims, **values):
        shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims])
        return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape, **values)

    seen = []

    class Recording(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            seen.append(request)
            response = predict_pb2.PredictResponse()
            response.outputs["probabilities"].CopyFrom(tensor(types_pb2.DT_FLOAT, [2, 2],
                                                              float_val=[0.25, 0.75, 0.875, 0.125]))
            response.outputs["class_id"].CopyFrom(tensor(types_pb2.DT_INT64, [2], int64_val=[1, 0]))
            response.outputs["class_name"].CopyFrom(tensor(types_pb2.DT_STRING, [2], string_val=[b"b", b"a"]))
            return response

    with grpc_serving(Recording()) as port:
        got = client.predict_grpc(f"127.0.0.1:{port}", "faces", 5, [b"one", b"two"], timeout=10)
        client.predict_grpc(f"127.0.0.1:{port}", "faces", None, [b"one", b"two"], timeout=10)
    spec = seen[0].model_spec
    assert (spec.name, spec.version.value, spec.signature_name) == ("faces", 5, "serving_default")
    assert not seen[1].model_spec.HasField("version")
    sent = seen[0].inputs["image_bytes"]
    assert list(sent.string_val) == [b"one", b"two"] and [d.size for d in sent.tensor_shape.dim] == [2]
    assert got == [{"probabilities": [0.25, 0.75], "class_id": 1, "class_name": "b"},
                   {"probabilities": [0.875, 0.125], "class_id": 0, "class_name": "a"}]


def test_settings_with_faces_is_refused_as_a_whole_photo_flag(capsys, tmp_path):
    """--settings (alone) with --faces: exit 2 naming --settings, as --align-size and --grayscale are."""
    with pytest.raises(SystemExit) as stop:
        client.main(["--rest", "http://h:8501", "--faces", "--settings", str(tmp_path), "face.png"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--settings: for whole photos; with --faces the files are sent as they are" in err
