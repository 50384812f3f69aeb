"""dsan client: classify the faces of photos with a DSAN model served by TensorFlow Serving (REST or gRPC).

    dsan client --rest http://localhost:8501 --model dsan photo1.jpg photo2.png
    dsan client --rest http://localhost:8501 --settings models/dsan photos/*.jpg
    dsan client --grpc localhost:8500 --model dsan --version 2 --json --faces faces/*.png

Whole photos (default): the faces are detected (MTCNN) and aligned here, as ``dsan predict``
does, at the model's input size and greyed for a model trained on grey faces: read from
``--settings`` (the SavedModel folder or its assets/dsan_settings.json), else
``--align-size`` and ``--grayscale`` (default: the shipped FERPlus model's input size and
grey faces, read from its record in the package). Each face is sent as a PNG. A photo
without a face prints "<file>: no face" (JSON: "box": null, "label": null, "note": "no face")
and sends nothing. Detection needs TensorFlow.
``--faces``: the files are face crops already and are sent as they are (no TensorFlow).

Prints one line per face: the file (and face number and box), the predicted class, its
probability and every class probability (named when ``--labels`` points at the model's
assets/labels.txt). ``--json`` prints one JSON object per line instead (JSON Lines), in the
fields of ``dsan predict`` and ``dsan_tf.predict`` (``dsan_tf.face_record``): source, box
([x, y, w, h] integers; null with ``--faces``), label, probabilities (by class name with
``--labels``, else by class id "0", "1", ...), then face, class_id and each stream's
probabilities (gfe_probabilities, mff_probabilities) named the same way.

Files are checked before anything is sent: a file that is not a JPEG/PNG/GIF/BMP/WebP
image stops the client with exit status 2. Exit statuses: 0 success, 2 bad arguments
or input file, 3 server unreachable, 4 model or version unknown to the server,
1 any other error reported by the server.

The REST path with ``--faces`` needs only the standard library (+ Pillow); whole photos
need the face detector (TensorFlow), imported only then; the gRPC path imports grpcio and
tensorflow-serving-api (which imports TensorFlow).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from dsan_tf.cli.detection import add_detector_args
from dsan_tf.errors import UserError
from dsan_tf.cli.validators import (MAX_BATCH, MAX_IMAGE_SIZE, any_path, existing_file, existing_path, float_in, int_in,
                                   positive_int, text)
from dsan_tf.cli import CommandParser
from dsan_tf.face_record import FaceRecord

SIGNATURE = "serving_default"
INPUT = "image_bytes"

EXIT_OK, EXIT_SERVER, EXIT_INPUT, EXIT_UNREACHABLE, EXIT_NOT_FOUND = 0, 1, 2, 3, 4

# Image signatures (the formats tf.io.decode_image reads that browsers/cameras produce).
_MAGIC = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
    b"BM": "BMP",
}


class ClientError(UserError):
    """An error to report in one line, with the exit status to use."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------- input files
def image_format(data: bytes) -> str | None:
    """The image format named by the file's first bytes, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return name
    return None


def read_image(path) -> bytes:
    """The file's bytes; ClientError (exit 2) if it is missing or not a readable image."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ClientError(f"{path}: cannot read file ({e.strerror or e})", EXIT_INPUT) from None
    fmt = image_format(data)
    if fmt is None:
        raise ClientError(f"{path}: not an image (expected JPEG, PNG, GIF, BMP or WebP; "
                          f"{len(data)} bytes starting {data[:8]!r}); nothing was sent", EXIT_INPUT)
    try:  # a fuller check when Pillow is there: truncated or corrupt files
        from PIL import Image
    except ImportError:  # pragma: no cover
        return data
    import io

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception as e:  # noqa: BLE001 - Pillow raises many types
        raise ClientError(f"{path}: corrupt or truncated {fmt} image ({e}); nothing was sent", EXIT_INPUT) from None
    return data


