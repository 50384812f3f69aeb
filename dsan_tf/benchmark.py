"""Training and inference throughput of DSAN against its baseline (or against PyTorch), measured in one process:
the measurements behind ``dsan bench`` (:mod:`dsan_tf.cli.bench` parses the flags and prints the tables).

    from dsan_tf import benchmark
    summary = benchmark.run_throughput(benchmark.BenchSettings(image_size=64, batch_size=8, steps=2, rounds=1))
    summary["train_ratio_dsan_over_baseline"]
    benchmark.run_against_torch(benchmark.BenchSettings(image_sizes=(64, 112), precisions=("float32",)))

The settings are :class:`BenchSettings` (any object with its attributes will do, e.g. the
parsed flags of ``dsan bench``, whose names they share).

For each precision (float32, then mixed_bfloat16, set through the model's ``dtype=``),
``dsan`` and ``baseline`` are built and compiled the same way (Adam for the network with
weight decay 1e-4 added to the gradients, SGD for DSAN's class centres), warmed up, then
timed in alternating rounds (dsan, baseline, dsan, baseline, ...) so that drift of a
shared machine hits both.

- Training: the model's ``make_train_function()`` called on one fixed in-memory batch
  (no input pipeline), one step per call, each step timed on its own.
- Inference: ``model.predict_on_batch`` on the same batch, for both models.

Images/s come from the median step time over all rounds; "best" uses the fastest step
(the least disturbed by other processes). Each step's process CPU time is recorded too:
on a machine shared with other jobs it varies less than wall time, and its dsan/baseline
ratio is printed beside the wall-time one. ``train_ratio_dsan_over_baseline`` is the
dsan/baseline training throughput in mixed_bfloat16 (per precision under their own keys).

Without ``--steps`` the number of timed steps per round is chosen per precision and
kind from one probe step after the warm-up, so that a round lasts about
``--round-seconds`` (1 to 10 steps): a step can take from under a second to minutes
(bf16 convolution gradients on a CPU without native bf16 are very slow).

``--against-torch`` times this project's DSAN training step against the PyTorch reference
(``--torch-reference``, default ``../shared/bench/torch_dsan.py`` beside the checkout): its
model class, with the training step of its ``main()`` (Adam 1e-3 with weight decay 1e-4 for
the network, SGD 0.9/0.9 for the centres, both streams' losses; bf16 through autocast), on
the same batch, in the same process, alternating rounds (tf, torch, tf, torch, ...) per
precision and image size (``--image-size`` takes a comma-separated list there; the default
precision is float32 only). It prints both images/s, the TF/PyTorch ratio (median steps,
fastest steps, process CPU time per step) and the CPU model. ``--with-keras-batchnorm`` adds
a row with the same TF model with Keras' unfused BatchNorm in the trunk, as before issue 16
(``dsan_tf.resnet.FusedBatchNormalization.fused = False``): the speed-up of the fused kernel;
``--with-keras-adam`` one with Keras' own Adam in place of ``dsan_tf.optimizers.FusedAdam``.
``--threads N`` gives both frameworks N threads (default: each its own choice, one per core). On a machine shared
with other jobs PyTorch's OpenMP threads can stall badly (a step many times slower with
2 threads than with 1 on a loaded 2-core machine): compare there with ``--threads 1``.

``--against-torch --profile`` profiles instead of timing: after the same warm-up, ``--steps``
(default 2) training steps of each framework run under its profiler (TF: ``tf.profiler``, the
op events of its executor threads; PyTorch: ``torch.profiler``, self CPU time of each op), with
1 thread per framework unless ``--threads`` says otherwise (op times are then CPU times, least
disturbed by other jobs). The op times are summed per part of the step (convolution forward,
convolution backward, BatchNorm, optimiser incl. weight decay, other; ``tf_part`` and
``torch_part`` say which ops go where) and printed per step, TF beside PyTorch, with the
largest op types left in "other" (``--profile-top``) to check the classification.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
import os
import re
import statistics
import sys
import tempfile
import time
import types
from collections import Counter
from pathlib import Path

from dsan_tf.errors import UserError
from dsan_tf.precision import cpu_description

PRECISIONS = ("float32", "mixed_bfloat16")
MODELS = ("dsan", "baseline")
HEADLINE_PRECISION = "mixed_bfloat16"
MAX_AUTO_STEPS = 10
REPO = Path(__file__).resolve().parents[1]  # the checkout (an editable install)
DEFAULT_TORCH_REFERENCE = Path("..") / "shared" / "bench" / "torch_dsan.py"  # relative to the checkout
TORCH_PRECISIONS = {"float32": "fp32", "mixed_bfloat16": "bf16"}  # the reference's names
PROFILE_STEPS = 2  # --profile's default --steps
PARTS = {  # --profile's parts of a training step: JSON key -> table label
    "conv_forward": "convolution forward",
    "conv_backward": "convolution backward (filter + input)",
    "batchnorm": "BatchNorm (forward + backward)",
    "optimizer": "optimiser (Adam, SGD, weight decay)",
    "other": "element-wise / other",
}


class SetupError(UserError):
    """Something the benchmark needs is missing; the message is one line for the user."""


@dataclasses.dataclass
class BenchSettings:
    """What to measure; the defaults are ``dsan bench``'s (its --help gives each field's flag)."""

    image_size: int = 112
    image_sizes: tuple = ()  # against PyTorch: every size to time (default: (image_size,))
    batch_size: int = 64
    num_classes: int = 7
    steps: int | None = None  # None: sized so that a round lasts about round_seconds
    round_seconds: float = 30.0
    warmup: int = 1
    rounds: int = 3
    precisions: tuple = PRECISIONS
    no_inference: bool = False
    seed: int = 0
    torch_reference: Path = REPO / DEFAULT_TORCH_REFERENCE
    threads: int | None = None
    with_keras_batchnorm: bool = False
    with_keras_adam: bool = False
    profile: bool = False
    profile_top: int = 10

    def __post_init__(self):
        if not self.image_sizes:
            self.image_sizes = (self.image_size,)

    @classmethod
    def of(cls, namespace) -> "BenchSettings":
        """The settings held by an object with the same attribute names (e.g. parsed flags)."""
        return cls(**{f.name: getattr(namespace, f.name) for f in dataclasses.fields(cls)})


def log(message):
    print(message, file=sys.stderr, flush=True)


def build(variant, precision, args, adam=None):
    import keras

    from dsan_tf.model import build_dsan
    from dsan_tf.optimizers import FusedAdam

    model = build_dsan(args.num_classes, args.image_size, variant, dtype=precision)
    model.compile(
        optimizer=(adam or FusedAdam)(1e-3),  # training's optimiser (dsan_tf.training.compile_for_training)
        centre_optimizer=keras.optimizers.SGD(0.9, momentum=0.9),
    )
    return model


class Runner:
    """One model's train and predict calls on a fixed batch."""

    def __init__(self, model, x, y):
        self.model, self.x, self.y = model, x, y
        model.make_train_function()
        self.train_function = model.train_function

    def train(self):
        logs = self.train_function([(self.x, self.y)])
        float(logs["loss"])  # wait for the step

    def infer(self):
        self.model.predict_on_batch(self.x)


