"""A stand-in for TensorFlow Serving, FOR TESTS ONLY.

TF Serving itself cannot be installed on the build machine, so the client tests run
against this small server instead. It loads the exported SavedModel versions with
``tf.saved_model.load`` and speaks the two protocols the client uses, as TF Serving
documents them:

- REST ``POST /v1/models/<name>[/versions/<v>]:predict`` with ``{"signature_name",
  "instances"}`` (row format) or ``{"inputs"}`` (columnar format); ``{"b64": ...}``
  for inputs whose name ends in ``_bytes``; replies ``{"predictions": ...}`` /
  ``{"outputs": ...}``, errors as ``{"error": ...}`` with HTTP 400 (invalid argument)
  or 404 (unknown model/version). ``GET /v1/models/<name>`` gives the version status.
- gRPC ``tensorflow.serving.PredictionService/Predict`` (NOT_FOUND, INVALID_ARGUMENT).

It is not shipped: nothing under dsan_tf/ or export/ imports it. It implements only
what the tests need (no batching, no classify/regress, no model reloading).

Manual use: python tests/serving_stub.py --base models/dsan --rest-port 8501 --grpc-port 8500
"""

from __future__ import annotations

import base64
import json
import re
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

_PREDICT = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?:predict$")
_STATUS = re.compile(r"^/v1/models/([^/:]+)(?:/versions/(\d+))?$")


class NotFound(Exception):
    pass


class BadRequest(Exception):
    pass


class Servables:
    """Every numeric version under ``base`` of model ``name``, loaded."""

    def __init__(self, base, name):
        self.name = name
        self.versions = {int(p.name): tf.saved_model.load(str(p))
                         for p in sorted(Path(base).iterdir()) if p.is_dir() and p.name.isdigit()}
        if not self.versions:
            raise ValueError(f"no versions under {base}")
        self.requests = 0  # predict calls that reached a model

    def signature(self, name, version, signature_name):
        if name != self.name:
            raise NotFound(f"Servable not found for request: Latest({name})" if version is None
                           else f"Servable not found for request: Specific({name}, {version})")
        if version is None:
            version = max(self.versions)
        if int(version) not in self.versions:
            raise NotFound(f"Servable not found for request: Specific({name}, {version})")
        signatures = self.versions[int(version)].signatures
        signature_name = signature_name or "serving_default"
        if signature_name not in signatures:
            raise BadRequest(f'Serving signature name: "{signature_name}" not found in signature def')
        return signatures[signature_name]

    def run(self, fn, inputs: dict) -> dict:
        specs = fn.structured_input_signature[1]
        if set(inputs) != set(specs):
            raise BadRequest(f"input names {sorted(inputs)} do not match the signature's {sorted(specs)}")
        try:
            tensors = {k: tf.constant(v, dtype=specs[k].dtype) for k, v in inputs.items()}
        except (TypeError, ValueError) as e:
            raise BadRequest(f"cannot convert inputs: {e}") from None
        self.requests += 1
        outputs = fn(**tensors)  # tf.errors.InvalidArgumentError propagates
        return {k: v.numpy() for k, v in outputs.items()}


# --------------------------------------------------------------------------- REST
def _decode_value(value):
    """JSON value -> nested Python lists, with {"b64": ...} as bytes."""
    if isinstance(value, dict):
        if set(value) == {"b64"}:
            return base64.b64decode(value["b64"])
        raise BadRequest(f"unexpected object {str(value)[:80]}")
    if isinstance(value, list):
        return [_decode_value(v) for v in value]
    return value


def _encode_value(name, value):
    if isinstance(value, np.ndarray):
        return [_encode_value(name, v) for v in value]
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()} if name.endswith("_bytes") else value.decode("utf-8")
    return value.item() if hasattr(value, "item") else value


def _rest_inputs(body, input_names):
    if ("instances" in body) == ("inputs" in body):
        raise BadRequest("JSON object must have exactly one of 'instances' or 'inputs'")
    if "instances" in body:
        instances = body["instances"]
        if not isinstance(instances, list):
            raise BadRequest("'instances' must be a list")
        if all(isinstance(i, dict) and set(i) != {"b64"} for i in instances) and instances:
            return {k: [_decode_value(i[k]) for i in instances] for k in input_names}, "row"
        if len(input_names) != 1:
            raise BadRequest("instances must be objects naming each input")
        return {input_names[0]: _decode_value(instances)}, "row"
    inputs = body["inputs"]
    if isinstance(inputs, dict) and set(inputs) != {"b64"}:
        return {k: _decode_value(v) for k, v in inputs.items()}, "columnar"
    if len(input_names) != 1:
        raise BadRequest("inputs must be an object naming each input")
    return {input_names[0]: _decode_value(inputs)}, "columnar"


