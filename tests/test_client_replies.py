"""dsan client against servers that misbehave (issue 31): a per-request deadline (a server sending a byte a
second cannot hold it), and a malformed reply (REST JSON or gRPC) is one line naming the server."""

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
    grpc = pytest.importorskip("grpc")
    from concurrent import futures

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

    grpc_server = grpc.server(futures.ThreadPoolExecutor(2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    try:
        face = face_png(tmp_path)
        for says in ["missing key predictions[0].class_id", "ValueError", "KeyError", "probabilities[0], found nan"]:
            status, out, err = run(capsys, "--grpc", f"127.0.0.1:{port}", "--timeout", 10, "--faces", face)
            lines = err.strip().splitlines()
            assert status == client.EXIT_SERVER and out == "", err
            assert len(lines) == 1 and f"server at 127.0.0.1:{port}" in lines[0] and says in lines[0], err
            replies.pop(0)
    finally:
        grpc_server.stop(0)


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
    grpc = pytest.importorskip("grpc")
    from concurrent import futures

    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    release = threading.Event()

    class Silent(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            release.wait(10)
            return predict_pb2.PredictResponse()

    grpc_server = grpc.server(futures.ThreadPoolExecutor(2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Silent(), grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    try:
        status, out, err = run(capsys, "--grpc", f"127.0.0.1:{port}", "--timeout", 0.5, "--faces", face_png(tmp_path))
    finally:
        release.set()
        grpc_server.stop(0)
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