def timed(fn, steps):
    """[(wall seconds, process CPU seconds)] of ``steps`` calls of ``fn``."""
    times = []
    for _ in range(steps):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return times


def bench_precision(precision, args):
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = tf.constant(rng.standard_normal((args.batch_size, args.image_size, args.image_size, 3), dtype=np.float32))
    y = tf.constant(rng.integers(0, args.num_classes, size=(args.batch_size,)), dtype=tf.int32)
    kinds = ("train",) if args.no_inference else ("train", "infer")

    runners, probe = {}, {kind: [] for kind in kinds}
    for variant in MODELS:
        log(f"[{precision}] building and warming up {variant}")
        runners[variant] = Runner(build(variant, precision, args), x, y)
        for kind in kinds:
            fn = getattr(runners[variant], kind)
            for _ in range(args.warmup if kind == "train" else max(args.warmup, 1)):
                fn()
            if args.steps is None:  # one more untimed step, after tracing, to size the rounds
                probe[kind].append(timed(fn, 1)[0][0])

    steps = {}
    for kind in kinds:
        if args.steps is not None:
            steps[kind] = args.steps
        else:
            steps[kind] = int(min(MAX_AUTO_STEPS, max(1, round(args.round_seconds / max(probe[kind])))))
        log(f"[{precision}] {kind}: {steps[kind]} timed steps per model per round")

    times = {kind: {v: [] for v in MODELS} for kind in kinds}
    for kind in kinds:
        for r in range(args.rounds):
            for variant in MODELS:  # dsan, baseline, dsan, baseline, ...
                step_times = timed(getattr(runners[variant], kind), steps[kind])
                times[kind][variant].append(step_times)
                log(
                    f"[{precision}] {kind} round {r + 1}/{args.rounds} {variant}: "
                    f"{args.batch_size / statistics.median(w for w, _ in step_times):.1f} img/s "
                    f"(median step {statistics.median(w for w, _ in step_times):.2f} s, "
                    f"CPU {statistics.median(c for _, c in step_times):.2f} s)"
                )

    result = {"steps": steps}
    for variant in MODELS:
        entry = {}
        for kind in kinds:
            rounds = [[wall for wall, _ in rnd] for rnd in times[kind][variant]]
            wall = [t for rnd in rounds for t in rnd]
            cpu = [c for rnd in times[kind][variant] for _, c in rnd]
            entry[f"{kind}_images_per_s"] = args.batch_size / statistics.median(wall)
            entry[f"{kind}_images_per_s_best"] = args.batch_size / min(wall)
            entry[f"{kind}_images_per_s_rounds"] = [args.batch_size / statistics.median(rnd) for rnd in rounds]
            entry[f"{kind}_step_seconds"] = wall
            entry[f"{kind}_step_cpu_seconds"] = cpu
            entry[f"{kind}_step_cpu_seconds_median"] = statistics.median(cpu)
        result[variant] = entry
    d, b = result["dsan"], result["baseline"]
    for kind in kinds:
        result[f"{kind}_ratio_dsan_over_baseline"] = d[f"{kind}_images_per_s"] / b[f"{kind}_images_per_s"]
        result[f"{kind}_ratio_best_dsan_over_baseline"] = (
            d[f"{kind}_images_per_s_best"] / b[f"{kind}_images_per_s_best"]
        )
        # Process CPU time per step: less sensitive than wall time to other jobs on a shared machine.
        result[f"{kind}_ratio_cpu_dsan_over_baseline"] = (
            b[f"{kind}_step_cpu_seconds_median"] / d[f"{kind}_step_cpu_seconds_median"]
        )
        result[f"{kind}_ratio_rounds"] = [
            dr / br for dr, br in zip(d[f"{kind}_images_per_s_rounds"], b[f"{kind}_images_per_s_rounds"])
        ]

    del runners
    gc.collect()
    return result


