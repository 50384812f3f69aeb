"""Import a torchvision-layout ResNet-18 state dict (e.g. ``resnet18_msceleb.pth``) into the Keras trunk.

The MS-Celeb-1M pretrained ResNet-18 that DAN, SCN and RAN distribute is a
torchvision state dict, possibly wrapped as ``{"state_dict": ...}`` and with the
``module.`` prefix of ``nn.DataParallel``. The Keras trunk (``dsan_tf.resnet``)
names its layers after torchvision's keys with ``.`` replaced by ``_``, so the
mapping is one to one; the ``fc`` head is ignored.

torch is an optional dependency: it is imported only inside
:func:`load_torch_state_dict`, and the file is read with
``torch.load(..., weights_only=True)`` (never a bare unpickle).
"""

import numpy as np

from dsan_tf.resnet import STAGE_BLOCKS

IGNORED_PREFIXES = ("fc.",)
IGNORED_SUFFIXES = (".num_batches_tracked",)
# torchvision BatchNorm2d parameter -> Keras BatchNormalization attribute.
BN_PARAMS = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


def load_torch_state_dict(path):
    """Read a PyTorch checkpoint safely and return ``{key: numpy array}``.

    The file is loaded with ``torch.load(path, map_location="cpu", weights_only=True)``.
    A top-level ``state_dict`` entry is unwrapped and ``module.`` prefixes are
    stripped. Tensors become NumPy arrays; any other value is kept as is (and
    reported as unexpected by :func:`assign_resnet18_weights`).
    """
    try:
        import torch
    except ImportError as error:  # torch is an optional dependency
        raise ImportError(
            "Importing PyTorch weights needs torch, an optional dependency of dsan_tf: "
            "pip install -r requirements-dev.txt (torch==2.13.0, CPU wheel)"
        ) from error
    try:
        checkpoint = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # pickle.UnpicklingError and friends
        raise ValueError(
            f"Could not load {path} with torch.load(weights_only=True): {error}. "
            "Only plain state dicts (tensors in dicts) are accepted; a pickled nn.Module or "
            "a checkpoint holding arbitrary Python objects is refused rather than unpickled."
        ) from error
    state_dict = unwrap_state_dict(checkpoint)
    return {key: (value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value)
            for key, value in state_dict.items()}


def unwrap_state_dict(checkpoint):
    """``checkpoint["state_dict"]`` if present, with ``module.`` prefixes stripped from every key."""
    if not isinstance(checkpoint, dict):
        raise ValueError(f"Expected a state dict (a dict of tensors), got {type(checkpoint).__name__}")
    if "state_dict" in checkpoint and isinstance(checkpoint["state_dict"], dict):
        checkpoint = checkpoint["state_dict"]
    state_dict = {}
    for key, value in checkpoint.items():
        key = str(key)
        while key.startswith("module."):
            key = key[len("module.") :]
        state_dict[key] = value
    return state_dict


def resnet18_layer_names():
    """``(convolutions, batch norms)``: torchvision module names of the ResNet-18 trunk."""
    convs, bns = ["conv1"], ["bn1"]
    for stage, blocks in enumerate(STAGE_BLOCKS, start=1):
        for block in range(blocks):
            prefix = f"layer{stage}.{block}"
            convs += [f"{prefix}.conv1", f"{prefix}.conv2"]
            bns += [f"{prefix}.bn1", f"{prefix}.bn2"]
            if block == 0 and stage > 1:
                convs.append(f"{prefix}.downsample.0")
                bns.append(f"{prefix}.downsample.1")
    return convs, bns


def keras_layer_name(torch_module):
    """torchvision module name -> Keras layer name (``layer2.0.downsample.0`` -> ``layer2_0_downsample_0``)."""
    return torch_module.replace(".", "_")


def _find_layer(model, name):
    for layer in model.layers:
        if layer.name == name:
            return layer
    return None


def _conv_kernel(weight):
    """PyTorch (O, I, kh, kw) -> Keras (kh, kw, I, O)."""
    return np.transpose(weight, (2, 3, 1, 0))


def assign_resnet18_weights(model, state_dict):
    """Copy a torchvision ResNet-18 state dict into a Keras ResNet-18 trunk.

    ``model`` is a ``DSAN`` model or ``build_resnet18_trunk()``; the trunk's layers
    are found by name. ``state_dict`` maps torchvision keys to arrays or tensors
    (``module.``/``state_dict`` wrapping is undone here too). ``fc.*`` and
    ``*.num_batches_tracked`` are ignored. Every key is checked first; missing
    keys, unexpected keys and shape mismatches are reported together in one
    ``ValueError`` and nothing is assigned in that case.

    Returns the list of Keras layer names that were assigned.
    """
    state_dict = unwrap_state_dict(state_dict)
    convs, bns = resnet18_layer_names()
    # (torch key, keras variable, converter)
    plan, missing_layers = [], []
    for module in convs:
        layer = _find_layer(model, keras_layer_name(module))
        if layer is None:
            missing_layers.append(keras_layer_name(module))
            continue
        plan.append((f"{module}.weight", layer.kernel, _conv_kernel))
    for module in bns:
        layer = _find_layer(model, keras_layer_name(module))
        if layer is None:
            missing_layers.append(keras_layer_name(module))
            continue
        for param, attribute in BN_PARAMS.items():
            plan.append((f"{module}.{param}", getattr(layer, attribute), lambda a: a))
    if missing_layers:
        raise ValueError(
            f"{getattr(model, 'name', model)!r} is not a ResNet-18 trunk in torchvision layout: "
            f"no Keras layer named {', '.join(missing_layers)}"
        )

    expected = {key for key, _, _ in plan}
    considered = {
        key: value
        for key, value in state_dict.items()
        if not key.startswith(IGNORED_PREFIXES) and not key.endswith(IGNORED_SUFFIXES)
    }
    missing = sorted(expected - set(considered))
    unexpected = sorted(set(considered) - expected)
    mismatched, values = [], []
    for key, variable, convert in plan:
        if key not in considered:
            continue
        value = considered[key]
        if not hasattr(value, "shape"):
            mismatched.append(f"{key}: not a tensor ({type(value).__name__})")
            continue
        value = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
        target = tuple(variable.shape)
        if value.ndim != len(target) or tuple(convert(value).shape) != target:
            torch_shape = tuple(_conv_kernel_shape_to_torch(target)) if convert is _conv_kernel else target
            mismatched.append(f"{key}: checkpoint {tuple(value.shape)} vs model {torch_shape} (torch layout)")
            continue
        values.append((variable, convert(value)))
    if missing or unexpected or mismatched:
        lines = ["The state dict does not match the ResNet-18 trunk:"]
        if missing:
            lines.append(f"  missing keys ({len(missing)}): {', '.join(missing)}")
        if unexpected:
            lines.append(f"  unexpected keys ({len(unexpected)}): {', '.join(unexpected)}")
        if mismatched:
            lines.append(f"  shape mismatches ({len(mismatched)}):")
            lines += [f"    {line}" for line in mismatched]
        raise ValueError("\n".join(lines))
    for variable, value in values:
        variable.assign(value.astype(variable.dtype))
    return [keras_layer_name(m) for m in convs + bns]


def _conv_kernel_shape_to_torch(shape):
    kh, kw, i, o = shape
    return (o, i, kh, kw)


def load_resnet18_weights(model, path):
    """``assign_resnet18_weights(model, load_torch_state_dict(path))``."""
    return assign_resnet18_weights(model, load_torch_state_dict(path))
