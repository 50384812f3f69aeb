"""Subprocess body of tests/test_distribute.py (TF's devices must be set up before TF initialises them).

    python tests/distribute_worker.py mirrored OUT_DIR   # default vs MirroredStrategy over 2 logical CPUs
    python tests/distribute_worker.py loop OUT_DIR NAME  # distributed_train under pick_strategy() (TF_CONFIG or not)

Each run writes ``OUT_DIR/<run>.npz``: the initial and final weights, the class centres
and the per-step logs of every metric.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from dsan_tf.distribute import distributed_train, make_dataset_fn, pick_strategy  # noqa: E402
from dsan_tf.model import DSAN  # noqa: E402
from dsan_tf.optimizers import FusedAdam  # noqa: E402

NUM_CLASSES, IMAGE_SIZE, GLOBAL_BATCH = 4, 32, 8
# float32 as the issue asks. float32 rounding differs between 1 and N replicas (relative
# 1e-5 in deep activations: Keras' synchronized BatchNorm computes E[x^2] - E[x]^2), and a
# ReLU input that rounding moves across 0 changes the gradient by a few percent for its
# channel (few positions per channel at 32x32), which Adam and later steps amplify. On some
# data that alone exceeds 1e-5 after 3 steps (3 of 6 data seeds tried); examples() below is
# not such a case on this machine (2.6e-6 Mirrored, 3.3e-6 multi-worker). With
# DSAN_DIST_TEST_DTYPE=float64 every data seed tried agrees to ~2e-7 (the losses and the
# centres stay float32): use it to tell rounding from a distribution bug.
DTYPE = os.environ.get("DSAN_DIST_TEST_DTYPE", "float32")
# Weight decay well above PyTorch's 1e-4 so that a wrong 1/replicas share of it shows at 1e-5.
COMPILE = dict(weight_decay=5e-2, centre_weight_decay=5e-2)


def optimizers():
    """Adam for the network, SGD with momentum for the centres, as in training, but well conditioned.

    Adam's first steps are about lr * sign(g): with epsilon 1e-7, float32 rounding noise in
    near-zero gradient entries (relative 1e-5 between 1 and 2 replicas) changes whole
    updates, and a ResNet on batch-8 noise images amplifies any difference within a few
    steps (on one device, nudging the initial weights by 1e-7 changed the loss by ~1e-3
    after 3 steps at lr 1e-3). lr 1e-4 with epsilon 1e-4 keeps the update a smooth
    function of the gradient, so equality at 1e-5 tests the distribution, not the chaos.
    A wrong share of the weight decay or an unscaled L_CCS still shows at 2e-3 / 1e-3.
    The centres' SGD is the default centre-loss step's (0.05, momentum 0.9): that step is free
    of the loss weights, and at 0.5 its momentum overshoots (centres moved 7 units in 3 steps)
    and amplifies rounding past 1e-5.
    """
    # FusedAdam: the optimiser training uses (its fused kernel must update each replica's copy).
    return FusedAdam(1e-4, epsilon=1e-4), keras.optimizers.SGD(0.05, momentum=0.9)


def examples(num_steps):
    rng = np.random.default_rng(0)
    n = num_steps * GLOBAL_BATCH
    x = rng.normal(size=(n, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    y = rng.integers(0, NUM_CLASSES, size=n).astype("int32")
    return x, y


def new_model(strategy, initial_weights=None):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        # L_CCS's push at full weight (default 0.002), so that a wrong per-replica share of it shows.
        model = DSAN(num_classes=NUM_CLASSES, image_size=IMAGE_SIZE, dtype=DTYPE, centre_separation_weight=1.0)
        if initial_weights is not None:
            model.set_weights(initial_weights)
        adam, sgd = optimizers()
        model.compile(optimizer=adam, centre_optimizer=sgd, **COMPILE)
    return model


class StepLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = {}

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            self.logs.setdefault(name, []).append(float(np.asarray(value)))


def save(path, model, initial, step_logs):
    """``initial``: the weights the run started from."""
    arrays = {f"initial_{i}": w for i, w in enumerate(initial)}
    arrays.update({f"final_{i}": w for i, w in enumerate(model.get_weights())})
    arrays["centres"] = model.class_centres.numpy()
    arrays["centres_initial"] = initial[[id(v) for v in model.weights].index(id(model.class_centres))]
    arrays["network"] = np.array([v.trainable and v is not model.class_centres for v in model.weights])
    arrays["iterations"] = np.array([int(model.optimizer.iterations.numpy()), int(model.centre_optimizer.iterations.numpy())])
    arrays.update({f"log_{name}": np.array(values) for name, values in step_logs.logs.items()})
    np.savez(path, **arrays)


def run_fit(strategy, initial, x, y, steps):
    model = new_model(strategy, initial)
    start = model.get_weights()
    logs = StepLogs()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH, drop_remainder=True)
    model.fit(dataset, epochs=1, steps_per_epoch=steps, callbacks=[logs], verbose=0)
    return model, start, logs


def run_loop(strategy, initial, x, y, epochs, steps):
    model = new_model(strategy, initial)
    start = model.get_weights()
    logs = StepLogs()
    dataset_fn = make_dataset_fn(lambda: tf.data.Dataset.from_tensor_slices((x, y)).repeat(), GLOBAL_BATCH)
    history = distributed_train(model, strategy, dataset_fn, epochs=epochs, steps_per_epoch=steps, callbacks=[logs])
    assert len(history.history["loss"]) == epochs, history.history
    return model, start, logs


def mirrored(out_dir, steps=3):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert len(devices) == 2, devices
    x, y = examples(steps)
    default = tf.distribute.get_strategy()
    initial = new_model(default).get_weights()
    mirrored = pick_strategy(devices)
    assert mirrored.num_replicas_in_sync == 2
    # fit drives the step on one machine (dsan_tf.distribute). distributed_train under
    # MirroredStrategy gave the same weights as fit to the last bit when checked once; it is
    # left out here to keep the test short (the multi-worker test runs it).
    for name, strategy in (("fit_default", default), ("fit_mirrored", mirrored)):
        model, start, logs = run_fit(strategy, initial, x, y, steps)
        save(os.path.join(out_dir, f"{name}.npz"), model, start, logs)


def loop(out_dir, name, epochs=3, steps=1):
    strategy = pick_strategy()  # MultiWorkerMirroredStrategy when TF_CONFIG is set
    x, y = examples(epochs * steps)
    # Each process seeds and builds its own model: the test checks that all started equal.
    model, start, logs = run_loop(strategy, None, x, y, epochs=epochs, steps=steps)
    save(os.path.join(out_dir, f"{name}.npz"), model, start, logs)


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "mirrored":
        mirrored(out)
    elif mode == "loop":
        loop(out, sys.argv[3], *map(int, sys.argv[4:6]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
