"""Parameter and MAC counts of a DSAN model, in the convention of the paper's counter (thop).

What is counted (batch 1, shapes read from the functional graph):

- ``Conv2D``: k_h * k_w * C_in/groups * C_out * H_out * W_out multiply-accumulates;
  the bias adds nothing (ResNet-18's convolutions have none anyway).
- ``Dense``: in * out multiply-accumulates per output row; nothing for the bias.
- ``BatchNormalization``: 2 per output element (thop's ``count_normalization`` for a
  BatchNorm with affine parameters in eval mode: a scale and a shift once fused).
- ``SparseAttention``: its FC layers and BatchNorms by the two rules above:
  d*(d/r) + 2*(d/r) + (d/r)*d + 2*d for two layers, d*d + 2*d for one.
- ``LocalFeatureAttention`` (F chunks of c = C/F): HFE2 F*c*c (the grouped
  (F, c, c) einsum, bias free), LFA F*c (one c-vector dot product per chunk),
  and the weighted sum sum_f b_f g_f, F*c (one multiply-accumulate per element
  of each g_f). With ``use_hfe=False`` or ``use_lfa=False`` the absent term is 0.
- Zero: zero padding, ReLU, sigmoid, max pooling, global max pooling, ``Add``,
  the element-wise ``Multiply`` of the recalibration a*h1 (an element-wise product
  with no accumulation, like the residual ``Add``), the softmaxes and the weighted
  sum of the decision fusion. thop has no rule for ReLU/max-pool modules
  (``zero_ops``) and does not see functional tensor ops (``+``, ``*``, softmax).

FLOPs are 2 * MACs. The paper's Table 1 "MFLOPs" column is thop's output, which is
MACs in this convention: compare it with ``macs``, not ``flops``.
"""

from __future__ import annotations

import math
import warnings

import keras

from dsan_tf.layers import DecisionFusion, LocalFeatureAttention, SparseAttention

# The paper's figures (Table 1 and Table 7), for printing beside ours.
PAPER_TABLE1 = {
    "baseline": {"params_m": 11.18, "mflops": 1818.56},
    "dsan": {"params_m": 11.33, "mflops": 1821.82},
}
# (layers, r) -> parameters of the sparse attention block at d = 128.
PAPER_TABLE7 = {
    (1, 1): 16768,
    (2, 1): 33536,
    (2, 2): 16960,
    (2, 3): 11262,
    (2, 4): 8672,
    (2, 5): 6859,
    (2, 6): 5823,
}

# Layers that cost nothing in thop's convention (see the module docstring).
ZERO_COST_LAYERS = (
    keras.layers.InputLayer,
    keras.layers.ZeroPadding2D,
    keras.layers.ReLU,
    keras.layers.Activation,
    keras.layers.MaxPooling2D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.Add,
    keras.layers.Multiply,
    keras.layers.Dropout,
    keras.layers.Flatten,
    keras.layers.Reshape,
    DecisionFusion,
)


def _size(variables):
    return int(sum(math.prod(v.shape) for v in variables))


def count_parameters(model):
    """Weights of ``model``: ``params_trainable`` (network, class centres excluded),
    ``params_non_trainable`` (BatchNorm moving statistics) and ``centres`` (K x d).

    The class centres are a trainable model weight (SGD), counted apart as the paper does.
    """
    centres = getattr(model, "class_centres", None)
    centre_ids = {id(centres)} if centres is not None else set()
    trainable = [v for v in model.trainable_weights if id(v) not in centre_ids]
    return {
        "params_trainable": _size(trainable),
        "params_non_trainable": _size(model.non_trainable_weights),
        "centres": _size([centres]) if centres is not None else 0,
    }


def _shapes(tensors):
    if isinstance(tensors, (list, tuple)):
        return [tuple(t.shape) for t in tensors]
    return [tuple(tensors.shape)]


def _elements(shape):
    """Elements of one example (the batch axis counts as 1)."""
    return int(math.prod(1 if d is None else int(d) for d in shape[1:]))


def layer_macs(layer):
    """MACs of one layer of a built functional graph at batch 1 (see the module docstring)."""
    if isinstance(layer, keras.Model):
        return count_macs(layer)
    if isinstance(layer, ZERO_COST_LAYERS):
        return 0
    out_shape = _shapes(layer.output)[0]
    in_shape = _shapes(layer.input)[0]
    if isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.Conv2DTranspose):
        kh, kw = layer.kernel_size
        groups = getattr(layer, "groups", 1) or 1
        c_in = int(in_shape[-1] if layer.data_format == "channels_last" else in_shape[1])
        return kh * kw * (c_in // groups) * _elements(out_shape)
    if isinstance(layer, keras.layers.Dense):
        return int(in_shape[-1]) * _elements(out_shape)
    if isinstance(layer, keras.layers.BatchNormalization):
        return 2 * _elements(out_shape)
    if isinstance(layer, SparseAttention):
        macs, width = 0, int(in_shape[-1])
        for fc, _bn in layer.blocks:
            macs += width * fc.units + 2 * fc.units
            width = fc.units
        return macs
    if isinstance(layer, LocalFeatureAttention):
        f, c = layer.num_splits, layer.chunk
        hfe = f * c * c if layer.use_hfe else 0
        lfa = f * c if layer.use_lfa else 0
        weighted_sum = f * c
        return hfe + lfa + weighted_sum
    if layer.weights:
        raise NotImplementedError(
            f"count_macs: no MAC rule for layer {layer.name!r} of type {type(layer).__name__}"
        )
    warnings.warn(f"count_macs: counting 0 MACs for weightless layer {layer.name!r} ({type(layer).__name__})")
    return 0


def count_macs(model):
    """Multiply-accumulates of one forward pass at batch 1, thop's convention (see module docstring)."""
    return int(sum(layer_macs(layer) for layer in model.layers))


def macs_by_part(model, trunk_prefixes=("conv1", "bn1", "layer")):
    """MACs of the ResNet-18 trunk and of everything after it (pooling and heads), for reporting."""
    trunk = sum(layer_macs(l) for l in model.layers if l.name.startswith(trunk_prefixes))
    total = count_macs(model)
    return {"trunk": int(trunk), "heads": int(total - trunk)}


def profile(model):
    """Parameters, MACs and FLOPs (= 2 * MACs) of ``model`` as one dict."""
    macs = count_macs(model)
    return {**count_parameters(model), "macs": macs, "flops": 2 * macs}


def sparse_attention_params(reduction, num_layers=2, dim=128):
    """Trainable weights of a ``SparseAttention`` block on a d-vector (Table 7), built for real."""
    block = SparseAttention(reduction, num_layers, dtype="float32")
    block.build((None, dim))
    return _size(block.trainable_weights)


def table7_rows(dim=128):
    """[(layers, r, ours, paper)] for the rows of the paper's Table 7."""
    return [(n, r, sparse_attention_params(r, n, dim), paper) for (n, r), paper in PAPER_TABLE7.items()]


def relative_difference(ours, paper):
    return (float(ours) - float(paper)) / float(paper)


__all__ = [
    "PAPER_TABLE1",
    "PAPER_TABLE7",
    "count_macs",
    "count_parameters",
    "layer_macs",
    "macs_by_part",
    "profile",
    "relative_difference",
    "sparse_attention_params",
    "table7_rows",
]
