"""ResNet-18 trunk in torchvision's layout, built with the Keras functional API.

Layer names mirror torchvision's state-dict keys (``layer1.0.conv1`` becomes
``layer1_0_conv1``) so that PyTorch weights map onto it one to one. Padding is
explicit and symmetric (``ZeroPadding2D`` + ``padding="valid"``) because TF's
``"same"`` pads asymmetrically at stride 2 and would not reproduce PyTorch.
"""

import keras
from keras import layers

# PyTorch's BatchNorm defaults, so converted weights give PyTorch's outputs.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
TRUNK_CHANNELS = 512
TRUNK_STRIDE = 32
STAGE_BLOCKS = (2, 2, 2, 2)
STAGE_CHANNELS = (64, 128, 256, 512)


def batch_norm(name, dtype=None, synchronized=False):
    return layers.BatchNormalization(
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
