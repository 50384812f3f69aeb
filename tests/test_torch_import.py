"""PyTorch ResNet-18 state dict -> Keras trunk: same features, wrapping undone, clear errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch (requirements-dev.txt) is needed to test the PyTorch weight import")
nn = torch.nn

from dsan_tf.model import DSAN  # noqa: E402
from dsan_tf.resnet import build_resnet18_trunk  # noqa: E402
from dsan_tf.torch_import import assign_resnet18_weights, load_torch_state_dict  # noqa: E402

IMAGE_SIZE = 64


# torchvision's ResNet-18, written out by hand (torchvision is not installed here);
# module names, and so state-dict keys, are torchvision's.
class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for stage, planes in enumerate((64, 128, 256, 512), start=1):
            stride = 1 if stage == 1 else 2
            setattr(self, f"layer{stage}", nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)))
            inplanes = planes
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def random_resnet18(seed=0):
    torch.manual_seed(seed)
    net = ResNet18(num_classes=12)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if isinstance(module, nn.BatchNorm2d):
                # gamma < 1 keeps the residual sums O(1), so 1e-4 absolute is a real test
                module.weight.uniform_(0.2, 0.6)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.num_batches_tracked.fill_(7)
    return net.eval()


def torch_features(net, images_nhwc):
    with torch.no_grad():
        out = net.features(torch.from_numpy(images_nhwc.transpose(0, 3, 1, 2).copy()))
    return out.numpy().transpose(0, 2, 3, 1)


@pytest.fixture(scope="module")
def net():
    return random_resnet18()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).normal(size=(2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")


def test_trunk_features_match_pytorch(net, images, tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(net.state_dict(), path)
    trunk = build_resnet18_trunk(IMAGE_SIZE)
    assigned = assign_resnet18_weights(trunk, load_torch_state_dict(path))
    assert len(assigned) == 40  # 20 convolutions (3 of them downsample) + 20 BatchNorms
    expected = torch_features(net, images)
    got = trunk(images, training=False).numpy()
    assert got.shape == expected.shape == (2, 2, 2, 512)
    diff = np.max(np.abs(got - expected))
    print(f"trunk max abs diff vs PyTorch: {diff:.3g} (feature scale {np.max(np.abs(expected)):.3g})")
    assert diff < 1e-4


def test_dsan_trunk_takes_wrapped_state_dict(net, images, tmp_path):
    """``{"state_dict": {"module." + key: ...}}`` (DataParallel checkpoints) loads into a DSAN model."""
    wrapped = {"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}, "epoch": 40}
    path = tmp_path / "resnet18_msceleb_like.pth"
    torch.save(wrapped, path)
    state_dict = load_torch_state_dict(path)
    assert "conv1.weight" in state_dict and not any(k.startswith("module.") for k in state_dict)
    model = DSAN(num_classes=4, image_size=IMAGE_SIZE)
    assign_resnet18_weights(model, state_dict)
    features = model.get_layer("layer4_1_out").output
    import keras

    trunk = keras.Model(model.input, features)
    diff = np.max(np.abs(trunk(images, training=False).numpy() - torch_features(net, images)))
    assert diff < 1e-4


def test_mismatched_state_dict_is_rejected_before_assigning(net, tmp_path):
    state = {k: v.clone() for k, v in net.state_dict().items()}
    del state["layer3.1.bn2.running_var"]
    state["layer2.0.conv1.weight"] = torch.zeros(128, 64, 5, 5)
    state["layer5.0.conv1.weight"] = torch.zeros(3)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    trunk = build_resnet18_trunk(32)
    before = [w.copy() for w in trunk.get_weights()]
    with pytest.raises(ValueError) as info:
        assign_resnet18_weights(trunk, load_torch_state_dict(path))
    message = str(info.value)
    assert "missing keys (1): layer3.1.bn2.running_var" in message
    assert "unexpected keys (1): layer5.0.conv1.weight" in message
    assert "layer2.0.conv1.weight: checkpoint (128, 64, 5, 5) vs model (128, 64, 3, 3)" in message
    # Nothing was assigned.
    assert all(np.array_equal(a, b) for a, b in zip(before, trunk.get_weights()))


def test_pickled_module_is_refused(tmp_path):
    path = tmp_path / "module.pth"
    torch.save(nn.Linear(2, 2), path)  # a whole nn.Module: needs a full unpickle
    with pytest.raises(ValueError, match="weights_only=True"):
        load_torch_state_dict(path)


def test_not_a_resnet_model_is_reported():
    import keras

    inputs = keras.Input((8,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
    with pytest.raises(ValueError, match="not a ResNet-18 trunk"):
        assign_resnet18_weights(model, {})


# ---- round 6 blind mutants (issue 34)


def test_a_state_dict_with_only_an_extra_key_is_refused(net):
    """r6-torch-import-unexpected-keys-accepted: every ResNet-18 key present and right, plus one the trunk
    has no place for (a deeper network's layer5): refused on its own, and nothing assigned."""
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["layer5.0.conv1.weight"] = torch.zeros(3)
    trunk = build_resnet18_trunk(32)
    before = [w.copy() for w in trunk.get_weights()]
    with pytest.raises(ValueError) as info:
        assign_resnet18_weights(trunk, state)
    message = str(info.value)
    assert "unexpected keys (1): layer5.0.conv1.weight" in message
    assert "missing keys" not in message and "shape mismatches" not in message
    assert all(np.array_equal(a, b) for a, b in zip(before, trunk.get_weights()))