# --------------------------------------------------------------------------- REST
def predict_rest(url: str, model: str, version, images: list[bytes], timeout: float = 30.0) -> list[dict]:
    """POST to TF Serving's REST predict API; one dict of outputs per image."""
    endpoint = f"{url.rstrip('/')}/v1/models/{model}"
    if version is not None:
        endpoint += f"/versions/{int(version)}"
    endpoint += ":predict"
    body = {"signature_name": SIGNATURE,
            "instances": [{"b64": base64.b64encode(b).decode("ascii")} for b in images]}
    request = urllib.request.Request(endpoint, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        raw = within_deadline(lambda: _post(request, timeout), timeout, url)
    except urllib.error.HTTPError as e:
        detail = _error_text(getattr(e, "body", b""))
        if e.code == 404:
            raise ClientError(f"model {_what(model, version)} not found on the server at {url}: {detail}",
                              EXIT_NOT_FOUND) from None
        raise ClientError(f"server at {url} rejected the request (HTTP {e.code}): {detail}", EXIT_SERVER) from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, ConnectionRefusedError):
            text = "connection refused"
        else:
            text = str(reason)
        raise ClientError(f"cannot reach TF Serving's REST API at {url}: {text} "
                          "(is the server running and is the port published?)", EXIT_UNREACHABLE) from None
    except (TimeoutError, ConnectionError) as e:
        raise ClientError(f"cannot reach TF Serving's REST API at {url}: {e}", EXIT_UNREACHABLE) from None
    from dsan_tf.state_files import StateFileError, parse_json_state

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientError(f"server at {url}: its reply is not UTF-8 text ({len(raw)} bytes starting {raw[:16]!r}); "
                          "is it TF Serving's REST API?", EXIT_SERVER) from None
    try:
        reply = parse_json_state(text, f"server at {url}", {"predictions": [dict]}, what="its reply",
                                 hint="is it TF Serving's REST API?")
    except StateFileError as error:
        raise ClientError(str(error), EXIT_SERVER) from None
    return check_predictions(reply["predictions"], len(images), url)


def _post(request, timeout) -> bytes:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        error.body = error.read()  # within the deadline too
        raise


def within_deadline(call, seconds: float, server: str):
    """``call()``'s result if it finishes within ``seconds`` in all; ClientError (exit 3) otherwise.

    A socket timeout bounds each read, not the request: a server sending a byte a second would hold
    the client for ever. The call runs in a daemon thread, left behind (its own socket timeout ends it)."""
    import threading

    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=run, name="dsan-client-request", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise ClientError(f"no complete answer from {server} within {seconds:g} s (--timeout: the whole request)",
                          EXIT_UNREACHABLE)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# What each prediction must hold (the serving signature's outputs; the stream outputs are optional).
PREDICTION = {"probabilities": [float], "class_id": int, "class_name": str,
              "gfe_probabilities?": [float], "mff_probabilities?": [float]}


def check_predictions(predictions, count: int, server: str) -> list[dict]:
    """The predictions of a reply, checked: one per image sent, each with finite probabilities, a class id
    among them and a class name; ClientError (exit 1) naming the server and what is wrong."""
    from dsan_tf.state_files import check_schema

    if len(predictions) != count:
        raise ClientError(f"server at {server}: {len(predictions)} predictions for {count} images sent", EXIT_SERVER)
    for i, prediction in enumerate(predictions):
        problem = check_schema(prediction, PREDICTION, f"predictions[{i}]")
        if problem is None and not prediction["probabilities"]:
            problem = f"predictions[{i}].probabilities is empty"
        if problem is None and not 0 <= prediction["class_id"] < len(prediction["probabilities"]):
            problem = f"predictions[{i}].class_id {prediction['class_id']} is not a class of its probabilities"
        if problem:
            raise ClientError(f"server at {server}: its reply is not a DSAN prediction ({problem})", EXIT_SERVER)
    return [dict(p) for p in predictions]


def _error_text(raw: bytes) -> str:
    try:
        return str(json.loads(raw.decode("utf-8"))["error"])
    except Exception:  # noqa: BLE001 - not TF Serving's JSON error
        return raw.decode("utf-8", "replace").strip()[:300]


def _what(model, version):
    return f"'{model}'" + (f" version {version}" if version is not None else "")


