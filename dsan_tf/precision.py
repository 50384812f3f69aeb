"""Training precision: ``auto`` picks the fastest policy this machine runs natively.

- a GPU with float16 tensor cores (compute capability >= 7.0): ``mixed_float16``;
- a CPU with native bfloat16 (the ``amx_bf16`` or ``avx512_bf16`` flag): ``mixed_bfloat16``
  (1.3-1.6x float32's speed measured on an AMX Xeon);
- otherwise ``float32``: an AVX2-only CPU emulates bfloat16, about 11x slower than float32.
"""

import os
import platform
from pathlib import Path

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
CHOICES = ("auto", *POLICIES)
NATIVE_BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16")


def _cpuinfo_field(name, cpuinfo):
    """The first value of ``name`` in /proc/cpuinfo, or None (not Linux, or no such field)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def cpu_flags(cpuinfo=Path("/proc/cpuinfo")):
    """The CPU feature flags Linux reports (empty elsewhere)."""
    return set((_cpuinfo_field("flags", cpuinfo) or "").split())


def cpu_description(cpuinfo=Path("/proc/cpuinfo")):
    """{"model", "cpus", "isa"}: what a timing or a training run needs to say about the CPU it ran on
    (machines differ: an AVX2-only EPYC emulates bfloat16, an AMX Xeon runs it natively)."""
    flags = cpu_flags(cpuinfo)
    isa = [name for name in ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if name in flags]
    model = _cpuinfo_field("model name", cpuinfo) or platform.processor() or "unknown"
    return {"model": model, "cpus": os.cpu_count(), "isa": isa}


def float16_gpus():
    """Names of the visible GPUs with compute capability >= 7.0 (float16 tensor cores)."""
    import tensorflow as tf

    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        if tuple(details.get("compute_capability", (0, 0))) >= (7, 0):
            names.append(details.get("device_name", gpu.name))
    return names


def resolve_precision(requested="auto", flags=None, gpus=None):
    """-> (Keras dtype policy name, the reason, for the log and config.json).

    ``flags`` and ``gpus`` default to this machine's (``cpu_flags()``, ``float16_gpus()``).
    """
    if requested not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, got {requested!r}")
    if requested != "auto":
        return requested, f"{requested} as requested"
    gpus = float16_gpus() if gpus is None else gpus
    if gpus:
        return "mixed_float16", f"auto: GPU with float16 tensor cores ({', '.join(gpus)})"
    flags = cpu_flags() if flags is None else flags
    native = sorted(set(NATIVE_BFLOAT16_FLAGS) & set(flags))
    if native:
        return "mixed_bfloat16", f"auto: CPU has native bfloat16 ({', '.join(native)})"
    return "float32", "auto: no float16 GPU and no native bfloat16 on the CPU (bfloat16 would be emulated, ~11x slower)"