def _handler_class(servables):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            m = _STATUS.match(self.path)
            if not m or m.group(1) != servables.name:
                return self._reply(404, {"error": f"Could not find any versions of model {m and m.group(1)}"})
            versions = [int(m.group(2))] if m.group(2) else sorted(servables.versions)
            if any(v not in servables.versions for v in versions):
                return self._reply(404, {"error": f"Could not find version {m.group(2)} of model {servables.name}"})
            return self._reply(200, {"model_version_status": [
                {"version": str(v), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
                for v in versions]})

        def do_POST(self):
            m = _PREDICT.match(self.path)
            if not m:
                return self._reply(404, {"error": f"Malformed request: POST {self.path}"})
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if not isinstance(body, dict):
                    raise BadRequest("JSON Value is not an object")
                fn = servables.signature(m.group(1), m.group(2), body.get("signature_name"))
                inputs, fmt = _rest_inputs(body, sorted(fn.structured_input_signature[1]))
                outputs = servables.run(fn, inputs)
            except json.JSONDecodeError as e:
                return self._reply(400, {"error": f"JSON Parse error: {e}"})
            except NotFound as e:
                return self._reply(404, {"error": str(e)})
            except BadRequest as e:
                return self._reply(400, {"error": str(e)})
            except tf.errors.InvalidArgumentError as e:
                return self._reply(400, {"error": e.message})
            except tf.errors.OpError as e:
                return self._reply(500, {"error": e.message})
            if fmt == "row":
                n = len(next(iter(outputs.values())))
                rows = [{k: _encode_value(k, v[i]) for k, v in outputs.items()} for i in range(n)]
                if len(outputs) == 1:
                    rows = [next(iter(r.values())) for r in rows]
                return self._reply(200, {"predictions": rows})
            cols = {k: _encode_value(k, v) for k, v in outputs.items()}
            return self._reply(200, {"outputs": next(iter(cols.values())) if len(cols) == 1 else cols})

    return Handler


# --------------------------------------------------------------------------- gRPC
class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, servables):
        self.servables = servables

    def Predict(self, request, context):
        version = request.model_spec.version.value if request.model_spec.HasField("version") else None
        try:
            fn = self.servables.signature(request.model_spec.name, version, request.model_spec.signature_name)
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            outputs = self.servables.run(fn, inputs)
        except NotFound as e:
            context.abort(grpc.StatusCode.NOT_FOUND, str(e))
        except BadRequest as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except tf.errors.InvalidArgumentError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, e.message)
        except tf.errors.OpError as e:
            context.abort(grpc.StatusCode.INTERNAL, e.message)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.servables.name
        response.model_spec.version.value = int(version or max(self.servables.versions))
        response.model_spec.signature_name = request.model_spec.signature_name or "serving_default"
        for k, v in outputs.items():
            response.outputs[k].CopyFrom(tf.make_tensor_proto(v))
        return response


# --------------------------------------------------------------------------- server
class StubServer:
    """REST and gRPC on 127.0.0.1 (port 0 = a free port). Use as a context manager."""

    def __init__(self, base, name="dsan", rest_port=0, grpc_port=0):
        self.servables = Servables(base, name)
        self.http = ThreadingHTTPServer(("127.0.0.1", rest_port), _handler_class(self.servables))
        self.rest_url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionServicer(self.servables), self.grpc)
        port = self.grpc.add_insecure_port(f"127.0.0.1:{grpc_port}")
        self.grpc_target = f"127.0.0.1:{port}"
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self._thread.start()
        self.grpc.start()
        return self

    def stop(self):
        self.http.shutdown()
        self.http.server_close()
        self.grpc.stop(grace=None)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="TF Serving stand-in for tests (REST + gRPC predict only)")
    parser.add_argument("--base", required=True, help="model base folder with numbered versions")
    parser.add_argument("--name", default="dsan")
    parser.add_argument("--rest-port", type=int, default=8501)
    parser.add_argument("--grpc-port", type=int, default=8500)
    a = parser.parse_args()
    server = StubServer(a.base, a.name, a.rest_port, a.grpc_port).start()
    print(f"stand-in serving {a.name} versions {sorted(server.servables.versions)}: "
          f"REST {server.rest_url}, gRPC {server.grpc_target} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