# --------------------------------------------------------------------------- gRPC
def predict_grpc(target: str, model: str, version, images: list[bytes], timeout: float = 30.0) -> list[dict]:
    """Call PredictionService/Predict; one dict of outputs per image."""
    import grpc
    import numpy as np
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = int(version)
    request.model_spec.signature_name = SIGNATURE
    request.inputs[INPUT].CopyFrom(tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(images))]),
        string_val=images))
    size = 64 * 1024 * 1024
    channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", size),
                                                     ("grpc.max_receive_message_length", size)])
    try:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=timeout)
    except grpc.RpcError as e:
        code, detail = e.code(), e.details()
        if code == grpc.StatusCode.UNAVAILABLE:
            raise ClientError(f"cannot reach TF Serving's gRPC API at {target}: {detail} "
                              "(is the server running and is the port published?)", EXIT_UNREACHABLE) from None
        if code == grpc.StatusCode.NOT_FOUND:
            raise ClientError(f"model {_what(model, version)} not found on the server at {target}: {detail}",
                              EXIT_NOT_FOUND) from None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise ClientError(f"no answer from {target} within {timeout:g} s", EXIT_UNREACHABLE) from None
        raise ClientError(f"server at {target} rejected the request ({code.name}): {detail}", EXIT_SERVER) from None
    finally:
        channel.close()
    try:
        arrays = {name: _to_numpy(proto, np) for name, proto in response.outputs.items()}
        predictions = [{name: _plain(a[i]) for name, a in arrays.items()} for i in range(len(images))]
    except (KeyError, ValueError, IndexError, UnicodeDecodeError) as error:  # dtype, shape, bytes not as sent
        raise ClientError(f"server at {target}: its reply is not a DSAN prediction (outputs "
                          f"{', '.join(sorted(response.outputs)) or 'none'}: {type(error).__name__} {error})",
                          EXIT_SERVER) from None
    return check_predictions(predictions, len(images), target)


def _to_numpy(proto, np):
    """A TensorProto of the dtypes the signature returns -> numpy array."""
    from tensorflow.core.framework import types_pb2

    shape = [d.size for d in proto.tensor_shape.dim]
    if proto.dtype == types_pb2.DT_STRING:
        return np.array([s.decode("utf-8") for s in proto.string_val], dtype=object).reshape(shape)
    dtype, field = {types_pb2.DT_FLOAT: (np.float32, "float_val"), types_pb2.DT_INT64: (np.int64, "int64_val"),
                    types_pb2.DT_INT32: (np.int32, "int_val"), types_pb2.DT_DOUBLE: (np.float64, "double_val")}[proto.dtype]
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, dtype=dtype).reshape(shape)
    values = np.array(getattr(proto, field), dtype=dtype)
    if values.size == 1 and int(np.prod(shape)) > 1:  # a repeated constant is stored once
        values = np.full(shape, values[0], dtype=dtype)
    return values.reshape(shape)


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else value


# --------------------------------------------------------------------------- output
def format_line(path, prediction: dict, labels=None) -> str:
    probs = prediction["probabilities"]
    k = int(prediction["class_id"])
    if labels and len(labels) == len(probs):
        listing = ", ".join(f"{name} {p:.3f}" for name, p in zip(labels, probs))
    else:
        listing = " ".join(f"{p:.3f}" for p in probs)
    return f"{path}: {prediction['class_name']} ({probs[k]:.3f})  [{listing}]"


def json_line(path, prediction: dict, face: dict | None = None, labels=None) -> str:
    """One JSON object in the face vocabulary (dsan_tf.face_record); ``face`` ({"face": i, "box":
    [x, y, w, h]}) for a face found in a photo, None for a crop sent as it is."""
    probabilities = [float(p) for p in prediction["probabilities"]]
    names = labels if labels and len(labels) == len(probabilities) else [str(i) for i in range(len(probabilities))]
    record = FaceRecord(str(path), face["box"] if face else None, str(prediction["class_name"]),
                        dict(zip(names, probabilities)))
    extra = {"face": face["face"]} if face else {}
    extra["class_id"] = int(prediction["class_id"])
    for stream in ("gfe_probabilities", "mff_probabilities"):
        if stream in prediction:
            extra[stream] = dict(zip(names, (float(p) for p in prediction[stream])))
    return json.dumps(record.to_record(**extra))


