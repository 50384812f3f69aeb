"""ResNet-18 trunk in torchvision's layout, built with the Keras functional API.

Layer names mirror torchvision's state-dict keys (``layer1.0.conv1`` becomes
``layer1_0_conv1``) so that PyTorch weights map onto it one to one. Padding is
explicit and symmetric (``ZeroPadding2D`` + ``padding="valid"``) because TF's
``"same"`` pads asymmetrically at stride 2 and would not reproduce PyTorch.
"""

import keras
import tensorflow as tf
from keras import layers

# PyTorch's BatchNorm defaults, so converted weights give PyTorch's outputs.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
TRUNK_CHANNELS = 512
TRUNK_STRIDE = 32
STAGE_BLOCKS = (2, 2, 2, 2)
STAGE_CHANNELS = (64, 128, 256, 512)


@keras.saving.register_keras_serializable(package="dsan_tf")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras ``BatchNormalization`` whose training step runs TensorFlow's fused kernel where it may.

    Keras 3's TensorFlow backend always normalises with separate ops: ``tf.nn.moments``
    (or, with ``synchronized=True``, per-channel sums, sums of squares and counts
    all-reduced over the replicas) and ``tf.nn.batch_normalization``, about a dozen
    element-wise ops forward and twice that in the gradient, each a pass over the
    activation. In training this layer calls ``FusedBatchNormV3`` instead (one pass
    forward, one ``FusedBatchNormGradV3`` backward; oneDNN's kernels when TensorFlow
    uses oneDNN) when that computes the same thing:

    - the input is a 4-D channels-last tensor, no mask, no batch renormalisation,
      float32 statistics (Keras casts float16/bfloat16 inputs to float32 first; the fused
      kernel takes them as they are and computes in float32 internally, same result);
    - the statistics are this replica's batch: ``synchronized=False``, or one replica in
      sync (the default strategy, or a strategy with a single device). With several
      replicas and ``synchronized=True`` the statistics are over the global batch, as in
      Keras' layer (see ``_moments``). ``fused`` below switches this off.

    The moving statistics follow Keras' rule (biased batch variance), not the fused
    op's unbiased one. Inference (``training=False``) is Keras' layer unchanged. Results
    differ from Keras' unfused path by float rounding only. With several replicas the
    synchronized variance is computed in two passes (see ``_moments``), closer to what the
    fused kernel computes on one replica than Keras' E[x^2] - E[x]^2.
    """

    # When the fused kernel is used in training (set on an instance before its first training
    # call traces, or on the class):
    # - True (default): whenever the statistics are this replica's own: a non-synchronized
    #   layer at any replica count, a synchronized one when one replica is in sync.
    # - None: for a non-synchronized layer only (a synchronized one keeps Keras' arithmetic).
    # - False: never (Keras' layer unchanged; experiments/bench.py --with-keras-batchnorm).
    fused = True

    def _use_fused(self, inputs, training, mask):
        if self.fused is False or not (training and self.trainable) or mask is not None or self.renorm:
            return False
        rank = len(inputs.shape)
        if rank != 4 or self.axis not in (-1, 3) or inputs.shape[-1] is None:
            return False
        if keras.backend.result_type(inputs.dtype, "float32") != "float32":
            return False
        if not self.synchronized:
            return True
        return self.fused is True and tf.distribute.get_strategy().num_replicas_in_sync == 1

    def _moments(self, inputs, mask):
        """Keras' moments, except with several replicas (and ``fused=True``): two passes over the global batch.

        Keras' synchronized statistics compute the variance as E[x^2] - E[x]^2 (one all-reduce
        of sums and sums of squares); that differs from the fused kernel's single-replica
        variance by more than rounding where the mean is large against the spread. Here the
        global mean is all-reduced first, then the sum of squared deviations from it: the
        same variance as one replica on the whole batch, up to float rounding.
        """
        context = tf.distribute.get_replica_context()
        if self.fused is not True or mask is not None or not self.synchronized or context is None:
            return super()._moments(inputs, mask)
        if context.num_replicas_in_sync == 1:
            return super()._moments(inputs, mask)
        axes = self._reduction_axes
        x = tf.convert_to_tensor(inputs)
        count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)
        total = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(x, axis=axes))
        count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
        mean = tf.math.divide_no_nan(total, count)
        squares = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(tf.square(x - mean), axis=axes))
        return mean, tf.math.divide_no_nan(squares, count)

    def call(self, inputs, training=None, mask=None):
        if not self._use_fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        # bfloat16/float16 activations go in as they are: the kernel computes its statistics
        # and its output in float32 and rounds the output once, which is what casting to
        # float32 first and back afterwards gives, minus two casts per layer and pass.
        x = tf.convert_to_tensor(inputs)
        channels = x.shape[-1]
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones((channels,), tf.float32)
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros((channels,), tf.float32)
        empty = tf.zeros((0,), tf.float32)
        # tf.raw_ops, not tf.compat.v1.nn.fused_batch_norm: the wrapper raises epsilon to 1.001e-5.
        y, mean, unbiased_variance, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=x,
            scale=gamma,
            offset=beta,
            mean=empty,
            variance=empty,
            epsilon=self.epsilon,
            exponential_avg_factor=1.0,
            data_format="NHWC",
            is_training=True,
        )
        # The op returns the batch variance with Bessel's correction; Keras' moving
        # variance averages the biased one (the one the output was normalised with).
        count = tf.cast(tf.size(x) // channels, tf.float32)
        variance = unbiased_variance * ((count - 1.0) / tf.maximum(count, 1.0))
        momentum = self.momentum
        self.moving_mean.assign(tf.cast(self.moving_mean, tf.float32) * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(
            tf.cast(self.moving_variance, tf.float32) * momentum + variance * (1.0 - momentum)
        )
        return tf.cast(y, self.compute_dtype)


def batch_norm(name, dtype=None, synchronized=False):
    return FusedBatchNormalization(
        momentum=BN_MOMENTUM, epsilon=BN_EPSILON, synchronized=synchronized, name=name, dtype=dtype
    )


def conv(filters, kernel_size, strides, name, dtype=None):
    return layers.Conv2D(
        filters, kernel_size, strides=strides, padding="valid", use_bias=False, name=name, dtype=dtype
    )


def _basic_block(x, filters, strides, prefix, dtype, sync_bn):
    shortcut = x
    y = layers.ZeroPadding2D(1, name=f"{prefix}_pad1", dtype=dtype)(x)
    y = conv(filters, 3, strides, f"{prefix}_conv1", dtype)(y)
    y = batch_norm(f"{prefix}_bn1", dtype, sync_bn)(y)
    y = layers.ReLU(name=f"{prefix}_relu1", dtype=dtype)(y)
    y = layers.ZeroPadding2D(1, name=f"{prefix}_pad2", dtype=dtype)(y)
    y = conv(filters, 3, 1, f"{prefix}_conv2", dtype)(y)
    y = batch_norm(f"{prefix}_bn2", dtype, sync_bn)(y)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = conv(filters, 1, strides, f"{prefix}_downsample_0", dtype)(shortcut)
        shortcut = batch_norm(f"{prefix}_downsample_1", dtype, sync_bn)(shortcut)
    y = layers.Add(name=f"{prefix}_add", dtype=dtype)([y, shortcut])
    return layers.ReLU(name=f"{prefix}_out", dtype=dtype)(y)


def resnet18_features(images, dtype=None, sync_bn=False):
    """Apply the ResNet-18 trunk (conv1 … layer4) to a Keras tensor; returns the last feature map."""
    x = layers.ZeroPadding2D(3, name="conv1_pad", dtype=dtype)(images)
    x = conv(64, 7, 2, "conv1", dtype)(x)
    x = batch_norm("bn1", dtype, sync_bn)(x)
    x = layers.ReLU(name="relu", dtype=dtype)(x)
    x = layers.ZeroPadding2D(1, name="maxpool_pad", dtype=dtype)(x)
    # Zero padding is safe before max-pooling here: inputs are post-ReLU (>= 0).
    x = layers.MaxPooling2D(3, strides=2, name="maxpool", dtype=dtype)(x)
    for stage, (blocks, filters) in enumerate(zip(STAGE_BLOCKS, STAGE_CHANNELS), start=1):
        for block in range(blocks):
            strides = 2 if (block == 0 and stage > 1) else 1
            x = _basic_block(x, filters, strides, f"layer{stage}_{block}", dtype, sync_bn)
    return x


LAST_CONV_LAYER = "layer4_1_out"


def build_resnet18_trunk(image_size=224, dtype=None, name="resnet18_trunk"):
    """A standalone functional trunk model: image -> (h, w, 512) feature map."""
    images = keras.Input((image_size, image_size, 3), name="image")
    return keras.Model(images, resnet18_features(images, dtype), name=name)