RATIO_KEYS = (
    "train_ratio_dsan_over_baseline",
    "infer_ratio_dsan_over_baseline",
    "train_ratio_cpu_dsan_over_baseline",
    "infer_ratio_cpu_dsan_over_baseline",
)



def summarise(results, args):
    out = {
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "precisions": results,
    }
    headline = HEADLINE_PRECISION if HEADLINE_PRECISION in results else args.precisions[0]
    out["headline_precision"] = headline
    out["train_ratio_dsan_over_baseline"] = results[headline]["train_ratio_dsan_over_baseline"]
    for precision, result in results.items():
        for key in RATIO_KEYS:
            if key in result:
                out[f"{key}_{precision}"] = result[key]
    return out



def run_throughput(settings) -> dict:
    """dsan against baseline, training and inference, in each of ``settings.precisions``: the summary
    (per-precision results, dsan/baseline ratios, the machine's load average and CPU count)."""
    load_before = os.getloadavg()[0]
    try:
        results = {precision: bench_precision(precision, settings) for precision in settings.precisions}
    except ValueError as error:  # e.g. a model setting build_dsan refuses
        raise SetupError(str(error)) from None
    summary = summarise(results, settings)
    summary["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    summary["cpu_count"] = os.cpu_count()
    return summary


# ------------------------------------------------------------- against PyTorch
def load_torch_reference(path):
    """The reference module (its ``DSAN`` class), or SetupError with a one-line reason."""
    path = Path(path)
    if not path.is_file():
        raise SetupError(f"PyTorch reference not found at {path} (give its path with --torch-reference)")
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise SetupError(f"--against-torch needs PyTorch, which is not installed here ({error})") from None
    spec = importlib.util.spec_from_file_location("torch_dsan_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "DSAN"):
        raise SetupError(f"{path} has no DSAN class: not the PyTorch DSAN reference")
    return module


class TorchRunner:
    """The reference's training step, as its ``main()`` runs it, on one fixed batch.

    Network: Adam(1e-3, weight_decay=1e-4); class centres: SGD(0.9, momentum=0.9);
    loss 0.4 * (CE(z1) + 0.01 L_C + 0.01 L_CCS) + 0.6 * CE(z2); mixed_bfloat16 runs the
    forward pass under ``torch.autocast(bfloat16)`` as the reference's ``bf16`` does.
    """

    def __init__(self, module, precision, x, y, num_classes, seed):
        import torch
        import torch.nn.functional as F

        self.torch, self.F = torch, F
        torch.manual_seed(seed)
        self.model = module.DSAN(K=num_classes, variant="dsan").train()
        network = [p for n, p in self.model.named_parameters() if n != "centres"]
        self.opt = torch.optim.Adam(network, 1e-3, weight_decay=1e-4)
        self.copt = torch.optim.SGD([self.model.centres], 0.9, momentum=0.9)
        self.bf16 = precision == "mixed_bfloat16"
        self.x = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())  # the TF batch, NCHW
        self.y = torch.from_numpy(y.astype("int64"))

    def train(self):
        torch, F, m, y = self.torch, self.F, self.model, self.y
        self.opt.zero_grad(set_to_none=True)
        self.copt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            (z1, z2), (a, h1) = m(self.x)
        a, h1 = a.float(), h1.float()
        c = m.centres[y]
        lc = 0.5 * (a * (a * h1 - c) ** 2).sum(1).mean()
        cn = F.normalize(m.centres, dim=1)
        cos = cn @ cn.t()
        lccs = (cos + 1).sum() - (cos.diag() + 1).sum()
        lfr = F.cross_entropy(z1.float(), y) + 0.01 * lc + 0.01 * lccs
        loss = 0.4 * lfr + 0.6 * F.cross_entropy(z2.float(), y)
        loss.backward()
        self.opt.step()
        self.copt.step()


def fixed_batch(image_size, args):
    """One setting's batch (NHWC float32 images, integer labels) as numpy arrays, after seeding Keras."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.standard_normal((args.batch_size, image_size, image_size, 3), dtype=np.float32)
    y = rng.integers(0, args.num_classes, size=(args.batch_size,))
    return x, y


def tf_runner(precision, image_size, args, x, y, adam=None, keras_batchnorm=False):
    """The TF DSAN training step on the batch (x, y); ``keras_batchnorm``: Keras' unfused BatchNorm in the trunk."""
    import tensorflow as tf

    from dsan_tf.resnet import FusedBatchNormalization

    model = build("dsan", precision, types.SimpleNamespace(**{**vars(args), "image_size": image_size}), adam=adam)
    if keras_batchnorm:
        for layer in model.layers:
            if isinstance(layer, FusedBatchNormalization):
                layer.fused = False  # before the train function traces
    return Runner(model, tf.constant(x), tf.constant(y, dtype=tf.int32))


def bench_against_torch(precision, image_size, args, module):
    """Alternating rounds of this project's and the reference's DSAN training step at one setting."""
    import keras

    x, y = fixed_batch(image_size, args)
    tag = f"[{precision} {image_size}px]"
    log(f"{tag} building and warming up tf and torch")
    tf_main = tf_runner(precision, image_size, args, x, y)
    runners = {"tf": tf_main.train}
    if args.with_keras_batchnorm:
        runners["tf-keras-bn"] = tf_runner(precision, image_size, args, x, y, keras_batchnorm=True).train
    if args.with_keras_adam:
        runners["tf-keras-adam"] = tf_runner(precision, image_size, args, x, y, adam=keras.optimizers.Adam).train
    runners["torch"] = TorchRunner(module, precision, x, y, args.num_classes, args.seed).train
    frameworks = tuple(runners)
    probe = []
    for name, fn in runners.items():
        for _ in range(max(args.warmup, 1)):  # the first tf call traces
            fn()
        if args.steps is None:
            probe.append(timed(fn, 1)[0][0])
    steps = args.steps or int(min(MAX_AUTO_STEPS, max(1, round(args.round_seconds / max(probe)))))
    log(f"{tag} {steps} timed steps per framework per round")
    times = {name: [] for name in frameworks}
    for r in range(args.rounds):
        for name in frameworks:  # tf, torch, tf, torch, ... (tf, tf-keras-bn, torch, ... with --with-keras-batchnorm)
            step_times = timed(runners[name], steps)
            times[name].append(step_times)
            median = statistics.median(w for w, _ in step_times)
            log(f"{tag} round {r + 1}/{args.rounds} {name}: {args.batch_size / median:.1f} img/s (median step {median:.2f} s)")
    result = {"precision": precision, "image_size": image_size, "steps": steps, "frameworks": list(frameworks)}
    for name in frameworks:
        wall = [w for rnd in times[name] for w, _ in rnd]
        cpu = [c for rnd in times[name] for _, c in rnd]
        result[name] = {
            "images_per_s": args.batch_size / statistics.median(wall),
            "images_per_s_best": args.batch_size / min(wall),
            "images_per_s_rounds": [args.batch_size / statistics.median(w for w, _ in rnd) for rnd in times[name]],
            "step_seconds": wall,
            "step_cpu_seconds": cpu,
            "step_cpu_seconds_median": statistics.median(cpu),
        }
    pairs = [("tf", "torch")]
    for variant in ("tf-keras-bn", "tf-keras-adam"):
        if variant in frameworks:
            pairs += [(variant, "torch"), ("tf", variant)]
    for a, b in pairs:
        key = f"{a}_over_{b}".replace("-", "_")
        t, p = result[a], result[b]
        result[f"ratio_{key}"] = t["images_per_s"] / p["images_per_s"]
        result[f"ratio_best_{key}"] = t["images_per_s_best"] / p["images_per_s_best"]
        result[f"ratio_cpu_{key}"] = p["step_cpu_seconds_median"] / t["step_cpu_seconds_median"]
        result[f"ratio_rounds_{key}"] = [x / z for x, z in zip(t["images_per_s_rounds"], p["images_per_s_rounds"])]
    result["ratio_rounds"] = result["ratio_rounds_tf_over_torch"]
    del runners, tf_main
    gc.collect()
    return result


# ------------------------------------------------------------- --profile
# TF scopes: a path segment that is a BatchNorm layer of the trunk (bn1, layer1_0_bn2,
# layer2_0_downsample_1) or of the heads (sparse_attention/bn1), with Keras' "_1" suffix.
_TF_BATCHNORM_SCOPE = re.compile(r"(?:^|_)(?:bn\d*|downsample_1)(?:_\d+)?$")
# dsan_tf.model._add_weight_decay's g + decay * w: unscoped "mul_12" / "add_12".
_TF_WEIGHT_DECAY = re.compile(r"(?:mul|add)(?:_\d+)?")


def tf_part(op_name, op_type):
    """The part of the step (a PARTS key) that a TF op (event "op_name:op_type") belongs to.

    Matches, first match wins: op types containing Conv2DBackprop (Conv2DBackpropFilter/Input,
    oneDNN's _MklNativeConv2DBackprop*) -> conv_backward; other types containing Conv2D (Conv2D,
    _MklNativeConv2D, _FusedConv2D) -> conv_forward; types containing BatchNorm (FusedBatchNormV3,
    _MklNativeFusedBatchNormEx (ReLU fused in), FusedBatchNormGradV3) or ops in a BatchNorm layer's
    scope (moving averages) -> batchnorm; names with "adam"/"sgd" (the optimisers' scopes),
    ResourceApply*/Assign* types, unscoped mul/add (the weight decay added to the gradients; also a
    few scalar loss ops of microseconds) -> optimizer; anything else -> other.
    """
    if "Conv2DBackprop" in op_type:
        return "conv_backward"
    if "Conv2D" in op_type:
        return "conv_forward"
    if "BatchNorm" in op_type or any(_TF_BATCHNORM_SCOPE.search(scope) for scope in op_name.split("/")[:-1]):
        return "batchnorm"
    if (
        "adam" in op_name.lower()
        or "sgd" in op_name.lower()
        or op_type.startswith(("ResourceApply", "Assign"))
        or _TF_WEIGHT_DECAY.fullmatch(op_name)
    ):
        return "optimizer"
    return "other"


def torch_part(names):
    """The part of the step (a PARTS key) of a PyTorch op, from its name then its callers' (innermost first).

    The callers matter: on CPU, Adam and SGD run one plain aten::add/div/sqrt/... per parameter
    inside "Optimizer.step#Adam.step" (no foreach kernels). Matches, the first name that matches
    decides: *convolution_backward* / ConvolutionBackward* -> conv_backward; other *convolution*
    / *conv2d* (aten::conv2d, aten::_convolution, aten::mkldnn_convolution) -> conv_forward;
    *batch_norm* / *BatchNorm* (aten::native_batch_norm, NativeBatchNormBackward0) -> batchnorm;
    Optimizer.* (step, zero_grad) / *_foreach_* / *_fused_adam* -> optimizer; no name matches -> other.
    """
    for name in names:
        if "convolution_backward" in name or "ConvolutionBackward" in name:
            return "conv_backward"
        if "convolution" in name or "conv2d" in name:
            return "conv_forward"
        if "batch_norm" in name or "BatchNorm" in name:
            return "batchnorm"
        if name.startswith("Optimizer.") or "_foreach_" in name or "_fused_adam" in name:
            return "optimizer"
    return "other"


def profile_tf(train, steps):
    """Counter {(part, op type): milliseconds} of ``steps`` calls of ``train`` under tf.profiler."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    times = Counter()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as logdir:  # the trace files go with it
        tf.profiler.experimental.start(logdir)
        try:
            for _ in range(steps):
                train()
        finally:
            tf.profiler.experimental.stop()
        for path in Path(logdir).rglob("*.xplane.pb"):
            space = xplane_pb2.XSpace.FromString(path.read_bytes())
            for plane in space.planes:
                # The executor threads run the ops; the Eigen pool's lines are work inside those ops.
                for line in (line for line in plane.lines if line.name.startswith("tf_Compute")):
                    for event in line.events:
                        name = plane.event_metadata[event.metadata_id].name
                        # Ops are "op_name:OpType" (node names have no ":"); the rest (ExecutorState::Process,
                        # MemoryAllocation, ...) is executor bookkeeping, some of it enclosing the ops.
                        if name.count(":") == 1:
                            op_name, op_type = name.split(":")
                            times[tf_part(op_name, op_type), op_type] += event.duration_ps / 1e9
    return times


def profile_torch(train, steps):
    """Counter {(part, op name): milliseconds of self CPU time} of ``steps`` calls of ``train`` under torch.profiler."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            train()
    times = Counter()
    for event in prof.events():
        names, caller = [event.name], event.cpu_parent
        while caller is not None:
            names.append(caller.name)
            caller = caller.cpu_parent
        times[torch_part(names), event.name] += event.self_cpu_time_total / 1e3  # self time: no double counting
    return times


def part_summary(times, steps, top):
    """Per-step op time by part, each part's share, and the ``top`` largest op types left in "other"."""
    parts = {part: sum(ms for (p, _), ms in times.items() if p == part) / steps for part in PARTS}
    total = sum(parts.values())
    other = Counter({op: ms / steps for (p, op), ms in times.items() if p == "other"})
    return {
        "op_ms_per_step": total,
        "parts": {part: {"ms_per_step": ms, "share": ms / total if total else 0.0} for part, ms in parts.items()},
        "other_top": [[op, ms] for op, ms in other.most_common(top)],
    }


def profile_against_torch(precision, image_size, args, module):
    """Op time per part of this project's and the reference's training step at one setting."""
    x, y = fixed_batch(image_size, args)
    tag = f"[{precision} {image_size}px]"
    log(f"{tag} building and warming up tf and torch")
    runners = {
        "tf": (tf_runner(precision, image_size, args, x, y).train, profile_tf),
        "torch": (TorchRunner(module, precision, x, y, args.num_classes, args.seed).train, profile_torch),
    }
    steps = args.steps or PROFILE_STEPS
    result = {"precision": precision, "image_size": image_size, "steps": steps, "frameworks": list(runners)}
    for train, _ in runners.values():
        for _ in range(max(args.warmup, 1)):  # as the timing rounds: the first tf call traces
            train()
    for name, (train, profile) in runners.items():
        log(f"{tag} profiling {steps} {name} step(s)")
        result[name] = part_summary(profile(train, steps), steps, args.profile_top)
    del runners
    gc.collect()
    return result


def run_against_torch(args):
    module = load_torch_reference(args.torch_reference)
    import tensorflow as tf
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
        try:
            tf.config.threading.set_intra_op_parallelism_threads(args.threads)
            tf.config.threading.set_inter_op_parallelism_threads(args.threads)
        except RuntimeError:  # TensorFlow already running in this process (e.g. under pytest)
            log("warning: TensorFlow is already initialised; its thread pools are kept (reported below)")
    load_before = os.getloadavg()[0]
    measure = profile_against_torch if args.profile else bench_against_torch
    results = [measure(precision, size, args, module) for precision in args.precisions for size in args.image_sizes]
    threads = {
        "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads() or "default",
        "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads() or "default",
        "torch": torch.get_num_threads(),
    }
    return {
        "mode": "profile" if args.profile else "against-torch",
        "cpu": cpu_description(),
        "tensorflow": tf.__version__,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "torch": torch.__version__,
        "torch_reference": str(Path(args.torch_reference).resolve()),
        "threads": threads,
        "batch_size": args.batch_size,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "results": results,
        **{
            f"{key}_{r['precision']}_{r['image_size']}": r[key]
            for r in results
            for key in r
            if key.startswith("ratio_tf") and not key.startswith("ratio_rounds")
        },
    }