# --------------------------------------------------------------------------- whole photos
NO_FACE = "no face"  # dsan_tf.inference.NO_FACE (not imported: that path needs no TensorFlow)


def photo_settings(args) -> tuple[int, bool]:
    """(crop side, grey) for whole photos: --align-size/--grayscale, else --settings, else the shipped model's."""
    from dsan_tf.api import DEFAULT_MODEL, input_settings

    recorded = input_settings(args.settings if args.settings is not None else DEFAULT_MODEL)
    size, grey = recorded["image_size"], recorded["grayscale_input"]
    return (args.align_size or size), (grey if args.grayscale is None else args.grayscale)


def photo_faces(args, paths, data) -> list[list[tuple[dict, bytes]]]:
    """For each photo, its faces as ({"face": i, "box": [x, y, w, h]}, PNG bytes of the aligned crop)."""
    from dsan_tf.api import encode_png, face_box, face_crops, to_rgb_image
    from dsan_tf.data.align import FaceAligner

    size, grey = photo_settings(args)
    aligner = FaceAligner(output_size=size, min_confidence=args.min_confidence, min_face_size=args.min_face_size,
                          largest_only=args.largest_only)
    out = []
    for path, raw in zip(paths, data):
        photo = to_rgb_image(raw, str(path))
        faces = face_crops(photo, size, grey, aligner=aligner)
        out.append([({"face": i, "box": face_box(f.box, photo.shape)}, encode_png(f.image))
                    for i, f in enumerate(faces)])
    return out


def check_labels(labels, path, predictions) -> None:
    """ClientError (exit 2) when the labels file does not name every class the model returns."""
    k = len(predictions[0]["probabilities"]) if predictions else len(labels)
    if len(labels) != k:
        raise ClientError(f"--labels {path}: {len(labels)} class names, but the model returns {k} probabilities; "
                          "use the model's own assets/labels.txt (one class per line, in class-id order)",
                          EXIT_INPUT)


# --------------------------------------------------------------------------- main
def build_parser(prog="dsan client"):
    p = CommandParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    server = p.add_mutually_exclusive_group(required=True)
    server.add_argument("--rest", metavar="URL", type=text("a URL"), help="REST API, e.g. http://localhost:8501")
    server.add_argument("--grpc", metavar="HOST:PORT", type=text("HOST:PORT"), help="gRPC API, e.g. localhost:8500")
    p.add_argument("--model", type=text("a model name"), default="dsan", help="model name on the server (default dsan)")
    p.add_argument("--version", type=int_in(1, 2**63 - 1), default=None,
                   help="model version (default: the latest served)")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per face (JSON Lines) with dsan predict's fields: source, box, label, "
                        "probabilities (default: one text line per face)")
    p.add_argument("--labels", type=existing_file, default=None,
                   help="class names, one per line (the model's assets/labels.txt), to name probabilities "
                        "(default: numbered classes)")
    p.add_argument("--batch-size", type=positive_int(MAX_BATCH), default=32, help="images per request (default 32)")
    p.add_argument("--timeout", type=float_in(0, 1e6, open_low=True), default=30.0,
                   help="seconds per request, at most 1e6 (default 30)")
    # Checked by the command (a missing image has its own exit status, EXIT_INPUT), not here.
    p.add_argument("images", nargs="+", type=any_path,
                   help="photos (JPEG/PNG/GIF/BMP/WebP): every face is detected, aligned and sent; face crops "
                        "with --faces")
    p.add_argument("--faces", action="store_true",
                   help="the images are face crops already: sent as they are (no detection; no TensorFlow)")
    p.add_argument("--settings", type=existing_path, default=None,
                   help="photos: the served SavedModel's folder (or its assets/dsan_settings.json), for the "
                        "model's input size and whether it takes grey faces (default: the shipped FERPlus "
                        "model's)")
    p.add_argument("--align-size", type=int_in(8, MAX_IMAGE_SIZE), default=None,
                   help="photos: side of the aligned face crops (default: --settings' image size, else "
                        "the shipped FERPlus model's input size)")
    p.add_argument("--grayscale", action=argparse.BooleanOptionalAction, default=None,
                   help="photos: send grey faces (--no-grayscale: colour). Default: what --settings records, "
                        "else what the shipped FERPlus model records (grey)")
    add_detector_args(p, scope="photos: ")
    p.add_argument("--largest-only", action="store_true", help="photos: send only the largest face of each")
    return p


