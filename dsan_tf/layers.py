"""The two attention blocks of DSAN as serialisable Keras layers."""

import keras
from keras import layers, ops

from dsan_tf.resnet import BN_EPSILON, BN_MOMENTUM


@keras.saving.register_keras_serializable(package="dsan_tf")
class SparseAttention(layers.Layer):
    """Sparse attention of GFE-AN (Eq. 2): a = ReLU(BN(FC_d(BN(FC_{d/r}(h))))).

    The paper's Eq. 2 shows two FC layers and a final ReLU; Table 7's parameter
    counts match exactly a BatchNorm after each FC, with d/r rounded down, so it
    is built that way. ``num_layers=1`` gives the single-FC variant of Table 7.
    ``synchronized=True`` computes the BatchNorm statistics over the global batch
    under a distribution strategy (as the trunk's), so N replicas match one.
    """

    def __init__(self, reduction=2, num_layers=2, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if reduction < 1:
            raise ValueError(f"SparseAttention: reduction ratio r must be >= 1, got {reduction}")
        if num_layers not in (1, 2):
            raise ValueError(f"SparseAttention: num_layers must be 1 or 2, got {num_layers}")
        self.reduction = int(reduction)
        self.num_layers = int(num_layers)
        self.synchronized = bool(synchronized)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        hidden = dim // self.reduction
        if hidden < 1:
            raise ValueError(f"SparseAttention: d={dim} // r={self.reduction} leaves no hidden units")
        policy = self.dtype_policy
        self.depth = len(widths := ([hidden, dim] if self.num_layers == 2 else [dim]))
        shape = tuple(input_shape)
        for i, width in enumerate(widths, start=1):
            fc = layers.Dense(width, name=f"fc{i}", dtype=policy)
            bn = layers.BatchNormalization(
                momentum=BN_MOMENTUM, epsilon=BN_EPSILON, synchronized=self.synchronized, name=f"bn{i}", dtype=policy
            )
            fc.build(shape)
            shape = shape[:-1] + (width,)
            bn.build(shape)
            # Plain attributes, not a list: tf.train.Checkpoint tracks attributes of Keras 3
            # layers, so the BatchNorm moving statistics are checkpointed too.
            setattr(self, f"fc{i}", fc)
            setattr(self, f"bn{i}", bn)

    @property
    def blocks(self):
        """The (Dense, BatchNormalization) pairs, in order."""
        return [(getattr(self, f"fc{i}"), getattr(self, f"bn{i}")) for i in range(1, self.depth + 1)]

    def call(self, h, training=None):
        x = h
        for fc, bn in self.blocks:
            x = bn(fc(x), training=training)
        return ops.relu(x)

    def get_config(self):
        return {
            **super().get_config(),
            "reduction": self.reduction,
            "num_layers": self.num_layers,
            "synchronized": self.synchronized,
        }


@keras.saving.register_keras_serializable(package="dsan_tf")
class LocalFeatureAttention(layers.Layer):
    """HFE2 + LFA of MFF-AN (Eqs. 8-9) for all F chunks as one grouped op.

    v (N, C) is split into F chunks of C/F; chunk f gets its own FC + ReLU
    (g_f), a scalar gate b_f = sigmoid(w_f . g_f + c_f), and the output is
    sum_f b_f g_f (N, C/F). Returns (h2, b) with b of shape (N, F).
    ``use_hfe=False`` skips the per-chunk FC; ``use_lfa=False`` sums with b_f = 1.
    """

    def __init__(self, num_splits=4, use_hfe=True, use_lfa=True, **kwargs):
        super().__init__(**kwargs)
        self.num_splits = int(num_splits)
        self.use_hfe = bool(use_hfe)
        self.use_lfa = bool(use_lfa)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if self.num_splits < 1 or channels % self.num_splits:
            raise ValueError(
                f"LocalFeatureAttention: split number F={self.num_splits} must divide the "
                f"feature size C={channels}"
            )
        self.chunk = channels // self.num_splits
        f, c = self.num_splits, self.chunk
        if self.use_hfe:
            self.hfe_kernel = self.add_weight(
                name="hfe_kernel", shape=(f, c, c), initializer=_grouped_glorot(c, c)
            )
            self.hfe_bias = self.add_weight(name="hfe_bias", shape=(f, c), initializer="zeros")
        if self.use_lfa:
            self.lfa_kernel = self.add_weight(
                name="lfa_kernel", shape=(f, c), initializer=_grouped_glorot(c, 1)
            )
            self.lfa_bias = self.add_weight(name="lfa_bias", shape=(f,), initializer="zeros")

    def call(self, v):
        chunks = ops.reshape(v, (-1, self.num_splits, self.chunk))
        if self.use_hfe:
            g = ops.relu(ops.einsum("nfc,fcd->nfd", chunks, self.hfe_kernel) + self.hfe_bias)
        else:
            g = chunks
        if self.use_lfa:
            b = ops.sigmoid(ops.einsum("nfd,fd->nf", g, self.lfa_kernel) + self.lfa_bias)
        else:
            b = ops.ones_like(g[..., 0])
        h2 = ops.einsum("nf,nfd->nd", b, g)
        return h2, b

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(input_shape[-1]) // self.num_splits), (input_shape[0], self.num_splits)

    def get_config(self):
        return {
            **super().get_config(),
            "num_splits": self.num_splits,
            "use_hfe": self.use_hfe,
            "use_lfa": self.use_lfa,
        }


def _grouped_glorot(fan_in, fan_out):
    """Glorot-uniform with the fans of one chunk, not of the stacked (F, ...) tensor."""
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    return keras.initializers.RandomUniform(-limit, limit)


@keras.saving.register_keras_serializable(package="dsan_tf")
class DecisionFusion(layers.Layer):
    """Decision-level fusion: p = sum_s w_s softmax(z_s), computed in float32.

    With one stream and weight 1 it is a plain softmax (variants baseline, gfe, mff).

    ``class_scale`` (optional, one positive factor per class) multiplies the fused
    probabilities, which are then renormalised: the post-hoc prior correction
    p_k ∝ p_k · π_k^(−τ) of logit adjustment (Menon et al. 2021), set on a trained model by
    :func:`dsan_tf.calibration.with_prior_correction`. It changes predictions only, never
    training (the losses use the logits), and every export traces it with the model.
    """

    def __init__(self, weights=(0.4, 0.6), class_scale=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.stream_weights = tuple(float(w) for w in weights)
        self.class_scale = None if class_scale is None else tuple(float(s) for s in class_scale)
        if self.class_scale is not None and not all(s > 0 and s < float("inf") for s in self.class_scale):
            raise ValueError(f"DecisionFusion: class_scale must be finite and positive, got {self.class_scale}")

    def call(self, logits):
        logits = logits if isinstance(logits, (list, tuple)) else [logits]
        if len(logits) != len(self.stream_weights):
            raise ValueError(f"DecisionFusion: {len(logits)} logits for {len(self.stream_weights)} weights")
        probabilities = [w * ops.softmax(ops.cast(z, "float32"), axis=-1) for w, z in zip(self.stream_weights, logits)]
        fused = probabilities[0] if len(probabilities) == 1 else ops.sum(ops.stack(probabilities, 0), axis=0)
        if self.class_scale is None:
            return fused
        scaled = fused * ops.convert_to_tensor(self.class_scale, dtype="float32")
        return scaled / ops.sum(scaled, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return input_shape[0] if isinstance(input_shape, list) else input_shape

    def get_config(self):
        config = {**super().get_config(), "weights": self.stream_weights}
        if self.class_scale is not None:  # absent from older models' configs: they load unchanged
            config["class_scale"] = self.class_scale
        return config