MAX_TIMEOUT = 1e6  # seconds (11 days); larger values overflow the socket and gRPC deadlines
MAX_VERSION = 2**63 - 1  # TF Serving's version is an int64


def _port_of(args):
    """(port as text or None, the flag and value) of --rest URL or --grpc HOST:PORT, for the range check."""
    import re

    if args.rest:
        match = re.match(r"^https?://(\[[^\]]*\]|[^/:?#]*)(?::([^/?#]*))?", args.rest)
        text, flag = (match.group(2) if match else None), f"--rest {args.rest}"
    elif args.grpc:
        host, sep, text = args.grpc.rpartition(":")
        text, flag = (text if sep and not host.endswith(":") else None), f"--grpc {args.grpc}"
    else:
        return None, ""
    return (text or None), flag


def check_args(p, args):
    if args.rest and not args.rest.startswith(("http://", "https://")):
        p.error(f"--rest takes a URL such as http://localhost:8501, got {args.rest!r}")
    port, flag = _port_of(args)
    if port is not None and not (port.isdigit() and 1 <= int(port) <= 65535):
        p.error(f"{flag}: port {port} is out of range (a port is a number from 1 to 65535)")
    if args.faces:
        given = [flag for flag, value in (("--settings", args.settings), ("--align-size", args.align_size),
                                          ("--grayscale/--no-grayscale", args.grayscale)) if value is not None]
        if given:
            p.error(f"{', '.join(given)}: for whole photos; with --faces the files are sent as they are")


def run(args) -> int:
    labels = None
    if args.labels is not None:
        try:
            labels = [line.strip() for line in args.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else e
            raise ClientError(f"{args.labels}: cannot read labels ({reason})", EXIT_INPUT) from None
        if not labels:
            raise ClientError(f"--labels {args.labels}: no class names in it (expected one per line)",
                              EXIT_INPUT)
    data = [read_image(path) for path in args.images]  # every file checked before sending any
    if args.faces:
        items = [(path, None, raw) for path, raw in zip(args.images, data)]
    else:  # every face of every photo found before sending any
        items = []
        for path, faces in zip(args.images, photo_faces(args, args.images, data)):
            items += [(path, face, png) for face, png in faces] or [(path, None, None)]  # None: no face
    for start in range(0, len(items), args.batch_size):
        chunk = items[start:start + args.batch_size]
        images = [raw for _, _, raw in chunk if raw is not None]
        predictions = []
        if images and args.rest:
            predictions = predict_rest(args.rest, args.model, args.version, images, args.timeout)
        elif images:
            predictions = predict_grpc(args.grpc, args.model, args.version, images, args.timeout)
        if labels is not None and predictions:
            check_labels(labels, args.labels, predictions)
        answers = iter(predictions)
        for path, face, raw in chunk:  # in the order of the files
            if raw is None:
                print(json.dumps(FaceRecord(str(path), None, None, None).to_record(face=None, note=NO_FACE))
                      if args.json else f"{path}: {NO_FACE}", flush=True)
                continue
            prediction = next(answers)
            if args.json:
                print(json_line(path, prediction, face, labels), flush=True)
            else:
                shown = path if face is None else f"{path} face {face['face']} {face['box']}"
                print(format_line(shown, prediction, labels), flush=True)
    return EXIT_OK


def main(argv=None) -> int:
    from dsan_tf.cli import run_command

    return run_command("client", argv)


if __name__ == "__main__":
    sys.exit(main())
